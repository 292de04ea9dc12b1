"""Stale data (contract §16): ages, the hold on stale queues around plan_site, the marks."""

from __future__ import annotations

from staffer.core import freshness
from staffer.core.planner import plan_site
from staffer.core.state import SiteState
from staffer.core.types import Controls, Plan

from .conftest import NOW, agent, feed, phone_email_site, planner

BOTH = ("phone", "email")


def surge(email_end: float = NOW) -> SiteState:
    """A phone surge with idle, phone-skilled email agents: the planner moves email agents
    to phone when it trusts both queues' numbers."""
    st = SiteState("main")
    feed(st, "phone", 60, aht_s=240.0)
    feed(st, "email", 10, aht_s=360.0, backlog=50, oldest_age_s=600.0, end=email_end)
    for i in range(40):
        st.apply_agent(agent(f"p{i:03d}", "phone", BOTH))
    for i in range(30):
        st.apply_agent(agent(f"e{i:03d}", "email", BOTH))
    return st


def plan_with_freshness(st: SiteState, stale_after_s: float = 300.0) -> Plan:
    """What the daemon's Runtime.plan does: assess, hold, plan, mark."""
    fresh = freshness.assess(st, ["phone", "email"], NOW, stale_after_s)
    held = freshness.hold(Controls(), fresh, st.roster)
    plan = plan_site(phone_email_site(), planner(), st, held, {}, NOW, "plan-1")
    return freshness.mark(plan, fresh)


def test_ages_are_to_now_and_none_without_data() -> None:
    st = surge(email_end=NOW - 900.0)
    fresh = freshness.assess(st, ["phone", "email", "chat"], NOW, 300.0)
    assert fresh.age_s == {"phone": 0.0, "email": 900.0, "chat": None}
    assert fresh.stale == {"email", "chat"}
    # exactly at the limit is still fresh; a bridge clock ahead reads as age 0
    assert freshness.assess(st, ["email"], NOW, 900.0).stale == frozenset()
    assert freshness.assess(st, ["phone"], NOW - 30.0, 300.0).age_s == {"phone": 0.0}


def test_fresh_queues_plan_as_before() -> None:
    st = surge()
    plain = plan_site(phone_email_site(), planner(), st, Controls(), {}, NOW, "plan-1")
    plan = plan_with_freshness(st)
    assert plan.moves == plain.moves and plan.moves  # email agents go to phone
    assert all(not q.stale for q in plan.queues.values())
    assert plan.queues["email"].data_age_s == 0.0
    assert plan.queues["phone"].predicted_service_level is not None


def test_a_stale_donor_gives_no_agents_and_shows_no_predictions() -> None:
    """Email's bridge went quiet 15 minutes ago. Without the hold the planner moves email
    agents to phone on the strength of old numbers (first assertion); with it, none."""
    st = surge(email_end=NOW - 900.0)
    plain = plan_site(phone_email_site(), planner(), st, Controls(), {}, NOW, "plan-1")
    assert any(m.from_queue == "email" for m in plain.moves)  # what the hold prevents
    plan = plan_with_freshness(st)
    assert not [m for m in plan.moves if "email" in (m.from_queue, m.to_queue)]
    email, phone = plan.queues["email"], plan.queues["phone"]
    assert (email.stale, email.data_age_s) == (True, 900.0)
    assert email.predicted_service_level is None
    assert email.predicted_asa_s is None and email.predicted_abandon_ratio is None
    assert email.target == email.assigned == 30
    assert (phone.stale, phone.predicted_service_level is not None) == (False, True)


def test_a_stale_receiver_gets_no_agents() -> None:
    """Phone never reported: nothing is moved into it, whatever its forecast says."""
    st = SiteState("main")
    feed(st, "email", 1, aht_s=360.0)
    for i in range(10):
        st.apply_agent(agent(f"e{i:03d}", "email", BOTH))
        st.apply_agent(agent(f"n{i:03d}", None, BOTH))  # unassigned: would get a queue
    plan = plan_with_freshness(st)
    assert not [m for m in plan.moves if m.to_queue == "phone"]
    assert plan.queues["phone"].stale and plan.queues["phone"].data_age_s is None
    assert plan.queues["phone"].predicted_service_level is None


def test_hold_keeps_controls_when_nothing_is_stale() -> None:
    st = surge()
    fresh = freshness.assess(st, ["phone", "email"], NOW, 300.0)
    controls = Controls(locked_agents=frozenset({"x"}))
    assert freshness.hold(controls, fresh, st.roster) is controls
    stale = freshness.assess(st, ["phone", "email"], NOW + 600.0, 300.0)
    held = freshness.hold(controls, stale, st.roster)
    assert "x" in held.locked_agents and "p000" in held.locked_agents
    assert ("e000", "phone") in held.blocked_moves
