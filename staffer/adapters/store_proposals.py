"""SQL of approve mode (contract §9) for ``StateStore``: open proposals, and the one
transaction of a supervisor's approve or reject.

Run by the store on its worker thread, inside the store's transactions. The tables
(``proposals``: one row of JSON records per site; ``pending_commands``) are created at
open by ``state_file.add_missing``.

An approval is written whole or not at all, before its reply: the site's open proposals,
the request's audit row, the command id, the moves in flight, one audit row per move
and the command itself as a **pending command**. Every other command (planner, assign)
is written the same way, as a ``DecisionWrite`` without proposals. The pending row is
deleted once the broker has acknowledged the command (``drop_pending``); a daemon killed
or cut off in between sends it again, under the same command id, so no command is lost.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from staffer.adapters import store_acks
from staffer.adapters.state_file import StoreError, column_json
from staffer.core.cooldowns import Cooldown
from staffer.core.types import AuditRecord, InFlightMove


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """A command to write as pending with its decision, given its command id: an
    approval's, a planner's or an ``assign``'s (kept until the broker's PUBACK)."""

    payload: bytes  # the command (§3.3) as it is published
    in_flight: Sequence[InFlightMove]
    audit: Sequence[AuditRecord]  # one row per move (an approval's: its request's row too)


@dataclass(frozen=True, slots=True)
class DecisionWrite:
    """One approve/reject request's effects (``StateStore.record_decision``)."""

    proposals: Mapping[str, Any] | None  # the site's open proposals after it; None: unchanged
    audit: Sequence[AuditRecord] = ()  # the request's row when nothing is commanded
    cooldowns: Sequence[Cooldown] = ()  # a rejection's
    command: Callable[[str], CommandRecord] | None = None  # built once the id is taken
    plan: tuple[bytes, float] | None = None  # the site's last plan (JSON, as_of), with it


@dataclass(frozen=True, slots=True)
class PendingCommand:
    """A command written with its moves (any command: planner, assign, approval) and not
    yet acknowledged by the broker."""

    site: str
    command_id: str
    payload: bytes
    written_at: float  # wall time of its approval


def save_proposals(db: sqlite3.Connection, site: str, records: Mapping[str, Any]) -> None:
    """Replace the site's open proposals."""
    db.execute("INSERT OR REPLACE INTO proposals VALUES (?, ?)", (site, column_json(records)))


def save_plan(db: sqlite3.Connection, site: str, plan_json: bytes | str, as_of: float) -> None:
    """Replace the site's last plan (the JSON as published)."""
    text = plan_json.decode("utf-8") if isinstance(plan_json, bytes) else plan_json
    db.execute("INSERT OR REPLACE INTO plans VALUES (?, ?, ?)", (site, as_of, text))


def record_decision(
    db: sqlite3.Connection, site: str, write: DecisionWrite, command_id: str | None
) -> list[AuditRecord]:
    """Everything of a decision except the audit rows, which it returns (the store writes
    them); ``command_id`` is taken in the same transaction when the write has a command."""
    if write.proposals is not None:  # None: a planner's or an assign's command
        save_proposals(db, site, write.proposals)
    if write.plan is not None:  # the plan whose moves these are (issue 17: one fsync)
        save_plan(db, site, *write.plan)
    store_acks.put_cooldowns(db, site, write.cooldowns)
    if write.command is None or command_id is None:
        return list(write.audit)
    command = write.command(command_id)
    store_acks.insert_in_flight(db, site, command.in_flight)
    db.execute(
        "INSERT INTO pending_commands VALUES (?, ?, ?, ?)",
        (site, command_id, command.payload.decode("utf-8"), time.time()),
    )
    return [*write.audit, *command.audit]


def drop_pending(db: sqlite3.Connection, site: str, command_ids: Sequence[str]) -> None:
    db.executemany(
        "DELETE FROM pending_commands WHERE site = ? AND command_id = ?",
        [(site, c) for c in command_ids],
    )


def load_proposals(db: sqlite3.Connection, path: Path) -> dict[str, dict[str, Any]]:
    """The stored open proposals per site (``ProposalBook.restore`` input)."""
    out: dict[str, dict[str, Any]] = {}
    for site, text in db.execute("SELECT site, records FROM proposals ORDER BY site"):
        try:
            records = json.loads(text)
        except ValueError as err:
            raise StoreError(f"{path}: unreadable proposals of site {site!r}: {err}") from None
        if not isinstance(records, dict):
            raise StoreError(f"{path}: unreadable proposals of site {site!r}: not an object")
        out[site] = records
    return out


def load_pending(db: sqlite3.Connection) -> list[PendingCommand]:
    """Commands not yet acknowledged by the broker, oldest first."""
    rows = db.execute(
        "SELECT site, command_id, payload, created_at FROM pending_commands "
        "ORDER BY created_at, command_id"
    )
    return [PendingCommand(site, cid, text.encode("utf-8"), at) for site, cid, text, at in rows]
