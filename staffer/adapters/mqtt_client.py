"""A short-lived MQTT client for tools: ``staffer ctl`` and the bridge kit.

``AiomqttPort`` (``adapters.mqtt``) is the daemon's connection: it reconnects forever.
A ``BrokerClient`` connects once and fails fast, with one line a person can read::

    async with BrokerClient(settings.mqtt, client_id="ctl-ann") as client:
        body = await client.request(topic, payload, reply_topic=reply, matches=is_mine,
                                    timeout_s=10)

* Connection settings are the daemon's ``[mqtt]`` section (``MqttSettings``): the URL,
  ``username`` + ``password_file`` (credentials in the URL work too), the TLS files of
  an ``mqtts://`` URL, and ``protocol`` ("auto" tries MQTT 5 and falls back to 3.1.1 when
  the broker refuses it). The login and TLS logic is the daemon's own
  (``adapters.mqtt_policy.broker_credentials``, ``adapters.mqtt_connect.tls_parameters``).
* ``BrokerError``: the broker is unreachable, refused the login or the TLS handshake
  failed; its message never contains a password (the URL is shown without credentials).
* ``request`` is MQTT request/response. With MQTT 5 the request carries a response
  topic below ``reply_topic`` (``{reply_topic}/{token}``) and correlation data, and the
  reply is the message there with that correlation data. With 3.1.1 there are no
  properties: the client listens on ``reply_topic`` itself and ``matches`` recognises
  its reply (for staffer, by the request ``id``). An MQTT 5 client listens there too,
  since a responder on a 3.1.1 session never sees the response topic. ``NoReply``
  after ``timeout_s``.
* ``retained`` reads a retained topic; ``next`` and ``wait_for`` read what a
  subscription delivers. One reader at a time (the messages come from one queue).

Only this module, ``adapters.mqtt``, ``adapters.mqtt_connect`` and
``adapters.mqtt_internals`` import aiomqtt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from staffer.adapters.mqtt_connect import is_v5_refusal, tls_parameters
from staffer.adapters.mqtt_policy import broker_credentials
from staffer.settings import MqttSettings

log = logging.getLogger("staffer.mqtt_client")
AUTH_REFUSED = {4, 5, 0x86, 0x87}  # 3.1.1: bad user/password, not authorised; v5 the same
RETAINED_WAIT_S = 2.0  # retained messages follow the SUBACK at once; none by then = none
_REFUSED_SUBSCRIPTION = 0x80  # SUBACK failure (3.1.1); MQTT 5 reason codes >= 0x80


@dataclass(frozen=True, slots=True)
class Message:
    """One received message, library-neutral."""

    topic: str
    payload: bytes
    retain: bool = False
    correlation_data: bytes | None = None


class BrokerError(Exception):
    """Cannot talk to the broker (unreachable, login refused, TLS failed, connection lost).
    The message is one line, safe to print."""


class NoReply(TimeoutError):
    """No reply within the timeout."""


class BrokerClient:
    """One MQTT session for a tool; ``async with`` connects and disconnects."""

    def __init__(
        self, settings: MqttSettings, *, client_id: str | None = None, timeout_s: float = 10.0
    ) -> None:
        self._settings = settings
        self.address = settings.broker  # validated with the settings
        self._client_id = client_id or f"staffer-tool-{secrets.token_hex(4)}"
        self._timeout_s = timeout_s
        self._v5 = settings.protocol in ("5", "auto")
        self._client: aiomqtt.Client | None = None

    @property
    def protocol(self) -> str:
        """ "5" or "3.1.1": the protocol of the session (or the one to try first)."""
        return "5" if self._v5 else "3.1.1"

    @property
    def _c(self) -> aiomqtt.Client:
        if self._client is None:
            raise BrokerError("not connected to the broker")
        return self._client

    # -- session ---------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        where = self.address.display
        try:
            username, password = broker_credentials(self._settings, self.address)
        except OSError as err:
            path = self._settings.password_file
            raise BrokerError(f"cannot read mqtt.password_file {path}: {err.strerror}") from None
        while True:
            client = aiomqtt.Client(
                self.address.host,
                self.address.port,
                username=username,
                password=password,
                identifier=self._client_id,
                protocol=aiomqtt.ProtocolVersion.V5 if self._v5 else aiomqtt.ProtocolVersion.V311,
                clean_session=None if self._v5 else True,
                tls_params=tls_parameters(self._settings, self.address),
                timeout=self._timeout_s,
                logger=log,
            )
            try:
                await asyncio.wait_for(client.__aenter__(), self._timeout_s + 1.0)
            except MqttConnectError as err:
                if self._v5 and self._settings.protocol == "auto" and is_v5_refusal(err):
                    self._v5 = False
                    continue
                raise BrokerError(_refusal(where, err)) from None
            except (aiomqtt.MqttError, OSError, TimeoutError) as err:
                why = str(err) or "no answer"
                raise BrokerError(f"cannot reach the MQTT broker at {where}: {why}") from None
            self._client = client
            return self

    async def __aexit__(self, *exc: object) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, OSError, TimeoutError):
                await asyncio.wait_for(client.__aexit__(None, None, None), 2.0)

    # -- sending ---------------------------------------------------------------------------
    async def subscribe(self, *filters: str, qos: int = 1) -> list[bool]:
        """Subscribe and wait for the SUBACK; whether the broker granted each filter."""
        try:
            granted = await self._c.subscribe([(f, qos) for f in filters])
        except aiomqtt.MqttError as err:
            raise BrokerError(f"subscribe failed: {err}") from None
        return [_code(g) < _REFUSED_SUBSCRIPTION for g in granted]

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
    ) -> None:
        """Publish and, at QoS 1, wait for the broker's PUBACK. The v5 properties are
        dropped on a 3.1.1 session."""
        props = None
        if self._v5 and (response_topic or correlation_data):
            props = Properties(PacketTypes.PUBLISH)
            if response_topic:
                props.ResponseTopic = response_topic
            if correlation_data is not None:
                props.CorrelationData = correlation_data
        try:
            await self._c.publish(topic, payload, qos=qos, retain=retain, properties=props)
        except aiomqtt.MqttError as err:
            raise BrokerError(f"publish to {topic} failed: {err}") from None

    # -- receiving -------------------------------------------------------------------------
    async def next(self, timeout_s: float | None = None) -> Message | None:
        """The next delivered message; None after ``timeout_s`` (None: wait for ever)."""
        try:
            async with asyncio.timeout(timeout_s):
                m = await anext(self._c.messages)
        except TimeoutError:
            return None
        except aiomqtt.MqttError as err:
            raise BrokerError(f"lost the connection to the broker: {err}") from None
        props = m.properties
        cd = getattr(props, "CorrelationData", None) if props is not None else None
        raw = m.payload
        payload = raw if isinstance(raw, bytes) else str(raw if raw is not None else "").encode()
        return Message(str(m.topic), payload, bool(m.retain), bytes(cd) if cd else None)

    async def wait_for(self, accept: Callable[[Message], bool], timeout_s: float) -> Message | None:
        """The first delivered message ``accept`` takes (others are skipped), or None."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            m = await self.next(left)
            if m is not None and accept(m):
                return m
        return None

    async def retained(self, topic: str, wait_s: float = RETAINED_WAIT_S) -> Message | None:
        """The retained message of ``topic``, None when the broker holds none."""
        await self.subscribe(topic)
        return await self.wait_for(lambda m: m.topic == topic and m.retain, wait_s)

    async def request(
        self,
        topic: str,
        payload: bytes,
        *,
        reply_topic: str,
        matches: Callable[[bytes], bool],
        timeout_s: float,
    ) -> bytes:
        """Publish a request and return the reply's payload (see the module docstring)."""

        def plain(m: Message) -> bool:
            return m.topic == reply_topic and matches(m.payload)

        if self._v5:
            token = secrets.token_hex(8)
            listen, corr = f"{reply_topic}/{token}", token.encode()
            await self.subscribe(listen, reply_topic)  # a 3.1.1 daemon replies there only
            await self.publish(topic, payload, response_topic=listen, correlation_data=corr)
            reply = await self.wait_for(
                lambda m: (m.topic == listen and m.correlation_data == corr) or plain(m),
                timeout_s,
            )
        else:
            await self.subscribe(reply_topic)
            await self.publish(topic, payload)
            reply = await self.wait_for(plain, timeout_s)
        if reply is None:
            raise NoReply(f"no reply on {reply_topic} within {timeout_s:g} s")
        return reply.payload

    async def subscribe_first_granted(self, *choices: Sequence[str]) -> Sequence[str]:
        """Subscribe to the first set of filters the broker grants in full (e.g. every
        supervisor's replies, else one's own); returns it, or () when none is granted."""
        for filters in choices:
            if all(await self.subscribe(*filters)):
                return filters
        return ()


def _code(granted: object) -> int:
    value = getattr(granted, "value", granted)
    return value if isinstance(value, int) else _REFUSED_SUBSCRIPTION


def _refusal(where: str, err: MqttConnectError) -> str:
    rc = _code(err.rc)
    if rc in AUTH_REFUSED:
        return (
            f"the MQTT broker at {where} refused the login ({err}); "
            "check --username and --password-file"
        )
    return f"the MQTT broker at {where} refused the connection: {err}"
