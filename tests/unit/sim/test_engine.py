"""The simulator's mechanics: reproducibility, common random numbers, moves, shifts."""

from __future__ import annotations

import math

from staffer.core.types import Move
from staffer.sim.engine import Engine, arrival_times, rng_stream
from staffer.sim.run import run_policy
from staffer.sim.scenario import load_scenario

from .helpers import stationary


def test_same_seed_same_day() -> None:
    sc = load_scenario("short")
    _, a = run_policy(sc, "threshold", seed=3)
    _, b = run_policy(sc, "threshold", seed=3)
    assert a.as_dict(series=True) == b.as_dict(series=True)


def test_policies_see_identical_contacts() -> None:
    sc = load_scenario("short")
    t1, _ = run_policy(sc, "static", seed=5)
    t2, _ = run_policy(sc, "threshold", seed=5)
    key = lambda c: (c.queue, c.arrival, c.handle_s, c.patience_s)  # noqa: E731
    assert sorted(map(key, t1.contacts)) == sorted(map(key, t2.contacts))


def test_different_seeds_differ() -> None:
    sc = load_scenario("short")
    t1, _ = run_policy(sc, "static", seed=1)
    t2, _ = run_policy(sc, "static", seed=2)
    assert [c.arrival for c in t1.contacts] != [c.arrival for c in t2.contacts]


def test_arrival_counts_follow_profile() -> None:
    rng = rng_stream(1, "q", 0)
    t = arrival_times([0.1, 0.0, 0.2], 1000.0, rng)
    assert ((t >= 1000) & (t < 2000)).sum() == 0
    assert abs(((t >= 2000) & (t < 3000)).sum() - 200) < 4 * math.sqrt(200)
    assert (t == sorted(t)).all()


def test_move_waits_for_current_contact() -> None:
    sc = stationary(3600, 600, 1, hours=1)
    eng = Engine(sc, seed=1)
    eng.run_until(5.0)
    agent = eng.agents["a001"]
    assert agent.active == 1  # a call every second: the agent is busy
    sc2 = load_scenario("short")
    eng2 = Engine(sc2, seed=1)
    eng2.run_until(600.0)
    busy = next(a for a in eng2.agents.values() if a.queue == "email" and a.active)
    eng2.apply_moves([Move(busy.id, "email", "phone", "test")])
    assert busy.queue == "email"  # still finishing the email
    assert busy.pending == "phone"
    eng2.run_until(600.0 + 20 * 3600)
    assert busy.queue == "phone"
    assert eng2.total_moves == 1


def test_move_without_skill_is_ignored() -> None:
    eng = Engine(load_scenario("short"), seed=1)
    assert eng.apply_moves([Move("p001", "phone", "email", "no skill")]) == 0
    assert eng.agents["p001"].queue == "phone"


def test_outage_and_shift_take_agents_offline() -> None:
    sc = load_scenario("surge")
    eng = Engine(sc, seed=1)
    eng.run_until(9000 + 1800)  # mid-outage: 3 of the early phone agents are out
    out = [a for a in eng.agents.values() if a.id.startswith("p0") and not a.online]
    assert len(out) == sc.events[0].agents == 3
    eng.run_until(sc.day_s - 1)
    assert not any(a.online for a in eng.agents.values() if a.id.startswith("p0"))
    assert all(a.online for a in eng.agents.values() if a.id.startswith("pl"))


def test_snapshots_count_what_happened() -> None:
    eng = Engine(load_scenario("short"), seed=2)
    eng.run_until(300.0)
    snaps = eng.take_snapshots()
    phone = snaps["phone"]
    offered = sum(1 for c in eng.contacts if c.queue == "phone")
    assert phone.offered == offered
    assert phone.answered + phone.abandoned + phone.waiting <= offered
    assert phone.interval_s == 300.0
    assert snaps["email"].backlog is not None
    again = eng.take_snapshots()
    assert again["phone"].offered == 0


