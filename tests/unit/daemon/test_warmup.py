"""The start-up warm-up plan: it really plans (agents move), touches nothing served, and
never stops the daemon from starting."""

import pytest

from staffer import warmup
from staffer.core import planner
from staffer.core.types import Plan
from staffer.settings import Settings


def _settings(**kw: object) -> Settings:
    return Settings.model_validate({"sites": [{"id": "s1"}], **kw})


def test_the_warm_up_plans_a_surge_with_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    plans: list[Plan] = []
    real = planner.plan_site

    def spy(*args: object) -> Plan:
        plans.append(real(*args))  # type: ignore[arg-type]
        return plans[-1]

    monkeypatch.setattr(warmup, "plan_site", spy)
    assert warmup.warm_up(_settings()) > 0
    assert len(plans) == 1 and plans[0].site == "s1"
    assert plans[0].moves  # the planner's whole path ran: moves, reasons, encoding
    assert {m.to_queue for m in plans[0].moves} == {"phone"}


def test_a_failing_warm_up_only_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object) -> Plan:
        raise ValueError("boom")

    monkeypatch.setattr(warmup, "plan_site", boom)
    assert warmup.warm_up(_settings()) == 0.0
