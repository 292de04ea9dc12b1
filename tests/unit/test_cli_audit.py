"""`staffer audit` on a state database written by the real store: formats, filters, errors."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from staffer.adapters.audit_log import read_audit
from staffer.adapters.store import StateStore
from staffer.cli import main
from staffer.codec.audit import move_audit
from staffer.codec.timefmt import parse_ts
from staffer.core.override_records import expiry_audit
from staffer.core.overrides import OverrideBook
from staffer.core.types import AuditRecord, Move, OverrideRequest

T = parse_ts("2026-11-22T10:00:00Z")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    book = OverrideBook(id_factory=lambda _now: "ov1")
    with StateStore.open(path) as store:
        for site, sup, req, at in [
            ("main", "alice", OverrideRequest("r1", "pin", {"queue": "phone", "min": 3}), T),
            ("main", "bob", OverrideRequest("r2", "pin", {"queue": "fax", "max": 1}), T + 60),
            ("paris", "alice", OverrideRequest("r3", "replan"), T + 120),
        ]:
            store.record_outcome_sync(book.handle(site, sup, req, at, {"phone"}, 3600.0))
        store.append_audit_sync(
            [
                move_audit(
                    "main",
                    T + 180,
                    command_id="main-00000001-abcdef",
                    plan_id="plan-1",
                    mode="auto",
                    move=Move("a17", "email", "phone", "phone SL 0.52 -> 0.81, more"),
                    decided_by="planner",
                )
            ]
        )
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["audit", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_table(state: Path, capsys) -> None:
    rc, out, _ = run(capsys, "--state", str(state))
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split() == ["time", "site", "supervisor", "action", "outcome", "details"]
    assert lines[1].split()[:5] == ["2026-11-22T10:00:00Z", "main", "alice", "pin", "accepted"]
    assert lines[2].split()[:6] == [
        "2026-11-22T10:01:00Z",
        "main",
        "bob",
        "pin",
        "rejected",
        "(unknown_queue)",
    ]
    assert lines[4].split()[:5] == ["2026-11-22T10:03:00Z", "main", "planner", "move", "commanded"]
    assert lines[4].endswith(
        "a17 email -> phone: phone SL 0.52 -> 0.81, more (command main-00000001-abcdef)"
    )
    assert len(lines) == 5


def test_json_keeps_the_payload(state: Path, capsys) -> None:
    rc, out, _ = run(capsys, "--state", str(state), "--format", "json")
    body = json.loads(out)
    assert rc == 0 and body["count"] == 4 == len(body["entries"])
    move = body["entries"][3]
    assert move["data"]["command_id"] == "main-00000001-abcdef"
    assert (move["supervisor"], move["action"], move["time"]) == (
        "planner",
        "move",
        "2026-11-22T10:03:00Z",
    )


def test_csv(state: Path, capsys) -> None:
    rc, out, _ = run(capsys, "--state", str(state), "--format", "csv", "--site", "main")
    rows = list(csv.reader(io.StringIO(out)))
    assert rc == 0
    assert rows[0] == ["time", "site", "supervisor", "action", "outcome", "details"]
    assert [r[2] for r in rows[1:]] == ["alice", "bob", "planner"]
    assert rows[3][5].startswith("a17 email -> phone: phone SL 0.52 -> 0.81, more")


@pytest.mark.parametrize(
    ("argv", "supervisors"),
    [
        (["--site", "paris"], ["alice"]),
        (["--supervisor", "alice"], ["alice", "alice"]),
        (["--supervisor", "planner"], ["planner"]),
        (["--since", "2026-11-22T10:01:00Z"], ["bob", "alice", "planner"]),
        (["--until", "2026-11-22T10:01:00Z"], ["alice"]),
        (
            ["--since", "2026-11-22T11:00:00+01:00", "--until", "2026-11-22T10:02:30Z"],
            ["alice", "bob", "alice"],  # 11:00+01:00 is 10:00Z
        ),
        (["--since", "1h"], []),  # all of it is from 2026-11-22, long before "now"
    ],
)
def test_filters(state: Path, capsys, argv, supervisors) -> None:
    rc, out, _ = run(capsys, "--state", str(state), "--format", "json", *argv)
    assert rc == 0
    assert [e["supervisor"] for e in json.loads(out)["entries"]] == supervisors


def test_state_path_from_the_config(state: Path, tmp_path: Path, capsys) -> None:
    conf = tmp_path / "staffer.toml"
    conf.write_text(f'[state]\npath = "{state}"\n')
    rc, out, _ = run(capsys, "-c", str(conf), "--format", "csv")
    assert rc == 0 and len(out.splitlines()) == 5


def test_empty_log(tmp_path: Path, capsys) -> None:
    StateStore.open(tmp_path / "s.db").close()
    rc, out, _ = run(capsys, "--state", str(tmp_path / "s.db"))
    assert rc == 0 and out.splitlines()[-1] == "(no entries)"


def test_errors_exit_2_with_one_line(tmp_path: Path, capsys) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    for argv, needle in [
        (["--state", str(tmp_path / "nope.db")], "does not exist"),
        (["--state", str(tmp_path)], "is a directory, not a file"),
        (["--state", str(other)], "not a staffer state database"),
        (["--state", str(tmp_path / "junk.db")], "junk.db"),
        (["--state", str(other), "--since", "yesterday"], "neither an RFC 3339 time"),
        (["-c", str(tmp_path / "missing.toml")], "no such configuration file"),
    ]:
        rc, out, err = run(capsys, *argv)
        assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err, (argv, err)
        assert out == ""


def test_the_reader_never_writes(state: Path) -> None:
    before = state.read_bytes()
    assert len(read_audit(state)) == 4
    assert state.read_bytes() == before


def test_expiries_are_by_system(tmp_path: Path, capsys) -> None:
    """An expiry is shown, and filtered, as the stored actor ``system`` (the supervisor who
    set the override is in its details), not as that supervisor."""
    path = tmp_path / "state.db"
    book = OverrideBook(id_factory=lambda _now: "ov9")
    req = OverrideRequest("r1", "lock_agent", {"agent": "e09"}, 60.0, True)
    with StateStore.open(path) as store:
        store.record_outcome_sync(book.handle("main", "alice", req, T, {"phone"}, 3600.0))
        [ov] = book.expire(T + 60)
        store.append_audit_sync([expiry_audit(ov, T + 60)])
    rc, out, _ = run(capsys, "--state", str(path), "--supervisor", "system")
    [expired] = out.splitlines()[1:]
    assert rc == 0 and expired.split()[1:5] == ["main", "system", "lock_agent", "expired"]
    assert expired.endswith("agent=e09, override ov9 (set by alice)")
    rc, out, _ = run(capsys, "--state", str(path), "--supervisor", "alice", "--format", "json")
    assert [e["outcome"] for e in json.loads(out)["entries"]] == ["accepted"]
    rc, out, _ = run(capsys, "--state", str(path), "--format", "json")
    assert [e["supervisor"] for e in json.loads(out)["entries"]] == ["alice", "system"]
    expiry = json.loads(out)["entries"][1]["data"]
    assert expiry["expires_at"] == "2026-11-22T10:01:00Z"


def test_json_times_are_rfc3339_and_the_ttl_a_number(state: Path, capsys) -> None:
    rc, out, _ = run(capsys, "--state", str(state), "--format", "json", "--supervisor", "alice")
    pin = json.loads(out)["entries"][0]
    assert rc == 0 and pin["action"] == "pin"
    assert (pin["data"]["expires_at"], pin["data"]["ttl_s"]) == ("2026-11-22T11:00:00Z", 3600.0)


def test_control_characters_never_make_a_row(tmp_path: Path, capsys) -> None:
    path = tmp_path / "state.db"
    forged = "x\n2026-12-07T23:00:00Z  main  planner  move  commanded  FORGED"
    with StateStore.open(path) as store:
        store.append_audit_sync(
            [
                AuditRecord(T, "main", "override", "ev\x1b[2Jil", {"action": "replan"}),
                move_audit(
                    "main",
                    T,
                    command_id="c1",
                    plan_id=None,
                    mode="assign",
                    move=Move("a1", None, "phone", forged),
                    decided_by="bob",
                ),
            ]
        )
    for fmt in ("table", "csv"):
        rc, out, _ = run(capsys, "--state", str(path), "--format", fmt)
        assert rc == 0 and len(out.splitlines()) == 3, out
        assert "\x1b" not in out and "ev\\u001b[2Jil" in out
        assert "x\\n2026-12-07T23:00:00Z" in out
