"""What the MQTT adapter relies on inside aiomqtt and paho that they do not promise.

Five speed-ups reach past the libraries' public API; each is kept here, behind one
function, so a new library version that changes shape is found in one place:

* `install_read_buffer` wraps paho's socket (``aiomqtt.Client._client._sock``) in
  `ReadBuffer`: one 64 KiB ``recv`` serves many small packets (more than doubles ingest);
* `install_shared_table_properties` swaps paho's packet decoder's ``Properties`` class
  (``paho.mqtt._packet.Properties``) for `SharedTableProperties`, which builds its
  lookup tables once instead of per received message (~23 µs each);
* `incoming_queue` returns aiomqtt's incoming message queue (``Client._queue``) so the
  adapter can drain it without a task per message and coalesce it under overload;
* `install_light_messages` puts a `Received` (topic, payload, retain, properties) on
  that queue instead of aiomqtt's ``Message`` (whose ``Topic`` is validated again for
  every message the broker already checked): for QoS 0 straight from paho's decoded
  packet (an instance attribute over ``Client._handle_publish``), otherwise from paho's
  ``on_message``; a plain QoS 0 message with nothing queued before it may instead be
  handled at once (`Intake`);
* `hook_paho` also puts an instance attribute over paho's ``loop_read``: runs of QoS 0
  PUBLISHes are parsed in one pass from the `ReadBuffer`'s bytes (`ReadBuffer.scan`,
  `staffer.adapters.mqtt_wire`) and everything else is left to paho's reader.

`shape_problems` lists every assumption that no longer holds (versions outside the
tested range, renamed attributes); ``tests/unit/adapters/test_mqtt_internals.py``
fails on any, and at run time `check_once` logs them as one warning: the daemon keeps
working without the speed-up, but nobody loses it silently.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from importlib import metadata
from typing import Any

import aiomqtt
import paho.mqtt._packet as paho_packet
import paho.mqtt.client as paho_client
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from staffer.adapters import mqtt_wire

log = logging.getLogger("staffer.mqtt")

TESTED_MAJOR = {"aiomqtt": 2, "paho-mqtt": 2}  # the versions these shapes were checked on
READ_CHUNK = 65536
_warned = False


class ReadBuffer:
    """A socket wrapper that reads 64 KiB at a time and serves paho's small reads.

    paho reads a packet with three ``recv`` calls (type, length, body) and aiomqtt
    parses one packet per readiness callback, but keeps reading while the socket
    reports ``pending()`` bytes (meant for TLS). Buffering here turns ~3 syscalls and
    one event-loop iteration per message into one of each per 64 KiB. Everything else
    is delegated to the socket.
    """

    __slots__ = ("_buf", "_sock")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = bytearray()

    def recv(self, bufsize: int) -> bytes:
        if not self._buf:
            data: bytes = self._sock.recv(READ_CHUNK)
            if not data:
                return b""
            self._buf += data
        out = bytes(self._buf[:bufsize])
        del self._buf[:bufsize]
        return out

    def scan(self, v5: bool, emit: mqtt_wire.Emit) -> bool | None:
        """The fast path of `hook_paho`: read (if nothing is buffered) and
        hand the run of QoS 0 PUBLISHes at the front to ``emit`` (`mqtt_wire.scan_qos0`).
        True: bytes were read and all used; False: something is left for paho's reader
        (buffered, or an error or end of stream it reads again and reports); None:
        nothing to read."""
        buf = self._buf
        if buf:
            data = bytes(buf)
            buf.clear()
        else:
            try:
                data = self._sock.recv(READ_CHUNK)
            except BlockingIOError:
                return None
            except OSError:
                return False
            if not data:
                return False
        used = mqtt_wire.scan_qos0(data, v5, emit)
        if used == len(data):
            return True
        buf += data[used:] if used else data
        return False

    def pending(self) -> int:
        inner = getattr(self._sock, "pending", None)
        return len(self._buf) + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


class SharedTableProperties(Properties):
    """paho's MQTT 5 ``Properties`` with its lookup tables built once, not per packet,
    and an empty property list read without ``clear()``.

    paho decodes every received PUBLISH into a new ``Properties``, whose constructor
    builds two dicts of ~27 entries and whose ``unpack`` first deletes each absent
    attribute. The tables are read-only in paho; non-empty property lists take paho's
    own ``unpack``.
    """

    _shared: Properties | None = None

    def __init__(self, packetType: int) -> None:  # paho's parameter name
        shared = SharedTableProperties._shared
        if shared is None:
            shared = SharedTableProperties._shared = Properties(packetType)
        object.__setattr__(self, "packetType", packetType)
        object.__setattr__(self, "types", shared.types)
        object.__setattr__(self, "names", shared.names)
        object.__setattr__(self, "properties", shared.properties)

    def unpack(self, buffer: bytes) -> tuple[Properties, int]:
        if buffer[:1] == b"\x00":  # property length 0: nothing to read or clear
            return self, 1
        return super().unpack(buffer)


def install_shared_table_properties() -> bool:
    """Make paho's packet decoder use `SharedTableProperties`; False when paho changed."""
    current = getattr(paho_packet, "Properties", None)
    if current is SharedTableProperties:
        return True
    if current is not Properties:
        return False
    vars(paho_packet)["Properties"] = SharedTableProperties  # the patch itself
    return True


