"""The plan carries each queue's observed figures of its latest snapshot (for the console)."""

from __future__ import annotations

from staffer.core.planner import plan_site
from staffer.core.state import SiteState
from staffer.core.types import Controls

from .conftest import NOW, agent, feed, phone_email_site, planner, snap


def test_plan_passes_through_the_latest_observed_service_level_and_waiting() -> None:
    st = SiteState("main")
    feed(st, "phone", 40, waiting=2, aht_s=240.0, end=NOW - 300.0)
    st.apply_snapshot(
        "phone", snap(NOW, 40, 7, aht_s=240.0, answered=30, answered_within_target=24)
    )
    for i in range(20):
        st.apply_agent(agent(f"p{i}", "phone", ("phone",)))
    plan = plan_site(phone_email_site(), planner(), st, Controls(), {}, NOW, "plan-1")
    phone, email = plan.queues["phone"], plan.queues["email"]
    assert (phone.observed_service_level, phone.waiting) == (0.8, 7)  # 24 / 30, latest only
    assert (email.observed_service_level, email.waiting) == (None, None)  # never reported
