"""The ``staffer simulate --json`` object: the day per policy, its mean and spread over
seeds, the real day, rescued intervals, per-interval series and the moves with reasons.

Times are RFC 3339 (UTC); everything else is SI (seconds, ratios in [0, 1]); values that
do not exist (no contacts in an interval, one seed's spread) are null.
"""

from __future__ import annotations

from typing import Any

from staffer.codec.timefmt import format_ts
from staffer.sim.intervals import ActualQueue
from staffer.sim.kpis import DayKpis
from staffer.sim.replay import Runs, days_of, interval_spreads, moves_spread, queue_spreads, rescued
from staffer.sim.scenario import Scenario


def result_json(
    sc: Scenario, runs: Runs, actual: dict[str, ActualQueue], notes: list[str]
) -> dict[str, Any]:
    """Everything ``staffer simulate`` reports, as one JSON-safe object."""
    first = next(iter(runs.values()))
    days = days_of(runs)
    out: dict[str, Any] = {
        "scenario": sc.name,
        "description": sc.description,
        "seed": first[0].seed,
        "seeds": [r.seed for r in first],
        "policies": {p: rs[0].kpis.as_dict() for p, rs in runs.items()},
        "summary": {p: _summary(ds) for p, ds in days.items()},
        "intervals": _intervals(sc, runs, actual),
        "moves": {p: _moves(sc, rs) for p, rs in runs.items()},
        "notes": notes,
    }
    if actual:
        out["actual"] = {q: _actual_day(a) for q, a in actual.items()}
    if "static" in days and len(days) > 1:
        out["rescued"] = {
            p: _rescued(days["static"], ds) for p, ds in days.items() if p != "static"
        }
    return out


def _rescued(static: list[DayKpis], other: list[DayKpis]) -> dict[str, Any]:
    out = {}
    for q in static[0].queues:
        missed, done = rescued(static, other, q)
        out[q] = {"static_missed": missed, "rescued": done}
    return out


def _summary(days: list[DayKpis]) -> dict[str, Any]:
    moves, per_hour = moves_spread(days)
    return {
        "moves": moves.as_dict(),
        "moves_per_agent_hour": per_hour.as_dict(),
        "queues": {
            q: {k: s.as_dict() for k, s in queue_spreads(days, q).items()} for q in days[0].queues
        },
    }


def _actual_day(a: ActualQueue) -> dict[str, Any]:
    keys = ("offered", "answered", "abandoned", "service_level", "abandon_ratio")
    day = {k: getattr(a, k) for k in (*keys, "intervals_met", "intervals_within_5pt")}
    return {k: _round(v) if isinstance(v, float) else v for k, v in day.items()}


def _intervals(sc: Scenario, runs: Runs, actual: dict[str, ActualQueue]) -> dict[str, Any]:
    first = next(iter(runs.values()))[0]
    n = len(next(iter(first.intervals.values())).offered)
    queues: dict[str, Any] = {}
    for q in first.kpis.queues:
        entry: dict[str, Any] = {"policies": {}}
        a = actual.get(q)
        if a is not None:
            entry["actual"] = {
                "offered": a.interval_offered,
                "service_level": [_round(x) for x in a.interval_sl],
                "abandoned": a.interval_abandoned,
            }
        for p, rs in runs.items():
            sp = interval_spreads(rs, q)
            series: dict[str, Any] = {k: [s.mean for s in v] for k, v in sp.items()}
            series["service_level_sd"] = [s.sd for s in sp["service_level"]]
            entry["policies"][p] = {k: [_round(x) for x in v] for k, v in series.items()}
        queues[q] = entry
    return {
        "interval_s": sc.report_interval_s,
        "starts": [format_ts(sc.start_ts + i * sc.report_interval_s) for i in range(n)],
        "queues": queues,
    }


def _moves(sc: Scenario, rs: list) -> dict[str, Any]:
    r = rs[0]
    return {
        "seed": r.seed,
        "moves": [
            {
                "at": format_ts(sc.start_ts + m.at_s),
                "decided_at": None if m.decided_s is None else format_ts(sc.start_ts + m.decided_s),
                "agent": m.agent,
                "from": m.from_queue,
                "to": m.to_queue,
                "reason": m.reason,
            }
            for m in r.moves
        ],
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)
