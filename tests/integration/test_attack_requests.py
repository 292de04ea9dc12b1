"""Issue 14 against the real daemon (`staffer run`) and a real mosquitto with the shipped
ACL and passwords (deploy/mosquitto): how the daemon takes supervisor requests.

* item 1: an MQTT v5 response topic cannot make the daemon write where the ACL forbids
  the supervisor to (commands, status, plan, overrides, another supervisor's replies);
* item 11: a response topic with a wildcard is refused without a traceback, and the log
  stays rate-limited;
* item 4: a request published retained is answered once (refused) and never applied, on
  any later start either.

What needs no broker (event clock, bounds, labels) is in
tests/unit/daemon/test_request_attacks.py.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.conftest import free_port
from tests.ops.mqtt_client import Client
from tests.ops.stack import T0, ShippedBroker, daemon_toml, shipped_mosquitto, staff_surge
from tests.ops.stack import staffer_run as _staffer_run

OWN = "staffer/main/override/alice"
OWN_REPLY = f"{OWN}/reply"
TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedBroker]:
    with shipped_mosquitto(tmp_path_factory.mktemp("attack")) as b:
        yield b


class V5:
    """A supervisor's MQTT 5 client (paho; its network loop in a thread)."""

    def __init__(self, broker: ShippedBroker, user: str) -> None:
        self._c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"attack-{user}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5,
        )
        self._c.username_pw_set(user, broker.passwords[user])
        self._c.connect("127.0.0.1", broker.port, keepalive=30)
        self._c.loop_start()

    def publish(
        self, topic: str, body: Any, response_topic: str | None = None, retain: bool = False
    ) -> None:
        props = None
        if response_topic is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = response_topic
            props.CorrelationData = b"attack"
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        info = self._c.publish(topic, payload, qos=1, retain=retain, properties=props)
        info.wait_for_publish(TIMEOUT_S)
        assert info.is_published()

    def close(self) -> None:
        self._c.disconnect()
        self._c.loop_stop()


def staffer_run(broker: ShippedBroker, workdir: Path, state: Path):
    http = free_port()
    toml = daemon_toml(
        broker.url, http, state, ["main"], password_file=broker.secrets / "staffer.password"
    )
    return _staffer_run(workdir, toml, http)


def until_reply(observer: Client, rid: str, topic: str = OWN_REPLY) -> list[tuple[str, Any]]:
    """Everything the observer received (JSON or raw) up to the reply ``rid`` on ``topic``.
    Mosquitto keeps one publisher's messages in order, so all the daemon published before
    that reply is in the list."""
    seen: list[tuple[str, Any]] = []
    while True:
        try:
            t, payload, _ = observer.next_message(TIMEOUT_S)
        except queue.Empty:
            pytest.fail(f"no reply {rid!r} on {topic}; saw {seen[-5:]}")
        try:
            obj: Any = json.loads(payload)
        except ValueError:
            obj = payload
        seen.append((t, obj))
        if t == topic and isinstance(obj, dict) and obj.get("id") == rid:
            return seen


def carrying(seen: list[tuple[str, Any]], ids: set[str]) -> list[tuple[str, Any]]:
    """The messages whose payload is a reply to one of ``ids`` (the attack's replies; not
    the requests themselves, which the observer sees on the request topic)."""
    return [(t, o) for t, o in seen if t != OWN and isinstance(o, dict) and o.get("id") in ids]


ATTACKS = {
    "to-commands": "staffer/main/commands",
    "to-status": "staffer/status",
    "to-plan": "staffer/main/plan",
    "to-overrides": "staffer/main/overrides",
    "forge-bob": "staffer/main/override/bob/reply",  # another supervisor's reply topic
    "forge-bob-below": "staffer/main/override/bob/reply/ctl",
    "other-site": "staffer/paris/override/alice/reply",
}


