"""Overload guard: queued snapshots coalesce to the latest per topic; nothing else drops."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from staffer.adapters.mqtt import AiomqttPort
from staffer.adapters.mqtt_policy import coalesce_latest
from staffer.adapters.port import Session
from staffer.settings import MqttSettings


def is_snapshot(topic: str) -> bool:
    return topic.endswith("/metrics")


def test_latest_snapshot_per_topic_wins_and_order_is_kept() -> None:
    topics = [
        "s/a/metrics",
        "s/agents/x/state",
        "s/a/metrics",
        "s/b/metrics",
        "s/override/al",
        "s/a/metrics",
        "s/agents/x/state",
    ]
    msgs = list(range(len(topics)))
    kept, dropped = coalesce_latest(msgs, topics, is_snapshot)
    assert kept == [1, 3, 4, 5, 6]  # both agent states, the override, last a, only b
    assert dropped == 2


def test_nothing_coalescible_keeps_everything() -> None:
    topics = ["s/agents/x/state"] * 5
    kept, dropped = coalesce_latest(list("abcde"), topics, is_snapshot)
    assert (kept, dropped) == (list("abcde"), 0)


@dataclass
class FakeMessage:
    topic: str


def test_port_drains_and_coalesces_an_overloaded_queue() -> None:
    counted: list[int] = []
    port = AiomqttPort(
        MqttSettings(max_backlog=100),
        Session(
            client_id="t",
            status_topic="s/status",
            online_payload=b"1",
            offline_payload=b"0",
            coalescible=is_snapshot,
            on_coalesced=counted.append,
        ),
    )
    q: asyncio.Queue[FakeMessage] = asyncio.Queue()
    for i in range(300):
        q.put_nowait(FakeMessage(f"s/q{i % 3}/metrics"))
        q.put_nowait(FakeMessage(f"s/agents/a{i}/state"))
    kept = port._coalesce(q)  # type: ignore[arg-type]
    assert q.empty()
    assert [m.topic for m in kept if m.topic.endswith("/metrics")] == [
        "s/q0/metrics",
        "s/q1/metrics",
        "s/q2/metrics",
    ]
    assert sum(m.topic.endswith("/state") for m in kept) == 300
    assert counted == [297]
