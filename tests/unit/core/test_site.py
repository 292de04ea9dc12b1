"""A served site: the event-clock planning rule (contract §7), its proposals (§9), fresh moves."""

from __future__ import annotations

import pytest

from staffer.core.site import Site
from staffer.core.types import InFlightMove, Move
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


def test_proposals_share_the_sites_cool_downs_and_follow_a_reload() -> None:
    site = Site.new(SiteSettings(id="main"), PlannerSettings(proposal_ttl_s=60))
    assert site.proposals.cooldowns is site.cooldowns  # one owner of cool-downs
    assert (site.proposals.ttl_s, site.proposals.cooldown_s) == (60, 1800)
    site.configure(SiteSettings(id="main"), PlannerSettings(reject_cooldown_s=0))
    assert (site.proposals.ttl_s, site.proposals.cooldown_s) == (600, 0)


def test_fresh_moves_are_real_and_not_in_flight() -> None:
    site = _site()
    site.flights.add(InFlightMove("a1", "phone", "c1", T8))
    moves = [
        Move("a1", "email", "phone", "in flight"),
        Move("a2", "phone", "phone", "already there"),
        Move("a3", "email", "phone", "fresh"),
        Move("a1", "email", "chat", "a new target"),
    ]
    assert [m.reason for m in site.fresh(moves)] == ["fresh", "a new target"]
