"""StateStore: persistence across reopen, atomic outcomes, command ids, refusal of bad files."""

import asyncio
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from staffer.adapters.store import SCHEMA_VERSION, StateStore, StoreError
from staffer.core.overrides import OverrideBook
from staffer.core.types import AuditRecord, InFlightMove, OverrideRequest

NOW = 1_795_342_500.0
QUEUES = frozenset({"phone", "chat", "email"})


def _outcome(
    book: OverrideBook, action: str, now: float = NOW, site: str = "main", **fields: object
):  # type: ignore[no-untyped-def]
    return book.handle(
        site, "alice", OverrideRequest(id="r", action=action, fields=fields), now, QUEUES, 3600.0
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def test_fresh_database_is_wal_with_schema(db: Path) -> None:
    with StateStore.open(db):
        pass
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    conn.close()


def test_overrides_survive_restart_and_removals_apply(db: Path) -> None:
    book = OverrideBook()
    pin = _outcome(book, "pin", queue="phone", min=2, max=5)
    lock = _outcome(book, "lock_agent", agent="a7")
    mode = book.handle(
        "s2",
        "bob",
        OverrideRequest(id=1, action="mode", fields={"mode": "manual"}, ttl_s=None, ttl_given=True),
        NOW,
        QUEUES,
        3600.0,
    )
    with StateStore.open(db) as store:
        for out in (pin, lock, mode):
            store.record_outcome_sync(out)
        unlock = _outcome(book, "unlock_agent", agent="a7")
        store.record_outcome_sync(unlock)
    with StateStore.open(db) as store:
        loaded = store.load_overrides_sync()
        audit = store.audit_sync()
    assert {o.override_id for o in loaded} == {pin.accepted.override_id, mode.accepted.override_id}
    assert next(o for o in loaded if o.site == "s2").expires_at is None
    restored = OverrideBook()
    restored.restore(loaded)
    for site in ("main", "s2"):
        assert restored.controls(site, NOW, "auto") == book.controls(site, NOW, "auto")
    assert [a.payload["action"] for a in audit] == ["pin", "lock_agent", "mode", "unlock_agent"]
    assert [a.actor for a in audit] == ["alice", "alice", "bob", "alice"]


def test_rejected_requests_are_audited_too(db: Path) -> None:
    book = OverrideBook()
    bad = _outcome(book, "pin", queue="fax", min=1)
    assert not bad.reply.ok
    with StateStore.open(db) as store:
        store.record_outcome_sync(bad)
        assert store.load_overrides_sync() == []
        (rec,) = store.audit_sync()
    assert rec.payload["outcome"] == "rejected" and rec.payload["code"] == "unknown_queue"


def test_record_expired(db: Path) -> None:
    book = OverrideBook()
    out = _outcome(book, "lock_agent", agent="a1")
    with StateStore.open(db) as store:
        store.record_outcome_sync(out)
        gone = book.expire(NOW + 4000)
        asyncio.run(store.record_expired(gone, NOW + 4000))
        assert store.load_overrides_sync() == []
        kinds = [a.kind for a in store.audit_sync(site="main")]
    assert kinds == ["override", "override_expired"]


def test_in_flight_plans_and_audit_queries(db: Path) -> None:
    with StateStore.open(db) as store:
        store.add_in_flight_sync(
            "main", [InFlightMove("a1", "phone", "c1", NOW), InFlightMove("a2", "chat", "c1", NOW)]
        )
        store.add_in_flight_sync("main", [InFlightMove("a1", "email", "c2", NOW + 1)])
        store.add_in_flight_sync("s2", [InFlightMove("a1", "phone", "c3", NOW)])
        asyncio.run(store.remove_in_flight("main", ["a2", "nobody"]))
        store.save_plan_sync("main", b'{"plan_id":"p1"}', NOW)
        store.save_plan_sync("main", '{"plan_id":"p2"}', NOW + 300)
        store.append_audit_sync(
            [
                AuditRecord(NOW + i, "main" if i % 2 else "s2", "note", "sys", {"i": i})
                for i in range(10)
            ]
        )
    with StateStore.open(db) as store:
        assert store.load_in_flight_sync() == {
            "main": [InFlightMove("a1", "email", "c2", NOW + 1)],
            "s2": [InFlightMove("a1", "phone", "c3", NOW)],
        }
        assert json.loads(store.load_plans_sync()["main"])["plan_id"] == "p2"
        last = store.audit_sync(limit=3)
        assert [a.payload["i"] for a in last] == [7, 8, 9]
        assert all(a.site == "main" for a in store.audit_sync(site="main"))
        assert asyncio.run(store.prune_audit(NOW + 5)) == 5
        assert len(store.audit_sync(limit=100)) == 5


def test_command_ids_unique_and_never_reused_across_restarts(db: Path) -> None:
    with StateStore.open(db) as store:
        first = [store.next_command_id_sync("main") for _ in range(5)]
        other = store.next_command_id_sync("s2")
    with StateStore.open(db) as store:
        after = store.next_command_id_sync("main")
    assert first[0].startswith("main-00000001-") and after.startswith("main-00000006-")
    assert other.startswith("s2-00000001-")
    assert len(set([*first, after])) == 6


async def test_async_api_runs_off_the_event_loop(db: Path) -> None:
    store = await StateStore.open_async(db)
    try:
        assert store.thread_id is not None and store.thread_id != threading.get_ident()
        book = OverrideBook()
        ids = await asyncio.gather(*(store.next_command_id("main") for _ in range(20)))
        assert len(set(ids)) == 20
        await store.record_outcome(_outcome(book, "pin", queue="chat", max=3))
        assert len(await store.load_overrides()) == 1
        await store.add_in_flight("main", [InFlightMove("a1", "phone", ids[0], NOW)])
        assert (await store.load_in_flight())["main"][0].command_id == ids[0]
        await store.save_plan("main", b"{}", NOW)
        assert await store.load_plans() == {"main": "{}"}
        await store.append_audit([AuditRecord(NOW, "main", "k", "a", {})])
        assert len(await store.audit()) == 2
        assert await store.prune_audit(NOW + 1) == 2
    finally:
        await store.aclose()
    with pytest.raises(StoreError, match="closed"):
        await store.load_plans()
    with pytest.raises(StoreError, match="closed"):
        store.load_plans_sync()


def test_corrupt_file_is_refused(db: Path) -> None:
    db.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StoreError, match=r"unusable|corrupt"):
        StateStore.open(db)
    assert db.read_bytes().startswith(b"this is not")  # never silently replaced


