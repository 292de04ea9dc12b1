"""plan_site in less common situations: Erlang A, pins forcing moves out, foreign queues,
chat concurrency, scheduled forecast, reasons, the site's close within the horizon."""

from __future__ import annotations

import math

import pytest

from staffer.core.forecast import load_forecast_csv
from staffer.core.planner import MIN_HORIZON_S, plan_site, planning_horizon
from staffer.core.state import SiteState
from staffer.core.types import Controls, InFlightMove, Pin
from staffer.settings import QueueSettings, SiteSettings

from .conftest import NOW, agent, feed, planner, seat_leaving

BOTH = ("phone", "email")


def _site(**phone: object) -> SiteSettings:
    return SiteSettings(
        id="main",
        queues=[
            QueueSettings(id="phone", channel="voice", aht_s=240.0, **phone),  # type: ignore[arg-type]
            QueueSettings(id="email", channel="email", target_s=14400.0, aht_s=360.0),
        ],
    )


def _state(phone_agents: int, email_agents: int, phone_offered: int = 60) -> SiteState:
    st = SiteState("main")
    feed(st, "phone", phone_offered, aht_s=240.0)
    feed(st, "email", 10, aht_s=360.0, backlog=50)
    for i in range(phone_agents):
        st.apply_agent(agent(f"p{i:03d}", "phone", BOTH))
    for i in range(email_agents):
        st.apply_agent(agent(f"e{i:03d}", "email", BOTH))
    return st


def test_erlang_a_queue_reports_abandonment_and_its_reason() -> None:
    site = _site(patience_s=60.0, max_abandon=0.05)
    plan = plan_site(site, planner(), _state(40, 30), Controls(), {}, NOW, "p")
    phone = plan.queues["phone"]
    assert 0.0 < phone.predicted_abandon_ratio < 0.2
    assert plan.moves and all(m.to_queue == "phone" for m in plan.moves)
    assert ", abandon " in plan.moves[0].reason
    before = plan_site(
        site, planner(max_moves_per_cycle=0), _state(40, 30), Controls(), {}, NOW, "p"
    ).queues["phone"]
    assert phone.predicted_abandon_ratio < before.predicted_abandon_ratio


def test_pin_max_moves_agents_out_of_a_queue() -> None:
    plan = plan_site(
        _site(),
        planner(),
        _state(40, 30, phone_offered=30),
        Controls(pins=(Pin("phone", max=37),)),
        {},
        NOW,
        "p",
    )
    assert plan.queues["phone"].target == 37
    assert [m.from_queue for m in plan.moves] == ["phone"] * 3
    assert all("(pin max 37)" in m.reason for m in plan.moves)


def test_agents_of_foreign_queues_are_staffed_but_neither_counted_nor_moved() -> None:
    st = _state(40, 0)
    for i in range(5):
        st.apply_agent(agent(f"s{i}", "sales", ("sales", "phone", "email")))
    plan = plan_site(_site(), planner(), st, Controls(), {}, NOW, "p")
    assert not any(m.agent.startswith("s") for m in plan.moves)
    assert plan.queues["phone"].assigned + plan.queues["email"].assigned == 40


def test_in_flight_to_a_foreign_queue_counts_the_agent_where_it_is() -> None:
    st = _state(40, 30)
    flying = {"e000": InFlightMove("e000", "sales", "c1", NOW - 5)}
    plan = plan_site(_site(), planner(), st, Controls(), flying, NOW, "p")
    assert plan.queues["email"].assigned == 30
    assert "e000" not in {m.agent for m in plan.moves}


def test_chat_concurrency_halves_the_agents_needed() -> None:
    def required(concurrency: int) -> int:
        site = SiteSettings(
            id="main",
            queues=[
                QueueSettings(
                    id="chat", channel="chat", target_s=60.0, aht_s=480.0, concurrency=concurrency
                )
            ],
        )
        st = SiteState("main")
        feed(st, "chat", 60, aht_s=480.0)
        return plan_site(site, planner(), st, Controls(), {}, NOW, "p").queues["chat"].required

    one, two = required(1), required(2)
    assert one > 96 and 48 < two < one  # 96 Erlangs of chat work
    assert two <= (one + 1) // 2 + 1


