"""Property tests: whatever the site looks like, plans respect skills, counts and guardrails."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staffer.core.planner import plan_site
from staffer.core.state import SiteState
from staffer.core.types import AgentState, Controls, InFlightMove, Pin
from staffer.settings import QueueSettings, SiteSettings

from .conftest import NOW, agent, feed, planner

QUEUES = {
    "phone": QueueSettings(id="phone", channel="voice", aht_s=240.0),
    "sales": QueueSettings(id="sales", channel="voice", aht_s=300.0, patience_s=90.0, weight=2.0),
    "chat": QueueSettings(id="chat", channel="chat", target_s=60.0, aht_s=480.0, concurrency=2),
    "email": QueueSettings(id="email", channel="email", target_s=14400.0, aht_s=360.0),
}
NAMES = sorted(QUEUES)
STATUSES = ["available", "busy", "wrap_up", "break", "offline"]


def queue_state(draw: st.DrawFn, names: list[str]) -> SiteState:
    """Three snapshots per queue with drawn traffic, queue, backlog and abandons."""
    state = SiteState("main")
    for q in names:
        feed(
            state,
            q,
            draw(st.integers(0, 120)),
            waiting=draw(st.integers(0, 30)),
            aht_s=QUEUES[q].aht_s,
            intervals=3,
            backlog=draw(st.integers(0, 400)),
            oldest_age_s=float(draw(st.integers(0, 14000))),
            abandoned=draw(st.integers(0, 5)),
        )
    return state


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[SiteSettings, SiteState, Controls, dict[str, InFlightMove], int]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    site = SiteSettings(id="main", queues=[QUEUES[n] for n in sorted(names)])
    state = queue_state(draw, names)
    people = draw(
        st.lists(
            st.tuples(
                st.sets(st.sampled_from([*NAMES, "other"]), max_size=4),  # skills
                st.sampled_from([*NAMES, "other", None]),  # queue
                st.sampled_from(STATUSES),
                st.sampled_from([None, 60.0, 7200.0]),
            ),
            max_size=40,
        )
    )  # moved how long ago
    for i, (skills, queue, status, ago) in enumerate(people):
        first = queue if ago is None else "other"  # None: first seen mid-assignment
        state.apply_agent(agent(f"a{i:02d}", first, skills, status, ts=NOW - 9000.0))
        if ago is not None:  # then a queue change `ago` seconds before NOW
            state.apply_agent(agent(f"a{i:02d}", queue, skills, status, ts=NOW - ago))
    ids = sorted(state.roster)
    locked = frozenset(draw(st.lists(st.sampled_from(ids), max_size=5))) if ids else frozenset()
    flying = {
        a: InFlightMove(a, draw(st.sampled_from(NAMES)), "c", NOW - 10)
        for a in (draw(st.lists(st.sampled_from(ids), max_size=5)) if ids else [])
    }
    pins = tuple(
        Pin(q, draw(st.none() | st.integers(0, 10)), draw(st.none() | st.integers(0, 10)))
        for q in draw(st.lists(st.sampled_from(names), max_size=2))
    )
    mode = draw(st.sampled_from(["auto", "shadow", "manual"]))
    budget = draw(st.integers(0, 12))
    return site, state, Controls(mode=mode, pins=pins, locked_agents=locked), flying, budget


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_plans_respect_skills_counts_and_guardrails(
    case: tuple[SiteSettings, SiteState, Controls, dict[str, InFlightMove], int],
) -> None:
    site, state, controls, flying, budget = case
    pl = planner(max_moves_per_cycle=budget)
    plan = plan_site(site, pl, state, controls, flying, NOW, "p")
    roster = state.roster
    staffed = [a for a in roster.values() if a.staffed]
    queue_ids = {q.id for q in site.queues}

    assert len(plan.moves) <= budget
    assert len({m.agent for m in plan.moves}) == len(plan.moves)
    if controls.mode == "manual":
        assert plan.moves == ()
    for m in plan.moves:
        a = roster[m.agent]
        assert m.to_queue in a.skills and m.to_queue in queue_ids  # skills are hard
        assert a.staffed and m.agent not in controls.locked_agents and m.agent not in flying
        assert m.from_queue == a.queue and m.from_queue != m.to_queue
        assert NOW - state.assigned_since(m.agent) >= pl.min_dwell_s or a.queue is None
        assert m.after_current_contact == (a.status != "available")
        assert m.reason and "\n" not in m.reason

    targets = {q: p.target for q, p in plan.queues.items()}
    assert set(targets) == queue_ids
    assert all(p.target >= 0 and p.assigned >= 0 and p.required >= 0 for p in plan.queues.values())
    assert sum(targets.values()) <= len(staffed)
    assert sum(p.assigned for p in plan.queues.values()) <= len(staffed)
    if controls.mode != "manual":
        net = Counter[str]()
        for m in plan.moves:
            net[m.to_queue] += 1
            if m.from_queue is not None:
                net[m.from_queue] -= 1
        assert all(p.target - p.assigned == net[q] for q, p in plan.queues.items())
    for p in plan.queues.values():
        assert 0.0 <= p.predicted_service_level <= 1.0
        assert 0.0 <= p.predicted_abandon_ratio <= 1.0
        assert not math.isnan(p.predicted_asa_s) and p.predicted_asa_s >= 0.0
    assert plan_site(site, pl, state, controls, flying, NOW, "p") == plan  # deterministic


@st.composite
def friendly_cases(draw: st.DrawFn) -> tuple[SiteSettings, SiteState, Controls]:
    """Sites whose agents announce when they leave and have recently switched queues."""
    names = sorted(draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=4, unique=True)))
    site = SiteSettings(id="main", queues=[QUEUES[n] for n in names])
    state = queue_state(draw, names)
    for i in range(draw(st.integers(0, 30))):
        skills = draw(st.sets(st.sampled_from(names), min_size=1, max_size=len(names)))
        came_from, now_in = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        status = draw(st.sampled_from(["available", "busy", "wrap_up"]))
        until = draw(st.sampled_from([None, 300.0, 899.0, 901.0, 5000.0]))
        left = draw(st.sampled_from([7200.0, 1700.0, 300.0]))  # left ``came_from`` that long ago
        aid = f"a{i:02d}"
        state.apply_agent(agent(aid, came_from, skills, status, ts=NOW - 9000.0))
        state.apply_agent(
            AgentState(
                aid,
                NOW - left,
                status,
                now_in,
                frozenset(skills),  # type: ignore[arg-type]
                None if until is None else NOW + until,
            )
        )
    return site, state, Controls()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(friendly_cases())
def test_agent_friendly_rules(case: tuple[SiteSettings, SiteState, Controls]) -> None:
    """Contract §11 and the issue's rules, whatever the site looks like."""
    site, state, controls = case
    pl = planner(max_moves_per_cycle=8, min_dwell_s=0.0)
    plan = plan_site(site, pl, state, controls, {}, NOW, "p")
    roster = state.roster
    for m in plan.moves:
        a = roster[m.agent]
        # never moved when about to leave
        assert a.available_until is None or a.available_until - NOW >= pl.min_remaining_s
        # never back to a queue it left less than min_return_s ago
        left = state.left_queues.get(m.agent, {}).get(m.to_queue)
        assert left is None or NOW - left >= pl.min_return_s
        # never from a queue predicted short (no pins here)
        src = plan.queues[m.from_queue] if m.from_queue else None
        if src is not None and src.channel != "email":
            alone = plan_site(site, planner(max_moves_per_cycle=0), state, controls, {}, NOW, "p")
            before = alone.queues[m.from_queue]
            assert before.predicted_service_level >= before.sl_target - 1e-9