def install_read_buffer(client: aiomqtt.Client) -> bool:
    """Wrap the connected paho socket in `ReadBuffer`; False when aiomqtt/paho changed."""
    paho = getattr(client, "_client", None)
    sock = getattr(paho, "_sock", None)
    if isinstance(sock, ReadBuffer):
        return True
    if paho is None or sock is None or not hasattr(sock, "recv"):
        return False
    paho._sock = ReadBuffer(sock)
    return True


class Received:
    """What the adapter reads of a received PUBLISH (the duck type of aiomqtt's
    ``Message`` that ``AiomqttPort`` consumes)."""

    __slots__ = ("payload", "properties", "retain", "topic")

    def __init__(
        self, topic: str, payload: bytes | bytearray, retain: bool, properties: Any
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.retain = retain
        self.properties = properties


Take = Callable[[str, bytes], bool]


def _text(topic: bytes | str) -> str | None:
    try:
        return topic if isinstance(topic, str) else topic.decode("utf-8")
    except UnicodeDecodeError:  # the broker checks topics: never seen in practice
        log.warning("dropped a message whose topic is not UTF-8")
        return None


def handler_failed(topic: str) -> None:
    """Log the exception being handled: the handler of a message on ``topic`` raised (a
    bad message must never stop the daemon, nor paho's reader)."""
    log.exception("handler failed", extra={"topic": topic})


def _offer(take: Take, topic: str, payload: bytes) -> bool:
    try:
        return take(topic, payload)
    except Exception:
        handler_failed(topic)
        return True


class Intake:
    """Where a hooked client's received PUBLISHes go (`hook_paho`).

    Each goes on aiomqtt's queue as a `Received`, except a plain QoS 0 one (no
    properties, not retained, at most ``limit`` bytes: an oversized one is reported by the
    queue's consumer) that arrives while every message queued before it has been handled:
    that one is offered to ``take`` at once (True: handled, not queued; when ``take``
    raises, the message is dropped and the error logged, as the consumer does). This
    spares the common message its queue round trip, the consumer's wake-up and aiomqtt's
    task per message. ``unhandled`` counts the queued messages the consumer has not yet
    handled (it calls `done`), so a message never overtakes an earlier one.
    """

    __slots__ = ("limit", "queue", "take", "unhandled")

    def __init__(
        self, queue: asyncio.Queue[Any], take: Take | None = None, limit: float = math.inf
    ) -> None:
        self.queue = queue
        self.take = take
        self.limit = limit
        self.unhandled = 0

    def put(self, topic: bytes | str, payload: bytes | bytearray, retain: bool, props: Any) -> None:
        """Queue the message for the consumer."""
        text = _text(topic)
        if text is None:
            return
        try:
            self.queue.put_nowait(Received(text, payload, retain, props))
        except asyncio.QueueFull:
            log.warning("incoming message queue is full; dropped a message")
            return
        self.unhandled += 1

    def plain(
        self, topic: bytes | str, payload: bytes | bytearray, retain: bool, props: Any
    ) -> None:
        """A QoS 0 message: taken at once when it may be, else queued."""
        take = self.take
        if take is not None and not self.unhandled and props is None and not retain:
            text = _text(topic)
            if text is None or (
                isinstance(payload, bytes)
                and len(payload) <= self.limit
                and _offer(take, text, payload)
            ):
                return
        self.put(topic, payload, retain, props)

    def done(self, n: int = 1) -> None:
        """``n`` queued messages were handled (or dropped under overload)."""
        self.unhandled -= n


def install_light_messages(
    client: aiomqtt.Client, take: Take | None = None, limit: float = math.inf
) -> Intake | None:
    """Received PUBLISHes go on aiomqtt's queue as `Received`, or to ``take`` (`Intake`,
    `hook_paho`); None when aiomqtt or paho changed shape (nothing installed)."""
    paho = getattr(client, "_client", None)
    queue = incoming_queue(client)
    if not isinstance(paho, paho_client.Client) or queue is None:
        return None
    if getattr(paho, "_handle_publish", None) is None:
        return None
    packet = getattr(paho, "_in_packet", None)
    if not isinstance(packet, dict) or not {"command", "remaining_count"} <= packet.keys():
        return None
    intake = Intake(queue, take, limit)
    hook_paho(paho, intake)
    return intake


def hook_paho(paho: paho_client.Client, intake: Intake) -> None:
    """Hand what ``paho`` receives to ``intake``:

    * runs of QoS 0 PUBLISHes straight from the `ReadBuffer`'s bytes, parsed in one pass
      (`mqtt_wire.scan_qos0`, an instance attribute over ``loop_read``; paho's per-packet
      reading, ``_handle_publish`` and the callbacks are skipped);
    * any other QoS 0 PUBLISH from paho's decoded packet (over ``_handle_publish``:
      paho's ``MQTTMessage`` with a ``threading.Condition``, its log call and per-topic
      callback matching are skipped);
    * QoS 1 and 2 through paho's handling (its acks) and ``on_message``: always queued.
    """
    original = paho._handle_publish

    def on_message(_client: object, _userdata: object, message: paho_client.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            log.warning("dropped a message whose topic is not UTF-8")
            return
        intake.put(topic, message.payload, message.retain, message.properties)

    def handle_publish() -> paho_client.MQTTErrorCode:
        header = paho._in_packet["command"]
        if header & 0x06:  # QoS 1 or 2: paho acknowledges (and calls on_message)
            return original()
        r = paho_packet.decode_publish(header, paho._in_packet["packet"], paho._protocol)
        intake.plain(r.topic, r.payload, r.retain, r.properties)
        return paho_client.MQTTErrorCode.MQTT_ERR_SUCCESS

    read = paho.loop_read
    v5 = paho._protocol == paho_client.MQTTv5
    plain = intake.plain

    def loop_read(max_packets: int = 1) -> paho_client.MQTTErrorCode:
        sock, packet = paho._sock, paho._in_packet
        # between packets (paho reads a type byte 0 as "none yet": the length tells)
        if type(sock) is ReadBuffer and packet["command"] == 0 and not packet["remaining_count"]:
            done = sock.scan(v5, plain)
            if done is not None:
                with paho._msgtime_mutex:  # keepalive: the broker was heard from
                    paho._last_bytes_received = paho_client.time_func()
            if done is not False:
                return paho_client.MQTTErrorCode.MQTT_ERR_SUCCESS
        return read(max_packets)  # the rest, one packet (or a partial one) at a time

    paho.on_message = on_message
    vars(paho)["_handle_publish"] = handle_publish  # this client only
    vars(paho)["loop_read"] = loop_read


def incoming_queue(client: aiomqtt.Client) -> asyncio.Queue[aiomqtt.Message] | None:
    """aiomqtt's queue of received messages (what ``client.messages`` reads), or None."""
    queue = getattr(client, "_queue", None)
    return queue if isinstance(queue, asyncio.Queue) else None


def disconnect_error(client: aiomqtt.Client | None) -> BaseException | None:
    """Why the broker ended a session (aiomqtt keeps the DISCONNECT reason on
    ``Client._disconnected``; the message iterator raises a plain error without it)."""
    done = getattr(client, "_disconnected", None)
    if not isinstance(done, asyncio.Future) or not done.done() or done.cancelled():
        return None
    return done.exception()


def shape_problems() -> list[str]:
    """Every assumption above that does not hold for the installed libraries."""
    problems = []
    for dist, major in TESTED_MAJOR.items():
        found = metadata.version(dist)
        if not found.startswith(f"{major}."):
            problems.append(f"{dist} {found} is untested (the shapes were checked on {major}.x)")
    if getattr(paho_packet, "Properties", None) not in (Properties, SharedTableProperties):
        problems.append("paho.mqtt._packet.Properties is gone: packet decoding changed")
    probe = Properties(PacketTypes.PUBLISH)
    for attr in ("types", "names", "properties", "packetType"):
        if not hasattr(probe, attr):
            problems.append(f"paho Properties has no {attr!r}: SharedTableProperties is wrong")
    paho = paho_client.Client(paho_client.CallbackAPIVersion.VERSION2)
    if not hasattr(paho, "_sock"):
        problems.append("paho Client has no _sock: the read buffer cannot be installed")
    for attr in ("_protocol", "_msgtime_mutex", "_last_bytes_received", "_in_packet"):
        if not hasattr(paho, attr):
            problems.append(f"paho Client has no {attr}: the QoS 0 fast path is wrong")
    if not {"command", "remaining_count"} <= getattr(paho, "_in_packet", {}).keys():
        problems.append("paho's _in_packet changed: the QoS 0 fast path is off")
    if not hasattr(paho_client, "time_func"):
        problems.append("paho.mqtt.client.time_func is gone: keepalive bookkeeping changed")
    return problems


def client_problems(client: aiomqtt.Client) -> list[str]:
    """Assumptions about one constructed aiomqtt client (call inside a running loop)."""
    problems = []
    if not isinstance(getattr(client, "_client", None), paho_client.Client):
        problems.append("aiomqtt.Client._client is not a paho Client")
    if incoming_queue(client) is None:
        problems.append("aiomqtt.Client._queue is not an asyncio.Queue")
    return problems


def check_once(client: aiomqtt.Client) -> None:
    """Log (once per process) which speed-ups are lost with the installed libraries."""
    global _warned
    if _warned:
        return
    _warned = True
    problems = shape_problems() + client_problems(client)
    if problems:
        log.warning("MQTT speed-ups disabled or at risk: %s", "; ".join(problems))
