"""`Daemon` behaviour on the in-memory MQTT port: routing, replies, order of effects.

No broker: `MemoryMqtt` stands in for the connection (the real one is tested in
tests/integration). The state store is the real SQLite store in a temp directory, so
"written before published" is checked against what is on disk at publish time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from staffer.adapters.mqtt_fake import MemoryMqtt, Published
from staffer.app import Daemon
from staffer.routing import ROUTES
from staffer.settings import settings_from_dict
from staffer.vocabulary import MESSAGE_KINDS
from tests.integration.harness import T0, agent, iso, surge_snapshot

PREFIX = "t"
WAIT_S = 10.0


@contextlib.asynccontextmanager
async def memory_daemon(
    tmp_path: Path, mqtt: dict[str, Any] | None = None, **planner: Any
) -> AsyncIterator[tuple[Daemon, MemoryMqtt]]:
    settings = settings_from_dict(
        {
            "mqtt": {"topic_prefix": PREFIX, "max_payload_bytes": 1000, **(mqtt or {})},
            "http": {"enabled": False},
            "state": {"path": str(tmp_path / "state.db")},
            "planner": {"clock": "event", "interval_s": 300, "min_dwell_s": 0, **planner},
        },
        env={},
    )
    daemon = Daemon(settings, port_factory=MemoryMqtt)
    assert isinstance(daemon.mqtt, MemoryMqtt)
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    try:
        await asyncio.wait_for(daemon.connected.wait(), WAIT_S)
        yield daemon, daemon.mqtt
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)


async def settled(daemon: Daemon) -> None:
    """Every queued write and publish done (the outbox runs them in order)."""
    assert await daemon.emit.drain(WAIT_S)


async def staff_surge(fake: MemoryMqtt) -> None:
    """5 busy phone agents and 12 idle email agents, all skilled for both."""
    for i in range(5):
        await fake.deliver(
            f"{PREFIX}/main/agents/p{i}/state", agent("busy", "phone", ["phone", "email"])
        )
    for i in range(12):
        await fake.deliver(
            f"{PREFIX}/main/agents/e{i:02d}/state", agent("available", "email", ["phone", "email"])
        )


def json_on(fake: MemoryMqtt, suffix: str) -> list[Any]:
    return [p.json() for p in fake.on(f"{PREFIX}/{suffix}")]


def test_every_message_kind_has_a_route() -> None:
    assert set(ROUTES) == set(MESSAGE_KINDS)


async def test_presence_and_subscriptions(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (_daemon, fake):
        [online] = fake.on(f"{PREFIX}/status")
        assert online.retain and online.json()["status"] == "online"
        assert fake.subscriptions[f"{PREFIX}/main/metrics"] == 0  # snapshots at QoS 0
        assert fake.subscriptions[f"{PREFIX}/main/override/+"] == 1
    assert [p.json()["status"] for p in fake.on(f"{PREFIX}/status")] == ["online", "offline"]


async def test_surge_plans_then_commands_after_the_flights_are_on_disk(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, move_timeout_s=900) as (daemon, fake):
        on_disk: dict[str, set[str]] = {}

        def check(p: Published) -> None:
            if p.topic.endswith("/commands"):
                assert daemon.store is not None
                flights = daemon.store.load_in_flight_sync().get("main", [])
                on_disk[p.json()["command_id"]] = {m.agent for m in flights}

        fake.on_publish = check
        await staff_surge(fake)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))  # on the grid
        await settled(daemon)
        [plan] = json_on(fake, "main/plan")
        [command] = json_on(fake, "main/commands")
        assert plan["as_of"] == iso(T0) and command["plan_id"] == plan["plan_id"]
        assert fake.on(f"{PREFIX}/main/plan")[0].retain
        assert not fake.on(f"{PREFIX}/main/commands")[0].retain
        assert on_disk[command["command_id"]] == {m["agent"] for m in command["moves"]}
        topics = [p.topic for p in fake.published]
        assert topics.index(f"{PREFIX}/main/plan") < topics.index(f"{PREFIX}/main/commands")
        # the next plan does not re-issue what is in flight
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0 + 300))
        await settled(daemon)
        assert len(json_on(fake, "main/plan")) == 2
        first = {(m["agent"], m["to"]) for m in command["moves"]}
        later = json_on(fake, "main/commands")[1:]
        assert not first & {(m["agent"], m["to"]) for c in later for m in c["moves"]}


async def test_shadow_mode_plans_without_commands_but_assign_still_commands(
    tmp_path: Path,
) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        await staff_surge(fake)
        request = {"id": "m", "action": "mode", "mode": "shadow", "ttl_s": None}
        await fake.deliver(f"{PREFIX}/main/override/ann", request)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))
        await settled(daemon)
        [plan] = json_on(fake, "main/plan")
        assert plan["mode"] == "shadow" and plan["moves"] > 0
        assert json_on(fake, "main/commands") == []
        assign = {"id": "a", "action": "assign", "agent": "e00", "queue": "phone"}
        await fake.deliver(f"{PREFIX}/main/override/ann", assign)
        await settled(daemon)
        [command] = json_on(fake, "main/commands")
        assert command["mode"] == "assign" and command["plan_id"] is None
        assert [(m["agent"], m["to"]) for m in command["moves"]] == [("e00", "phone")]
        assert "e00" in daemon.book.controls("main", T0, "auto").locked_agents


async def test_rejected_move_ack_ends_the_flight_and_cools_the_pair_down(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, mode="shadow", reject_cooldown_s=600) as (daemon, fake):
        assert daemon.store is not None
        await staff_surge(fake)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))  # the site clock
        assign = {"id": "a", "action": "assign", "agent": "e00", "queue": "phone"}
        await fake.deliver(f"{PREFIX}/main/override/ann", assign)
        await settled(daemon)
        [command] = json_on(fake, "main/commands")
        ack = {"ts": iso(T0), "to": "phone", "status": "rejected", "reason": "on a call"}
        await fake.deliver(f"{PREFIX}/main/agents/e00/move", {**ack, "command_id": "nope"})
        await fake.deliver(
            f"{PREFIX}/main/agents/e00/move", {**ack, "command_id": command["command_id"]}
        )
        await settled(daemon)
        assert "e00" not in daemon.store.load_in_flight_sync().get("main", [])
        [cooldown] = daemon.store.load_cooldowns_sync()["main"]
        assert (cooldown.agent, cooldown.queue, cooldown.until) == ("e00", "phone", T0 + 600)
        assert daemon.sites["main"].cooldowns.active(T0) == {("e00", "phone")}
        [rejected] = [r for r in daemon.store.audit_sync() if r.kind == "move_rejected"]
        assert rejected.payload["reason"] == "on a call" and rejected.payload["in_flight"]
        text = daemon.exposition().decode()
        assert 'staffer_move_acks_total{site="main",status="rejected"} 1.0' in text
        assert (
            'staffer_invalid_messages_total{kind="move_ack",reason="unknown_command"} 1.0' in text
        )
        # the sweep on the site's clock ends the cool-down, in memory and on disk
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0 + 600))
        await settled(daemon)
        assert daemon.store.load_cooldowns_sync() == {}
        assert len(daemon.sites["main"].cooldowns) == 0


@pytest.mark.parametrize(
    ("payload", "oversized", "code"),
    [
        (b"not json", False, "invalid"),
        (b'{"id": "x", "action": "pin", "queue": "nope", "max": 1}', False, "unknown_queue"),
        (b"", True, "invalid"),
    ],
    ids=["not_json", "unknown_queue", "oversized"],
)
async def test_every_request_gets_exactly_one_reply_after_its_audit_row(
    tmp_path: Path, payload: bytes, oversized: bool, code: str
) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        audited: list[int] = []

        def check(p: Published) -> None:
            if p.topic.endswith("/reply"):
                assert daemon.store is not None
                audited.append(len(daemon.store.audit_sync()))

        fake.on_publish = check
        await fake.deliver(f"{PREFIX}/main/agents/a1/state", agent("busy", "phone", ["phone"]))
        await fake.deliver(f"{PREFIX}/main/override/bob", payload, oversized=oversized)
        await settled(daemon)
        [reply] = json_on(fake, "main/override/bob/reply")
        assert reply["ok"] is False and reply["error"]["code"] == code
        assert audited == [1]  # the request's audit row was on disk before the reply


async def test_accepted_request_is_persisted_replied_and_published(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        stored: list[int] = []

        def check(p: Published) -> None:
            if p.topic.endswith("/reply"):
                assert daemon.store is not None
                stored.append(len(daemon.store.load_overrides_sync()))

        fake.on_publish = check
        await fake.deliver(f"{PREFIX}/main/agents/a1/state", agent("busy", "phone", ["phone"]))
        request = {"id": 7, "action": "pin", "queue": "chat", "min": 1, "max": 3}
        await fake.deliver(
            f"{PREFIX}/main/override/bob",
            request,
            response_topic=f"{PREFIX}/main/override/bob/reply/inbox",  # below the reply topic
            correlation_data=b"c1",
        )
        await fake.deliver(f"{PREFIX}/main/override/bob", request)  # a QoS 1 redelivery
        await settled(daemon)
        replies = fake.on(f"{PREFIX}/main/override/bob/reply")
        assert [r.json()["ok"] for r in replies] == [True, True]
        assert replies[0].json() == replies[1].json()  # the same reply, no second override
        [v5] = fake.on(f"{PREFIX}/main/override/bob/reply/inbox")
        assert v5.correlation_data == b"c1" and v5.json() == replies[0].json()
        assert stored == [1, 1]
        *_at_connect, active = json_on(fake, "main/overrides")  # the pin changed the set once
        assert _at_connect == [[]]
        assert [(o["action"], o["queue"], o["min"], o["max"]) for o in active] == [
            ("pin", "chat", 1, 3)
        ]
        assert all(p.retain for p in fake.on(f"{PREFIX}/main/overrides"))


async def test_bad_input_is_counted_and_dropped(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        before = len(fake.published)
        await fake.deliver(f"{PREFIX}/main/queues/phone/metrics", b"{}")
        await fake.deliver(f"{PREFIX}/main/queues/nope/metrics", b"{}")
        await fake.deliver(f"{PREFIX}/other/metrics", b"{}")
        await fake.deliver("elsewhere/x", b"{}")
        await fake.deliver(f"{PREFIX}/main/agents/a1/state", b"[]", oversized=True)
        await settled(daemon)
        assert len(fake.published) == before  # nothing answered, nothing planned
        text = daemon.exposition().decode()
        for kind, reason in [
            ("queue_metrics", "missing_field:interval_s"),
            ("queue_metrics", "unknown_queue"),
            ("site_metrics", "unknown_site"),
            ("unknown", "bad_topic"),  # as docs/reliability.md names it (issue 14)
            ("agent_state", "too_large"),
        ]:
            line = f'staffer_invalid_messages_total{{kind="{kind}",reason="{reason}"}} 1.0'
            assert line in text, line


async def test_reply_during_an_outage_is_sent_after_the_reconnect(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        await fake.deliver(f"{PREFIX}/main/agents/a1/state", agent("busy", "phone", ["phone"]))
        fake.disconnect()
        assert not daemon.connected.is_set() and daemon.readiness() is not None
        await fake.deliver(f"{PREFIX}/main/override/bob", {"id": "o", "action": "replan"})
        await settled(daemon)
        assert json_on(fake, "main/override/bob/reply") == []
        fake.reconnect()
        await asyncio.wait_for(daemon.connected.wait(), WAIT_S)
        await settled(daemon)
        [reply] = json_on(fake, "main/override/bob/reply")
        assert reply == {"id": "o", "ok": True, "override_id": None, "expires_at": None}
        assert daemon.readiness() is None
        # after the reconnect the retained plan and overrides are published again
        await asyncio.sleep(0)
        await settled(daemon)
        plans = json_on(fake, "main/plan")
        assert len(plans) == 2 and plans[0] == plans[1]


def test_fake_messages_round_trip() -> None:
    assert Published("t", json.dumps({"a": 1}).encode()).json() == {"a": 1}


async def test_clearing_a_retained_agent_state_is_not_an_invalid_message(tmp_path: Path) -> None:
    """An empty payload is how a bridge deletes its retained state (MQTT): no error."""
    async with memory_daemon(tmp_path) as (daemon, fake):
        await staff_surge(fake)
        await fake.deliver(f"{PREFIX}/main/agents/p0/state", b"", retain=True)
        await fake.deliver(f"{PREFIX}/main/agents/p0/state", b"")
        text = daemon.exposition().decode()
        assert 'staffer_messages_total{kind="agent_state",outcome="invalid"} 0.0' in text
        assert "p0" in daemon.sites["main"].state.roster  # the last state still counts


async def test_a_command_whose_write_fails_is_withheld_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The plan still shows its moves; the log says they were not commanded, and why."""
    from staffer.adapters.state_file import StoreError

    async with memory_daemon(tmp_path) as (daemon, fake):
        assert daemon.store is not None

        async def broken(*_args: object) -> None:
            raise StoreError("disk full")

        monkeypatch.setattr(daemon.store, "record_decision", broken)
        await staff_surge(fake)
        with caplog.at_level("WARNING", "staffer.emitter"):
            await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))
            await settled(daemon)
        [plan] = json_on(fake, "main/plan")
        assert plan["moves"] > 0 and json_on(fake, "main/commands") == []
        assert f"site main: {plan['moves']} move(s) not commanded" in caplog.text
        assert "disk full" in caplog.text
