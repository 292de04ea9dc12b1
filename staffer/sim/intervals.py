"""Per-interval results of a simulated day, the moves with their reasons, and the actuals.

For each queue and report interval (by arrival time, as in ``kpis``): contacts offered,
service level (the KPIs' own per-interval value), ASA of the answered ones, abandons and
the mean number of agents assigned. Moves are the switches that happened, each with the
time and reason of the decision behind it. ``actual_*`` reads a replayed day's
``actuals`` (the ACD's counts) into the same shape, for the calibration row: service
level = answered within target / offered (email: / answered), abandonment = abandoned /
offered, intervals met and within 5 points as for simulated days.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from staffer.core.types import Move
from staffer.sim.engine import SimTrace
from staffer.sim.kpis import WITHIN_POINTS, DayKpis
from staffer.sim.scenario import Scenario


@dataclass
class QueueIntervals:
    """One queue's report intervals."""

    offered: list[float]
    service_level: list[float | None]
    asa_s: list[float | None]
    abandoned: list[float]
    agents: list[float]


@dataclass(frozen=True)
class MoveRecord:
    """A switch that happened: when, who, from where to where, and why."""

    at_s: float  # the switch (after the agent's contact in hand), seconds from the start
    decided_s: float | None  # the decision behind it
    agent: str
    from_queue: str
    to_queue: str
    reason: str


@dataclass
class ActualQueue:
    """The real day of one queue (from the export)."""

    channel: str
    offered: int
    answered: int | None
    abandoned: int | None
    service_level: float | None
    abandon_ratio: float | None
    intervals_met: float | None
    intervals_within_5pt: float | None
    interval_sl: list[float | None]
    interval_offered: list[int]
    interval_abandoned: list[int] | None


def interval_count(sc: Scenario) -> int:
    return math.ceil(sc.day_s / sc.report_interval_s - 1e-9)


def interval_stats(trace: SimTrace, kpis: DayKpis) -> dict[str, QueueIntervals]:
    """Offered, SL, ASA, abandons and agents per queue and report interval."""
    sc = trace.scenario
    n, width = interval_count(sc), sc.report_interval_s
    offered = {q: [0.0] * n for q in kpis.queues}
    abandoned = {q: [0.0] * n for q in kpis.queues}
    waits: dict[str, list[list[float]]] = {q: [[] for _ in range(n)] for q in kpis.queues}
    for c in trace.contacts:
        if not 0 <= c.arrival < sc.day_s:
            continue
        i = min(int(c.arrival // width), n - 1)
        offered[c.queue][i] += 1
        if c.abandoned_at is not None:
            abandoned[c.queue][i] += 1
        if c.start is not None:
            waits[c.queue][i].append(c.start - c.arrival)
    return {
        q: QueueIntervals(
            offered[q],
            list(k.interval_sl),
            [sum(w) / len(w) if w else None for w in waits[q]],
            abandoned[q],
            list(k.interval_agents),
        )
        for q, k in kpis.queues.items()
    }


def moves_with_reasons(trace: SimTrace, decisions: list[tuple[float, Move]]) -> list[MoveRecord]:
    """The engine's switches, each joined to the latest decision moving that agent there."""
    by_key: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for t, m in decisions:
        by_key.setdefault((m.agent, m.to_queue), []).append((t, m.reason))
    out = []
    for at, agent, src, dst in trace.move_log:
        cands = by_key.get((agent, dst), [])
        k = bisect.bisect_right([t for t, _ in cands], at) - 1
        decided, reason = cands[k] if k >= 0 else (None, "")
        out.append(MoveRecord(at, decided, agent, src, dst, reason))
    return out


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _share(values: list[float | None], floor: float) -> float | None:
    seen = [v for v in values if v is not None]
    return _ratio(sum(v >= floor - 1e-12 for v in seen), len(seen))


def _buckets(values: list[int], sc: Scenario) -> list[int]:
    """Per-profile-interval counts summed into report intervals."""
    out = [0] * interval_count(sc)
    for i, v in enumerate(values):
        out[min(int(i * sc.profile_interval_s // sc.report_interval_s), len(out) - 1)] += v
    return out


def actual_queues(sc: Scenario) -> dict[str, ActualQueue]:
    """The scenario's actuals as day and per-interval KPIs (empty without actuals)."""
    out: dict[str, ActualQueue] = {}
    for q in sc.site.queues:
        a = sc.actuals.get(q.id)
        if a is None:
            continue
        offered = _buckets(a.offered, sc)
        answered = None if a.answered is None else _buckets(a.answered, sc)
        abandoned = None if a.abandoned is None else _buckets(a.abandoned, sc)
        within = (
            None if a.answered_within_target is None else _buckets(a.answered_within_target, sc)
        )
        base = answered if q.channel == "email" else offered
        if within is not None and base is not None:
            interval_sl = [_ratio(w, b) for w, b in zip(within, base, strict=True)]
            sl = _ratio(sum(within), sum(base))
        else:
            interval_sl, sl = [None] * len(offered), None
        known = within is not None and base is not None
        out[q.id] = ActualQueue(
            q.channel,
            sum(offered),
            None if answered is None else sum(answered),
            None if abandoned is None else sum(abandoned),
            sl,
            None
            if abandoned is None or q.channel == "email"
            else _ratio(sum(abandoned), sum(offered)),
            _share(interval_sl, q.sl_target) if known else None,
            _share(interval_sl, q.sl_target - WITHIN_POINTS) if known else None,
            interval_sl,
            offered,
            abandoned,
        )
    return out
