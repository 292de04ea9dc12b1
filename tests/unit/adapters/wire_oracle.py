"""paho's own reader as the oracle for the adapter's QoS 0 fast path (`mqtt_wire`).

`encode_publish` writes PUBLISH packets the way a broker sends them; `read_with_paho`
feeds a byte stream, in the given pieces, to a plain paho client (its ``loop_read`` and
``on_message``), `read_with_hooks` to a paho client with the adapter's hooks
(`mqtt_internals.hook_paho` on a `ReadBuffer`), driven as aiomqtt drives it. Both return
what was received, as comparable tuples, and how reading ended. Used by
``test_mqtt_wire.py`` and the fuzzer's ``mqtt_wire`` target (``bench/fuzz.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import paho.mqtt.client as paho_client
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from staffer.adapters import mqtt_internals as mi

Got = tuple[str, bytes, bool, dict[str, Any]]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode_publish(
    topic: bytes,
    payload: bytes,
    *,
    v5: bool,
    qos: int = 0,
    retain: bool = False,
    dup: bool = False,
    mid: int = 1,
    props: Properties | None = None,
) -> bytes:
    """One PUBLISH packet (fixed header, topic, packet id at QoS > 0, properties, body)."""
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += mid.to_bytes(2, "big")
    if v5:
        body += props.pack() if props is not None else b"\x00"
    body += payload
    first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0)
    return bytes([first]) + varint(len(body)) + body


def normal_props(props: Any) -> dict[str, Any]:
    """Properties as a dict (None and an empty list alike: what the adapter reads)."""
    return {} if props is None else dict(props.json())


class Stream:
    """A non-blocking socket stand-in: ``recv`` serves what was fed, in order."""

    def __init__(self) -> None:
        self.data = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.data += chunk

    def recv(self, n: int) -> bytes:
        if not self.data:
            raise BlockingIOError
        out = bytes(self.data[:n])
        del self.data[:n]
        return out

    def pending(self) -> int:
        return 0

    def close(self) -> None:
        self.data.clear()


def _client(v5: bool) -> paho_client.Client:
    c = paho_client.Client(
        paho_client.CallbackAPIVersion.VERSION2,
        protocol=paho_client.MQTTv5 if v5 else paho_client.MQTTv311,
    )
    c._send_puback = lambda mid: paho_client.MQTTErrorCode.MQTT_ERR_SUCCESS  # type: ignore[method-assign]
    return c


def _drive(c: paho_client.Client, stream: Stream, chunks: list[bytes]) -> str:
    """aiomqtt's reader callback (``loop_read`` again while the socket has ``pending()``
    bytes) for each readiness of the socket (level-triggered: while it has data and is
    open); how it ended: "ok", "rc <n>" or the exception's type."""
    try:
        for chunk in chunks:
            stream.feed(chunk)
            while stream.data and c._sock is not None:
                while True:
                    rc = c.loop_read()
                    if rc:
                        return f"rc {int(rc)}"
                    sock = c._sock
                    if sock is None or not hasattr(sock, "pending") or sock.pending() <= 0:
                        break
    except Exception as err:
        return type(err).__name__
    finally:  # detached, so paho's __del__ (whenever GC runs it) has no socket to close
        c._sock = None
    return "ok"


def read_with_paho(chunks: list[bytes], v5: bool) -> tuple[list[Got], str]:
    """What paho itself delivers to ``on_message`` (topics not UTF-8 left out, as the
    adapter drops them), and how reading ended."""
    c, stream, got = _client(v5), Stream(), []

    def on_message(_c: object, _u: object, m: paho_client.MQTTMessage) -> None:
        try:
            topic = m.topic
        except UnicodeDecodeError:
            return
        got.append((topic, m.payload, bool(m.retain), normal_props(m.properties)))

    c.on_message = on_message
    c._sock = stream  # type: ignore[assignment]
    end = _drive(c, stream, chunks)
    return got, end


def read_with_hooks(
    chunks: list[bytes], v5: bool, take: mi.Take | None = None
) -> tuple[list[Got], str]:
    """What the adapter's hooks put on the incoming queue (with ``take``: what it did not
    take at once, `mi.Intake`), and how reading ended."""
    c, stream = _client(v5), Stream()
    queue: asyncio.Queue[mi.Received] = asyncio.Queue()
    mi.hook_paho(c, mi.Intake(queue, take))
    c._sock = mi.ReadBuffer(stream)  # type: ignore[assignment]
    end = _drive(c, stream, chunks)
    got = []
    while not queue.empty():
        r = queue.get_nowait()
        got.append((r.topic, bytes(r.payload), r.retain, normal_props(r.properties)))
    return got, end


# -- hypothesis strategies: packets paho reads without complaint ----------------------------

TOPICS = st.one_of(
    st.text(min_size=1, max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"staffer/s001/queues/phone/metrics", b"a", b"\xff\xfe", b"x" * 300]),
)
TEXT = st.characters(
    blacklist_characters="\x00\ufeff", blacklist_categories=("Cs",)
)  # paho: malformed
PAYLOADS = st.one_of(
    st.binary(max_size=200),
    st.integers(100, 20000).map(lambda n: bytes(range(256)) * (n // 256) + b"!"),
)


@st.composite
def properties(draw: st.DrawFn) -> Properties | None:
    if draw(st.booleans()):
        return None
    p = Properties(PacketTypes.PUBLISH)
    if draw(st.booleans()):
        p.ResponseTopic = draw(st.text(TEXT, min_size=1, max_size=30))
    if draw(st.booleans()):
        p.CorrelationData = draw(st.binary(max_size=40))
    if draw(st.booleans()):
        p.UserProperty = draw(
            st.lists(st.tuples(st.text(TEXT, max_size=8), st.text(TEXT, max_size=8)))
        )
    if draw(st.booleans()):
        p.MessageExpiryInterval = draw(st.integers(0, 2**32 - 1))
    if draw(st.booleans()):
        p.ContentType = draw(st.text(TEXT, max_size=20))
    if draw(st.booleans()):
        p.PayloadFormatIndicator = draw(st.integers(0, 1))
    if draw(st.booleans()):
        p.SubscriptionIdentifier = draw(st.integers(1, 2**28 - 1))
    if draw(st.booleans()):
        p.UserProperty = [("k" * 200, "v" * 200)]  # a property length of 2+ varint bytes
    return p


@st.composite
def packet(draw: st.DrawFn, v5: bool) -> bytes:
    kind = draw(st.sampled_from(["qos0", "qos0", "qos0", "qos1", "ping"]))
    if kind == "ping":
        return b"\xd0\x00"  # PINGRESP: paho's to read
    return encode_publish(
        draw(TOPICS),
        draw(PAYLOADS),
        v5=v5,
        qos=1 if kind == "qos1" else 0,
        retain=draw(st.booleans()),
        dup=draw(st.booleans()) and kind == "qos1",
        mid=draw(st.integers(1, 65535)),
        props=draw(properties()) if v5 else None,
    )


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (any order, out of range ignored)."""
    points = sorted({c for c in cuts if 0 < c < len(data)})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