def test_streams_are_separate_per_queue_and_purpose() -> None:
    """Changing one queue's patience or another queue's demand leaves the rest unchanged."""
    import tomllib

    from staffer.sim.scenario import SCENARIO_DIR, scenario_from_dict

    data = tomllib.loads((SCENARIO_DIR / "short.toml").read_text())
    base = Engine(scenario_from_dict(data), seed=4)
    data["demand"]["phone"]["patience_s"] = 30.0
    data["demand"]["chat"]["rates_per_hour"] = [80, 80, 80, 80]
    changed = Engine(scenario_from_dict(data), seed=4)
    phone = [(c.arrival, c.handle_s) for c in base._draw("phone")]
    assert phone == [(c.arrival, c.handle_s) for c in changed._draw("phone")]
    assert [c.patience_s for c in base._draw("phone")] != [
        c.patience_s for c in changed._draw("phone")
    ]
    assert [c.arrival for c in base._draw("email")] == [c.arrival for c in changed._draw("email")]


def _two_queue(switch_cost_s: float) -> Engine:
    """One idle agent on email while phone calls arrive every second."""
    from staffer.sim.scenario import scenario_from_dict

    sc = scenario_from_dict(
        {
            "name": "switch",
            "start": "2026-11-23T08:00:00Z",
            "profile_interval_s": 3600,
            "drain_s": 0,
            "switch_cost_s": switch_cost_s,
            "site": {
                "id": "s",
                "queues": [{"id": "q", "channel": "voice"}, {"id": "e", "channel": "email"}],
            },
            "demand": {"q": {"rates_per_hour": [3600]}, "e": {"rates_per_hour": [0]}},
            "agents": [{"prefix": "a", "count": 1, "skills": ["q", "e"], "queue": "e"}],
        }
    )
    return Engine(sc, seed=1)


def test_a_switched_agent_takes_no_contact_for_the_switch_cost() -> None:
    eng = _two_queue(60.0)
    eng.run_until(5.0)
    agent = eng.agents["a001"]
    assert eng.apply_moves([Move("a001", "e", "q", "test")]) == 1
    assert agent.queue == "q" and eng.move_log == [(5.0, "a001", "e", "q")]  # idle: at once
    eng.run_until(64.0)
    assert agent.active == 0 and eng.n_waiting["q"] > 0  # still logging in
    assert eng.agent_states()[0].status == "busy"  # not available meanwhile
    eng.run_until(66.0)
    assert agent.active == 1
    free = _two_queue(0.0)
    free.run_until(5.0)
    free.apply_moves([Move("a001", "e", "q", "test")])
    free.run_until(6.0)
    assert free.agents["a001"].active == 1


def test_breaks_are_announced_and_outages_are_not() -> None:
    sc = load_scenario("lunch_rush")
    eng = Engine(sc, seed=1)
    t0 = sc.start_ts
    state = lambda aid: next(a for a in eng.agent_states() if a.agent == aid)  # noqa: E731
    eng.run_until(12000.0)
    assert state("p001").available_until == t0 + 12600.0  # lunch first
    assert state("p002").available_until == t0 + 13200.0  # staggered by 600 s
    assert state("x001").available_until == t0 + 12600.0
    assert state("pe001").available_until == t0 + 16200.0
    eng.run_until(14000.0)
    assert state("p001").status == "break" and state("p001").available_until is None
    eng.run_until(15000.0)
    assert state("p001").staffed and state("p001").available_until == t0 + 28800.0  # shift end
    assert state("pe002").available_until == t0 + 16800.0
    eng.run_until(23000.0)  # every lunch is over: all-day agents leave when the site closes
    assert state("x001").available_until == t0 + sc.day_s + sc.drain_s
    surge = Engine(load_scenario("surge"), seed=1)
    surge.run_until(9000.0 + 1800.0)
    out = next(a for a in surge.agent_states() if a.agent == "p001")
    assert out.status == "offline" and out.available_until is None
    before = next(a for a in Engine(load_scenario("surge"), seed=1).agent_states())
    assert before.available_until is None  # not on shift yet: nothing announced
