"""Durable daemon state in SQLite (WAL): overrides and locks (SQL in ``store_overrides``),
in-flight moves, last plans, audit log and command-id sequences (contract §7); move acks
and cool-downs (§10, ``store_acks``); proposals and approvals (§9, ``store_proposals``).

Every SQLite call runs on ONE dedicated worker thread (a 1-thread executor; the
connection is opened there with ``check_same_thread=True``, so a stray call from
another thread would fail loudly). The daemon uses the ``async`` methods, which
never block the event loop; tests and tools use the ``*_sync`` twins. Each write
is one transaction committed (``synchronous=FULL``) before the method returns,
so the daemon acknowledges only what is on disk. ``StateStore.open`` refuses unusable
files with ``StoreError`` (checks and schema: `staffer.adapters.state_file`) rather than
silently starting from an empty state. Agent locks are overrides (``lock_agent`` and
``assign`` rows of the ``overrides`` table), not a separate table.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from staffer.adapters import store_acks, store_commands, store_overrides, store_proposals
from staffer.adapters.instance_lock import InstanceLock
from staffer.adapters.state_file import (
    SCHEMA_VERSION,
    StoreError,
    open_state_file,
    transaction,
)
from staffer.adapters.store_acks import IN_FLIGHT_COLUMNS
from staffer.adapters.store_proposals import DecisionWrite, PendingCommand
from staffer.core.acks import AckEffect
from staffer.core.cooldowns import Cooldown
from staffer.core.override_records import expiry_audit
from staffer.core.overrides import Outcome
from staffer.core.types import AuditRecord, InFlightMove, Override

__all__ = ["SCHEMA_VERSION", "StateStore", "StoreError"]

T = TypeVar("T")


class StateStore:
    """SQLite-backed state; create with ``StateStore.open(path)`` (or ``open_async``)."""

    def __init__(
        self, path: Path, executor: ThreadPoolExecutor, busy_timeout_s: float = 5.0
    ) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._executor = executor
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._instance: InstanceLock | None = None  # one daemon per state file
        self.thread_id: int | None = None  # the worker thread's ident, for diagnostics

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, busy_timeout_s: float = 5.0) -> StateStore:
        """Open or create the database; raises StoreError when it cannot be used.

        ``busy_timeout_s``: how long a write waits for another process's lock.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staffer-store")
        store = cls(Path(path), executor, busy_timeout_s)
        try:
            store._instance = InstanceLock.acquire(store.path)  # StateFileInUse: exit 2
            executor.submit(store._connect).result()
        except BaseException:
            store._release_instance()
            executor.shutdown(wait=True)
            raise
        return store

    @classmethod
    async def open_async(cls, path: str | Path) -> StateStore:
        """``open`` without blocking the event loop (the checks can take a while)."""
        return await asyncio.get_running_loop().run_in_executor(None, cls.open, path)

    def close(self) -> None:
        """Close the connection and stop the worker thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._executor.submit(self._disconnect).result()
        finally:
            self._executor.shutdown(wait=True)
            self._release_instance()

    def _release_instance(self) -> None:
        if self._instance is not None:
            self._instance.release()

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> None:
        self._conn = open_state_file(self.path, self._busy_timeout_s)
        self.thread_id = threading.get_ident()

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- plumbing ----------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("state store is closed")
        return self._conn

    def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except (sqlite3.Error, UnicodeEncodeError) as err:
            raise StoreError(f"state database {self.path}: {err}") from None

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreError("state store is closed")
        return self._executor.submit(self._guarded, fn, *args).result()

    async def _acall(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreError("state store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(self._guarded, fn, *args)
        )

    # -- operations (run on the worker thread) -----------------------------------------------
    def _insert_audit(self, records: Iterable[AuditRecord]) -> None:
        store_commands.insert_audit(self._db(), records)

    def _op_record_outcome(self, outcome: Outcome) -> None:
        with transaction(self._db()):
            store_overrides.delete_overrides(self._db(), (o.override_id for o in outcome.removed))
            if outcome.accepted is not None:
                store_overrides.insert_override(self._db(), outcome.accepted)
            self._insert_audit([outcome.audit])

    def _op_record_expired(self, overrides: Sequence[Override], now: float) -> None:
        with transaction(self._db()):
            store_overrides.delete_overrides(self._db(), (o.override_id for o in overrides))
            self._insert_audit(expiry_audit(o, now) for o in overrides)

    def _op_load_overrides(self) -> list[Override]:
        return store_overrides.load_overrides(self._db(), self.path)

    def _op_add_in_flight(
        self, site: str, moves: Sequence[InFlightMove], audit: Sequence[AuditRecord]
    ) -> None:
        with transaction(self._db()):
            store_acks.insert_in_flight(self._db(), site, moves)
            self._insert_audit(audit)

    def _op_remove_in_flight(self, site: str, agents: Sequence[str]) -> None:
        with transaction(self._db()):
            self._db().executemany(
                "DELETE FROM in_flight WHERE site = ? AND agent = ?", [(site, a) for a in agents]
            )

    def _op_load_in_flight(self) -> dict[str, list[InFlightMove]]:
        out: dict[str, list[InFlightMove]] = {}
        for site, *move in self._db().execute(
            f"SELECT {IN_FLIGHT_COLUMNS} FROM in_flight ORDER BY site, issued_at, agent"
        ):
            out.setdefault(site, []).append(InFlightMove(*move))
        return out

    def _op_record_move_ack(self, site: str, effect: AckEffect) -> None:
        with transaction(self._db()):
            store_acks.record_move_ack(self._db(), site, effect)
            if effect.audit is not None:
                self._insert_audit([effect.audit])

    def _op_remove_cooldowns(self, site: str, cooldowns: Sequence[Cooldown]) -> None:
        with transaction(self._db()):
            store_acks.remove_cooldowns(self._db(), site, cooldowns)

    def _op_load_cooldowns(self) -> dict[str, list[Cooldown]]:
        return store_acks.load_cooldowns(self._db())

    def _op_save_plan(self, site: str, plan_json: bytes | str, as_of: float) -> None:
        with transaction(self._db()):
            store_proposals.save_plan(self._db(), site, plan_json, as_of)

    def _op_load_plans(self) -> dict[str, str]:
        return {s: p for s, p in self._db().execute("SELECT site, plan FROM plans ORDER BY site")}

    def _op_append_audit(self, records: Sequence[AuditRecord]) -> None:
        with transaction(self._db()):
            self._insert_audit(records)

    def _op_audit(self, site: str | None, limit: int) -> list[AuditRecord]:
        sql = "SELECT ts, site, kind, actor, payload FROM audit"
        args: tuple[Any, ...] = ()
        if site is not None:
            sql, args = sql + " WHERE site = ?", (site,)
        rows = self._db().execute(sql + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
        return [
            AuditRecord(ts=r[0], site=r[1], kind=r[2], actor=r[3], payload=json.loads(r[4]))
            for r in reversed(rows)
        ]

    def _op_prune_audit(self, before_ts: float, site: str | None) -> int:
        args: tuple[object, ...]
        sql, args = "DELETE FROM audit WHERE ts < ?", (before_ts,)
        if site is not None:
            sql, args = sql + " AND site = ?", (before_ts, site)
        with transaction(self._db()):
            return self._db().execute(sql, args).rowcount

    def _take_command_id(self, site: str) -> str:
        return store_commands.take_command_id(self._db(), site)

    def _op_next_command_id(self, site: str) -> str:
        with transaction(self._db()):
            return self._take_command_id(site)

    # approve mode (contract §9; the SQL is in store_proposals)
    def _op_record_decision(self, site: str, write: DecisionWrite) -> str | None:
        with transaction(self._db()):
            command_id = None if write.command is None else self._take_command_id(site)
            self._insert_audit(store_proposals.record_decision(self._db(), site, write, command_id))
        return command_id

    def _op_save_proposals(self, site: str, records: Mapping[str, Any]) -> None:
        with transaction(self._db()):
            store_proposals.save_proposals(self._db(), site, records)

    def _op_drop_pending_commands(self, site: str, command_ids: Sequence[str]) -> None:
        with transaction(self._db()):
            store_proposals.drop_pending(self._db(), site, command_ids)

    def _op_load_proposals(self) -> dict[str, dict[str, Any]]:
        return store_proposals.load_proposals(self._db(), self.path)

    def _op_load_pending(self) -> list[PendingCommand]:
        return store_proposals.load_pending(self._db())

    # -- public API: async (daemon) and *_sync (tests, tools) ----------------------------------
    async def record_outcome(self, outcome: Outcome) -> None:
        """Persist one override request's effects and audit record atomically."""
        await self._acall(self._op_record_outcome, outcome)

    def record_outcome_sync(self, outcome: Outcome) -> None:
        self._call(self._op_record_outcome, outcome)

    async def record_expired(self, overrides: Sequence[Override], now: float) -> None:
        """Delete expired overrides and audit each expiry, atomically."""
        await self._acall(self._op_record_expired, list(overrides), now)

    async def load_overrides(self) -> list[Override]:
        """Every stored override (expired ones too; ``OverrideBook.expire`` drops them)."""
        return await self._acall(self._op_load_overrides)

    def load_overrides_sync(self) -> list[Override]:
        return self._call(self._op_load_overrides)

    async def add_in_flight(
        self, site: str, moves: Sequence[InFlightMove], audit: Sequence[AuditRecord] = ()
    ) -> None:
        """Record commanded moves (one per agent; a newer move replaces the older) and
        their audit rows (contract §16), in one transaction."""
        await self._acall(self._op_add_in_flight, site, list(moves), list(audit))

    def add_in_flight_sync(
        self, site: str, moves: Sequence[InFlightMove], audit: Sequence[AuditRecord] = ()
    ) -> None:
        self._call(self._op_add_in_flight, site, list(moves), list(audit))

    async def remove_in_flight(self, site: str, agents: Iterable[str]) -> None:
        """Forget in-flight moves (confirmed or timed out)."""
        await self._acall(self._op_remove_in_flight, site, list(agents))

    async def load_in_flight(self) -> dict[str, list[InFlightMove]]:
        return await self._acall(self._op_load_in_flight)

    def load_in_flight_sync(self) -> dict[str, list[InFlightMove]]:
        return self._call(self._op_load_in_flight)

    async def record_move_ack(self, site: str, effect: AckEffect) -> None:
        """Persist one move ack atomically: accepted mark, ended flight, cool-down, audit."""
        await self._acall(self._op_record_move_ack, site, effect)

    def record_move_ack_sync(self, site: str, effect: AckEffect) -> None:
        self._call(self._op_record_move_ack, site, effect)

    async def remove_cooldowns(self, site: str, cooldowns: Iterable[Cooldown]) -> None:
        await self._acall(self._op_remove_cooldowns, site, list(cooldowns))

    async def load_cooldowns(self) -> dict[str, list[Cooldown]]:
        return await self._acall(self._op_load_cooldowns)

    def load_cooldowns_sync(self) -> dict[str, list[Cooldown]]:
        return self._call(self._op_load_cooldowns)

    async def save_plan(self, site: str, plan_json: bytes | str, as_of: float) -> None:
        """Replace the site's last plan (the JSON as published)."""
        await self._acall(self._op_save_plan, site, plan_json, as_of)

    def save_plan_sync(self, site: str, plan_json: bytes | str, as_of: float) -> None:
        self._call(self._op_save_plan, site, plan_json, as_of)

    async def load_plans(self) -> dict[str, str]:
        """Last plan JSON per site."""
        return await self._acall(self._op_load_plans)

    def load_plans_sync(self) -> dict[str, str]:
        return self._call(self._op_load_plans)

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        await self._acall(self._op_append_audit, list(records))

    def append_audit_sync(self, records: Sequence[AuditRecord]) -> None:
        self._call(self._op_append_audit, list(records))

    async def audit(self, site: str | None = None, limit: int = 100) -> list[AuditRecord]:
        """The newest ``limit`` audit records (optionally of one site), oldest first."""
        return await self._acall(self._op_audit, site, limit)

    def audit_sync(self, site: str | None = None, limit: int = 100) -> list[AuditRecord]:
        return self._call(self._op_audit, site, limit)

    async def prune_audit(self, before_ts: float, site: str | None = None) -> int:
        """Delete audit records older than ``before_ts`` (of one site, or all); how many."""
        return await self._acall(self._op_prune_audit, before_ts, site)

    async def next_command_id(self, site: str) -> str:
        """A new command id ``{site}-{seq:08d}-{6 hex}``; the sequence is committed first,
        so ids are never reused, even across restarts."""
        return await self._acall(self._op_next_command_id, site)

    def next_command_id_sync(self, site: str) -> str:
        return self._call(self._op_next_command_id, site)

    async def record_decision(self, site: str, write: DecisionWrite) -> str | None:
        """Persist one approve/reject request, or a command, atomically (``store_proposals``);
        returns the command id taken for the moves (None when nothing is commanded)."""
        return await self._acall(self._op_record_decision, site, write)

    async def save_proposals(self, site: str, records: Mapping[str, Any]) -> None:
        """Replace the site's open proposals (``ProposalBook.to_records``)."""
        await self._acall(self._op_save_proposals, site, records)

    async def load_proposals(self) -> dict[str, dict[str, Any]]:
        return await self._acall(self._op_load_proposals)

    def load_proposals_sync(self) -> dict[str, dict[str, Any]]:
        return self._call(self._op_load_proposals)

    async def drop_pending_commands(self, site: str, command_ids: Sequence[str]) -> None:
        """Commands no longer pending (the broker acknowledged them, or they were dropped)."""
        await self._acall(self._op_drop_pending_commands, site, list(command_ids))

    async def load_pending_commands(self) -> list[PendingCommand]:
        return await self._acall(self._op_load_pending)

    def load_pending_commands_sync(self) -> list[PendingCommand]:
        return self._call(self._op_load_pending)
