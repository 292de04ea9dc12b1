"""A command is written in ONE SQLite transaction before it is published: id, moves in flight,
audit rows and the command as pending (issues 14 and 17)."""

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from staffer.adapters import store as store_module
from staffer.adapters import store_acks
from staffer.adapters.emitter import Emitter
from staffer.adapters.mqtt_fake import MemoryMqtt
from staffer.adapters.store import StateStore
from staffer.codec.topics import Topics
from staffer.core.inflight import InFlightBook
from staffer.core.types import Move

NOW = 1_795_342_500.0
MOVES = [Move("a1", "chat", "phone", "short"), Move("a2", "email", "phone", "short")]


def _counting(transactions: list[str]):  # type: ignore[no-untyped-def]
    real = store_module.transaction

    @contextlib.contextmanager
    def counted(conn: sqlite3.Connection) -> Iterator[None]:
        with real(conn):
            yield
        transactions.append("commit")

    return counted


def test_command_is_one_transaction_then_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before issue 17 the command id and the flights were two commits (two fsyncs)."""
    transactions: list[str] = []
    monkeypatch.setattr(store_module, "transaction", _counting(transactions))

    async def scenario() -> None:
        mqtt = MemoryMqtt()
        mqtt.reconnect()  # connected, as after the daemon's first connect
        store = await StateStore.open_async(tmp_path / "s.db")
        emit = Emitter(Topics("p"), mqtt)
        emit.start(store)
        seen_on_disk: list[int] = []
        mqtt.on_publish = lambda _p: seen_on_disk.append(len(transactions))
        flights = InFlightBook(300.0)
        await emit.command("main", flights, MOVES, "plan-1", NOW, "auto", "planner")
        assert await emit.drain(5.0)
        await emit.stop()
        await store.aclose()
        assert seen_on_disk == [1]  # published after ONE commit (id, flights, audit, pending)
        # the broker's PUBACK then drops the pending row, batched, off the command's path
        assert transactions == ["commit", "commit"]
        cid = flights.by_agent["a1"].command_id
        assert flights.by_agent["a2"].command_id == cid != "pending"

    asyncio.run(scenario())
    with StateStore.open(tmp_path / "s.db") as again:
        flights = again.load_in_flight_sync()["main"]
        audit = again.audit_sync("main")
    assert {(f.agent, f.to_queue) for f in flights} == {("a1", "phone"), ("a2", "phone")}
    assert len({f.command_id for f in flights}) == 1
    assert [r.payload["command_id"] for r in audit] == [flights[0].command_id] * 2
    assert {r.payload["decided_by"] for r in audit} == {"planner"}


def test_a_failed_command_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The id, the flights, the audit rows and the pending command commit together or not
    at all; a command whose write failed is not published and its moves leave flight."""

    def boom(*_a: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    async def scenario() -> str:
        mqtt = MemoryMqtt()
        mqtt.reconnect()
        store = await StateStore.open_async(tmp_path / "s.db")
        first = await store.next_command_id("main")
        emit = Emitter(Topics("p"), mqtt)
        emit.start(store)
        flights = InFlightBook(300.0)
        with monkeypatch.context() as m:
            m.setattr(store_acks, "insert_in_flight", boom)
            await emit.command("main", flights, MOVES, "plan-1", NOW, "auto", "planner")
            assert await emit.drain(5.0)
        assert len(flights) == 0  # out of flight again: a later plan retries
        assert not [p for p in mqtt.published if p.topic.endswith("/commands")]
        await emit.stop()
        await store.aclose()
        return first

    first = asyncio.run(scenario())
    with StateStore.open(tmp_path / "s.db") as again:
        assert again.load_in_flight_sync() == {}
        assert again.audit_sync("main") == []
        assert again.load_pending_commands_sync() == []
        nxt = again.next_command_id_sync("main")
    assert int(nxt.split("-")[1]) == int(first.split("-")[1]) + 1  # the failed id rolled back


def test_a_planned_command_carries_its_plan_in_its_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: before, the plan's own write (a second transaction, a second fsync) went
    first in the outbox and the command waited for it. Now the plan is written with its
    command, and both are published after that one commit, the plan first."""
    transactions: list[str] = []
    monkeypatch.setattr(store_module, "transaction", _counting(transactions))

    async def scenario() -> list[tuple[str, int]]:
        mqtt = MemoryMqtt()
        mqtt.reconnect()
        store = await StateStore.open_async(tmp_path / "s.db")
        emit = Emitter(Topics("p"), mqtt)
        emit.start(store)
        seen: list[tuple[str, int]] = []
        mqtt.on_publish = lambda p: seen.append((p.topic, len(transactions)))
        flights = InFlightBook(300.0)
        plan = (b'{"plan_id":"plan-1"}', NOW)
        await emit.command("main", flights, MOVES, "plan-1", NOW, "auto", "planner", plan=plan)
        assert await emit.drain(5.0)
        await emit.stop()
        await store.aclose()
        return seen

    seen = asyncio.run(scenario())
    assert seen == [("p/main/plan", 1), ("p/main/commands", 1)]
    with StateStore.open(tmp_path / "s.db") as again:
        assert again.load_plans_sync() == {"main": '{"plan_id":"plan-1"}'}
        assert len(again.load_in_flight_sync()["main"]) == 2


def test_a_failed_planned_command_still_publishes_its_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As before (the plan's own write failing never held its publish back): the plan
    goes out, the command does not."""

    def boom(*_a: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    async def scenario() -> list[str]:
        mqtt = MemoryMqtt()
        mqtt.reconnect()
        store = await StateStore.open_async(tmp_path / "s.db")
        emit = Emitter(Topics("p"), mqtt)
        emit.start(store)
        with monkeypatch.context() as m:
            m.setattr(store_acks, "insert_in_flight", boom)
            plan = (b'{"plan_id":"plan-1"}', NOW)
            await emit.command(
                "main", InFlightBook(300.0), MOVES, "plan-1", NOW, "auto", "planner", plan=plan
            )
            assert await emit.drain(5.0)
        await emit.stop()
        await store.aclose()
        return [p.topic for p in mqtt.published if p.topic.startswith("p/")]

    assert asyncio.run(scenario()) == ["p/main/plan"]
    with StateStore.open(tmp_path / "s.db") as again:
        assert again.load_plans_sync() == {}  # rolled back with the command
