"""SQL of moves in flight, move acknowledgements and cool-downs (contract §10) for
``StateStore``.

Run by the store on its worker thread, inside the store's transactions. The
``in_flight.accepted_at`` column and the ``cooldowns`` table are created at open by
``state_file.add_missing`` (they were added to schema 1 after its release).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from staffer.core.acks import AckEffect
from staffer.core.cooldowns import Cooldown
from staffer.core.types import InFlightMove

IN_FLIGHT_COLUMNS = "site, agent, to_queue, command_id, issued_at, accepted_at"


def record_move_ack(db: sqlite3.Connection, site: str, effect: AckEffect) -> None:
    """The accepted mark, the ended flight and the cool-down of one ack (the audit row is
    the store's); only the acknowledged command's row is touched."""
    r = effect.result
    if r.accepted is not None:
        db.execute(
            "UPDATE in_flight SET accepted_at = ? WHERE site = ? AND agent = ? AND command_id = ?",
            (r.accepted.accepted_at, site, r.accepted.agent, r.accepted.command_id),
        )
    if r.ended is not None:
        db.execute(
            "DELETE FROM in_flight WHERE site = ? AND agent = ? AND command_id = ?",
            (site, r.ended.agent, r.ended.command_id),
        )
    if effect.cooldown is not None:
        put_cooldowns(db, site, [effect.cooldown])


def insert_in_flight(db: sqlite3.Connection, site: str, moves: Sequence[InFlightMove]) -> None:
    """Commanded moves (one per agent: a newer move replaces the older)."""
    db.executemany(
        f"INSERT OR REPLACE INTO in_flight ({IN_FLIGHT_COLUMNS}) VALUES (?,?,?,?,?,?)",
        [(site, m.agent, m.to_queue, m.command_id, m.issued_at, m.accepted_at) for m in moves],
    )


def put_cooldowns(db: sqlite3.Connection, site: str, cooldowns: Sequence[Cooldown]) -> None:
    """Cool-downs as now in force (one per agent and queue)."""
    db.executemany(
        "INSERT OR REPLACE INTO cooldowns VALUES (?, ?, ?, ?, ?, ?)",
        [(site, c.agent, c.queue, c.until, c.reason, c.source) for c in cooldowns],
    )


def remove_cooldowns(db: sqlite3.Connection, site: str, cooldowns: Sequence[Cooldown]) -> None:
    """Forget ended cool-downs; a newer, longer one of the same pair stays."""
    db.executemany(
        "DELETE FROM cooldowns WHERE site = ? AND agent = ? AND queue = ? AND until <= ?",
        [(site, c.agent, c.queue, c.until) for c in cooldowns],
    )


def load_cooldowns(db: sqlite3.Connection) -> dict[str, list[Cooldown]]:
    """Every stored cool-down by site (ended ones too: the site's clock drops them)."""
    out: dict[str, list[Cooldown]] = {}
    for site, agent, queue, until, reason, source in db.execute(
        "SELECT site, agent, queue, until, reason, source FROM cooldowns ORDER BY site, until"
    ):
        out.setdefault(site, []).append(Cooldown(agent, queue, until, reason, source))
    return out