def test_damaged_database_pages_are_refused(db: Path) -> None:
    with StateStore.open(db) as store:
        store.append_audit_sync(
            [AuditRecord(NOW, "main", "k", "a", {"x": "y" * 500}) for _ in range(200)]
        )
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = bytearray(db.read_bytes())
    page = 4096
    for off in range(page * 2, min(len(raw), page * 6)):
        raw[off] = 0xA5
    db.write_bytes(bytes(raw))
    with pytest.raises(StoreError):
        StateStore.open(db)


@pytest.mark.parametrize(
    ("fresh", "tamper", "error"),
    [
        (False, "CREATE TABLE customers (id INTEGER)", "not a staffer state file"),
        (True, "UPDATE meta SET value='99' WHERE key='schema_version'", "newer"),
        (True, "DROP TABLE in_flight", "in_flight"),
    ],
    ids=["foreign-database", "newer-schema", "missing-table"],
)
def test_tampered_database_is_refused(db: Path, fresh: bool, tamper: str, error: str) -> None:
    if fresh:
        StateStore.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute(tamper)
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=error):
        StateStore.open(db)


def test_unusable_paths(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        StateStore.open(tmp_path / "no-such-dir" / "state.db")
    with pytest.raises(StoreError, match="directory"):
        StateStore.open(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        StateStore.open(blocker / "state.db")


def test_write_failure_surfaces_as_store_error_and_consumes_nothing(db: Path) -> None:
    with StateStore.open(db, busy_timeout_s=0.0) as store:
        other = sqlite3.connect(db, timeout=0.0, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            with pytest.raises(StoreError, match="locked"):
                store.next_command_id_sync("main")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert store.next_command_id_sync("main").startswith("main-00000001-")


def test_writes_are_committed_before_return(db: Path) -> None:
    """Another connection sees each write immediately: nothing waits in a transaction."""
    book = OverrideBook()
    with StateStore.open(db) as store:
        out = _outcome(book, "lock_agent", agent="a3")
        store.record_outcome_sync(out)
        cid = store.next_command_id_sync("main")
        reader = sqlite3.connect(db)
        try:
            row = reader.execute("SELECT action, fields FROM overrides").fetchone()
            seq = reader.execute("SELECT seq FROM command_seq WHERE site='main'").fetchone()
            audits = reader.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        finally:
            reader.close()
    assert row == ("lock_agent", '{"agent":"a3"}')
    assert seq == (1,) and cid.startswith("main-00000001-")
    assert audits == 1


def test_calls_from_any_thread_are_served_by_the_worker(db: Path) -> None:
    with StateStore.open(db) as store:
        results: list[str] = []
        threads = [
            threading.Thread(target=lambda: results.append(store.next_command_id_sync("main")))
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(set(results)) == 8
    assert sorted(int(r.split("-")[1]) for r in results) == list(range(1, 9))


def test_audit_with_non_finite_time_is_still_written(db: Path) -> None:
    with StateStore.open(db) as store:
        store.append_audit_sync([AuditRecord(float("nan"), "main", "override", "bob", {})])
        (rec,) = store.audit_sync()
    assert rec.actor == "bob" and rec.ts > 1.7e9


def test_committed_state_survives_a_killed_process(db: Path) -> None:
    """A process that dies right after a write (no close, no checkpoint) loses nothing."""
    import subprocess
    import sys

    script = (
        "import os, sys\n"
        "from staffer.adapters.store import StateStore\n"
        "s = StateStore.open(sys.argv[1])\n"
        "print(s.next_command_id_sync('main'))\n"
        "s.save_plan_sync('main', '{\"plan_id\":\"p9\"}', 1.0)\n"
        "sys.stdout.flush()\n"
        "os._exit(0)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", script, str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    first = res.stdout.strip()
    assert first.startswith("main-00000001-")
    with StateStore.open(db) as store:
        assert store.load_plans_sync() == {"main": '{"plan_id":"p9"}'}
        assert store.next_command_id_sync("main").startswith("main-00000002-")
