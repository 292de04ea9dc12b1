"""The shortcut for plain QoS 0 messages (`mqtt_internals.Intake`, issue 17).

A plain message (QoS 0, not retained, no properties) that arrives while nothing queued
before it is unhandled goes to ``take`` at once instead of aiomqtt's queue; everything
else, and everything after a message ``take`` refused, is queued in arrival order.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from staffer.adapters import mqtt_internals as mi
from staffer.adapters.mqtt import AiomqttPort
from staffer.adapters.port import Session
from staffer.settings import MqttSettings
from tests.unit.adapters import wire_oracle as wo


def _taker(refuse: str) -> tuple[list[str], mi.Take]:
    taken: list[str] = []

    def take(topic: str, _payload: bytes) -> bool:
        taken.append(topic)
        return not topic.endswith(refuse)

    return taken, take


@pytest.mark.parametrize("v5", [True, False])
def test_a_message_is_taken_at_once_but_never_overtakes_a_queued_one(v5: bool) -> None:
    """One block of packets, as the scan reads it: the message ``take`` refuses is
    queued, and so is every message after it (nothing marks them handled here)."""
    taken, take = _taker("/site")
    block = b"".join(
        wo.encode_publish(topic, b"{}", v5=v5)
        for topic in (b"s/a/metrics", b"s/b/metrics", b"s/site", b"s/c/metrics")
    )
    queued, end = wo.read_with_hooks([block], v5, take)
    assert end == "ok"
    assert taken == ["s/a/metrics", "s/b/metrics", "s/site"]
    assert [t for t, *_ in queued] == ["s/site", "s/c/metrics"]


def test_retained_and_properties_are_queued_without_asking() -> None:
    taken, take = _taker("never")
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = "r/here"
    block = wo.encode_publish(b"s/r", b"1", v5=True, retain=True) + wo.encode_publish(
        b"s/p", b"2", v5=True, props=props
    )
    queued, _ = wo.read_with_hooks([block], True, take)
    assert taken == []
    assert [(t, retain) for t, _, retain, _ in queued] == [("s/r", True), ("s/p", False)]


def test_the_shortcut_opens_again_once_the_queue_is_handled() -> None:
    q: asyncio.Queue[mi.Received] = asyncio.Queue()
    taken, take = _taker("/site")
    intake = mi.Intake(q, take)
    intake.plain(b"s/site", b"1", False, None)  # refused: queued
    intake.plain(b"s/a", b"2", False, None)  # behind it: queued, not offered
    assert taken == ["s/site"] and q.qsize() == 2 and intake.unhandled == 2
    intake.done()
    intake.plain(b"s/b", b"3", False, None)  # one still unhandled: queued
    assert taken == ["s/site"] and intake.unhandled == 2
    intake.done(2)
    intake.plain(b"s/c", b"4", False, None)
    assert taken == ["s/site", "s/c"] and q.qsize() == 3  # taken, not queued


def test_the_port_counts_coalesced_messages_as_handled() -> None:
    port = AiomqttPort(
        MqttSettings(),
        Session(client_id="t", status_topic=None, coalescible=lambda t: t.endswith("/metrics")),
    )
    q: asyncio.Queue[mi.Received] = asyncio.Queue()
    port._intake = intake = mi.Intake(q, lambda _t, _p: True)
    for i in range(6):
        intake.put(f"s/q{i % 2}/metrics", b"{}", False, None)
    kept = port._coalesce(q)  # type: ignore[arg-type]
    assert len(kept) == 2 and intake.unhandled == 2  # four dropped, two to dispatch


async def test_the_daemon_gets_what_it_may_take_and_the_rest_is_queued(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    def apply_now(topic: str, _payload: bytes) -> bool:
        seen.append(topic)
        if topic == "boom":
            raise RuntimeError("bug")
        return topic == "yes"

    port = AiomqttPort(
        MqttSettings(max_payload_bytes=8),
        Session(client_id="t", status_topic=None, apply_now=apply_now),
    )
    port._make_client()
    intake = port._intake
    assert intake is not None and intake.take is apply_now and intake.limit == 8
    intake.plain(b"yes", b"{}", False, None)
    assert intake.queue.empty()  # taken
    intake.plain(b"yes", b"x" * 9, False, None)  # oversized: queued, reported there
    intake.done()
    with caplog.at_level(logging.ERROR, "staffer.mqtt"):
        intake.plain(b"boom", b"{}", False, None)  # a failing handler drops the message
    assert "handler failed" in caplog.text and intake.queue.qsize() == 1
    intake.plain(b"no", b"{}", False, None)  # refused: queued
    assert seen == ["yes", "boom", "no"] and intake.queue.qsize() == 2
    plain = AiomqttPort(MqttSettings(), Session(client_id="t", status_topic=None))
    assert plain._make_client() is not None and plain._intake is not None
    assert plain._intake.take is None  # no apply_now: every message is queued
