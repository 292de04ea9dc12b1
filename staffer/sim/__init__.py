"""Simulated contact-center days for comparing staffing policies (``staffer simulate``).

``scenario`` loads TOML scenarios, ``engine`` is the SimPy site, ``policies`` holds
static / threshold / staffer, ``run`` plays a day, ``kpis`` and ``plot`` report it and
``bridge`` drives the engine through MQTT against a real daemon (``staffer demo``).
``history``, ``roster`` and ``from_history`` turn an ACD export and a roster into a
scenario; ``replay``, ``intervals``, ``report`` and ``jsonout`` report several seeds.
"""
