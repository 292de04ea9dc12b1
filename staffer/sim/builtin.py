"""Copies of the scenarios ``staffer demo`` needs, for installs without the source tree.

A wheel ships the ``staffer`` package only, not ``config/``; ``load_scenario`` falls back
to these texts. They must equal ``config/scenarios/{short,surge}.toml`` byte for byte
(checked by tests/unit/sim/test_scenarios.py); edit the TOML files, then copy.
"""

from __future__ import annotations

SHORT_TOML = """\
# staffer simulate scenario: two hours with a phone surge, for tests and `staffer demo --short`
name = "short"
description = "Two hours, 20 agents; phone doubles in the second hour."
start = 2026-11-23T08:00:00Z
profile_interval_s = 1800
report_interval_s = 1800
drain_s = 600
seed = 7

[site]
id = "main"

[[site.queues]]
id = "phone"
channel = "voice"
sl_target = 0.8
target_s = 20
patience_s = 120
max_abandon = 0.05
aht_s = 240

[[site.queues]]
id = "chat"
channel = "chat"
sl_target = 0.8
target_s = 60
patience_s = 300
concurrency = 2
aht_s = 480

[[site.queues]]
id = "email"
channel = "email"
sl_target = 0.9
target_s = 14400
aht_s = 360

[planner]
interval_s = 300
horizon_s = 900
min_dwell_s = 900
max_moves_per_cycle = 4

[demand.phone]
rates_per_hour = [90, 100, 160, 160]
forecast_per_hour = [90, 100, 100, 100]
handle = "lognormal"
handle_cv = 0.8

[demand.chat]
rates_per_hour = [40, 40, 40, 40]
chat_slowdown = 0.2

[demand.email]
rates_per_hour = [30, 30, 30, 30]
initial_backlog = 20
initial_max_age_s = 3600

[[agents]]
prefix = "p"
count = 8
skills = ["phone"]
queue = "phone"

[[agents]]
prefix = "c"
count = 4
skills = ["chat"]
queue = "chat"

[[agents]]
prefix = "x"
count = 6
skills = ["phone", "chat", "email"]
queue = "email"

[[agents]]
prefix = "e"
count = 2
skills = ["email"]
queue = "email"
"""

SURGE_TOML = """\
# staffer simulate scenario (see docs/results.md); rates are per hour, per 30 minutes
name = "surge"
description = "Phone surge x1.5 10:00-12:30 while 3 phone agents lose their desktops 10:30-11:30."
start = 2026-11-23T08:00:00Z
profile_interval_s = 1800   # rates_per_hour has one entry per 30 minutes, 08:00-18:00
report_interval_s = 1800
drain_s = 1800
seed = 2

[site]
id = "main"

[[site.queues]]
id = "phone"
channel = "voice"
sl_target = 0.8
target_s = 20
patience_s = 120
max_abandon = 0.05
aht_s = 240

[[site.queues]]
id = "chat"
channel = "chat"
sl_target = 0.8
target_s = 60
patience_s = 300
concurrency = 2
aht_s = 480

[[site.queues]]
id = "email"
channel = "email"
sl_target = 0.9
target_s = 14400
aht_s = 360

# the staffer policy's planner settings ([planner] of staffer.toml)
[planner]
interval_s = 300
horizon_s = 900
min_dwell_s = 900
max_moves_per_cycle = 6

[demand.phone]
rates_per_hour = [
    144, 192, 240, 276, 450, 450, 432, 396, 360, 228,
    240, 252, 264, 264, 240, 216, 192, 168, 144, 120,
]
forecast_per_hour = [
    144, 192, 240, 276, 300, 300, 288, 264, 240, 228,
    240, 252, 264, 264, 240, 216, 192, 168, 144, 120,
]
handle = "lognormal"
handle_cv = 0.8

[demand.chat]
rates_per_hour = [
    52, 65, 78, 91, 104, 117, 117, 104, 91, 91,
    104, 117, 130, 130, 117, 104, 91, 78, 65, 52,
]
chat_slowdown = 0.2

[demand.email]
rates_per_hour = [
    90, 90, 90, 90, 90, 90, 90, 90, 90, 90,
    90, 90, 90, 90, 90, 90, 90, 90, 90, 90,
]
initial_backlog = 80
initial_max_age_s = 7200

# 47 agents with mixed skill sets; shifts 08:00-16:00, 09:00-17:00, 10:00-18:00 or all day

[[agents]]
prefix = "p"
count = 8
skills = ["phone"]
queue = "phone"
shift_end_s = 28800

[[agents]]
prefix = "pm"
count = 4
skills = ["phone"]
queue = "phone"
shift_start_s = 3600
shift_end_s = 32400

[[agents]]
prefix = "pl"
count = 5
skills = ["phone"]
queue = "phone"
shift_start_s = 7200

[[agents]]
prefix = "pe"
count = 6
skills = ["phone", "email"]
queue = "phone"

[[agents]]
prefix = "c"
count = 3
skills = ["chat"]
queue = "chat"
shift_end_s = 28800

[[agents]]
prefix = "cm"
count = 1
skills = ["chat"]
queue = "chat"
shift_start_s = 3600
shift_end_s = 32400

[[agents]]
prefix = "cl"
count = 3
skills = ["chat"]
queue = "chat"
shift_start_s = 7200

[[agents]]
prefix = "ce"
count = 3
skills = ["chat", "email"]
queue = "chat"

[[agents]]
prefix = "x"
count = 12
skills = ["phone", "chat", "email"]
queue = "email"

[[agents]]
prefix = "e"
count = 2
skills = ["email"]
queue = "email"

[[events]]
kind = "outage"
prefix = "p"
agents = 3
start_s = 9000
end_s = 12600
"""

SCENARIOS: dict[str, str] = {"short": SHORT_TOML, "surge": SURGE_TOML}
