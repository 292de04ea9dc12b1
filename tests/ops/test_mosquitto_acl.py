"""The shipped broker configuration (deploy/mosquitto/) on a real mosquitto.

Users come from the shipped make-users.sh; the broker runs the shipped mosquitto.conf with
only the ports (MQTT and MQTT over WebSocket) and file locations changed. Denials are
checked the only way a QoS 1 publisher cannot see them: an observer subscribed to
everything receives the allowed messages that the same publisher sent *after* the denied
one, and never the denied one (mosquitto keeps one publisher's messages in order).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .mqtt_client import AuthError, Client
from .stack import ShippedBroker, shipped_mosquitto


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedBroker]:
    with shipped_mosquitto(tmp_path_factory.mktemp("acl")) as b:
        yield b


@pytest.fixture
def connect(broker):
    clients: list[Client] = []

    def _connect(user: str, password: str | None = None, *, websocket: bool = False) -> Client:
        c = Client(
            broker.ws_port if websocket else broker.port,
            user,
            broker.passwords[user] if password is None else password,
            websocket=websocket,
        )
        clients.append(c)
        return c

    yield _connect
    for c in clients:
        c.close()


@pytest.fixture
def observer(connect) -> Client:
    c = connect("observer")
    c.subscribe("staffer/#")
    return c


@pytest.mark.parametrize("websocket", [False, True], ids=["mqtt", "websocket"])
def test_anonymous_and_wrong_password_are_refused(broker, websocket: bool) -> None:
    port = broker.ws_port if websocket else broker.port
    with pytest.raises(AuthError):
        Client(port, websocket=websocket)
    with pytest.raises(AuthError):
        Client(port, "alice", "not-her-password", websocket=websocket)


def test_supervisor_cannot_publish_as_another(connect, observer) -> None:
    alice = connect("alice")
    alice.publish("staffer/main/override/bob", b'{"id": "forged", "action": "replan"}')
    alice.publish("staffer/main/override/alice", b'{"id": "r1", "action": "replan"}')
    seen = observer.until("staffer/main/override/alice")
    assert seen == [("staffer/main/override/alice", b'{"id": "r1", "action": "replan"}')]


def test_bridge_publishes_metrics_states_and_acks_but_no_overrides(connect, observer) -> None:
    bridge = connect("bridge-main")
    bridge.publish("staffer/main/override/bridge-main", b'{"id": "x", "action": "replan"}')
    bridge.publish("staffer/main/override/alice", b'{"id": "y", "action": "replan"}')
    bridge.publish("staffer/main/commands", b'{"forged": true}')
    bridge.publish("staffer/main/plan", b'{"forged": true}', retain=True)
    bridge.publish("staffer/paris/metrics", b'{"other site": true}')
    bridge.publish("staffer/paris/agents/a1/move", b'{"status": "done"}')
    bridge.publish("staffer/main/agents/a1/state", b'{"status": "available"}')
    bridge.publish("staffer/main/agents/a1/move", b'{"status": "accepted"}')  # §10 ack
    bridge.publish("staffer/main/queues/phone/metrics", b'{"offered": 1}')
    bridge.publish("staffer/main/metrics", b'{"queues": {}}')
    seen = observer.until("staffer/main/metrics")
    assert [t for t, _ in seen] == [
        "staffer/main/agents/a1/state",
        "staffer/main/agents/a1/move",
        "staffer/main/queues/phone/metrics",
        "staffer/main/metrics",
    ]


def test_staffer_publishes_commands_plans_replies_with_its_credentials(connect, observer) -> None:
    bridge = connect("bridge-main")
    bridge.subscribe("staffer/main/commands")
    daemon = connect("staffer")
    daemon.subscribe("staffer/main/override/+")
    alice = connect("alice")
    alice.publish("staffer/main/override/alice", b'{"id": "r2", "action": "replan"}')
    assert daemon.next_message()[:2] == (
        "staffer/main/override/alice",
        b'{"id": "r2", "action": "replan"}',
    )
    daemon.publish("staffer/main/commands", b'{"command_id": "c1"}')
    daemon.publish("staffer/main/plan", b'{"plan_id": "p1"}', retain=True)
    daemon.publish("staffer/main/overrides", b"[]", retain=True)
    daemon.publish("staffer/main/override/alice/reply", b'{"id": "r2", "ok": true}')
    daemon.publish("staffer/status", b'{"status": "online"}', retain=True)
    assert bridge.next_message()[:2] == ("staffer/main/commands", b'{"command_id": "c1"}')
    seen = [t for t, _ in observer.until("staffer/status")]
    assert seen[-5:] == [
        "staffer/main/commands",
        "staffer/main/plan",
        "staffer/main/overrides",
        "staffer/main/override/alice/reply",
        "staffer/status",
    ]


def test_supervisor_reads_only_its_own_replies(connect) -> None:
    alice = connect("alice")
    alice.subscribe("staffer/+/override/+/reply/#")
    daemon = connect("staffer")
    daemon.publish("staffer/main/override/bob/reply", b'{"id": "b"}')
    daemon.publish("staffer/main/override/alice/reply/console-7", b'{"id": "v5"}')
    daemon.publish("staffer/main/override/alice/reply", b'{"id": "a"}')
    assert alice.until("staffer/main/override/alice/reply") == [
        ("staffer/main/override/alice/reply/console-7", b'{"id": "v5"}'),
        ("staffer/main/override/alice/reply", b'{"id": "a"}'),
    ]


def test_everyone_reads_plan_but_only_staffer_writes_it(connect) -> None:
    daemon = connect("staffer")
    daemon.publish("staffer/site-r/plan", b'{"plan_id": "real"}', retain=True)
    bob = connect("bob")
    bob.publish("staffer/site-r/plan", b'{"plan_id": "forged"}', retain=True)
    reader = connect("alice")
    reader.subscribe("staffer/site-r/plan")
    topic, payload, retained = reader.next_message()
    assert (topic, payload, retained) == ("staffer/site-r/plan", b'{"plan_id": "real"}', True)


CONSOLE_TOPICS = ["plan", "proposals", "overrides", "commands"]


def test_console_reads_site_state_over_websocket(connect) -> None:
    """What the supervisor console subscribes to, over the WebSocket listener."""
    alice = connect("alice", websocket=True)
    for t in CONSOLE_TOPICS:
        alice.subscribe(f"staffer/site-w/{t}")
    alice.subscribe("staffer/site-w/override/alice/reply")
    daemon = connect("staffer")
    sent = [
        (f"staffer/site-w/{t}", f'{{"from": "daemon", "topic": "{t}"}}'.encode())
        for t in CONSOLE_TOPICS
    ]
    sent.append(("staffer/site-w/override/alice/reply", b'{"id": "w1", "ok": true}'))
    for topic, payload in sent:
        daemon.publish(topic, payload)
    assert alice.until("staffer/site-w/override/alice/reply") == sent


def test_console_user_writes_only_its_own_override_topic_over_websocket(connect, observer) -> None:
    alice = connect("alice", websocket=True)
    for t in CONSOLE_TOPICS:
        alice.publish(f"staffer/site-w/{t}", b'{"forged": true}', retain=True)
    alice.publish("staffer/site-w/override/bob", b'{"id": "forged", "action": "replan"}')
    alice.publish("staffer/site-w/override/alice", b'{"id": "w2", "action": "replan"}')
    seen = [m for m in observer.until("staffer/site-w/override/alice") if "/site-w/" in m[0]]
    assert seen == [("staffer/site-w/override/alice", b'{"id": "w2", "action": "replan"}')]
    observer.close()  # one connection per user (use_username_as_clientid)
    fresh = connect("observer")  # nothing forged was retained either
    for t in CONSOLE_TOPICS:
        fresh.subscribe(f"staffer/site-w/{t}")
    probe = "staffer/site-w/override/alice/reply"
    fresh.subscribe(probe)
    connect("staffer").publish(probe, b"end")
    assert fresh.until(probe) == [(probe, b"end")]
