"""How the made-up Lakeside example was made (rerun to regenerate the CSVs; not needed to use them).

    .venv/bin/python examples/lakeside/make_example.py

Lakeside Home Insurance does not exist. Its "real" Monday is staffer's own simulator
playing a day the files themselves cannot describe: a storm-claims surge on phone
(up to x1.35 from 09:30 to 13:00, a little more chat), lognormal handle times, chats
slowed by concurrency, and two early phone agents off sick that the roster still lists.
The simulated outcomes by arrival interval become the ACD export
(``intervals-2026-03-02.csv``); the plan the site made for an ordinary Monday becomes
``forecast.csv`` and ``agents.csv``; ``agents-as-worked.csv`` is the roster without the
two absent agents. Seed 9001 is used for nothing else.
"""

from __future__ import annotations

import csv
import statistics
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from staffer.sim.run import run_policy
from staffer.sim.scenario import scenario_from_dict

HERE = Path(__file__).resolve().parent
ZONE = ZoneInfo("Europe/Amsterdam")
DAY = datetime(2026, 3, 2, 8, 0, tzinfo=ZONE)  # Monday, 08:00-20:00 local
SEED = 9001
EXPORT = "intervals-2026-03-02.csv"
SICK = 2  # the first two early phone agents of the roster were off sick
# the ordinary Monday the schedule was made for: contacts per hour, per 30 minutes
FORECAST = {
    "phone": [170, 220, 270, 300, 310, 300, 285, 265, 240, 225, 245, 255,
              250, 240, 230, 220, 205, 185, 165, 145, 125, 105, 85, 65],
    "chat": [30, 40, 50, 60, 66, 66, 62, 58, 52, 50, 56, 60,
             60, 56, 52, 48, 44, 40, 36, 32, 28, 24, 20, 16],
    "email": [60] * 24,
}  # fmt: skip
AHT = {"phone": 300.0, "chat": 420.0, "email": 360.0}
# the storm: factor on the forecast per 30 minutes (09:30-13:00 phone, 10:00-12:00 chat)
SURGE = {
    "phone": [1, 1, 1, 1.15, 1.3, 1.35, 1.3, 1.25, 1.15, 1.05] + [1] * 14,
    "chat": [1, 1, 1, 1, 1.15, 1.2, 1.2, 1.1] + [1] * 16,
    "email": [1] * 24,
}
# shifts (local) and the roster: (count, skills, starting queue, shift)
SHIFTS = {"early": ("08:00", "16:30"), "mid": ("09:00", "17:30"), "late": ("12:00", "20:00")}
GROUPS = [
    (15, "phone", "phone", "early"),
    (8, "phone", "phone", "mid"),
    (9, "phone", "phone", "late"),
    (3, "phone;email", "phone", "early"),
    (2, "phone;email", "phone", "late"),
    (3, "chat", "chat", "early"),
    (3, "chat", "chat", "late"),
    (2, "chat;email", "chat", "mid"),
    (6, "phone;chat;email", "email", "early"),
    (3, "phone;chat;email", "email", "late"),
    (2, "email", "email", "early"),
    (1, "email", "email", "mid"),
]
NAMES = (
    "anna bram chris daan eva femke gijs hanna ilse jasper kim lars maud noah olga pim "
    "quinn rosa sem tess umut vera wout xena yara zeno aida bas cato dirk elif floor "
    "guus hugo iris joep kees lotte mees nina otto puck rik sara teun uma vince wies "
    "yusuf zoe jens lieke ruben mila tim fenna ward"
)
FIRST = NAMES.split()


def _seconds(hhmm: str) -> float:
    h, m = hhmm.split(":")
    return (int(h) - DAY.hour) * 3600.0 + int(m) * 60.0


def roster() -> list[tuple[str, str, str, str, str]]:
    rows, k = [], 0
    for count, skills, queue, shift in GROUPS:
        for _ in range(count):
            rows.append((f"{FIRST[k]}.{chr(ord('a') + k % 26)}", skills, queue, *SHIFTS[shift]))
            k += 1
    return rows


