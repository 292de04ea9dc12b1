"""The observability stack against the real daemon.

A Mosquitto with the shipped configuration, `staffer run` (authenticating as `staffer`
with a password file), a scripted bridge and supervisor, and a Prometheus server running
the shipped prometheus.yml and rules. Then every PromQL expression of every shipped
dashboard must return data, every template variable must resolve, and every rule must
evaluate without error on the real series.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import free_port

from .promql import dashboards, panel_queries, substitute, variable_queries
from .stack import (
    T0,
    Daemon,
    Prometheus,
    ShippedBroker,
    daemon_toml,
    prometheus_server,
    shipped_mosquitto,
    staff_surge,
    staffer_run,
    surge_site_snapshot,
    wait_json,
)


@dataclass(frozen=True)
class Live:
    prom: Prometheus
    daemon: Daemon
    broker: ShippedBroker
    target: str
    plans: list[dict]
    command: dict
    reply: dict


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    work = tmp_path_factory.mktemp("live")
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
            staffer_run(work / "daemon", toml, port) as daemon,
            prometheus_server(work / "prom", [target]) as prom,
        ):
            bridge, alice, observer = (
                broker.client(u) for u in ("bridge-main", "alice", "observer")
            )
            try:
                bridge.subscribe("staffer/main/commands")
                alice.subscribe("staffer/main/override/alice/reply")
                observer.subscribe("staffer/main/plan")
                prom.wait('up{job="staffer"} == 1')
                staff_surge(bridge, "main", T0 - 60)
                bridge.publish("staffer/main/metrics", surge_site_snapshot(T0))
                plans = [wait_json(observer, "staffer/main/plan")]
                command = wait_json(bridge, "staffer/main/commands")
                prom.wait('staffer_plan_duration_seconds_count{site="main"} >= 1')
                alice.publish(
                    "staffer/main/override/alice",
                    json.dumps(
                        {
                            "id": "pin-1",
                            "action": "pin",
                            "queue": "chat",
                            "min": 1,
                            "reason": "ops test",
                        }
                    ),
                )
                reply = wait_json(alice, "staffer/main/override/alice/reply")
                bridge.publish("staffer/main/metrics", b"{not json")
                bridge.publish("staffer/main/metrics", surge_site_snapshot(T0 + 300))
                plans.append(
                    wait_json(
                        observer, "staffer/main/plan", lambda p: p["as_of"] != plans[0]["as_of"]
                    )
                )
                for ready in (
                    'staffer_plan_duration_seconds_count{site="main"} >= 2',
                    'staffer_messages_total{outcome="invalid"} > 0',
                    'staffer_overrides_active{site="main"} >= 1',
                    "staffer_moves_total > 0",
                    "increase(staffer_plan_duration_seconds_count[1m]) > 0",
                    'staffer:queue_sl_target{site="main"}',
                ):
                    prom.wait(ready)
                yield Live(prom, daemon, broker, target, plans, command, reply)
            finally:
                for c in (bridge, alice, observer):
                    c.close()


def test_the_scenario_happened(live: Live) -> None:
    """Preconditions of the checks below: plans, a command with moves, an accepted pin."""
    assert len(live.plans) == 2 and live.plans[0]["mode"] == "auto"
    assert live.command["moves"], live.command
    assert live.reply["id"] == "pin-1" and live.reply["ok"] is True, live.reply


@pytest.mark.parametrize("board", sorted(dashboards()))
def test_every_dashboard_query_returns_data(live: Live, board: str) -> None:
    empty = []
    queries = list(panel_queries(dashboards()[board]))
    assert queries
    for title, expr in queries:
        promql = substitute(expr, {"site": "main"})
        if not live.prom.query(promql):
            empty.append(f"{title}: {promql}")
    assert not empty, "queries without data:\n" + "\n".join(empty)


@pytest.mark.parametrize("board", sorted(dashboards()))
def test_template_variables_resolve(live: Live, board: str) -> None:
    expected = {"site": {"main"}, "queue": {"phone", "chat", "email"}, "instance": {live.target}}
    for name, selector in variable_queries(dashboards()[board]):
        label = {"site": "site", "queue": "queue", "instance": "instance"}[name]
        values = set(
            live.prom.api(
                f"label/{label}/values", **{"match[]": substitute(selector, {"site": "main"})}
            )
        )
        assert expected[name] <= values, (name, selector, values)


def test_rules_evaluate_cleanly_on_real_series(live: Live) -> None:
    groups = live.prom.api("rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) >= 10
    bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert not bad, bad


def test_recording_rule_takes_the_daemon_goal(live: Live) -> None:
    """email's configured goal is 0.9: the rule follows staffer_queue_sl_target rather
    than its 0.8 fallback."""
    (sample,) = live.prom.query('staffer:queue_sl_target{site="main", queue="email"}')
    assert float(sample["value"][1]) == pytest.approx(0.9)


def test_quiet_alerts_stay_quiet(live: Live) -> None:
    """A healthy, connected, fed daemon: none of these alert conditions hold."""
    for alert in (
        "StafferDown",
        "StafferBrokerDisconnected",
        "StafferNoInputMetrics",
        "StafferSiteNoMetrics",
    ):
        assert not live.prom.query(f'ALERTS{{alertname="{alert}"}}'), alert
    assert live.prom.query("staffer_mqtt_connected == 1")


def test_broker_loss_shows_in_readiness_and_metrics(live: Live) -> None:
    """Last in this module: it stops the broker. /readyz turns 503 and Prometheus sees
    the StafferBrokerDisconnected condition (the alert itself waits 2 minutes)."""
    live.broker.proc.terminate()
    live.broker.proc.wait(10)
    deadline = time.monotonic() + 20
    while live.daemon.get("/readyz")[0] != 503:
        assert time.monotonic() < deadline, live.daemon.get("/readyz")
        time.sleep(0.1)
    assert live.daemon.get("/healthz")[0] == 200  # alive: no restart for a broker outage
    live.prom.wait("staffer_mqtt_connected == 0")
    live.prom.wait('ALERTS{alertname="StafferBrokerDisconnected", alertstate="pending"}')
