"""StateStore: move acks and cool-downs survive a reopen; older state files upgrade in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from staffer.adapters.store import StateStore
from staffer.core.acks import settle_ack
from staffer.core.cooldowns import Cooldown, CooldownBook
from staffer.core.inflight import InFlightBook
from staffer.core.types import InFlightMove, MoveAck

NOW = 1_795_342_500.0


def _ack(agent: str, cid: str, to: str, status: str) -> MoveAck:
    return MoveAck(agent, NOW, cid, to, status, "licence")  # type: ignore[arg-type]


def test_ack_effects_survive_reopen(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    moves = [InFlightMove("a1", "phone", "c1", NOW), InFlightMove("a2", "chat", "c1", NOW)]
    flights, cooldowns = InFlightBook(300, moves, 1800), CooldownBook()
    with StateStore.open(db) as store:
        store.add_in_flight_sync("main", moves)
        for ack in (_ack("a1", "c1", "phone", "accepted"), _ack("a2", "c1", "chat", "rejected")):
            effect = settle_ack("main", flights, cooldowns, ack, NOW + 5, 1800.0)
            store.record_move_ack_sync("main", effect)
    with StateStore.open(db) as store:
        assert store.load_in_flight_sync() == {
            "main": [InFlightMove("a1", "phone", "c1", NOW, accepted_at=NOW + 5)]
        }
        (cooldown,) = store.load_cooldowns_sync()["main"]
        assert (cooldown.agent, cooldown.queue, cooldown.until) == ("a2", "chat", NOW + 1805)
        assert cooldown.reason == "licence" and cooldown.source == "bridge"
        (audit,) = [r for r in store.audit_sync("main") if r.kind == "move_rejected"]
        assert audit.payload["agent"] == "a2" and audit.payload["command_id"] == "c1"


def test_ended_ack_leaves_a_newer_flight_of_the_agent_alone(tmp_path: Path) -> None:
    old, new = InFlightMove("a1", "phone", "c1", NOW), InFlightMove("a1", "chat", "c2", NOW + 1)
    flights = InFlightBook(300, [old])
    with StateStore.open(tmp_path / "s.db") as store:
        effect = settle_ack(
            "main", flights, CooldownBook(), _ack("a1", "c1", "phone", "done"), NOW, 0
        )
        store.add_in_flight_sync("main", [new])  # replaced before the ack's write ran
        store.record_move_ack_sync("main", effect)
        assert store.load_in_flight_sync() == {"main": [new]}


async def test_cooldown_removal_keeps_a_longer_one(tmp_path: Path) -> None:
    book = CooldownBook()
    with StateStore.open(tmp_path / "s.db") as store:
        flights = InFlightBook(300, [InFlightMove("a1", "phone", "c1", NOW)])
        effect = settle_ack("main", flights, book, _ack("a1", "c1", "phone", "rejected"), NOW, 60)
        store.record_move_ack_sync("main", effect)
        assert effect.cooldown is not None
        earlier = Cooldown("a1", "phone", NOW + 30)
        await store.remove_cooldowns("main", [earlier])  # ended before the stored one: kept
        assert len(store.load_cooldowns_sync()["main"]) == 1
        await store.remove_cooldowns("main", [effect.cooldown])
        assert store.load_cooldowns_sync() == {}


def test_state_file_from_before_acks_upgrades_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    StateStore.open(db).close()
    conn = sqlite3.connect(db)  # make it look like a file written before §10
    conn.execute("DROP TABLE cooldowns")
    conn.execute("ALTER TABLE in_flight DROP COLUMN accepted_at")
    conn.execute("INSERT INTO in_flight VALUES ('main', 'a1', 'phone', 'c9', ?)", (NOW,))
    conn.commit()
    conn.close()
    with StateStore.open(db) as store:
        assert store.load_in_flight_sync() == {"main": [InFlightMove("a1", "phone", "c9", NOW)]}
        assert store.load_cooldowns_sync() == {}
