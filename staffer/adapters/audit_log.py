"""Read the audit log of a state database: read-only, and safe while the daemon runs.

The file is opened through an SQLite ``mode=ro`` URI with ``query_only`` set, so a
reader can never create, change or lock out the daemon's database: in WAL mode readers
do not block the daemon's writer and the daemon does not block them; a reader sees
every transaction committed before its query started. (Reading a WAL database needs its
``-wal``/``-shm`` companions: when the daemon is stopped SQLite may create them next to the
file, which changes nothing in it.) Rows are read as the store
writes them (``audit`` table: ts, site, kind, actor, payload JSON); what each kind holds
is documented in ``staffer.codec.audit``.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from contextlib import closing
from pathlib import Path
from typing import Any

from staffer.core.types import AuditRecord

BUSY_TIMEOUT_S = 5.0


class AuditLogError(RuntimeError):
    """The state database cannot be read; the message (one line) says why."""


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise AuditLogError(f"state database {path} does not exist")
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute("PRAGMA query_only=1")
    except sqlite3.Error as err:
        raise AuditLogError(f"cannot open state database {path} read-only: {err}") from None
    return conn


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable_payload": text[:1000]}
    return value if isinstance(value, dict) else {"payload": value}


def read_audit(
    path: str | Path,
    *,
    site: str | None = None,
    since: float | None = None,
    until: float | None = None,
) -> list[AuditRecord]:
    """Audit rows of ``site`` (all sites when None) with ``since <= ts < until``, in time
    order (ties in the order they were written). Raises ``AuditLogError``."""
    path = Path(path)
    where, args = [], []
    for clause, value in (("site = ?", site), ("ts >= ?", since), ("ts < ?", until)):
        if value is not None:
            where.append(clause)
            args.append(value)
    sql = "SELECT ts, site, kind, actor, payload FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    with closing(_connect(path)) as conn:
        try:
            if not conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'"
            ).fetchone():
                raise AuditLogError(f"{path} is not a staffer state database (no audit table)")
            rows = conn.execute(sql + " ORDER BY ts, seq", args).fetchall()
        except sqlite3.DatabaseError as err:
            raise AuditLogError(f"cannot read the audit log of {path}: {err}") from None
    return [
        AuditRecord(float(ts), str(s), str(kind), str(actor), _payload(payload))
        for ts, s, kind, actor, payload in rows
    ]
