"""The MQTT port: the only module that imports aiomqtt/paho.

`MqttPort.run(handler)` keeps a connection alive for the daemon's lifetime:

* connect with exponential backoff + full jitter between ``reconnect_min_s`` and
  ``reconnect_max_s``; re-subscribe after every (re)connect;
* MQTT v5 when ``protocol`` is "5" or "auto" ("auto" falls back to 3.1.1 when the
  broker refuses v5, e.g. NATS); works fully on 3.1.1 brokers;
* a retained last will (the offline status) on the status topic, a retained online
  status after each connect and a retained offline status on clean shutdown;
* TLS for ``mqtts://`` (``ca_file``, ``cert_file``/``key_file``), username plus a
  password read from ``password_file`` at each connect (never logged);
* payloads over ``max_payload_bytes`` are delivered as ``Inbound(oversized=True,
  payload=b"")`` so the app can count them and, for a request, reply.

Inbound messages are handed to an async handler one at a time, in arrival order.
Messages published while disconnected are held (up to 10,000, oldest dropped first)
and sent, in order, right after the next connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiomqtt
import paho.mqtt._packet as paho_packet
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from staffer.adapters.log import RateLimitedLog
from staffer.settings import BrokerAddress, MqttSettings, parse_broker_url

M = TypeVar("M")
log = logging.getLogger("staffer.mqtt")
_DROPPED = RateLimitedLog(log, period_s=10.0)  # outbound messages lost while disconnected

_V5_REFUSED = {1, 0x84}  # 3.1.1 "unacceptable protocol version" / v5 "unsupported protocol"
_SUBSCRIBE_BATCH = 100
_READ_CHUNK = 65536
_MAX_HELD = 10000  # outbound messages held while disconnected
_MAX_PENDING_PUBLISHES = 10000  # aiomqtt warns above this many unacknowledged calls
_YIELD_EVERY = 16  # messages handled back to back before yielding to the loop


@dataclass(frozen=True, slots=True)
class Inbound:
    """One received message, library-neutral."""

    topic: str
    payload: bytes
    retain: bool = False
    response_topic: str | None = None  # MQTT v5 request/response
    correlation_data: bytes | None = None
    oversized: bool = False


# The broker URL has one parser, in settings (it validates ``[mqtt] url`` at load); the
# names stay importable from here for the tools that connect with them.
parse_url = parse_broker_url


def backoff_delays(min_s: float, max_s: float, rng: random.Random | None = None) -> Iterable[float]:
    """Endless exponential backoff with full jitter: uniform(min, min(max, min*2**n))."""
    r = rng or random.Random()
    ceiling = min_s
    while True:
        yield r.uniform(min_s, max(min_s, ceiling))
        ceiling = min(max_s, ceiling * 2)


class _ReadBuffer:
    """A socket wrapper that reads 64 KiB at a time and serves paho's small reads.

    paho reads a packet with three ``recv`` calls (type, length, body) and aiomqtt
    parses one packet per readiness callback, but keeps reading while the socket
    reports ``pending()`` bytes (meant for TLS). Buffering here turns ~3 syscalls and
    one event-loop iteration per message into one of each per 64 KiB, which more than
    doubles the sustained ingest rate. Everything else is delegated to the socket.
    """

    __slots__ = ("_buf", "_sock")

    def __init__(self, sock: object) -> None:
        self._sock = sock
        self._buf = bytearray()

    def recv(self, bufsize: int) -> bytes:
        if not self._buf:
            data = self._sock.recv(_READ_CHUNK)  # type: ignore[attr-defined]
            if not data:
                return b""
            self._buf += data
        out = bytes(self._buf[:bufsize])
        del self._buf[:bufsize]
        return out

    def pending(self) -> int:
        inner = getattr(self._sock, "pending", None)
        return len(self._buf) + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


def _install_read_buffer(client: aiomqtt.Client) -> None:
    """Wrap the connected paho socket in `_ReadBuffer` (skipped if paho changes shape)."""
    paho = getattr(client, "_client", None)
    sock = getattr(paho, "_sock", None)
    if sock is not None and not isinstance(sock, _ReadBuffer) and hasattr(sock, "recv"):
        paho._sock = _ReadBuffer(sock)  # type: ignore[union-attr]


class _SharedTableProperties(Properties):
    """paho's MQTT 5 ``Properties`` with its lookup tables built once, not per packet,
    and an empty property list read without ``clear()``.

    paho decodes every received PUBLISH into a new ``Properties``, whose constructor
    builds two dicts of ~27 entries and whose ``unpack`` first deletes each absent
    attribute: ~23 µs per message here, about as much as decoding our JSON. The tables
    are read-only in paho; non-empty property lists take paho's own ``unpack``.
    """

    _shared: Properties | None = None

    def __init__(self, packetType: int) -> None:  # paho's parameter name
        shared = _SharedTableProperties._shared
        if shared is None:
            shared = _SharedTableProperties._shared = Properties(packetType)
        object.__setattr__(self, "packetType", packetType)
        object.__setattr__(self, "types", shared.types)
        object.__setattr__(self, "names", shared.names)
        object.__setattr__(self, "properties", shared.properties)

    def unpack(self, buffer: bytes) -> tuple[Properties, int]:
        if buffer[:1] == b"\x00":  # property length 0: nothing to read or clear
            return self, 1
        return super().unpack(buffer)  # type: ignore[no-any-return]


def _install_shared_table_properties() -> None:
    """Make paho's packet decoder use `_SharedTableProperties` (skipped if paho changes)."""
    if getattr(paho_packet, "Properties", None) is Properties:
        paho_packet.Properties = _SharedTableProperties  # type: ignore[misc]