def test_scheduled_forecast_reaches_the_plan() -> None:
    st = _state(40, 30)
    flat = "".join(f"{h:02d}:{m:02d},phone,120,240\n" for h in range(24) for m in (0, 30))
    st.schedule = load_forecast_csv("interval_start,queue,expected_contacts,aht_s\n" + flat)
    plan = plan_site(_site(), planner(forecast_weight=1.0), st, Controls(), {}, NOW, "p")
    # actual 60 per 300 s = 0.2/s, the schedule 120 per 1800 s: ratio about 3
    assert plan.queues["phone"].forecast_arrival_rate == pytest.approx(0.2, rel=0.05)
    # NOW is 11:06:40 UTC; the schedule doubles at 11:00 (0.1/s before, 0.2/s after)
    assert NOW % 86400 == 11 * 3600 + 400
    st.schedule = load_forecast_csv(
        "interval_start,queue,expected_contacts,aht_s\n"
        + "".join(
            f"{h:02d}:{m:02d},phone,{360 if h >= 11 else 180},240\n"
            for h in range(24)
            for m in (0, 30)
        )
    )
    shape = plan_site(_site(), planner(forecast_weight=1.0), st, Controls(), {}, NOW, "p")
    level = plan_site(_site(), planner(forecast_weight=0.0), st, Controls(), {}, NOW, "p")
    # actual 0.2/s against the last hour's 0.1-0.2/s: a ratio above 1 times the new 0.2/s
    assert shape.queues["phone"].forecast_arrival_rate > 0.2
    assert level.queues["phone"].forecast_arrival_rate < shape.queues["phone"].forecast_arrival_rate


def test_reason_is_one_line_with_both_queues_and_goal() -> None:
    plan = plan_site(_site(), planner(), _state(40, 30), Controls(), {}, NOW, "p")
    for m in plan.moves:
        assert "\n" not in m.reason
        head, tail = m.reason.split("; ")
        assert head.startswith("phone SL ") and "(target 0.80)" in head
        assert tail.startswith("email on-time ")


def test_a_large_overloaded_queue_still_gets_agents() -> None:
    # 1000 Erlangs of phone with 950 agents: one agent is 0.1 % of capacity, yet worth moving
    st = SiteState("main")
    feed(st, "phone", 1250, aht_s=240.0)
    feed(st, "email", 10, aht_s=360.0, backlog=0)
    for i in range(950):
        st.apply_agent(agent(f"p{i:04d}", "phone", BOTH))
    for i in range(60):
        st.apply_agent(agent(f"e{i:04d}", "email", BOTH))
    plan = plan_site(_site(), planner(), st, Controls(), {}, NOW, "p")
    assert plan.queues["phone"].required > 1000
    assert len(plan.moves) == 10 and all(m.to_queue == "phone" for m in plan.moves)
    assert "agents 950 -> 960 of " in plan.moves[0].reason


def _closing_state(until_s: float) -> SiteState:
    """12 agents on a light phone queue and 8 on email, everyone leaving ``until_s`` from
    now (the site's close): nobody serves after it."""
    st = SiteState("main")
    feed(st, "phone", 10, aht_s=240.0, abandoned=0)
    feed(st, "email", 8, aht_s=360.0, backlog=40)
    seat_leaving(st, (("p", "phone", 12), ("e", "email", 8)), BOTH, NOW + until_s)
    return st


def test_the_horizon_ends_at_the_close_so_email_is_not_emptied_into_phone() -> None:
    # a 30-minute horizon with everyone gone after 20 minutes predicted phone short (its
    # last 10 minutes unstaffed) and pulled all 8 email agents to phone (the bug: 3-6
    # emails left open at every busy day's close)
    site = _site(patience_s=120.0, max_abandon=0.05)
    plan = plan_site(
        site, planner(horizon_s=1800.0), _closing_state(1200.0), Controls(), {}, NOW, "p"
    )
    assert plan.moves == ()
    assert plan.queues["phone"].predicted_service_level > 0.9
    assert plan.queues["email"].target == 8


def test_planning_horizon_is_cut_only_by_a_close_within_it() -> None:
    p = planner(horizon_s=1800.0)
    assert planning_horizon(p, math.inf) is p
    assert planning_horizon(p, 1800.0) is p
    assert planning_horizon(p, 1200.0).horizon_s == 1200.0
    assert planning_horizon(p, 1200.0).min_dwell_s == p.min_dwell_s
    assert planning_horizon(p, -50.0).horizon_s == MIN_HORIZON_S  # everyone is leaving now
