"""Audit rows and command ids for ``StateStore``, shared by every write that carries them.

A command's id, its moves in flight, one audit row per move and the command itself as
pending (until the broker's PUBACK) are written in ONE transaction
(``StateStore.record_decision``, SQL in ``store_proposals``), so a command is either
entirely on disk or not at all, and only then published (``Emitter.command``).
"""

from __future__ import annotations

import math
import secrets
import sqlite3
import time
from collections.abc import Iterable

from staffer.adapters.state_file import column_json
from staffer.core.types import AuditRecord


def insert_audit(db: sqlite3.Connection, records: Iterable[AuditRecord]) -> None:
    """Audit rows; a non-finite ``ts`` (event clock not started) is stored as wall time
    so an audit write can never fail on it."""
    db.executemany(
        "INSERT INTO audit (ts, site, kind, actor, payload) VALUES (?, ?, ?, ?, ?)",
        [
            (
                r.ts if math.isfinite(r.ts) else time.time(),
                r.site,
                r.kind,
                r.actor,
                column_json(r.payload),
            )
            for r in records
        ],
    )


def take_command_id(db: sqlite3.Connection, site: str) -> str:
    """The site's next command id ``{site}-{seq:08d}-{6 hex}`` (inside a transaction)."""
    db.execute(
        "INSERT INTO command_seq VALUES (?, 1) ON CONFLICT(site) DO UPDATE SET seq = seq + 1",
        (site,),
    )
    seq = db.execute("SELECT seq FROM command_seq WHERE site = ?", (site,)).fetchone()[0]
    return f"{site}-{seq:08d}-{secrets.token_hex(3)}"