def test_a_response_topic_cannot_reach_what_the_acl_forbids(
    broker: ShippedBroker, tmp_path: Path
) -> None:
    with staffer_run(broker, tmp_path / "d", tmp_path / "s.db") as daemon:
        observer = broker.client("observer")
        observer.subscribe("staffer/#")
        bridge = broker.client("bridge-main")
        alice = V5(broker, "alice")
        try:
            staff_surge(bridge, "main", T0)  # starts the site's event clock
            for rid, topic in ATTACKS.items():  # replan: a plan and commands before the fix
                alice.publish(OWN, {"id": rid, "action": "replan"}, response_topic=topic)
            alice.publish(OWN, {"id": "mine", "action": "replan"}, f"{OWN_REPLY}/ctl")
            seen = until_reply(observer, "mine", f"{OWN_REPLY}/ctl")
        finally:
            alice.close()
            bridge.close()
            observer.close()
        replies = carrying(seen, set(ATTACKS))
        assert sorted(o["id"] for _, o in replies) == sorted(ATTACKS)  # one reply each...
        assert {t for t, _ in replies} == {OWN_REPLY}  # ...on alice's own reply topic only
        assert all(o["error"]["code"] == "bad_response_topic" for _, o in replies)
        # refused unread: no plan for the attack's replans (alice's own comes after its reply)
        assert not [o for t, o in seen if t == "staffer/main/plan"]
        assert not [t for t, _ in seen if t.startswith("staffer/main/override/bob")]
        n = daemon.metric(
            "staffer_invalid_messages_total", kind="override", reason="bad_response_topic"
        )
        assert n == len(ATTACKS)


def test_a_wildcard_response_topic_is_refused_without_a_traceback(
    broker: ShippedBroker, tmp_path: Path
) -> None:
    n = 200
    with staffer_run(broker, tmp_path / "d", tmp_path / "s.db") as daemon:
        observer = broker.client("observer")
        observer.subscribe(f"{OWN_REPLY}/#")
        bridge = broker.client("bridge-main")
        alice = V5(broker, "alice")
        try:
            staff_surge(bridge, "main", T0)
            for i in range(n):
                wild = f"{OWN_REPLY}/#" if i % 2 else f"{OWN_REPLY}/+/x"
                alice.publish(OWN, {"id": f"w{i}", "action": "replan"}, response_topic=wild)
            alice.publish(OWN, {"id": "last", "action": "replan"})
            seen = until_reply(observer, "last")
        finally:
            alice.close()
            bridge.close()
            observer.close()
        replies = carrying(seen, {f"w{i}" for i in range(n)})
        assert len(replies) == n
        assert all(o["error"]["code"] == "bad_response_topic" for _, o in replies)
        assert daemon.proc.poll() is None
        log = daemon.log.read_text()
    assert "Traceback" not in log
    assert log.count("bad_response_topic") <= 3  # rate-limited: one line per minute


def test_a_retained_request_is_answered_once_and_never_applied(
    broker: ShippedBroker, tmp_path: Path
) -> None:
    state = tmp_path / "s.db"
    observer = broker.client("observer")
    observer.subscribe("staffer/#")
    bridge = broker.client("bridge-main")
    alice = V5(broker, "alice")
    seen: list[tuple[str, Any]] = []
    try:
        for start in range(3):
            with staffer_run(broker, tmp_path / f"d{start}", state):
                staff_surge(bridge, "main", T0 + start)
                if start == 0:  # published retained while the daemon runs
                    body = {"id": "ret", "action": "assign", "agent": "e00", "queue": "phone"}
                    alice.publish(OWN, body, retain=True)
                alice.publish(OWN, {"id": f"after-{start}", "action": "replan"})
                seen += until_reply(observer, f"after-{start}")
    finally:
        alice.close()
        bridge.close()
        observer.close()
    [(topic, reply)] = carrying(seen, {"ret"})  # once, over three starts
    assert topic == OWN_REPLY
    assert reply["ok"] is False and reply["error"]["code"] == "invalid"
    assert "retained" in reply["error"]["message"]
    moved = [m for t, o in seen if t == "staffer/main/commands" for m in o["moves"]]
    assert not [m for m in moved if m.get("approved_by") == "alice" or m["agent"] == "e00"]
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        rows = [json.loads(p) for (p,) in db.execute("SELECT payload FROM audit")]
    finally:
        db.close()
    ret = [r for r in rows if r.get("request_id") == "ret"]
    assert [r["outcome"] for r in ret] == ["rejected"]