def true_day() -> dict:
    """The day as it happened (15-minute profile), including what the files do not say."""
    groups = []
    for i, (name, skills, queue, start, end) in enumerate(roster()):
        groups.append(
            {
                "prefix": f"r{i}",
                "names": [name],
                "skills": skills.split(";"),
                "queue": queue,
                "shift_start_s": max(0.0, _seconds(start)),
                "shift_end_s": _seconds(end),
            }
        )
    sick = [g["prefix"] for g in groups[:SICK]]
    demand = {
        q: {
            "rates_per_hour": [
                r * f for r, f in zip(FORECAST[q], SURGE[q], strict=True) for _ in (0, 1)
            ],
            "aht_s": AHT[q],
            "handle": "lognormal",
            "handle_cv": 0.9,
        }
        for q in FORECAST
    }
    demand["chat"]["chat_slowdown"] = 0.2
    demand["email"]["initial_backlog"] = 40
    return {
        "name": "lakeside-true-day",
        "start": DAY,
        "profile_interval_s": 900,
        "report_interval_s": 900,
        "site": {
            "id": "lakeside",
            "queues": [
                {"id": "phone", "channel": "voice", "target_s": 20, "patience_s": 150,
                 "aht_s": 300},
                {"id": "chat", "channel": "chat", "target_s": 60, "patience_s": 240,
                 "concurrency": 2, "aht_s": 420},
                {"id": "email", "channel": "email", "sl_target": 0.9, "target_s": 14400,
                 "aht_s": 360},
            ],
        },
        "demand": demand,
        "agents": groups,
        "events": [{"prefix": p, "agents": 1, "start_s": 0, "end_s": 12 * 3600} for p in sick],
    }  # fmt: skip


def write_export() -> None:
    sc = scenario_from_dict(true_day())
    trace, _ = run_policy(sc, "static", SEED)
    target = {q.id: q.target_s for q in sc.site.queues}
    with (HERE / EXPORT).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["interval_start", "queue", "offered", "aht_s", "answered", "abandoned",
                    "answered_within_target", "interval_s"])  # fmt: skip
        for i in range(48):
            start = DAY + timedelta(minutes=15 * i)
            for q in ("phone", "chat", "email"):
                cs = [
                    c
                    for c in trace.contacts
                    if c.queue == q and i * 900 <= c.arrival < (i + 1) * 900
                ]
                if not cs:
                    continue  # an ACD leaves out a queue with no contacts
                ans = [c for c in cs if c.start is not None]
                handled = [c.end - c.start for c in ans if c.end is not None]  # type: ignore[operator]
                within = sum(1 for c in ans if c.start - c.arrival <= target[q])  # type: ignore[operator]
                aht = f"{statistics.fmean(handled):.1f}" if handled else ""
                ab = sum(1 for c in cs if c.abandoned_at is not None)
                w.writerow(
                    [start.strftime("%Y-%m-%d %H:%M"), q, len(cs), aht, len(ans), ab, within, 900]
                )


def write_plan() -> None:
    with (HERE / "agents.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["agent", "skills", "queue", "shift_start", "shift_end"])
        w.writerows(roster())
    with (HERE / "agents-as-worked.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["agent", "skills", "queue", "shift_start", "shift_end"])
        w.writerows(roster()[SICK:])
    with (HERE / "forecast.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["interval_start", "queue", "offered", "aht_s"])
        for i in range(24):
            start = (DAY + timedelta(minutes=30 * i)).strftime("%Y-%m-%d %H:%M")
            for q, rates in FORECAST.items():
                w.writerow([start, q, round(rates[i] / 2), AHT[q]])


if __name__ == "__main__":
    write_plan()
    write_export()
    print(f"wrote {HERE / EXPORT}, agents.csv, agents-as-worked.csv, forecast.csv")
