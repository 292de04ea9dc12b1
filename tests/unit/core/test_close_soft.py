"""The email look-ahead that sees the close (``email_plan.CLOSE_SOFT``): a soft objective per
agent below the floor the close needs, so email is paid back while phone has slack instead
of all at once when the close enters the deadline look-ahead."""

from __future__ import annotations

import pytest

from staffer.core import email_plan
from staffer.core.email_plan import ahead_edges
from staffer.core.planner import plan_site
from staffer.core.state import SiteState
from staffer.core.types import Controls, Plan

from .conftest import NOW, feed, phone_email_site, planner, seat_leaving

HOUR = 3600.0


def test_the_look_ahead_reaches_a_close_within_view() -> None:
    assert ahead_edges(1800.0, [14400.0])[-1] == pytest.approx(5 * HOUR)  # 1.25 deadlines
    assert ahead_edges(1800.0, [14400.0], 8 * HOUR)[-1] >= 8 * HOUR
    assert ahead_edges(1800.0, [14400.0], 13 * HOUR)[-1] == pytest.approx(5 * HOUR)


def _plan(until_s: float) -> Plan:
    """32 agents on phone (a few spare, the surplus observed), 6 on a growing email queue,
    everyone leaving ``until_s`` from now."""
    both = ("phone", "email")
    st = SiteState("main")
    feed(st, "phone", 30, aht_s=240.0, answered_within_target=30)
    feed(st, "email", 8, aht_s=360.0, backlog=50)
    seat_leaving(st, (("p", "phone", 32), ("e", "email", 6)), both, NOW + until_s)
    return plan_site(phone_email_site(), planner(), st, Controls(), {}, NOW, "p")


def _to_email(plan: Plan) -> int:
    return sum(m.from_queue == "phone" and m.to_queue == "email" for m in plan.moves)


def test_a_close_beyond_the_deadline_look_ahead_pays_email_back_from_phone_slack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    soft = _plan(8 * HOUR)
    assert _to_email(soft) == 4 and len(soft.moves) == 4
    assert soft.queues["phone"].predicted_service_level >= 0.8  # only phone's slack goes
    monkeypatch.setattr(email_plan, "CLOSE_SOFT", 0.0)
    assert _plan(8 * HOUR).moves == ()  # the 5-hour look-ahead alone sees no need


def test_no_close_in_view_no_soft_term(monkeypatch: pytest.MonkeyPatch) -> None:
    far = _plan(13 * HOUR)
    monkeypatch.setattr(email_plan, "CLOSE_SOFT", 0.0)
    assert [m.agent for m in far.moves] == [m.agent for m in _plan(13 * HOUR).moves]
