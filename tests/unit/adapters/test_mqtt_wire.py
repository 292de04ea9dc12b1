"""The QoS 0 fast path (`mqtt_wire.scan_qos0` behind `mqtt_internals.hook_paho`) against
paho's own reader: the same messages, in the same order, for random runs of packets cut
at arbitrary byte boundaries, with MQTT 5 and 3.1.1."""

from __future__ import annotations

from typing import Any

import paho.mqtt._packet as paho_packet
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.client import MQTTProtocolVersion
from paho.mqtt.properties import Properties

from staffer.adapters import mqtt_internals as mi
from staffer.adapters import mqtt_wire
from tests.unit.adapters.wire_oracle import (
    Stream,
    encode_publish,
    normal_props,
    packet,
    read_with_hooks,
    read_with_paho,
    split,
    varint,
)


@st.composite
def runs(draw: st.DrawFn) -> tuple[bool, list[bytes]]:
    v5 = draw(st.booleans())
    packets = draw(st.lists(packet(v5), min_size=1, max_size=12))
    data = b"".join(packets)
    ends = [sum(map(len, packets[: i + 1])) for i in range(len(packets))]
    near_ends = st.tuples(st.sampled_from(ends), st.integers(-3, 3)).map(sum)  # edge cases
    cuts = draw(st.lists(st.one_of(st.integers(0, len(data)), near_ends), max_size=8))
    return v5, split(data, cuts)


@settings(max_examples=300, deadline=None)
@given(runs())
def test_the_fast_path_delivers_what_paho_delivers(run: tuple[bool, list[bytes]]) -> None:
    v5, chunks = run
    expected = read_with_paho(chunks, v5)
    assert expected[1] == "ok"  # every packet generated is one paho reads
    assert read_with_hooks(chunks, v5) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(packet(True), min_size=1, max_size=6), st.binary(max_size=1))
def test_scan_matches_decode_publish_and_stops_at_what_is_not_a_whole_qos0_publish(
    packets: list[bytes], tail: bytes
) -> None:
    """Every packet scanned decodes as paho decodes it; the scan stops exactly at the
    first packet that is not a QoS 0 PUBLISH, or before the cut-off tail."""
    got: list[tuple[bytes, bytes, bool, dict[str, Any]]] = []

    def emit(t: bytes, p: bytes, r: bool, q: Properties | None) -> None:
        got.append((t, p, r, normal_props(q)))

    used = mqtt_wire.scan_qos0(b"".join(packets) + tail, True, emit)
    want, pos = [], 0
    for p in packets:
        if p[0] & 0xF6 != 0x30:
            break
        r = paho_packet.decode_publish(p[0], p[_header(p) :], MQTTProtocolVersion.MQTTv5)
        want.append((r.topic, r.payload, r.retain, normal_props(r.properties)))
        pos += len(p)
    assert got == want
    assert used == pos


def _header(p: bytes) -> int:
    i = 1
    while p[i] & 0x80:
        i += 1
    return i + 1


def test_incomplete_and_unusual_packets_are_left_to_paho() -> None:
    ok = encode_publish(b"a/b", b"{}", v5=True)
    emitted: list[bytes] = []

    def emit(t: bytes, p: bytes, r: bool, q: object) -> None:
        emitted.append(t)

    for data in (ok[:-1], ok[:1], b"\x30\x80\x80"):  # not all read yet
        assert mqtt_wire.scan_qos0(data, True, emit) == 0, data
    for data in (
        b"\x30\xff\xff\xff\xff\x01",  # a remaining length of 5 bytes (paho: protocol error)
        b"\x32\x05\x00\x01a\x00\x01",  # QoS 1
        b"\x36\x05\x00\x01a\x00\x01",  # QoS "3"
        b"\x30\x01\x00",  # no room for the topic length
        b"\x30\x03\x00\x05a",  # a topic longer than the packet
        b"\x30\x03\x00\x01a",  # MQTT 5 without a property length
        b"\x30\x05\x00\x01a\x05\x26",  # a property list longer than the packet
        b"\xd0\x00",  # PINGRESP
    ):
        assert mqtt_wire.scan_qos0(data + ok, True, emit) == 0, data
    assert mqtt_wire.scan_qos0(b"\x30\x02\x00\x00" + ok, False, emit) == 0  # 3.1.1: empty topic
    assert emitted == []
    assert mqtt_wire.scan_qos0(ok + ok + b"\xd0\x00" + ok, True, emit) == 2 * len(ok)
    assert emitted == [b"a/b", b"a/b"]


def test_a_long_packet_uses_a_multi_byte_remaining_length() -> None:
    body = b"x" * 20000
    pkt = encode_publish(b"t", body, v5=False, retain=True)
    assert pkt[1] & 0x80 and varint(len(pkt) - 4) == pkt[1:4]
    seen: list[tuple[bytes, bytes, bool]] = []
    n = mqtt_wire.scan_qos0(pkt, False, lambda t, p, r, q: seen.append((t, p, r)))
    assert n == len(pkt) and seen == [(b"t", body, True)]


def test_read_buffer_scan_keeps_what_it_cannot_use_for_paho() -> None:
    s = Stream()
    rb = mi.ReadBuffer(s)
    got: list[bytes] = []
    assert rb.scan(True, lambda t, p, r, q: got.append(p)) is None  # nothing to read
    ok = encode_publish(b"a", b"1", v5=True)
    s.feed(ok + ok[:3])
    assert rb.scan(True, lambda t, p, r, q: got.append(p)) is False
    assert got == [b"1"] and rb.pending() == 3 and rb.recv(1) == ok[:1]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"\xe8", b"\x00+"],  # DISCONNECT: paho closes the socket, the rest is never read
        [b"\x00\xd0\x00", b"0\x03\x00\x010\xf9\xd5$"],  # a type byte 0: paho is mid-packet
        [b"\x004@\xd8\x90%'|\xea", b'0\n\x00\x02*"\x00yR64\xc93\x0c\x00\x01a+'],
    ],
)
@pytest.mark.parametrize("v5", [True, False])
def test_streams_the_fuzzer_found_read_as_paho_reads_them(chunks: list[bytes], v5: bool) -> None:
    assert read_with_hooks(chunks, v5) == read_with_paho(chunks, v5)
