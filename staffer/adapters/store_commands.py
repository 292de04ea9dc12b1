"""SQL of a command (contract §3.3, §7, §16) for ``StateStore``: one transaction writes
it whole.

`write_command` takes the site's next command id, records the moves in flight under it
and one audit row per move; the store runs it inside ONE transaction (one fsync), so a
command is either entirely on disk or not at all, and only then published
(``Emitter.command``). ``insert_audit`` and ``take_command_id`` are shared with the
store's other writes (override outcomes, approvals).
"""

from __future__ import annotations

import math
import secrets
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from staffer.adapters.state_file import column_json
from staffer.adapters.store_acks import insert_in_flight
from staffer.codec.audit import move_audit
from staffer.core.types import AuditRecord, InFlightMove, Move


@dataclass(frozen=True, slots=True)
class CommandWrite:
    """A command to persist: its moves, the plan they come from and who decided them."""

    moves: Sequence[Move]
    plan_id: str | None
    mode: str
    decided_by: str
    now: float  # the site's clock when the moves were decided (``issued_at``)

    def flights(self, command_id: str) -> list[InFlightMove]:
        """The moves in flight under ``command_id``."""
        return [InFlightMove(m.agent, m.to_queue, command_id, self.now) for m in self.moves]


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


def write_command(db: sqlite3.Connection, site: str, write: CommandWrite) -> str:
    """Id, moves in flight and audit rows of one command (the caller's transaction)."""
    command_id = take_command_id(db, site)
    insert_in_flight(db, site, write.flights(command_id))
    insert_audit(
        db,
        [
            move_audit(
                site,
                write.now,
                command_id=command_id,
                plan_id=write.plan_id,
                mode=write.mode,
                move=m,
                decided_by=write.decided_by,
            )
            for m in write.moves
        ],
    )
    return command_id
