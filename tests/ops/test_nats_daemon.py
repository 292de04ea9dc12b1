"""The daemon's integration path on a real nats-server (the shipped deploy/nats config:
JetStream store in a temp dir, MQTT 3.1.1 listener, per-user permissions): snapshot in,
plan and commands out, a supervisor's override round trip, retained state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

from .mqtt_client import Client
from .natsutil import USERS, Node, nats_cluster
from .stack import T0, daemon_toml, iso, staff_surge, staffer_run, surge_site_snapshot, wait_json


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with nats_cluster(tmp_path_factory.mktemp("nats1"), 1) as (node,):
        yield node


def connect(node: Node, user: str) -> Client:
    return Client(node.mqtt, user, USERS[user])


@pytest.mark.parametrize("protocol", ["3.1.1", "auto"])
def test_snapshot_plan_commands_and_override_round_trip(
    nats: Node, tmp_path: Path, protocol: str
) -> None:
    """protocol "auto" tries MQTT 5 first; NATS refuses it and the daemon falls back."""
    site_ts = T0 + (0 if protocol == "3.1.1" else 86400)  # separate retained history
    secret = tmp_path / "mqtt.password"
    secret.write_text(USERS["staffer"] + "\n")
    port = free_port()
    toml = daemon_toml(
        f"mqtt://127.0.0.1:{nats.mqtt}",
        port,
        tmp_path / "state.db",
        ["main"],
        password_file=secret,
        protocol=protocol,
        client_id=f"staffer-{protocol.replace('.', '')}",
    )
    bridge, alice = connect(nats, "bridge-main"), connect(nats, "alice")
    try:
        bridge.subscribe("staffer/main/commands")
        alice.subscribe("staffer/main/override/alice/reply")
        alice.subscribe("staffer/main/plan")
        alice.subscribe("staffer/main/overrides")
        with staffer_run(tmp_path / "daemon", toml, port) as daemon:
            assert "MQTT 3.1.1" in daemon.log.read_text()
            staff_surge(bridge, "main", site_ts - 60)
            bridge.publish("staffer/main/metrics", surge_site_snapshot(site_ts))
            plan = wait_json(alice, "staffer/main/plan", lambda p: p["as_of"] == iso(site_ts))
            assert plan["site"] == "main" and plan["mode"] == "auto"
            assert plan["queues"]["phone"]["target"] > plan["queues"]["phone"]["assigned"]
            command = wait_json(
                bridge, "staffer/main/commands", lambda c: c["plan_id"] == plan["plan_id"]
            )
            assert command["moves"] and all(m["to"] == "phone" for m in command["moves"])

            alice.publish(
                "staffer/main/override/alice",
                json.dumps(
                    {"id": f"mode-{protocol}", "action": "mode", "mode": "shadow", "ttl_s": 600}
                ),
            )
            reply = wait_json(
                alice, "staffer/main/override/alice/reply", lambda r: r["id"] == f"mode-{protocol}"
            )
            assert reply["ok"] is True, reply
            active = wait_json(
                alice,
                "staffer/main/overrides",
                lambda o: any(
                    x.get("override_id") == reply["override_id"]
                    for x in (o if isinstance(o, list) else o.get("overrides", []))
                ),
            )
            assert active
            # a malformed request still gets exactly one reply
            alice.publish("staffer/main/override/alice", b"{oops")
            bad = wait_json(alice, "staffer/main/override/alice/reply", lambda r: not r["ok"])
            assert bad["id"] is None and bad["error"]["code"]

            bridge.publish("staffer/main/metrics", surge_site_snapshot(site_ts + 300))
            shadow = wait_json(
                alice, "staffer/main/plan", lambda p: p["as_of"] == iso(site_ts + 300)
            )
            assert shadow["mode"] == "shadow"
            assert daemon.metric("staffer_mqtt_connected") == 1
        # retained plan survives the daemon's exit (stored in JetStream)
        late = connect(nats, "alice")
        try:
            late.subscribe("staffer/main/plan")
            _, payload, retained = late.next_message()
            assert retained and json.loads(payload)["as_of"] == iso(site_ts + 300)
        finally:
            late.close()
    finally:
        bridge.close()
        alice.close()