def _read_password(path: Path | None) -> str | None:
    if path is None:
        return None
    return path.read_text(encoding="utf-8").rstrip("\r\n")


def coalesce_latest(
    messages: Sequence[M], topics: Sequence[str], coalescible: Callable[[str], bool]
) -> tuple[list[M], int]:
    """Keep arrival order, but only the last message of each coalescible topic.

    The overload rule: a newer snapshot of a queue supersedes the queued older ones.
    Returns the kept messages and how many were dropped.
    """
    last: dict[str, int] = {}
    for i, topic in enumerate(topics):
        if coalescible(topic):
            last[topic] = i
    kept = [m for i, (m, t) in enumerate(zip(messages, topics, strict=True)) if last.get(t, i) == i]
    return kept, len(messages) - len(kept)


class MqttPort:
    """A long-lived MQTT connection with presence, reconnects and request/response."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        status_topic: str,
        online_payload: bytes,
        offline_payload: bytes,
        subscriptions: Sequence[tuple[str, int]] = (),
        on_state: Callable[[bool], None] | None = None,
        coalescible: Callable[[str], bool] | None = None,
        on_coalesced: Callable[[int], None] | None = None,
    ) -> None:
        self._settings = settings
        self._address: BrokerAddress = settings.broker  # parsed and validated once
        self._client_id = client_id
        self._status_topic = status_topic
        self._online = online_payload
        self._offline = offline_payload
        self._subscriptions: dict[str, int] = dict(subscriptions)  # filter -> QoS
        self._on_state = on_state
        self._coalescible = coalescible
        self._on_coalesced = on_coalesced
        self._client: aiomqtt.Client | None = None
        self._connected = False
        self._v5 = settings.protocol in ("5", "auto")
        self._queue: asyncio.Queue[aiomqtt.Message] | None = None
        self._sending: set[asyncio.Task[bool]] = set()
        self._dropped = _DROPPED
        # published while disconnected: sent after the next connect (bounded, oldest dropped)
        self._pending: deque[tuple[str, bytes, int, bool, bytes | None]] = deque(maxlen=_MAX_HELD)

    # --- state -------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while a broker session is up."""
        return self._connected

    @property
    def protocol(self) -> str:
        """The protocol in use (or to be tried next): "5" or "3.1.1"."""
        return "5" if self._v5 else "3.1.1"

    @property
    def backlog(self) -> int:
        """Received messages not yet handled (for benchmarks and health)."""
        return self._queue.qsize() if self._queue is not None else 0

    def _set_connected(self, value: bool) -> None:
        if value != self._connected:
            self._connected = value
            if self._on_state is not None:
                self._on_state(value)

    # --- subscriptions -------------------------------------------------------------
    async def set_subscriptions(self, subscriptions: Sequence[tuple[str, int]]) -> None:
        """Replace the (filter, QoS) set (config reload); applied live when connected."""
        old, new = self._subscriptions, dict(subscriptions)
        self._subscriptions = new
        client = self._client
        if client is None or not self._connected:
            return
        gone = sorted(set(old) - set(new))
        with contextlib.suppress(aiomqtt.MqttError):
            if gone:
                await client.unsubscribe(gone)
            await self._subscribe(client, {t: q for t, q in new.items() if old.get(t) != q})

    async def _subscribe(self, client: aiomqtt.Client, subscriptions: dict[str, int]) -> None:
        items = list(subscriptions.items())
        for i in range(0, len(items), _SUBSCRIBE_BATCH):
            batch = items[i : i + _SUBSCRIBE_BATCH]
            if batch:
                await client.subscribe(batch)

    # --- connection loop -----------------------------------------------------------
    def _make_client(self) -> aiomqtt.Client:
        s = self._settings
        tls = None
        if self._address.tls:
            tls = aiomqtt.TLSParameters(
                ca_certs=str(s.ca_file) if s.ca_file else None,
                certfile=str(s.cert_file) if s.cert_file else None,
                keyfile=str(s.key_file) if s.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        username = s.username or self._address.username
        password = _read_password(s.password_file) or self._address.password
        port = self

        class _Queue(asyncio.Queue):  # type: ignore[type-arg]
            """aiomqtt's incoming queue, kept so we can drain it without a task per message."""

            def __init__(self, maxsize: int = 0) -> None:
                super().__init__(maxsize)
                port._queue = self

        return aiomqtt.Client(
            self._address.host,
            self._address.port,
            username=username,
            password=password if username else None,
            identifier=self._client_id,
            protocol=aiomqtt.ProtocolVersion.V5 if self._v5 else aiomqtt.ProtocolVersion.V311,
            will=aiomqtt.Will(self._status_topic, self._offline, qos=1, retain=True),
            clean_session=None if self._v5 else True,
            keepalive=int(max(1, s.keepalive_s)),
            tls_params=tls,
            timeout=10,
            queue_type=_Queue,
            max_inflight_messages=1000,
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),  # no Nagle delay
            logger=logging.getLogger("mqtt"),
        )

    async def run(self, handler: Callable[[Inbound], Awaitable[None]]) -> None:
        """Connect, subscribe and feed ``handler`` until cancelled.

        Cancelling the task is the clean shutdown: a retained offline status is
        published, then the session is closed (so the last will is not sent).
        """
        _install_shared_table_properties()
        min_s, max_s = self._settings.reconnect_min_s, self._settings.reconnect_max_s
        delays = iter(backoff_delays(min_s, max_s))
        while True:
            try:
                client = self._make_client()
                async with client:
                    _install_read_buffer(client)
                    client.pending_calls_threshold = _MAX_PENDING_PUBLISHES
                    self._client = client
                    await self._subscribe(client, self._subscriptions)
                    await client.publish(self._status_topic, self._online, qos=1, retain=True)
                    self._flush_pending(client)
                    self._set_connected(True)
                    delays = iter(backoff_delays(min_s, max_s))
                    log.info("connected to %s (MQTT %s)", self._address.display, self.protocol)
                    try:
                        await self._consume(client, handler)
                    except asyncio.CancelledError:
                        await self._publish_offline(client)
                        raise
            except MqttConnectError as err:
                if self._v5 and self._settings.protocol == "auto" and _is_v5_refusal(err):
                    log.info("broker refused MQTT 5; falling back to 3.1.1")
                    self._v5 = False
                    continue
                self._lost(f"connection refused: {err}")
            except (aiomqtt.MqttError, OSError) as err:
                self._lost(str(err) or type(err).__name__)
            finally:
                self._set_connected(False)
                self._client = None
            await asyncio.sleep(next(delays))

    async def _publish_offline(self, client: aiomqtt.Client) -> None:
        self._set_connected(False)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                client.publish(self._status_topic, self._offline, qos=1, retain=True), 2.0
            )
        log.info("disconnecting from %s (clean shutdown)", self._address.display)

    def _lost(self, why: str) -> None:
        if self._connected:
            log.warning("disconnected from %s: %s", self._address.display, why)
        else:
            log.warning("cannot connect to %s: %s", self._address.display, why)

    async def _consume(
        self, client: aiomqtt.Client, handler: Callable[[Inbound], Awaitable[None]]
    ) -> None:
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
        if self._coalescible is None:
            return batch
        kept, dropped = coalesce_latest(batch, [str(m.topic) for m in batch], self._coalescible)
        if dropped:
            log.warning(
                "overloaded: %d queued messages, %d superseded snapshots dropped",
                len(batch),
                dropped,
            )
            if self._on_coalesced is not None:
                self._on_coalesced(dropped)
        return kept

    async def _dispatch(
        self, msg: aiomqtt.Message, handler: Callable[[Inbound], Awaitable[None]], limit: int
    ) -> None:
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
        try:
            await handler(inbound)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bad message must never stop the daemon
            log.exception("handler failed", extra={"topic": inbound.topic})

    # --- publishing ----------------------------------------------------------------
    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        qos: int = 1,
        correlation_data: bytes | None = None,
        wait_ack: bool = False,
    ) -> bool:
        """Hand a message to the client, in call order; False (logged) when disconnected.

        By default the broker's PUBACK is awaited in the background (a failure is
        logged): waiting would stall the caller for a round trip through a busy loop.
        """
        client = self._client
        if client is None or not self._connected:
            if len(self._pending) == self._pending.maxlen:
                self._dropped.warning(
                    "buffer_full",
                    "disconnected and the outbound buffer is full; dropped the oldest message",
                    topic=topic,
                )
            self._pending.append((topic, payload, qos, retain, correlation_data))
            return False
        send = self._send(client, topic, payload, qos, retain, self._props(correlation_data))
        if wait_ack:
            return await send
        self._spawn(send)
        return True

    def _props(self, correlation_data: bytes | None) -> Properties | None:
        if correlation_data is None or not self._v5:
            return None
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = correlation_data
        return props

    def _spawn(self, send: Coroutine[None, None, bool]) -> None:
        task = asyncio.get_running_loop().create_task(send)  # tasks start in FIFO order
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def _flush_pending(self, client: aiomqtt.Client) -> None:
        """After a reconnect: what was published while disconnected, in order."""
        if self._pending:
            log.info("sending %d message(s) held while disconnected", len(self._pending))
        while self._pending:
            topic, payload, qos, retain, cd = self._pending.popleft()
            self._spawn(self._send(client, topic, payload, qos, retain, self._props(cd)))

    @staticmethod
    async def _send(
        client: aiomqtt.Client,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool,
        props: Properties | None,
    ) -> bool:
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        except aiomqtt.MqttError as err:
            _DROPPED.warning("publish_failed", f"publish failed: {err}", topic=topic)
            return False
        return True

    async def respond(self, reply_topic: str, payload: bytes, request: Inbound) -> bool:
        """Send a reply on the contract's reply topic and, for a v5 request with a
        response topic, also there (with its correlation data)."""
        ok = await self.publish(reply_topic, payload)
        if request.response_topic and request.response_topic != reply_topic:
            ok = (
                await self.publish(
                    request.response_topic, payload, correlation_data=request.correlation_data
                )
                and ok
            )
        return ok


def _is_v5_refusal(err: aiomqtt.MqttCodeError) -> bool:
    rc = err.rc
    value = getattr(rc, "value", rc)
    return value in _V5_REFUSED or "protocol version" in str(err).lower()
