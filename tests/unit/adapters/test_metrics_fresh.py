"""Freshness in Prometheus (contract §16): a stale queue's predictions are absent series,
never a placeholder; data age and the stale flag per queue."""

from __future__ import annotations

import dataclasses

from prometheus_client.parser import text_string_to_metric_families

from staffer.adapters.metrics import Metrics
from staffer.core.freshness import Freshness
from staffer.core.types import Plan, QueuePlan

PREDICTIONS = (
    "staffer_queue_predicted_service_level",
    "staffer_queue_predicted_asa_seconds",
    "staffer_queue_predicted_abandon_ratio",
)
QP = QueuePlan("voice", 0.07, 240.0, 20, 23, 22, 0.81, 12.3, 0.03, 0.8, 20.0)
STALE = dataclasses.replace(
    QP,
    predicted_service_level=None,
    predicted_asa_s=None,
    predicted_abandon_ratio=None,
    stale=True,
)


def samples(m: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(m.exposition().decode()):
        for s in fam.samples:
            out[s.name, tuple(sorted(s.labels.items()))] = s.value
    return out


def series(m: Metrics, name: str) -> dict[str, float]:
    return {dict(k)["queue"]: v for (n, k), v in samples(m).items() if n == name}


def plan(**queues: QueuePlan) -> Plan:
    return Plan("p", "main", 0.0, "auto", dict(queues))


def test_a_stale_queue_has_no_prediction_series() -> None:
    m = Metrics("t")
    m.observe_plan(plan(phone=QP, email=QP), 0.01)
    assert all(set(series(m, n)) == {"phone", "email"} for n in PREDICTIONS)
    m.observe_plan(plan(phone=QP, email=STALE), 0.01)  # email's bridge went quiet
    for name in PREDICTIONS:
        assert set(series(m, name)) == {"phone"}, name
    assert series(m, "staffer_queue_agents")  # staffing is still shown
    m.observe_plan(plan(phone=QP, email=QP), 0.01)  # back
    assert series(m, "staffer_queue_predicted_service_level") == {"phone": 0.81, "email": 0.81}


def test_data_age_and_stale_gauges() -> None:
    m = Metrics("t")
    m.observe_freshness("main", Freshness({"phone": 12.5, "email": None}, frozenset({"email"})))
    assert series(m, "staffer_queue_data_age_seconds") == {"phone": 12.5}  # never reported
    assert series(m, "staffer_queue_stale") == {"phone": 0.0, "email": 1.0}
    m.observe_freshness("main", Freshness({"phone": 400.0, "email": 3.0}, frozenset({"phone"})))
    assert series(m, "staffer_queue_data_age_seconds") == {"phone": 400.0, "email": 3.0}
    assert series(m, "staffer_queue_stale") == {"phone": 1.0, "email": 0.0}
