"""A state file written by the code of main 9053a57 (before overrides were typed) still loads,
and this code writes the same rows and the same wire form.

``data/state_v1_main.sql`` is the SQL dump of a state file that main's ``StateStore`` wrote
for seven accepted requests (every override action), one flight, one plan and one command
id; ``data/state_v1_main.json`` is what main's codec published for them and main's
``Controls``.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

from staffer.adapters.store import StateStore
from staffer.codec.payloads import encode_overrides
from staffer.core.overrides import OverrideBook
from staffer.core.types import AgentState, OverrideRequest

DATA = Path(__file__).parent / "data"
NOW = 1_795_000_000.0
REQUESTS = [
    ("pin", {"queue": "phone", "min": 3, "max": 9}, 3600.0),
    ("pin", {"queue": "chat", "max": 2}, 3600.0),
    ("target", {"queue": "email", "sl_target": 0.95}, 3600.0),
    ("target", {"queue": "phone", "sl_target": 0.9, "target_s": 15}, 3600.0),
    ("mode", {"mode": "shadow"}, None),
    ("lock_agent", {"agent": "a7"}, 600.0),
    ("assign", {"agent": "a1", "queue": "phone"}, 3600.0),
]


def _main_file(tmp_path: Path) -> Path:
    db = tmp_path / "main.db"
    with sqlite3.connect(db) as conn:
        conn.executescript((DATA / "state_v1_main.sql").read_text())
    return db


def _rows(db: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def test_state_file_of_main_loads_with_the_same_meaning(tmp_path: Path) -> None:
    expected = json.loads((DATA / "state_v1_main.json").read_text())
    with StateStore.open(_main_file(tmp_path)) as store:
        overrides = store.load_overrides_sync()
        assert len(overrides) == len(REQUESTS)
        assert store.load_in_flight_sync()["main"][0].command_id == "main-00000001-abcdef"
        assert store.load_plans_sync() == {"main": '{"plan_id":"p"}'}
        assert store.next_command_id_sync("main").startswith("main-00000002-")
    book = OverrideBook()
    book.restore(overrides)
    now = expected["now"]
    assert json.loads(encode_overrides(book.active("main", now))) == expected["overrides"]
    c = book.controls("main", now, "auto")
    assert {
        "mode": c.mode,
        "pins": [[p.queue, p.min, p.max] for p in c.pins],
        "goals": [[g.queue, g.sl_target, g.target_s] for g in c.goals],
        "locked": sorted(c.locked_agents),
    } == expected["controls"]


def test_this_code_writes_the_rows_main_wrote(tmp_path: Path) -> None:
    ids = itertools.count(1)
    book = OverrideBook(id_factory=lambda _n: f"main-{next(ids)}")
    roster = {"a1": AgentState("a1", NOW, "available", "email", frozenset({"phone", "email"}))}
    db = tmp_path / "ours.db"
    with StateStore.open(db) as store:
        for i, (action, fields, ttl) in enumerate(REQUESTS):
            req = OverrideRequest(
                id=f"r{i}", action=action, fields=fields, ttl_s=ttl, ttl_given=True, reason="why"
            )
            out = book.handle(
                "main", "ann", req, NOW + i, {"phone", "chat", "email"}, 3600.0, roster
            )
            assert out.reply.ok, out.reply
            store.record_outcome_sync(out)
    main = _main_file(tmp_path)
    assert _rows(db, "overrides") == _rows(main, "overrides")
    assert _rows(db, "audit") == _rows(main, "audit")
