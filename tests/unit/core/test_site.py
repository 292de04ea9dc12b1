"""The event-clock planning rule of a site (contract §7)."""

from __future__ import annotations

import pytest

from staffer.core.site import Site
from staffer.settings import PlannerSettings, SiteSettings

T8 = 1_795_334_400.0  # 2026-11-22T08:00:00Z


def _site() -> Site:
    return Site.new(SiteSettings(id="main"), PlannerSettings())


@pytest.mark.parametrize(
    ("stamps", "plans"),
    [
        ([T8], [True]),  # first snapshot on the grid: plan now
        ([T8 + 1], [False]),  # first snapshot off the grid: wait
        ([T8 + 1, T8 + 299, T8 + 300], [False, False, True]),
        ([T8, T8 + 100, T8 + 300, T8 + 301], [True, False, True, False]),
        ([T8, T8 + 1000], [True, True]),  # a gap: one plan, not three
        ([T8, T8 + 1000, T8 + 1200], [True, True, True]),  # ...and the grid continues at 8:20
        ([T8 + 299.999, T8 + 300.0], [False, True]),
    ],
)
def test_snapshot_triggers_plan(stamps: list[float], plans: list[bool]) -> None:
    site = _site()
    got = []
    for ts in stamps:
        site.state.clock = max(site.state.clock, ts)
        got.append(site.snapshot_triggers_plan(ts, 300))
    assert got == plans


def test_clock_moved_by_agent_messages_counts() -> None:
    site = _site()
    assert site.snapshot_triggers_plan(T8 + 10, 300) is False
    site.state.clock = T8 + 305  # an agent state moved the clock past 08:05
    assert site.snapshot_triggers_plan(T8 + 200, 300) is True


def test_now_and_plan_ids() -> None:
    site = _site()
    assert site.now("event", 42.0) == 42.0  # no message yet: wall time
    site.state.clock = T8
    assert site.now("event", 42.0) == T8
    assert site.now("wall", 42.0) == 42.0
    assert site.next_plan_id("2026-11-22T08:00:00Z") == "main-20261122T080000Z-1"
    assert site.next_plan_id("2026-11-22T08:00:00Z").endswith("-2")
