"""deploy/alertmanager with the real tools: amtool accepts the shipped configuration (and
rejects a broken copy); its routes; and live, a real Prometheus running the shipped
prometheus.yml and rules against a real `staffer run` sends an alert that fires into a
real Alertmanager (Debian's prometheus-alertmanager) running the shipped configuration,
whose inhibit rules then silence it under the alert that explains it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from tests.conftest import free_port

from .conftest import DEPLOY, require_tool
from .stack import (
    Alertmanager,
    Prometheus,
    alertmanager_server,
    daemon_toml,
    prometheus_server,
    shipped_mosquitto,
    staffer_run,
)

CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("amtool"), *args], capture_output=True, text=True, timeout=60
    )


def test_amtool_accepts_the_shipped_configuration() -> None:
    proc = amtool("check-config", str(CONFIG))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout and "4 inhibit rules" in proc.stdout


def test_amtool_rejects_a_broken_copy(tmp_path) -> None:
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(CONFIG.read_text().replace("receiver: on-call\n", "receiver: nobody\n", 1))
    proc = amtool("check-config", str(broken))
    assert proc.returncode != 0
    assert "nobody" in proc.stdout + proc.stderr


@pytest.mark.parametrize("severity", ["critical", "warning", "info"])
def test_every_severity_reaches_the_on_call_receiver(severity: str) -> None:
    proc = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"severity={severity}",
        "alertname=StafferDown",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "on-call"


def test_prometheus_sends_to_the_compose_alertmanager() -> None:
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    (managers,) = prom["alerting"]["alertmanagers"]
    assert managers["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    service = compose["services"]["alertmanager"]
    assert "127.0.0.1:9093:9093" in service["ports"]
    assert "./alertmanager:/etc/alertmanager:ro" in service["volumes"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in service["command"]


# -- live ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Live:
    am: Alertmanager
    prom: Prometheus
    target: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A connected daemon whose bridge never sends anything: StafferNoInputMetrics (no
    valid snapshot in 5 minutes, no `for:`) fires as soon as Prometheus has two scrapes."""
    work = tmp_path_factory.mktemp("alerting")
    with shipped_mosquitto(work / "broker") as broker:
        port = free_port()
        toml = daemon_toml(
            broker.url,
            port,
            work / "state.db",
            ["main"],
            password_file=broker.secrets / "staffer.password",
        )
        target = f"127.0.0.1:{port}"
        with (
            staffer_run(work / "daemon", toml, port),
            alertmanager_server(work / "am") as am,
            prometheus_server(work / "prom", [target], alertmanager=am.address) as prom,
        ):
            yield Live(am, prom, target)


def test_a_firing_alert_arrives_in_alertmanager(live: Live) -> None:
    alert = live.am.wait(
        lambda a: a["status"]["state"] == "active",
        alertname="StafferNoInputMetrics",
        instance=live.target,
    )
    assert alert["labels"] == {
        "alertname": "StafferNoInputMetrics",
        "severity": "critical",
        "job": "staffer",
        "instance": live.target,
        "deployment": "staffer-compose",  # prometheus.yml's external label
    }
    assert alert["annotations"]["summary"] == (
        f"staffer {live.target}: no valid snapshot from any bridge for 5 minutes"
    )
    assert [r["name"] for r in alert["receivers"]] == ["on-call"]
    # the same alert, as Prometheus sees it
    (firing,) = live.prom.query('ALERTS{alertname="StafferNoInputMetrics", alertstate="firing"}')
    assert firing["metric"]["instance"] == live.target


def test_the_shipped_inhibit_rules_silence_what_is_explained(live: Live) -> None:
    """StafferDown of the same daemon explains StafferNoInputMetrics: it is inhibited,
    not sent. Another daemon's StafferDown inhibits nothing."""
    live.am.wait(lambda a: a["status"]["state"] == "active", alertname="StafferNoInputMetrics")
    now = datetime.now(UTC)

    def down(instance: str) -> dict:
        return {
            "labels": {
                "alertname": "StafferDown",
                "severity": "critical",
                "job": "staffer",
                "instance": instance,
            },
            "annotations": {"summary": "test"},
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(minutes=10)).isoformat(),
        }

    live.am.post(down("elsewhere:9464"))
    live.am.wait(lambda a: a["status"]["state"] == "active", instance="elsewhere:9464")
    (still,) = live.am.alerts(alertname="StafferNoInputMetrics")
    assert still["status"]["state"] == "active" and not still["status"]["inhibitedBy"]

    live.am.post(down(live.target))
    quiet = live.am.wait(
        lambda a: a["status"]["state"] == "suppressed",
        alertname="StafferNoInputMetrics",
        instance=live.target,
    )
    assert quiet["status"]["inhibitedBy"]


def test_a_broker_outage_silences_the_site_and_queue_alerts_it_explains(live: Live) -> None:
    """StafferBrokerDisconnected of a daemon silences that daemon's per-site and per-queue
    no-data alerts (the recording rule keeps ``instance``: rules.test.yml), not another's."""
    now = datetime.now(UTC)

    def alert(name: str, instance: str, **labels: str) -> dict:
        return {
            "labels": {"alertname": name, "severity": "critical", "job": "staffer",
                       "instance": instance, **labels},
            "annotations": {"summary": "test"},
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(minutes=10)).isoformat(),
        }  # fmt: skip

    live.am.post(alert("StafferBrokerDisconnected", "outage:9464"))
    live.am.wait(lambda a: a["status"]["state"] == "active", instance="outage:9464")
    live.am.post(alert("StafferSiteNoMetrics", "outage:9464", site="lyon"))
    live.am.post(alert("StafferQueueStale", "outage:9464", site="lyon", queue="phone"))
    live.am.post(alert("StafferSiteNoMetrics", "other:9464", site="nice"))
    for name in ("StafferSiteNoMetrics", "StafferQueueStale"):
        quiet = live.am.wait(
            lambda a: a["status"]["state"] == "suppressed", alertname=name, instance="outage:9464"
        )
        assert quiet["status"]["inhibitedBy"]
    other = live.am.wait(lambda a: a["status"]["state"] == "active", instance="other:9464")
    assert not other["status"]["inhibitedBy"]
