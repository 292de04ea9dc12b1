"""The daemon's client id on the shipped broker (issue 14, item 8), on a real mosquitto with
the shipped mosquitto.conf, ACL and password file.

* A supervisor connecting with the daemon's client id (over MQTT or the console's
  WebSocket listener) does not knock the daemon off: mosquitto replaces the client id with
  the username (``use_username_as_clientid``).
* Someone with the daemon's own credentials still takes its session over; a loop of
  takeovers is counted (``staffer_mqtt_session_takeovers_total``) and logged in one line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

from .mqtt_client import Client
from .stack import Daemon, ShippedBroker, daemon_toml, shipped_mosquitto, staffer_run

LOOP_LINE = "session takeover loop"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedBroker]:
    with shipped_mosquitto(tmp_path_factory.mktemp("takeover")) as b:
        yield b


@pytest.fixture
def daemon(broker: ShippedBroker, tmp_path: Path) -> Iterator[Daemon]:
    http_port = free_port()
    toml = daemon_toml(
        broker.url,
        http_port,
        tmp_path / "state.sqlite",
        ["main"],
        password_file=broker.secrets / "staffer.password",
    )
    with staffer_run(tmp_path / "daemon", toml, http_port) as d:
        yield d


def wait_metric(daemon: Daemon, name: str, at_least: float) -> float:
    deadline = time.monotonic() + 20
    while (got := daemon.metric(name) or 0.0) < at_least:
        assert time.monotonic() < deadline, (name, got, at_least, daemon.log.read_text()[-2000:])
        time.sleep(0.05)
    return got


@pytest.mark.parametrize("websocket", [False, True], ids=["mqtt", "websocket"])
def test_supervisor_with_the_daemons_client_id_does_not_disconnect_it(
    broker: ShippedBroker, daemon: Daemon, websocket: bool
) -> None:
    port = broker.ws_port if websocket else broker.port
    observer = Client(broker.port, "observer", broker.passwords["observer"])
    observer.subscribe("staffer/main/override/alice/reply")
    with Client(
        port, "alice", broker.passwords["alice"], websocket=websocket, client_id="staffer"
    ) as alice:
        # the daemon answers a request sent after the "takeover": it was never knocked off
        alice.publish("staffer/main/override/alice", b'{"id": "t1", "action": "replan"}')
        topic, payload, _ = observer.next_message(20)
    observer.close()
    assert topic == "staffer/main/override/alice/reply" and b'"t1"' in payload
    assert daemon.metric("staffer_mqtt_reconnects_total") == 0
    assert daemon.metric("staffer_mqtt_session_takeovers_total") == 0
    assert LOOP_LINE not in daemon.log.read_text()


def test_a_takeover_loop_is_counted_and_logged_once(broker: ShippedBroker, daemon: Daemon) -> None:
    """A second client with the daemon's credentials (a second daemon, say) that keeps
    reconnecting: the takeovers are counted, the loop is one log line, no warning per
    takeover after it, and a broker-side loop does not flap the log."""
    attacker = Client(broker.port, "staffer", broker.passwords["staffer"], client_id="x")
    try:
        wait_metric(daemon, "staffer_mqtt_session_takeovers_total", 4)
    finally:
        attacker.close()
    log = daemon.log.read_text()
    assert log.count(LOOP_LINE) == 1, log[-3000:]
    assert log.count("taken over by another client") == 2, log[-3000:]  # before the loop
