"""The realised service level's extra noise per channel (``realtime.CHAT_NOISE_K``): chat is
planned with a margin for the scatter of its realised service level, voice is not."""

from __future__ import annotations

import pytest

from staffer.core import realtime
from staffer.core.forecast import QueueForecast
from staffer.core.planner import plan_site
from staffer.core.state import SiteState
from staffer.core.types import Controls, Plan
from staffer.settings import QueueSettings, SiteSettings

from .conftest import NOW, agent, feed, phone_email_site, planner


def _fc(rate: float, rel_sd: float = 0.1) -> QueueForecast:
    return QueueForecast("chat", rate, 480.0, 300.0, 0, 0, 0.0, rel_sd)


def test_noise_widens_the_poisson_part_of_the_spread() -> None:
    f = _fc(rate=0.05)  # 90 chats over 1800 s
    plain, noisy = realtime.spread(f, 1800.0), realtime.spread(f, 1800.0, 2.0)
    assert plain**2 == pytest.approx(0.01 + 1.0 / 90.0)
    assert noisy**2 == pytest.approx(0.01 + 3.0 / 90.0)
    assert realtime.spread(_fc(rate=0.0), 1800.0, 2.0) ** 2 == pytest.approx(0.01 + 3.0)


def test_only_chat_carries_extra_noise() -> None:
    assert realtime.noise_k("chat") == realtime.CHAT_NOISE_K > 0.0
    assert realtime.noise_k("voice") == realtime.VOICE_NOISE_K == 0.0


def _chat_plan(chat_agents: int) -> Plan:
    both = ("chat", "email")
    site = SiteSettings(
        id="main",
        queues=[
            QueueSettings(
                id="chat",
                channel="chat",
                sl_target=0.8,
                target_s=60.0,
                aht_s=480.0,
                concurrency=2,
                patience_s=300.0,
            ),
            QueueSettings(id="email", channel="email", target_s=14400.0, aht_s=360.0),
        ],
    )
    st = SiteState("main")
    feed(st, "chat", 10, aht_s=480.0)
    feed(st, "email", 10, aht_s=360.0, backlog=20)
    for i in range(chat_agents):
        st.apply_agent(agent(f"c{i:03d}", "chat", both))
    for i in range(20):
        st.apply_agent(agent(f"e{i:03d}", "email", both))
    return plan_site(site, planner(), st, Controls(), {}, NOW, "p")


def _into(plan: Plan, queue: str) -> int:
    return sum(m.to_queue == queue for m in plan.moves)


def test_chat_planned_at_goal_without_the_noise_gets_one_more_agent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_noise = _chat_plan(6)
    monkeypatch.setattr(realtime, "CHAT_NOISE_K", 0.0)
    without = _chat_plan(6)
    assert _into(without, "chat") == 3  # the count whose mean prediction reaches 0.8
    assert _into(with_noise, "chat") == 4
    assert with_noise.queues["chat"].target == without.queues["chat"].target + 1


def test_voice_plans_do_not_depend_on_the_chat_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    def plan() -> Plan:
        st = SiteState("main")
        feed(st, "phone", 60, aht_s=240.0)
        feed(st, "email", 10, aht_s=360.0, backlog=50)
        for i in range(40):
            st.apply_agent(agent(f"p{i:03d}", "phone", ("phone", "email")))
        for i in range(30):
            st.apply_agent(agent(f"e{i:03d}", "email", ("phone", "email")))
        return plan_site(phone_email_site(), planner(), st, Controls(), {}, NOW, "p")

    base = plan()
    monkeypatch.setattr(realtime, "CHAT_NOISE_K", 5.0)
    other = plan()
    assert base.moves and [m.agent for m in base.moves] == [m.agent for m in other.moves]
    assert (
        base.queues["phone"].predicted_service_level
        == other.queues["phone"].predicted_service_level
    )
