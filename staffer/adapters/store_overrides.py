"""SQL of supervisor overrides (and agent locks, which are overrides) for ``StateStore``.

Run by the store on its worker thread, inside the store's transactions. A row holds an
override's fields as the request's JSON (``core.override_records``), so the table reads
the same as before the payloads were typed (``tests/unit/adapters/test_store_compat.py``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from staffer.adapters.state_file import StoreError, column_json
from staffer.core.override_records import override_from_record, override_to_record
from staffer.core.types import Override

_COLUMNS = (
    "override_id",
    "site",
    "supervisor",
    "action",
    "fields",
    "created_at",
    "expires_at",
    "reason",
)


def insert_override(db: sqlite3.Connection, ov: Override) -> None:
    rec = override_to_record(ov)
    db.execute(
        "INSERT OR REPLACE INTO overrides VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        tuple(column_json(rec[c]) if c == "fields" else rec[c] for c in _COLUMNS),
    )


def delete_overrides(db: sqlite3.Connection, ids: Iterable[str]) -> None:
    db.executemany("DELETE FROM overrides WHERE override_id = ?", [(i,) for i in ids])


def load_overrides(db: sqlite3.Connection, path: Path) -> list[Override]:
    """Every stored override, oldest first; StoreError naming an unreadable row."""
    rows = db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM overrides ORDER BY created_at, override_id"
    ).fetchall()
    out = []
    for row in rows:
        rec = dict(zip(_COLUMNS, row, strict=True))
        try:
            rec["fields"] = json.loads(rec["fields"])
            out.append(override_from_record(rec))
        except ValueError as err:
            raise StoreError(f"{path}: unreadable override {row[0]!r}: {err}") from None
    return out
