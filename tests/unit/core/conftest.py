"""Builders for core tests: sites, snapshots, agents and a ready SiteState."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pytest

from staffer.core.state import SiteState
from staffer.core.types import AgentState, QueueSnapshot
from staffer.settings import PlannerSettings, QueueSettings, SiteSettings

NOW = 1_795_000_000.0  # a fixed clock time; everything is relative to it


def phone_email_site(phone_weight: float = 1.0, email_target_s: float = 14400.0) -> SiteSettings:
    """Two queues: phone (Erlang C unless abandons are reported) and email."""
    return SiteSettings(
        id="main",
        queues=[
            QueueSettings(
                id="phone",
                channel="voice",
                sl_target=0.8,
                target_s=20.0,
                aht_s=240.0,
                weight=phone_weight,
            ),
            QueueSettings(
                id="email", channel="email", sl_target=0.9, target_s=email_target_s, aht_s=360.0
            ),
        ],
    )


def planner(**kw: object) -> PlannerSettings:
    base: dict[str, object] = {"min_dwell_s": 600.0, "max_moves_per_cycle": 10, "hysteresis": 0.02}
    base.update(kw)
    return PlannerSettings(**base)  # type: ignore[arg-type]


def snap(
    ts: float,
    offered: int,
    waiting: int = 0,
    interval_s: float = 300.0,
    aht_s: float | None = None,
    **kw: object,
) -> QueueSnapshot:
    return QueueSnapshot(
        ts=ts, interval_s=interval_s, offered=offered, waiting=waiting, aht_s=aht_s, **kw
    )  # type: ignore[arg-type]


def agent(
    agent_id: str,
    queue: str | None,
    skills: Iterable[str],
    status: str = "available",
    ts: float = NOW - 7200.0,
) -> AgentState:
    return AgentState(
        agent=agent_id,
        ts=ts,
        status=status,  # type: ignore[arg-type]
        queue=queue,
        skills=frozenset(skills),
    )


def seat_leaving(
    state: SiteState,
    groups: Iterable[tuple[str, str, int]],
    skills: Iterable[str],
    until: float,
) -> None:
    """For each (id prefix, queue, count): that many agents on the queue with ``skills``,
    all leaving at ``until`` (clock time)."""
    skills = tuple(skills)
    for name, q, n in groups:
        for i in range(n):
            a = agent(f"{name}{i:03d}", q, skills)
            state.apply_agent(replace(a, available_until=until))


def feed(
    state: SiteState,
    queue: str,
    offered_per_interval: int,
    *,
    waiting: int = 0,
    aht_s: float,
    intervals: int = 12,
    end: float = NOW,
    **kw: object,
) -> None:
    """Steady 300 s intervals ending at ``end``."""
    for k in range(intervals):
        ts = end - 300.0 * (intervals - 1 - k)
        state.apply_snapshot(queue, snap(ts, offered_per_interval, waiting, aht_s=aht_s, **kw))


@pytest.fixture
def state() -> SiteState:
    return SiteState("main", half_life_s=900.0)
