"""Runs of QoS 0 PUBLISH packets parsed in one pass from the bytes paho has read.

paho reads a packet with three ``recv`` calls on its socket (with the adapter, on the
64 KiB `mqtt_internals.ReadBuffer`), then ``_packet_handle`` -> ``_handle_publish`` ->
a callback, for every message. `scan_qos0` walks a block of received bytes once and
hands each complete, plain QoS 0 PUBLISH at its front to ``emit``. It stops at the first
packet that is anything else (another packet type, QoS 1 or 2, an incomplete packet at
the end, or one paho would reject or decode in an unusual way) and returns how many bytes
it used; the rest is left to paho's own reader, so what paho does with it is unchanged.

What ``emit`` gets is what ``paho.mqtt._packet.decode_publish`` returns for the same
packet: the topic as bytes, the payload as bytes, the retain flag and, with MQTT 5, the
``Properties`` (None when the property list is empty, the common case; a non-empty list is
decoded by paho's own ``Properties.unpack`` on the same bytes). A hypothesis test in
``tests/unit/adapters/test_mqtt_wire.py`` checks this against paho on random packet runs.
"""

from __future__ import annotations

from collections.abc import Callable

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

Emit = Callable[[bytes, bytes, bool, Properties | None], None]

_PUBLISH_QOS0 = 0x30  # fixed-header type PUBLISH with both QoS bits clear
_TYPE_AND_QOS = 0xF6  # the bits that must match it (DUP and RETAIN are free)


def _varint(data: bytes, i: int, end: int) -> tuple[int, int]:
    """A variable byte integer at ``data[i]`` (at most 4 bytes, within ``end``):
    (value, index after it), or (-1, i) when it is incomplete or too long."""
    value = shift = 0
    j = i
    while j < end and shift <= 21:
        b = data[j]
        j += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, j
        shift += 7
    return -1, i


def _properties(block: bytes) -> tuple[Properties, int] | None:
    """paho's decoding of a non-empty MQTT 5 property list; None when it raises."""
    try:
        return Properties(PacketTypes.PUBLISH).unpack(block)
    except Exception:  # whatever paho makes of it is paho's to report
        return None


def scan_qos0(data: bytes, v5: bool, emit: Emit) -> int:
    """Emit every complete plain QoS 0 PUBLISH at the start of ``data``, in order;
    return the number of bytes they span (0: the first packet is for paho)."""
    pos, end = 0, len(data)
    while pos + 1 < end:
        first = data[pos]
        if first & _TYPE_AND_QOS != _PUBLISH_QOS0:
            break
        i = pos + 1
        b = data[i]
        if b & 0x80:  # a remaining length of 128 bytes or more
            length, i = _varint(data, i, end)
            if length < 0:
                break
        else:
            length, i = b, i + 1
        stop = i + length
        if stop > end or length < 2:  # incomplete, or no room for the topic length
            break
        t1 = i + 2 + ((data[i] << 8) | data[i + 1])
        if t1 > stop:
            break
        props: Properties | None = None
        if not v5:
            if t1 == i + 2:  # paho: "topic can't be empty in MQTTv3"
                break
            start = t1
        elif t1 < stop and data[t1] == 0:  # an empty property list
            start = t1 + 1
        elif t1 < stop:
            decoded = _properties(data[t1:stop])
            if decoded is None:
                break
            props, used = decoded
            start = t1 + used
        else:  # no property length at all: paho's to judge
            break
        emit(data[i + 2 : t1], data[start:stop], bool(first & 1), props)
        pos = stop
    return pos
