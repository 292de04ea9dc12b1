"""Stale or missing data is never shown as good service (contract §16).

A queue is *stale* when its latest snapshot is more than ``[planner] stale_after_s`` older
than the plan's clock time, or when it never reported. Around ``plan_site`` the shell:

1. ``assess`` each queue's data age at ``now`` (the site's clock);
2. ``hold`` the stale queues through the planner's own controls: every agent serving a
   stale queue is locked, and every (agent, stale queue) pair is blocked, so the planner
   moves no agent into or out of a stale queue on the strength of old numbers (it still
   plans the fresh queues among themselves);
3. ``mark`` the plan: each queue gets ``data_age_s`` and ``stale``; a stale queue's
   predictions become None (``null`` on the wire, absent series in Prometheus).

Ages are ``max(0, now - ts)``: a bridge clock slightly ahead (within ``max_clock_skew_s``)
reads as fresh, not as a negative age. Pure: no I/O, no clock reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from staffer.core.state import SiteState
from staffer.core.types import AgentState, Controls, Plan, QueuePlan


@dataclass(frozen=True, slots=True)
class Freshness:
    """Per queue (in the site's order): data age in seconds (None: never reported) and
    the stale ones."""

    age_s: Mapping[str, float | None]
    stale: frozenset[str]

    def is_stale(self, queue: str) -> bool:
        return queue in self.stale


def data_age(state: SiteState, queue: str, now: float) -> float | None:
    """Seconds from the queue's latest snapshot to ``now`` (None: never reported)."""
    latest = state.latest(queue)
    return None if latest is None else max(0.0, now - latest.ts)


def assess(state: SiteState, queues: Iterable[str], now: float, stale_after_s: float) -> Freshness:
    """Each queue's data age at ``now`` and which queues are stale."""
    ages = {q: data_age(state, q, now) for q in queues}
    stale = frozenset(q for q, a in ages.items() if a is None or a > stale_after_s)
    return Freshness(ages, stale)


def hold(controls: Controls, fresh: Freshness, roster: Mapping[str, AgentState]) -> Controls:
    """``controls`` with the stale queues held: their agents locked, moves into them
    blocked. Unchanged (the same object) when nothing is stale."""
    if not fresh.stale:
        return controls
    locked = {a for a, s in roster.items() if s.queue in fresh.stale}
    blocked = {(a, q) for a, s in roster.items() for q in s.skills & fresh.stale}
    return dataclasses.replace(
        controls,
        locked_agents=controls.locked_agents | locked,
        blocked_moves=controls.blocked_moves | blocked,
    )


def mark(plan: Plan, fresh: Freshness) -> Plan:
    """The plan with each queue's ``data_age_s`` and ``stale``; no predictions for a
    stale queue."""
    return dataclasses.replace(
        plan, queues={q: _mark(q, qp, fresh) for q, qp in plan.queues.items()}
    )


def _mark(queue: str, qp: QueuePlan, fresh: Freshness) -> QueuePlan:
    age = fresh.age_s.get(queue)
    if queue not in fresh.stale and queue in fresh.age_s:
        return dataclasses.replace(qp, data_age_s=age, stale=False)
    return dataclasses.replace(
        qp,
        data_age_s=age,
        stale=True,
        predicted_service_level=None,
        predicted_asa_s=None,
        predicted_abandon_ratio=None,
    )
