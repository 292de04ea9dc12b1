"""plan_site as plain function calls: allocation, guardrails, modes, determinism."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from staffer import models
from staffer.core.planner import plan_site
from staffer.core.state import SiteState
from staffer.core.types import Controls, GoalOverride, InFlightMove, Pin, Plan
from staffer.settings import PlannerSettings

from .conftest import NOW, agent, feed, phone_email_site, planner

BOTH = ("phone", "email")
NO_CONTROLS = Controls()


def surge_state(
    phone_agents: int = 40,
    email_agents: int = 30,
    *,
    backlog: int = 50,
    oldest_age_s: float = 600.0,
    email_skills: Iterable[str] = BOTH,
    status: str = "available",
    phone_status: str = "available",
) -> SiteState:
    """Phone at 48 Erlangs with 40 agents; email at 12 Erlangs, small backlog, 30 agents."""
    st = SiteState("main")
    feed(st, "phone", 60, aht_s=240.0)
    feed(st, "email", 10, aht_s=360.0, backlog=backlog, oldest_age_s=oldest_age_s)
    for i in range(phone_agents):
        st.apply_agent(agent(f"p{i:03d}", "phone", BOTH, phone_status))
    for i in range(email_agents):
        st.apply_agent(agent(f"e{i:03d}", "email", email_skills, status))
    return st


def run(
    st: SiteState,
    controls: Controls = NO_CONTROLS,
    pl: PlannerSettings | None = None,
    in_flight: dict[str, InFlightMove] | None = None,
    **site_kw: object,
) -> Plan:
    return plan_site(
        phone_email_site(**site_kw),
        pl or planner(),
        st,
        controls,  # type: ignore[arg-type]
        in_flight or {},
        NOW,
        "plan-1",
    )


def test_phone_surge_moves_idle_email_agents_to_phone() -> None:
    plan = run(surge_state())
    phone, email = plan.queues["phone"], plan.queues["email"]
    assert plan.moves and all(m.from_queue == "email" and m.to_queue == "phone" for m in plan.moves)
    assert 5 <= len(plan.moves) <= 10  # the onset batch in one cycle, while moves pay
    assert (phone.assigned, phone.target) == (40, 40 + len(plan.moves))
    assert (email.assigned, email.target) == (30, 30 - len(plan.moves))
    assert phone.required > 40 and email.required <= email.target
    assert phone.predicted_service_level >= phone.sl_target - 0.02
    assert phone.predicted_service_level > 0.0
    assert all(not m.after_current_contact for m in plan.moves)  # all available
    r = plan.moves[0].reason
    assert r.startswith("phone SL ") and "(target 0.80)" in r and "; email on-time " in r


def test_predictions_start_from_the_queue_now_and_are_for_the_target() -> None:
    roomy = run(surge_state(phone_agents=56), pl=planner(max_moves_per_cycle=0))
    phone = roomy.queues["phone"]
    steady = models.service_level(phone.forecast_arrival_rate, phone.forecast_aht_s, 56, 20.0)
    assert phone.forecast_arrival_rate == pytest.approx(0.2)
    assert phone.predicted_service_level == pytest.approx(float(steady), abs=0.1)
    st = surge_state(phone_agents=56, phone_status="busy")  # every agent on a call
    feed(st, "phone", 60, waiting=40, aht_s=240.0, intervals=1, end=NOW + 1)  # 40 waiting
    queued = plan_site(
        phone_email_site(), planner(max_moves_per_cycle=0), st, NO_CONTROLS, {}, NOW + 1, "p"
    ).queues["phone"]
    assert queued.predicted_service_level < phone.predicted_service_level - 0.05
    short = run(surge_state(), pl=planner(max_moves_per_cycle=0)).queues["phone"]
    moved = run(surge_state()).queues["phone"]
    assert moved.predicted_service_level > short.predicted_service_level  # at the target


def test_skills_are_hard_constraints() -> None:
    plan = run(surge_state(email_skills=("email",)))
    assert plan.moves == ()
    assert plan.queues["phone"].target == 40


def test_email_is_protected_near_its_deadline() -> None:
    # 1300 items x 360 s within 4 h need 33 agents: email is below its floor with 30
    plan = run(surge_state(backlog=1300, oldest_age_s=13500.0))
    assert plan.queues["email"].required >= 33  # 1300 x 360 s within the deadline
    assert not any(m.from_queue == "email" for m in plan.moves)
    assert plan.queues["email"].target >= plan.queues["email"].assigned


def test_tighter_email_deadline_keeps_its_agents() -> None:
    relaxed = run(surge_state(backlog=600))
    tight = run(surge_state(backlog=600), Controls(goals=(GoalOverride("email", target_s=7200.0),)))
    assert any(m.from_queue == "email" for m in relaxed.moves)
    assert tight.queues["email"].required >= 30
    assert not any(m.from_queue == "email" for m in tight.moves)


def test_email_gives_only_down_to_its_floor() -> None:
    st = surge_state(phone_agents=10, email_agents=20)
    plan = run(st, pl=planner(max_moves_per_cycle=50))
    email = plan.queues["email"]
    assert email.target == email.required
    assert len(plan.moves) == 20 - email.required


def test_min_dwell_blocks_recently_moved_agents() -> None:
    st = surge_state()
    for i in range(25):  # moved to email two minutes ago
        st.apply_agent(agent(f"e{i:03d}", "phone", BOTH, ts=NOW - 300))
        st.apply_agent(agent(f"e{i:03d}", "email", BOTH, ts=NOW - 120))
    plan = run(st)
    moved = {m.agent for m in plan.moves}
    assert moved == {f"e{i:03d}" for i in range(25, 30)}
    assert plan.queues["phone"].target == 45


@pytest.mark.parametrize("budget", [0, 2, 5])
def test_max_moves_per_cycle(budget: int) -> None:
    plan = run(surge_state(), pl=planner(max_moves_per_cycle=budget))
    assert len(plan.moves) == budget
    assert plan.queues["phone"].target == 40 + budget


def _one_short_state(short: int = 1) -> tuple[SiteState, int, float]:
    """Phone ``short`` agents short of 80%/20 s at 24 Erlangs; email idle with slack."""
    rate, aht = 0.1, 240.0
    n = int(models.required_agents(rate, aht, 20.0, 0.8)) - short
    gain = min(float(models.service_level(rate, aht, n + 1, 20.0)), 0.8) - float(
        models.service_level(rate, aht, n, 20.0)
    )
    st = SiteState("main")
    feed(st, "phone", 30, aht_s=aht)
    feed(st, "email", 0, aht_s=360.0, backlog=0)
    for i in range(n):  # as loaded as the traffic says: 24 of them on a call
        st.apply_agent(agent(f"p{i:03d}", "phone", BOTH, "busy" if i < 24 else "available"))
    for i in range(10):
        st.apply_agent(agent(f"e{i:03d}", "email", BOTH))
    return st, n, gain


def test_hysteresis_blocks_moves_worth_less_than_the_margin() -> None:
    st, n, _ = _one_short_state(short=3)
    assert run(st, pl=planner(hysteresis=0.9)).moves == ()
    plan = run(st, pl=planner(hysteresis=0.0))
    assert plan.moves and all((m.from_queue, m.to_queue) == ("email", "phone") for m in plan.moves)
    assert plan.queues["phone"].target == n + len(plan.moves)


def test_balanced_site_makes_no_moves() -> None:
    st, n, _ = _one_short_state()
    st.apply_agent(agent("extra", "phone", BOTH))  # phone now meets its goal
    plan = run(st)
    assert plan.moves == ()
    assert plan.queues["phone"].target == n + 1


def test_pins_bound_targets() -> None:
    plan = run(surge_state(), Controls(pins=(Pin("email", min=27),)))
    assert plan.queues["email"].target == 27 and len(plan.moves) == 3
    plan = run(surge_state(), Controls(pins=(Pin("phone", max=42),)))
    assert plan.queues["phone"].target == 42


def test_pin_min_pulls_agents_even_into_a_quiet_queue() -> None:
    st, _, _ = _one_short_state()
    plan = run(st, Controls(pins=(Pin("email", min=12),)), pl=planner(max_moves_per_cycle=5))
    assert plan.queues["email"].target == 12
    assert any("pin min 12" in m.reason for m in plan.moves)


def test_locked_agents_are_never_moved() -> None:
    locked = frozenset(f"e{i:03d}" for i in range(28))
    plan = run(surge_state(), Controls(locked_agents=locked))
    assert {m.agent for m in plan.moves} == {"e028", "e029"}


@pytest.mark.parametrize("status", ["break", "offline"])
def test_agents_on_break_or_offline_are_neither_moved_nor_counted(status: str) -> None:
    plan = run(surge_state(status=status))
    assert plan.queues["email"].assigned == 0
    assert not any(m.agent.startswith("e") for m in plan.moves)
    # an unstaffed email queue now needs agents: the planner sends phone agents there
    assert all(m.to_queue == "email" for m in plan.moves)


def test_available_then_wrap_up_then_busy() -> None:
    st = surge_state()
    for aid, status in [
        ("x1", "busy"),
        ("x2", "wrap_up"),
        ("x3", "available"),
        ("x4", "busy"),
        ("x0", "wrap_up"),
    ]:
        st.apply_agent(agent(aid, "email", BOTH, status))
    fixed = frozenset(a for a in st.roster if not a.startswith("x"))
    plan = run(st, Controls(locked_agents=fixed), pl=planner(max_moves_per_cycle=4))
    assert [m.agent for m in plan.moves] == ["x3", "x0", "x2", "x1"]
    assert [m.after_current_contact for m in plan.moves] == [False, True, True, True]


def test_in_flight_agents_count_at_their_target_and_are_not_moved_again() -> None:
    st = surge_state()
    flying = {f"e{i:03d}": InFlightMove(f"e{i:03d}", "phone", "cmd-1", NOW - 30) for i in range(4)}
    plan = run(st, in_flight=flying)
    assert plan.queues["phone"].assigned == 44
    assert plan.queues["email"].assigned == 26
    assert not {m.agent for m in plan.moves} & set(flying)
    assert plan.queues["phone"].target == 44 + len(plan.moves)


def test_unassigned_staffed_agents_get_a_queue() -> None:
    st = surge_state()
    fixed = frozenset(st.roster)
    st.apply_agent(agent("u1", None, ("phone",)))
    st.apply_agent(agent("u2", None, ("phone",), "offline"))
    plan = run(st, Controls(locked_agents=fixed), pl=planner(hysteresis=0.01))
    assert [(m.agent, m.from_queue, m.to_queue) for m in plan.moves] == [("u1", None, "phone")]
    assert "from unassigned" in plan.moves[0].reason


def test_manual_mode_plans_targets_but_no_moves() -> None:
    auto = run(surge_state())
    manual = run(surge_state(), Controls(mode="manual"))
    assert manual.moves == () and manual.mode == "manual"
    assert manual.queues == auto.queues


def test_shadow_mode_still_computes_moves() -> None:
    plan = run(surge_state(), Controls(mode="shadow"))
    assert plan.mode == "shadow" and plan.moves == run(surge_state()).moves != ()


def test_goal_override_changes_goal_and_required() -> None:
    base = run(surge_state())
    strict = run(
        surge_state(), Controls(goals=(GoalOverride("phone", sl_target=0.95, target_s=10.0),))
    )
    assert (strict.queues["phone"].sl_target, strict.queues["phone"].target_s) == (0.95, 10.0)
    assert strict.queues["phone"].required > base.queues["phone"].required


def test_plan_is_deterministic_and_independent_of_arrival_order() -> None:
    a = run(surge_state(), pl=planner(max_moves_per_cycle=7))
    st = SiteState("main")
    feed(st, "phone", 60, aht_s=240.0)
    feed(st, "email", 10, aht_s=360.0, backlog=50, oldest_age_s=600.0)
    for i in reversed(range(30)):
        st.apply_agent(agent(f"e{i:03d}", "email", BOTH))
    for i in reversed(range(40)):
        st.apply_agent(agent(f"p{i:03d}", "phone", BOTH))
    b = run(st, pl=planner(max_moves_per_cycle=7))
    assert a == b
    assert [m.agent for m in a.moves] == [f"e{i:03d}" for i in range(7)]


def test_empty_site_plans_without_error() -> None:
    plan = run(SiteState("main"))
    assert plan.moves == ()
    assert {q.assigned for q in plan.queues.values()} == {0}
    assert plan.queues["phone"].predicted_service_level == 1.0
    assert (plan.plan_id, plan.site, plan.as_of) == ("plan-1", "main", NOW)


@pytest.mark.parametrize(
    ("rate", "aht", "target_s", "sl", "patience", "conc", "cap"),
    [
        (0.1, 240.0, 20.0, 0.8, None, 1, None),
        (2.0, 180.0, 15.0, 0.9, None, 1, None),
        (0.05, 480.0, 60.0, 0.8, None, 2, None),
        (0.3, 300.0, 20.0, 0.8, 90.0, 1, 0.05),
        (0.3, 300.0, 20.0, 0.5, 60.0, 1, 0.02),
        (0.001, 240.0, 20.0, 0.8, None, 1, None),
        (0.1, 240.0, 20.0, 1.0, None, 1, None),  # beyond the sweep: the search finds it
        (0.1, 240.0, 20.0, 0.999999, 100.0, 1, 0.05),
        (5.0, 240.0, 20.0, 0.05, 60.0, 1, 1.0),  # no abandonment cap: a very wide range
        (5.0, 240.0, 20.0, 0.0, 60.0, 1, 1.0),  # ... whose answer lies below the sweep
    ],
)
def test_required_matches_models_required_agents(
    rate: float,
    aht: float,
    target_s: float,
    sl: float,
    patience: float | None,
    conc: int,
    cap: float | None,
) -> None:
    from staffer.settings import QueueSettings, SiteSettings

    site = SiteSettings(
        id="main",
        queues=[
            QueueSettings(
                id="q",
                channel="chat" if conc > 1 else "voice",
                sl_target=sl,
                target_s=target_s,
                aht_s=aht,
                patience_s=patience,
                concurrency=conc,
                max_abandon=cap,
            ),
            QueueSettings(id="email", channel="email"),
        ],
    )
    offered = round(rate * 300)
    exact = int(
        models.required_agents(
            offered / 300, aht, target_s, sl, patience=patience, concurrency=conc, max_abandon=cap
        )
    )
    for assigned in (0, exact - 3, exact + 25):  # answer above, inside and below the window
        st = SiteState("main")
        feed(st, "q", offered, aht_s=aht)
        for k in range(max(assigned, 0)):
            st.apply_agent(agent(f"a{k:03d}", "q", ["q", "email"]))
        plan = plan_site(site, planner(), st, Controls(), {}, NOW, "p")
        assert plan.queues["q"].required == exact
