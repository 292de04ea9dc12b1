"""Metrics: contract §8 names/types/labels, helper semantics, promtool-valid exposition."""

import math
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from staffer.adapters.metrics import Metrics
from staffer.core.types import Move, Plan, QueuePlan, QueueSnapshot

PROMTOOL = "/usr/bin/promtool"
CONTRACT = {
    "staffer_queue_agents": ("gauge", {"site", "queue", "kind"}),
    "staffer_queue_predicted_service_level": ("gauge", {"site", "queue"}),
    "staffer_queue_predicted_asa_seconds": ("gauge", {"site", "queue"}),
    "staffer_queue_predicted_abandon_ratio": ("gauge", {"site", "queue"}),
    "staffer_queue_forecast_arrival_rate": ("gauge", {"site", "queue"}),
    "staffer_queue_waiting_contacts": ("gauge", {"site", "queue"}),
    "staffer_queue_observed_service_level": ("gauge", {"site", "queue"}),
    "staffer_moves": ("counter", {"site", "from_queue", "to_queue"}),
    "staffer_plan_duration_seconds": ("histogram", {"site"}),
    "staffer_messages": ("counter", {"kind", "outcome"}),
    "staffer_overrides_active": ("gauge", {"site"}),
    "staffer_mqtt_connected": ("gauge", set()),
    "staffer_mode": ("gauge", {"site", "mode"}),
    # an Info is exposed in the Prometheus text format as a *_info gauge with value 1
    "staffer_build_info": ("gauge", {"version"}),
}
SITES = {"main": ["phone", "chat", "email"], "s2": ["phone"]}


def _qp(asa: float = 12.3) -> QueuePlan:
    return QueuePlan(
        channel="voice",
        forecast_arrival_rate=0.07,
        forecast_aht_s=240.0,
        assigned=20,
        target=23,
        required=22,
        predicted_service_level=0.81,
        predicted_asa_s=asa,
        predicted_abandon_ratio=0.03,
        sl_target=0.8,
        target_s=20.0,
    )


def _plan(site: str = "main", mode: str = "auto") -> Plan:
    return Plan(
        plan_id="p",
        site=site,
        as_of=0.0,
        mode=mode,  # type: ignore[arg-type]
        queues={"phone": _qp(), "chat": _qp(math.inf), "ghost": _qp()},
    )


def _populated() -> Metrics:
    m = Metrics("1.2.3", SITES)
    m.observe_plan(_plan(), 0.042)
    m.observe_plan(_plan("s2", "shadow"), 0.5)
    m.observe_snapshot(
        "main",
        "phone",
        QueueSnapshot(0.0, 60.0, offered=10, waiting=4, answered=8, answered_within_target=6),
    )
    m.message("queue_metrics", True)
    m.message("agent_state", False, "missing_field:status")
    m.set_overrides_active("main", 3)
    m.set_connected(True)
    m.reconnected()
    m.count_moves("main", [Move("a1", "email", "phone", "r"), Move("a2", None, "phone", "r")])
    m.override_request("main", "accepted")
    m.set_in_flight("main", 2)
    return m


def _families(m: Metrics) -> dict:
    return {f.name: f for f in text_string_to_metric_families(m.exposition().decode())}


def _value(m: Metrics, name: str, **labels: str) -> float:
    for fam in text_string_to_metric_families(m.exposition().decode()):
        for s in fam.samples:
            if s.name == name and s.labels == labels:
                return s.value
    raise AssertionError(f"no sample {name}{labels}")


def test_promtool_accepts_exposition() -> None:
    text = _populated().exposition()
    res = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, timeout=30, check=False
    )
    assert res.returncode == 0, res.stdout.decode() + res.stderr.decode()
    # promtool prints lint findings even with exit 0; require none
    assert res.stdout.strip() == b"" and res.stderr.strip() == b"", res.stderr.decode()


def test_every_contract_metric_with_type_and_labels() -> None:
    fams = _families(_populated())
    for name, (kind, labels) in CONTRACT.items():
        assert name in fams, name
        assert fams[name].type == kind, (name, fams[name].type)
        sample_labels = {k for s in fams[name].samples for k in s.labels if k != "le"}
        assert sample_labels == labels, (name, sample_labels)
    text = _populated().exposition().decode()
    for exposed in (
        "staffer_moves_total{",
        "staffer_messages_total{",
        "staffer_build_info{",
        "staffer_plan_duration_seconds_bucket{",
    ):
        assert exposed in text


