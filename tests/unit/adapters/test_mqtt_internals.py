"""The MQTT speed-ups that reach inside aiomqtt and paho: fail loudly when their shape changes.

Each test names the assumption it guards; a new aiomqtt or paho release that breaks one
fails here instead of silently costing the daemon half its ingest rate.
"""

from __future__ import annotations

import socket

import aiomqtt
import paho.mqtt._packet as paho_packet
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from staffer.adapters import mqtt_internals as mi


def test_installed_libraries_have_the_shapes_we_rely_on() -> None:
    assert mi.shape_problems() == []


async def test_a_constructed_client_has_the_shapes_we_rely_on() -> None:
    client = aiomqtt.Client("127.0.0.1", 1)
    assert mi.client_problems(client) == []
    assert mi.incoming_queue(client) is not None


def test_shared_table_properties_decode_like_paho() -> None:
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = "reply/here"
    props.CorrelationData = b"\x01\x02"
    packed = props.pack()
    assert mi.install_shared_table_properties()
    assert paho_packet.Properties is mi.SharedTableProperties
    ours, used = mi.SharedTableProperties(PacketTypes.PUBLISH).unpack(packed)
    theirs, used_theirs = Properties(PacketTypes.PUBLISH).unpack(packed)
    assert used == used_theirs
    assert (ours.ResponseTopic, ours.CorrelationData) == ("reply/here", b"\x01\x02")
    assert (theirs.ResponseTopic, theirs.CorrelationData) == ("reply/here", b"\x01\x02")
    empty, n = mi.SharedTableProperties(PacketTypes.PUBLISH).unpack(b"\x00rest")
    assert n == 1 and not hasattr(empty, "ResponseTopic")


async def test_read_buffer_is_installed_on_the_paho_socket_and_serves_small_reads() -> None:
    client = aiomqtt.Client("127.0.0.1", 1)
    a, b = socket.socketpair()
    try:
        client._client._sock = a  # what paho holds once connected
        assert mi.install_read_buffer(client)
        wrapped = client._client._sock
        assert isinstance(wrapped, mi.ReadBuffer)
        assert mi.install_read_buffer(client)  # idempotent
        b.sendall(b"abcdef")
        assert wrapped.recv(2) == b"ab"
        assert wrapped.pending() == 4  # served from the buffer, no syscall
        assert wrapped.recv(10) == b"cdef"
        assert wrapped.fileno() == a.fileno()  # everything else is the socket's
    finally:
        a.close()
        b.close()


async def test_a_changed_shape_is_reported_not_ignored() -> None:
    client = aiomqtt.Client("127.0.0.1", 1)
    client._client = object()  # simulate a refactored aiomqtt
    assert not mi.install_read_buffer(client)
    assert "aiomqtt.Client._client is not a paho Client" in mi.client_problems(client)


async def test_light_messages_queue_qos0_from_the_packet_and_qos1_through_paho() -> None:
    """A QoS 0 PUBLISH reaches aiomqtt's queue as a `Received` without paho's message
    object; a QoS 1 one keeps paho's handling (its PUBACK) and arrives the same way."""
    client = aiomqtt.Client("127.0.0.1", 1, protocol=aiomqtt.ProtocolVersion.V5)
    assert mi.install_light_messages(client) is not None
    paho = client._client
    queue = mi.incoming_queue(client)
    assert queue is not None
    topic, body = b"p/s/queues/q/metrics", b'{"x":1}'
    paho._in_packet = {
        "command": 0x30,
        "packet": len(topic).to_bytes(2, "big") + topic + b"\0" + body,
    }
    assert paho._handle_publish() == 0
    got = queue.get_nowait()
    assert isinstance(got, mi.Received)
    assert (got.topic, got.payload, got.retain) == (topic.decode(), body, False)
    acks: list[int] = []
    paho._send_puback = lambda mid: acks.append(mid) or 0  # type: ignore[method-assign]
    mid = (7).to_bytes(2, "big")
    paho._in_packet = {
        "command": 0x33,
        "packet": len(topic).to_bytes(2, "big") + topic + mid + b"\0" + body,
    }
    paho._handle_publish()
    again = queue.get_nowait()
    assert isinstance(again, mi.Received) and again.retain and again.payload == body
    assert acks == [7]
