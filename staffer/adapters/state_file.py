"""The state database file: its schema and the checks before the daemon trusts it.

`open_state_file` opens or creates the SQLite file and refuses an unusable one with
`StoreError` (missing directory, a directory, not a database, corrupt, foreign or
newer schema, read-only: a write probe runs at open) rather than silently starting
from an empty state. WAL journal, ``synchronous=FULL``: a committed write is on disk.
The operations on it are `staffer.adapters.store.StateStore`'s.

Schema 1 gained the ``in_flight.accepted_at`` column and the ``cooldowns`` table (move
acks, contract §10), then the ``proposals`` and ``pending_commands`` tables (approve mode,
§9) after its release: `add_missing` creates them when a state file predates them, so
such files upgrade in place when opened.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE overrides (
    override_id TEXT PRIMARY KEY, site TEXT NOT NULL, supervisor TEXT NOT NULL,
    action TEXT NOT NULL, fields TEXT NOT NULL, created_at REAL NOT NULL,
    expires_at REAL, reason TEXT NOT NULL);
CREATE INDEX overrides_site ON overrides (site);
CREATE TABLE in_flight (
    site TEXT NOT NULL, agent TEXT NOT NULL, to_queue TEXT NOT NULL,
    command_id TEXT NOT NULL, issued_at REAL NOT NULL, PRIMARY KEY (site, agent));
CREATE TABLE plans (site TEXT PRIMARY KEY, as_of REAL NOT NULL, plan TEXT NOT NULL);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, site TEXT NOT NULL,
    kind TEXT NOT NULL, actor TEXT NOT NULL, payload TEXT NOT NULL);
CREATE INDEX audit_site_ts ON audit (site, ts);
CREATE TABLE command_seq (site TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""
_TABLES = frozenset({"meta", "overrides", "in_flight", "plans", "audit", "command_seq"})
_ADDED_COLUMNS = (("in_flight", "accepted_at", "REAL"),)
_ADDED_TABLES = """
CREATE TABLE IF NOT EXISTS cooldowns (
    site TEXT NOT NULL, agent TEXT NOT NULL, queue TEXT NOT NULL, until REAL NOT NULL,
    reason TEXT NOT NULL, source TEXT NOT NULL, PRIMARY KEY (site, agent, queue));
CREATE TABLE IF NOT EXISTS proposals (site TEXT PRIMARY KEY, records TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_commands (
    site TEXT NOT NULL, command_id TEXT NOT NULL, payload TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (site, command_id));
"""


def column_json(obj: object) -> str:
    """Compact JSON text for a column; ASCII escapes if a string is not valid UTF-8."""
    try:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=repr)
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":"), default=repr)


class StoreError(RuntimeError):
    """The state database is unusable or a read/write failed; the message says why."""


def open_state_file(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """Open (creating when new) and check the state database; StoreError when unusable."""
    if path.is_dir():
        raise StoreError(f"state path {path} is a directory, not a database file")
    if not path.parent.is_dir():
        raise StoreError(f"state directory {path.parent} does not exist")
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=True
        )
    except sqlite3.Error as err:
        raise StoreError(f"cannot open state database {path}: {err}") from None
    try:
        _check_and_prepare(conn, path)
    except sqlite3.Error as err:
        conn.close()
        raise StoreError(f"state database {path} is unusable: {err}") from None
    except StoreError:
        conn.close()
        raise
    return conn


def _check_and_prepare(conn: sqlite3.Connection, path: Path) -> None:
    ok = conn.execute("PRAGMA quick_check").fetchone()
    if ok is None or ok[0] != "ok":
        raise StoreError(
            f"state database {path} is corrupt (quick_check: "
            f"{ok[0] if ok else 'no result'}); restore it or move it away"
        )
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"state database {path}: cannot enable WAL (got {mode})")
    conn.execute("PRAGMA synchronous=FULL")
    tables = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    if not tables:
        with transaction(conn):
            for stmt in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(stmt)
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        tables = set(_TABLES)
    elif "meta" not in tables:
        raise StoreError(f"{path} is an SQLite database but not a staffer state file")
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = int(row[0]) if row and str(row[0]).isdigit() else -1
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema version {version}, newer than this "
            f"staffer supports ({SCHEMA_VERSION}); upgrade staffer"
        )
    missing = sorted(_TABLES - tables)
    if version != SCHEMA_VERSION or missing:
        raise StoreError(
            f"{path}: unexpected schema (version {version}, missing tables {missing or 'none'})"
        )
    with transaction(conn):
        add_missing(conn)
    with transaction(conn):  # write probe: fails here, not at the first acknowledgement
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_open', ?)", (repr(time.time()),))


def add_missing(db: sqlite3.Connection) -> None:
    """Create the columns and tables added to schema 1 (call inside a transaction)."""
    for table, column, kind in _ADDED_COLUMNS:
        if column not in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    for stmt in filter(str.strip, _ADDED_TABLES.split(";")):
        db.execute(stmt)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (a failed COMMIT too, so
    the connection never stays inside a dead transaction and the next write can succeed)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")  # a full disk fails here: inside the try, rolled back
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (SQLITE_FULL)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