def test_plan_values_and_mode() -> None:
    m = _populated()
    assert _value(m, "staffer_queue_agents", site="main", queue="phone", kind="target") == 23
    assert _value(m, "staffer_queue_agents", site="main", queue="phone", kind="required") == 22
    assert _value(m, "staffer_queue_predicted_asa_seconds", site="main", queue="chat") == math.inf
    assert _value(m, "staffer_queue_forecast_arrival_rate", site="main", queue="phone") == 0.07
    assert _value(m, "staffer_mode", site="main", mode="auto") == 1
    assert _value(m, "staffer_mode", site="main", mode="shadow") == 0
    assert _value(m, "staffer_mode", site="s2", mode="shadow") == 1
    assert _value(m, "staffer_plan_duration_seconds_count", site="main") == 1
    assert _value(m, "staffer_plan_duration_seconds_sum", site="main") == pytest.approx(0.042)
    assert _value(m, "staffer_build_info", version="1.2.3") == 1
    assert _value(m, "staffer_mqtt_connected") == 1
    m.set_mode("main", "manual")
    assert _value(m, "staffer_mode", site="main", mode="auto") == 0
    assert _value(m, "staffer_mode", site="main", mode="manual") == 1


def test_unconfigured_sites_and_queues_never_become_labels() -> None:
    m = _populated()
    m.observe_plan(_plan("intruder"), 0.1)
    m.observe_snapshot("main", "ghost", QueueSnapshot(0.0, 60.0, 1, 1))
    m.set_overrides_active("intruder", 5)
    m.count_moves("main", [Move("a9", "ghost", "phone", "r")])
    text = m.exposition().decode()
    assert "intruder" not in text and 'queue="ghost"' not in text
    assert _value(m, "staffer_moves_total", site="main", from_queue="other", to_queue="phone") == 1
    assert "a1" not in text and "a9" not in text  # agent ids are never labels


def test_deploy_extras() -> None:
    """deploy/prometheus rules rely on these additive gauges."""
    m = _populated()
    assert _value(m, "staffer_queue_sl_target", site="main", queue="phone") == 0.8
    assert _value(m, "staffer_queue_target_seconds", site="main", queue="phone") == 20.0
    assert _value(m, "staffer_site_last_input_timestamp_seconds", site="main") > 1.7e9
    assert 'staffer_site_last_input_timestamp_seconds{site="s2"}' not in m.exposition().decode()


def test_snapshot_and_counters() -> None:
    m = _populated()
    assert _value(m, "staffer_queue_waiting_contacts", site="main", queue="phone") == 4
    assert _value(m, "staffer_queue_observed_service_level", site="main", queue="phone") == 0.75
    assert _value(m, "staffer_messages_total", kind="agent_state", outcome="invalid") == 1
    assert _value(m, "staffer_messages_total", kind="queue_metrics", outcome="ok") == 1
    assert _value(m, "staffer_messages_total", kind="override", outcome="ok") == 0
    assert (
        _value(
            m, "staffer_invalid_messages_total", kind="agent_state", reason="missing_field:status"
        )
        == 1
    )
    assert _value(m, "staffer_moves_total", site="main", from_queue="email", to_queue="phone") == 1
    assert _value(m, "staffer_moves_total", site="main", from_queue="none", to_queue="phone") == 1
    assert _value(m, "staffer_commands_total", site="main") == 1
    assert _value(m, "staffer_commands_total", site="s2") == 0
    assert _value(m, "staffer_overrides_active", site="main") == 3
    assert _value(m, "staffer_overrides_active", site="s2") == 0
    assert _value(m, "staffer_mqtt_reconnects_total") == 1


def test_reason_labels_are_bounded() -> None:
    m = Metrics("x")
    for i in range(200):
        m.message("queue_metrics", False, f"missing_field:f{i}")
    m.message("bogus-kind", False, "Weird Reason With Spaces")
    reasons = {s.labels["reason"] for s in _families(m)["staffer_invalid_messages"].samples}
    assert len(reasons) <= 65 and "other" in reasons
    kinds = {s.labels["kind"] for s in _families(m)["staffer_messages"].samples}
    assert "bogus-kind" not in kinds


@pytest.mark.parametrize(
    ("snap", "expected"),
    [
        (QueueSnapshot(0, 60, offered=10, waiting=0, answered_within_target=8), 0.8),
        (QueueSnapshot(0, 60, offered=10, waiting=0, answered=5, answered_within_target=4), 0.8),
        (QueueSnapshot(0, 60, offered=0, waiting=0, answered_within_target=0), None),
        (QueueSnapshot(0, 60, offered=5, waiting=0), None),
        (QueueSnapshot(0, 60, offered=2, waiting=0, answered_within_target=3), 1.0),
    ],
)
def test_observed_service_level(snap: QueueSnapshot, expected: float | None) -> None:
    assert snap.observed_service_level == expected


def test_registries_are_independent() -> None:
    a, b = Metrics("1"), Metrics("2")
    a.message("override", True)
    assert _value(a, "staffer_messages_total", kind="override", outcome="ok") == 1
    assert _value(b, "staffer_messages_total", kind="override", outcome="ok") == 0
