"""Policies on identical contacts: staffer vs static on the surge day, threshold rules."""

from __future__ import annotations

from staffer.sim.engine import Engine
from staffer.sim.policies import StafferPolicy, make_policy
from staffer.sim.run import run_policy
from staffer.sim.scenario import load_scenario


def test_staffer_beats_static_on_surge() -> None:
    sc = load_scenario("surge")
    _, static = run_policy(sc, "static", seed=11)
    _, staffer = run_policy(sc, "staffer", seed=11)
    assert staffer.queues["phone"].offered == static.queues["phone"].offered
    assert staffer.queues["phone"].service_level > static.queues["phone"].service_level + 0.05
    assert staffer.queues["phone"].abandon_ratio < static.queues["phone"].abandon_ratio
    assert staffer.queues["email"].on_time >= sc.site.queue("email").sl_target
    assert 0 < staffer.moves_per_agent_hour <= 1.0


def test_staffer_plans_on_the_planner_cadence() -> None:
    sc = load_scenario("short")
    eng = Engine(sc, seed=1)
    pol = make_policy("staffer", sc)
    assert isinstance(pol, StafferPolicy) and pol.period_s == sc.planner.interval_s
    for t in (300.0, 600.0, 900.0):
        eng.run_until(t)
        eng.apply_moves(pol.decide(eng))
    assert [p.as_of - sc.start_ts for p in pol.plans] == [300.0, 600.0, 900.0]
    for plan in pol.plans:
        assert set(plan.queues) == {"phone", "chat", "email"}
        for m in plan.moves:
            assert m.to_queue in eng.agents[m.agent].skills and m.reason


def test_threshold_pulls_from_email_and_gives_back() -> None:
    sc = load_scenario("surge")
    trace, _ = run_policy(sc, "threshold", seed=3)
    pulls = [(t, a) for t, a, src, dst in trace.move_log if src == "email" and dst == "phone"]
    backs = [(t, a) for t, a, src, dst in trace.move_log if src == "phone" and dst == "email"]
    assert pulls and backs
    assert min(t for t, _ in backs) > min(t for t, _ in pulls)
    assert {a for _, a in backs} <= {a for _, a in pulls}  # only borrowed agents go back
    borrowed_at_once = max(
        sum(1 for t, _ in pulls if t <= x) - sum(1 for t, _ in backs if t <= x) for x, _ in pulls
    )
    assert borrowed_at_once <= sc.threshold.max_borrowed


def test_staffer_tracks_moves_in_the_cores_in_flight_book() -> None:
    from staffer.core.inflight import InFlightBook
    from staffer.core.site import Site

    sc = load_scenario("short")
    eng = Engine(sc, seed=2)
    pol = make_policy("staffer", sc)
    assert isinstance(pol, StafferPolicy)
    assert isinstance(pol.site, Site) and isinstance(pol.site.flights, InFlightBook)
    seen: dict[str, str] = {}
    t = 0.0
    while not seen and t < eng.end_s - sc.planner.interval_s:
        t += sc.planner.interval_s
        eng.run_until(t)
        moves = pol.decide(eng)
        eng.apply_moves(moves)
        seen = {m.agent: m.to_queue for m in moves}
    assert seen, "the short day needs moves"
    assert all(pol.site.flights.is_in_flight(a, q) for a, q in seen.items())
    eng.run_until(t + 3600.0)  # long enough for every move to happen or time out
    pol.observe(eng.agent_states(), eng.take_snapshots())
    assert not any(pol.site.flights.is_in_flight(a, q) for a, q in seen.items())
