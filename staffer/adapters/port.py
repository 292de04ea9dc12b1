"""The daemon's MQTT port: what the daemon needs from a broker connection, library-neutral.

``MqttPort`` is a ``typing.Protocol``; two implementations exist:

* `staffer.adapters.mqtt.AiomqttPort` — the real connection (aiomqtt/paho);
* `staffer.adapters.mqtt_fake.MemoryMqtt` — an in-memory fake for fast unit tests of the
  daemon's behaviour (routing, replies, ordering of effects) without a broker.

A port is built by a `PortFactory` from the ``[mqtt]`` settings and a `Session`: the
daemon's side of the connection (presence topic and payloads, subscriptions, callbacks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from staffer.codec.topics import response_topic_refusal
from staffer.settings import MqttSettings

Subscription = tuple[str, int]  # (topic filter, QoS)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One received message, library-neutral."""

    topic: str
    payload: bytes
    retain: bool = False
    response_topic: str | None = None  # MQTT v5 request/response
    correlation_data: bytes | None = None
    oversized: bool = False  # over ``max_payload_bytes``: delivered with an empty payload


Handler = Callable[[Inbound], Awaitable[None]]


def _never(_topic: str) -> bool:
    return False


def _ignore(_n: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Session:
    """What the daemon asks of its broker connection.

    ``online_payload`` is published retained on ``status_topic`` after each connect,
    ``offline_payload`` is the last will and the retained status on clean shutdown;
    ``status_topic`` None means no presence at all (no will, no status: a bridge's
    connection, ``staffer.bridge``).
    ``apply_now(topic, payload)``, when given, may be called instead of queueing a plain
    message (QoS 0, not retained, no properties, within ``max_payload_bytes``) that
    arrives while every message before it has been handled: it handles the message at
    once, synchronously, and returns True, or returns False to have it queued for the
    handler as usual (a port may also never call it).
    ``on_state(up)`` is called on every connect/disconnect, ``on_connect_failed(why)`` on
    every connection attempt that failed before the session was up (refused, unreachable,
    bad credentials: the port keeps retrying). Under overload, queued
    messages whose topic is ``coalescible`` give way to newer ones of the same topic
    (``on_coalesced(n)`` counts them). ``on_takeover()`` is called when the broker ends
    the session because another client connected with the same client id.
    """

    client_id: str
    status_topic: str | None
    online_payload: bytes = b""
    offline_payload: bytes = b""
    subscriptions: Sequence[Subscription] = ()
    apply_now: Callable[[str, bytes], bool] | None = None
    on_state: Callable[[bool], None] | None = None
    on_connect_failed: Callable[[str], None] | None = None
    coalescible: Callable[[str], bool] = _never
    on_coalesced: Callable[[int], None] = _ignore
    on_takeover: Callable[[], None] = lambda: None


class MqttPort(Protocol):
    """A long-lived MQTT connection with presence, reconnects and request/response."""

    @property
    def connected(self) -> bool:
        """True while a broker session is up."""
        ...

    @property
    def protocol(self) -> str:
        """The protocol in use (or to be tried next): "5" or "3.1.1"."""
        ...

    async def run(self, handler: Handler) -> None:
        """Connect, subscribe and feed ``handler`` one message at a time, in arrival order,
        until cancelled (the clean shutdown: a retained offline status is published)."""
        ...

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
        """Send in call order; False when disconnected (the message is held and sent after
        the next connect). With ``on_ack`` the message is *tracked*: never held, and
        ``on_ack(True)`` once the broker acknowledged it, ``on_ack(False)`` when it was
        not sent or the link was lost before the PUBACK (the caller resends)."""
        ...

    async def respond(self, reply_topic: str, payload: bytes, request: Inbound) -> bool:
        """Reply on ``reply_topic`` and, for a v5 request with a response topic, also there
        (with its correlation data)."""
        ...

    async def reconfigure(self, session: Session) -> None:
        """After a config reload: the new session's (filter, QoS) set, applied live when
        connected, and its online payload, published now (when changed and connected) and
        after each later connect."""
        ...

    async def quiesce(self, timeout_s: float) -> None:
        """Shutdown, first step: take no new messages and return once every message
        already received has been handled (or ``timeout_s`` passed)."""
        ...


PortFactory = Callable[[MqttSettings, Session], MqttPort]
"""Builds a port: ``AiomqttPort`` by default, ``MemoryMqtt`` in unit tests."""


async def respond_twice(port: MqttPort, reply_topic: str, payload: bytes, request: Inbound) -> bool:
    """The ``respond`` rule shared by every port: the contract's reply topic, plus the
    request's v5 response topic (with its correlation data) when it names another one
    that the requester may read: its reply topic or below (``response_topic_refusal``;
    the router refuses other requests, this is the last guard)."""
    ok = await port.publish(reply_topic, payload)
    rt = request.response_topic
    if rt and rt != reply_topic and response_topic_refusal(reply_topic, rt) is None:
        sent = await port.publish(rt, payload, correlation_data=request.correlation_data)
        ok = sent and ok
    return ok
