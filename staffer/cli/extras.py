"""Optional parts of the install: ``staffer demo`` and ``staffer simulate`` need the
``demo`` extra (the SimPy simulator, matplotlib charts, the embedded amqtt broker);
``staffer run`` needs none of it.

>>> DEMO_INSTALL
"pip install 'staffer[demo]'"
"""

from __future__ import annotations

import importlib.util

DEMO_INSTALL = "pip install 'staffer[demo]'"


class MissingExtra(Exception):
    """A command needs packages of an extra that is not installed (exit 2, one line)."""


def require(command: str, *modules: str) -> None:
    """Raise `MissingExtra` naming the install command when a module is absent."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(
            f"staffer {command} needs {', '.join(missing)}, from the demo extra: {DEMO_INSTALL}"
        )
