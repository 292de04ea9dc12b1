"""`MemoryMqtt`: an in-memory `MqttPort` for fast unit tests of the daemon (no broker).

Modelled on httpx's ``MockTransport``: the daemon under test is built with
``port_factory=MemoryMqtt`` and talks to it exactly as to the real port; the test
drives it from the other side:

* ``await fake.deliver(topic, payload)`` hands one message to the daemon and returns
  once the daemon's handler has finished with it (messages are handled one at a time,
  in order, as on the real port);
* ``fake.published`` records every publish in call order (`Published`), and
  ``fake.on_publish`` (a callback) sees each one at the moment it is sent, so a test
  can check what was already on disk then;
* ``fake.disconnect()`` / ``fake.reconnect()`` simulate losing the broker: while
  disconnected, publishes are held and sent after the reconnect, like the real port;
  ``fake.lose`` (a predicate) loses the messages it picks on the wire, before their
  PUBACK, as a link that drops mid-burst does.

It knows nothing of MQTT wildcards or retained delivery: it is a port, not a broker.
Broker behaviour is tested against a real Mosquitto (``tests/integration``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from staffer.adapters.port import Handler, Inbound, Session, respond_twice
from staffer.settings import MqttSettings


@dataclass(frozen=True, slots=True)
class Published:
    """One message the daemon published."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 1
    correlation_data: bytes | None = None

    def json(self) -> Any:
        return json.loads(self.payload)


class MemoryMqtt:
    """An in-memory `staffer.adapters.port.MqttPort` (see the module docstring)."""

    def __init__(
        self, settings: MqttSettings | None = None, session: Session | None = None
    ) -> None:
        self.settings = settings or MqttSettings()
        self.session = session or Session("fake", "status", b"online", b"offline")
        self.subscriptions: dict[str, int] = dict(self.session.subscriptions)
        self.published: list[Published] = []
        self.on_publish: Callable[[Published], None] | None = None
        self.lose: Callable[[Published], bool] | None = None  # True: lost before its PUBACK
        self._inbox: asyncio.Queue[tuple[Inbound, asyncio.Future[None]]] = asyncio.Queue()
        self._held: list[Published] = []
        self._connected = False
        self._running = False

    # -- MqttPort ------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def protocol(self) -> str:
        return "5"

    async def run(self, handler: Handler) -> None:
        self._running = True
        self.reconnect()
        try:
            while True:
                msg, done = await self._inbox.get()
                try:
                    await handler(msg)
                except Exception as err:  # surfaced to the test, unlike the real port
                    done.set_exception(err)
                else:
                    done.set_result(None)
        finally:
            self._running = False
            self._presence(self.session.offline_payload)
            self._set_connected(False)

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        qos: int = 1,
        correlation_data: bytes | None = None,
        wait_ack: bool = False,
        on_ack: Callable[[bool], None] | None = None,
    ) -> bool:
        message = Published(topic, payload, retain, qos, correlation_data)
        lost = self._connected and self.lose is not None and self.lose(message)
        if on_ack is not None and (lost or not self._connected):
            on_ack(False)  # tracked: never held, the caller resends
            return False
        if not self._connected:
            self._held.append(message)
            return False
        if lost:  # on the wire when the link dropped: no PUBACK, gone
            return False
        self._record(message)
        if on_ack is not None:
            on_ack(True)
        return True

    async def respond(self, reply_topic: str, payload: bytes, request: Inbound) -> bool:
        return await respond_twice(self, reply_topic, payload, request)

    async def reconfigure(self, session: Session) -> None:
        moved = session.online_payload != self.session.online_payload
        self.session, self.subscriptions = session, dict(session.subscriptions)
        if moved and self.connected:
            self._presence(session.online_payload)

    async def quiesce(self, timeout_s: float) -> None:
        """Delivered messages are handled at once here: nothing waits."""

    # -- the test's side -----------------------------------------------------------------
    async def deliver(
        self,
        topic: str,
        payload: bytes | str | dict[str, Any] | list[Any],
        *,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
        oversized: bool = False,
        retain: bool = False,
    ) -> None:
        """Hand one inbound message to the daemon; return when it has been handled
        (``retain``: delivered as a retained message, e.g. on subscribing)."""
        if not self._running:
            raise RuntimeError("the daemon is not running on this port")
        if isinstance(payload, dict | list):
            payload = json.dumps(payload)
        raw = payload.encode() if isinstance(payload, str) else payload
        body = b"" if oversized else raw  # as the real port delivers an oversized message
        msg = Inbound(topic, body, retain, response_topic, correlation_data, oversized)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._inbox.put((msg, done))
        await done

    def on(self, topic: str) -> list[Published]:
        """Messages published on ``topic`` so far, oldest first."""
        return [p for p in self.published if p.topic == topic]

    def disconnect(self) -> None:
        """The broker went away: publishes are held until ``reconnect``."""
        self._set_connected(False)

    def reconnect(self) -> None:
        """(Re)connected: the online status, then what was held, in order."""
        self._presence(self.session.online_payload)
        held, self._held = self._held, []
        for message in held:
            self._record(message)
        self._set_connected(True)

    # -- internals -----------------------------------------------------------------------
    def _presence(self, payload: bytes) -> None:
        """The retained status, unless the session has none (``status_topic`` None)."""
        if self.session.status_topic:
            self._record(Published(self.session.status_topic, payload, retain=True))

    def _record(self, message: Published) -> None:
        self.published.append(message)
        if self.on_publish is not None:
            self.on_publish(message)

    def _set_connected(self, up: bool) -> None:
        if up != self._connected:
            self._connected = up
            if self.session.on_state is not None:
                self.session.on_state(up)
