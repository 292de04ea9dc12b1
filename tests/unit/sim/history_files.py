"""Small ACD exports, rosters and configs written by the tests (contract §15)."""

from __future__ import annotations

from pathlib import Path

# 08:00-09:00 UTC in 30-minute intervals, phone and chat, with actuals
INTERVALS = """\
interval_start,queue,offered,aht_s,answered,abandoned,answered_within_target
2026-03-02T08:00:00Z,phone,40,240,38,2,33
2026-03-02T08:00:00Z,chat,10,400,10,0,9
2026-03-02T08:30:00Z,phone,60,260,52,8,30
2026-03-02T08:30:00Z,chat,14,420,13,1,11
"""

ROSTER = """\
agent,skills,queue,shift_start,shift_end
ann,phone,phone,,
bob,phone,phone,,
cat,phone;chat,phone,,
dan,phone|chat,chat,08:00,09:00
eve,chat,chat,,
"""

CONFIG = """\
[[sites]]
id = "main"

[[sites.queues]]
id = "phone"
channel = "voice"
target_s = 20
patience_s = 120
aht_s = 240

[[sites.queues]]
id = "chat"
channel = "chat"
target_s = 60
patience_s = 300
concurrency = 2
aht_s = 480

[[sites.queues]]
id = "email"
channel = "email"
sl_target = 0.9
target_s = 14400
aht_s = 360
"""


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    p = tmp / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def day_files(
    tmp: Path, intervals: str = INTERVALS, roster: str = ROSTER, config: str = CONFIG
) -> tuple[Path, Path, Path]:
    """(intervals.csv, agents.csv, staffer.toml) in ``tmp``."""
    return (
        write(tmp, "intervals.csv", intervals),
        write(tmp, "agents.csv", roster),
        write(tmp, "staffer.toml", config),
    )
