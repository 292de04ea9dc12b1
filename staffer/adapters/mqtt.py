"""`AiomqttPort`: the real `staffer.adapters.port.MqttPort`, on aiomqtt (paho underneath).

With `mqtt_internals`, `mqtt_outbound`, `mqtt_connect` and the tools' `mqtt_client`, the only
modules importing them.
`AiomqttPort.run(handler)` keeps a connection alive for the daemon's lifetime:

* connect with exponential backoff + full jitter between ``reconnect_min_s`` and
  ``reconnect_max_s``; re-subscribe after every (re)connect;
* MQTT v5 when ``protocol`` is "5" or "auto" ("auto" falls back to 3.1.1 when the
  broker refuses v5, e.g. NATS); works fully on 3.1.1 brokers;
* a retained last will (offline) on the status topic, a retained online status after
  each connect, offline on clean shutdown (none when ``status_topic`` is None: a bridge);
* TLS for ``mqtts://`` (``ca_file``, ``cert_file``/``key_file``), username plus a
  password read from ``password_file`` at each connect (never logged);
* payloads over ``max_payload_bytes`` come as ``Inbound(oversized=True, payload=b"")``;
* a session taken over (MQTT 5 reason 0x8E) is counted (``on_takeover``), loops logged.

Inbound messages go to an async handler one at a time, in arrival order; a plain QoS 0
message that finds nothing queued before it is offered to ``Session.apply_now`` first,
synchronously from the socket reader (`mqtt_internals.Intake`). Publishing is
`mqtt_outbound.Outbound`'s: messages published while disconnected are held (10,000,
oldest dropped) and sent after a connect; commands are tracked to their PUBACK.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.subscribeoptions import SubscribeOptions

from staffer.adapters import mqtt_internals
from staffer.adapters.mqtt_connect import is_v5_refusal, new_client
from staffer.adapters.mqtt_outbound import Outbound
from staffer.adapters.mqtt_policy import (
    BrokerAddress,
    TakeoverWatch,
    backoff_delays,
    coalesce_latest,
    is_session_takeover,
)
from staffer.adapters.port import Handler, Inbound, Session, respond_twice
from staffer.settings import MqttSettings

log = logging.getLogger("staffer.mqtt")

_SUBSCRIBE_BATCH = 100
_MAX_PENDING_PUBLISHES = 10000  # aiomqtt warns above this many unacknowledged calls
_YIELD_EVERY = 16  # messages handled back to back before yielding to the loop


class AiomqttPort:
    """A long-lived MQTT connection with presence, reconnects and request/response
    (implements `staffer.adapters.port.MqttPort`)."""

    def __init__(self, settings: MqttSettings, session: Session) -> None:
        self._settings = settings
        self._address: BrokerAddress = settings.broker  # parsed and validated once
        self._session = session
        self._status_topic = session.status_topic
        self._subscriptions: dict[str, int] = dict(session.subscriptions)  # filter -> QoS
        self._client: aiomqtt.Client | None = None
        self._connected = False
        self._v5 = settings.protocol in ("5", "auto")
        self._queue: asyncio.Queue[aiomqtt.Message] | None = None
        self._intake: mqtt_internals.Intake | None = None  # None: aiomqtt's own messages
        self._handling = False  # a received message is being handled (``quiesce`` waits)
        self._takeovers = TakeoverWatch()
        self._out = Outbound(lambda: self._client if self._connected else None, lambda: self._v5)

    # --- state -------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while a broker session is up."""
        return self._connected

    @property
    def protocol(self) -> str:
        """The protocol in use (or to be tried next): "5" or "3.1.1"."""
        return "5" if self._v5 else "3.1.1"

    def _set_connected(self, value: bool) -> None:
        if value != self._connected:
            self._connected = value
            if self._session.on_state is not None:
                self._session.on_state(value)

    # --- subscriptions -------------------------------------------------------------
    async def reconfigure(self, session: Session) -> None:
        """After a config reload: the new subscriptions and online payload (``MqttPort``)."""
        old, new = self._subscriptions, dict(session.subscriptions)
        moved = session.online_payload != self._session.online_payload
        self._session, self._subscriptions = session, new
        client = self._client
        if client is None or not self._connected:
            return
        gone = sorted(set(old) - set(new))
        with contextlib.suppress(aiomqtt.MqttError):
            if gone:
                await client.unsubscribe(gone)
            await self._subscribe(client, {t: q for t, q in new.items() if old.get(t) != q})
            if moved and self._status_topic:
                await client.publish(self._status_topic, session.online_payload, qos=1, retain=True)

    async def quiesce(self, timeout_s: float) -> None:
        """SIGTERM: unsubscribe everything (the broker sends nothing new; what it sent
        before the UNSUBACK is already queued here, TCP keeps the order), then wait until
        every received message has been handled, at most ``timeout_s``."""
        client, q = self._client, self._queue
        if client is None or not self._connected:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            if self._subscriptions:  # a dead link must not hold the shutdown: 2 s at most
                await asyncio.wait_for(client.unsubscribe(list(self._subscriptions)), 2.0)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._handling or (q is not None and not q.empty()):
                    await asyncio.sleep(0.01)
        if self._handling or (q is not None and not q.empty()):
            log.warning("stopping with %d received message(s) unhandled", q.qsize() if q else 0)

    async def _subscribe(self, client: aiomqtt.Client, subscriptions: dict[str, int]) -> None:
        """MQTT 5: retain-as-published, so a request *published* retained is seen as such
        (and refused) the first time too, not only when a later subscription replays it."""
        items: list[tuple[str, Any]] = list(subscriptions.items())
        if self._v5:
            items = [(t, SubscribeOptions(qos=q, retainAsPublished=True)) for t, q in items]
        for i in range(0, len(items), _SUBSCRIBE_BATCH):
            batch = items[i : i + _SUBSCRIBE_BATCH]
            if batch:
                await client.subscribe(batch)

    # --- connection loop -----------------------------------------------------------
    def _make_client(self) -> aiomqtt.Client:
        client = new_client(
            self._settings, self._address, self._session, self._status_topic, self._v5
        )
        mqtt_internals.check_once(client)
        self._queue = mqtt_internals.incoming_queue(client)  # drained without a task each
        # `Received`, not aiomqtt's Message; a plain snapshot is handled without the queue
        self._intake = mqtt_internals.install_light_messages(
            client, self._session.apply_now, self._settings.max_payload_bytes
        )
        return client

    async def run(self, handler: Handler) -> None:
        """Connect, subscribe and feed ``handler`` until cancelled.

        Cancelling the task is the clean shutdown: a retained offline status is
        published, then the session is closed (so the last will is not sent).
        """
        mqtt_internals.install_shared_table_properties()
        min_s, max_s = self._settings.reconnect_min_s, self._settings.reconnect_max_s
        delays = iter(backoff_delays(min_s, max_s))
        while True:
            try:
                client = self._make_client()
                async with client:
                    mqtt_internals.install_read_buffer(client)
                    client.pending_calls_threshold = _MAX_PENDING_PUBLISHES
                    self._client = client
                    await self._subscribe(client, self._subscriptions)
                    if self._status_topic:
                        await client.publish(
                            self._status_topic, self._session.online_payload, qos=1, retain=True
                        )
                    self._out.flush(client)
                    self._set_connected(True)
                    if self._takeovers.connected(
                        time.monotonic()
                    ):  # lost, then back at once: taken over
                        self._taken_over()
                    if not self._takeovers.looping:  # in a takeover loop: keep backing off
                        delays = iter(backoff_delays(min_s, max_s))
                    level = logging.DEBUG if self._takeovers.looping else logging.INFO
                    log.log(
                        level, "connected to %s (MQTT %s)", self._address.display, self.protocol
                    )
                    try:
                        await self._consume(client, handler)
                    except asyncio.CancelledError:
                        await self._publish_offline(client)
                        raise
            except MqttConnectError as err:
                if self._v5 and self._settings.protocol == "auto" and is_v5_refusal(err):
                    log.info("broker refused MQTT 5; falling back to 3.1.1")
                    self._v5 = False
                    continue
                self._takeovers.failed()
                self._lost(f"connection refused: {err}")
            except (aiomqtt.MqttError, OSError) as err:
                if is_session_takeover(err, mqtt_internals.disconnect_error(self._client)):
                    self._taken_over()
                else:
                    self._takeovers.lost(self._connected, time.monotonic())
                    self._lost(str(err) or type(err).__name__)
            finally:
                self._set_connected(False)
                self._client = None
                self._out.abandon_tracked()
            await asyncio.sleep(next(delays))

    async def _publish_offline(self, client: aiomqtt.Client) -> None:
        self._set_connected(False)
        with contextlib.suppress(Exception):
            if self._status_topic:
                await asyncio.wait_for(
                    client.publish(
                        self._status_topic, self._session.offline_payload, qos=1, retain=True
                    ),
                    2.0,
                )
        log.info("disconnecting from %s (clean shutdown)", self._address.display)

    def _lost(self, why: str) -> None:
        """A session ended or an attempt failed: logged, at DEBUG only where the session
        reports failed attempts itself (``on_connect_failed``), so it is not said twice."""
        failed = None if self._connected else self._session.on_connect_failed
        if failed is not None:
            failed(why)
        quiet = failed is not None or (self._connected and self._takeovers.looping)
        what = "disconnected from" if self._connected else "cannot connect to"
        log.log(
            logging.DEBUG if quiet else logging.WARNING,
            "%s %s: %s",
            what,
            self._address.display,
            why,
        )

    def _taken_over(self) -> None:
        """Another client took the session over (MQTT 5 reason 0x8E, or, on a broker that
        gives no reason such as mosquitto 2.0, a session lost and re-established at the
        first attempt after a short session): counted, a loop logged once (``TakeoverWatch``)."""
        self._session.on_takeover()
        self._takeovers.taken_over(time.monotonic(), self._address.display, self._session.client_id)

    async def _consume(self, client: aiomqtt.Client, handler: Handler) -> None:
        limit = self._settings.max_payload_bytes
        async for first in client.messages:
            ready: deque[aiomqtt.Message] = deque([first])
            handled = 0
            while ready:
                await self._dispatch(ready.popleft(), handler, limit)
                handled += 1
                if handled % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the socket reader (acks) and HTTP run
                # drain what is already queued without a task per message
                q = self._queue
                if not ready and q is not None and not q.empty():
                    if q.qsize() > self._settings.max_backlog:
                        ready.extend(self._coalesce(q))
                    else:
                        ready.append(q.get_nowait())

    def _coalesce(self, q: asyncio.Queue[aiomqtt.Message]) -> list[aiomqtt.Message]:
        """Overload: take everything queued; older snapshots of a topic give way to newer."""
        batch = [q.get_nowait() for _ in range(q.qsize())]
        topics = [str(m.topic) for m in batch]
        kept, dropped = coalesce_latest(batch, topics, self._session.coalescible)
        if self._intake is not None:
            self._intake.done(dropped)
        if dropped:
            log.warning(
                "overloaded: %d queued messages, %d superseded snapshots dropped",
                len(batch),
                dropped,
            )
            self._session.on_coalesced(dropped)
        return kept

    async def _dispatch(self, msg: aiomqtt.Message, handler: Handler, limit: int) -> None:
        raw = msg.payload
        payload = raw if isinstance(raw, bytes) else str(raw or "").encode()
        props = msg.properties
        rt = getattr(props, "ResponseTopic", None) if props is not None else None
        cd = getattr(props, "CorrelationData", None) if props is not None else None
        oversized = len(payload) > limit
        inbound = Inbound(
            str(msg.topic),
            b"" if oversized else payload,
            bool(msg.retain),
            rt if isinstance(rt, str) and rt else None,
            bytes(cd) if cd is not None else None,
            oversized,
        )
        self._handling = True
        try:
            await handler(inbound)
        except asyncio.CancelledError:
            raise
        except Exception:
            mqtt_internals.handler_failed(inbound.topic)
        finally:
            self._handling = False
            if self._intake is not None:
                self._intake.done()

    # --- publishing (``mqtt_outbound``) ----------------------------------------------
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
        """Hand a message to the client, in call order; False (logged) when disconnected.
        The PUBACK is awaited in the background (a failure logged), not by the caller.
        With ``on_ack`` the message is tracked (never held here): ``on_ack`` gets whether
        the broker acknowledged it (False: not connected, or lost before the PUBACK)."""
        return await self._out.publish(
            topic, payload, retain=retain, qos=qos, correlation_data=correlation_data,
            wait_ack=wait_ack, on_ack=on_ack,
        )  # fmt: skip

    async def respond(self, reply_topic: str, payload: bytes, request: Inbound) -> bool:
        """Send a reply on the contract's reply topic and, for a v5 request with a
        response topic, also there (with its correlation data)."""
        return await respond_twice(self, reply_topic, payload, request)
