"""staffer.adapters.oplog: one line stays one line, the health line changes only when its
figures do, and the JSON format carries the structured fields."""

from __future__ import annotations

import io
import json
import logging

from staffer.adapters import oplog
from staffer.adapters.log import setup_logging
from staffer.core.types import Move


def capture(fmt: str) -> io.StringIO:
    out = io.StringIO()
    setup_logging("INFO", fmt, out)
    return out


def teardown_function() -> None:
    setup_logging("WARNING", "text")


def test_clean_keeps_one_line_and_clips() -> None:
    assert oplog.clean("a\nb\x1b[31m") == "a\\nb\\x1b[31m"
    assert oplog.clean("x" * 300) == "x" * 200 + "…"
    assert oplog.clean(None) == "None"


def test_command_line_text_and_json() -> None:
    moves = [Move("a17", "email", "phone", "phone SL 0.52 -> 0.81"), Move("a3", None, "chat", "r")]
    out = capture("text")
    oplog.command("main", "main-7", "auto", "planner", moves)
    line = out.getvalue().strip()
    assert "\n" not in line
    assert line.split(" ", 1)[1].startswith(
        "INFO staffer.ops: site main: command main-7 (auto, by planner), 2 move(s): "
        "a17 email -> phone (phone SL 0.52 -> 0.81); a3 - -> chat (r)"
    )
    assert "moves=" not in line  # structured moves only in JSON
    out = capture("json")
    oplog.command("main", "main-7", "auto", "planner", moves)
    obj = json.loads(out.getvalue())
    assert (obj["event"], obj["site"], obj["command_id"]) == ("command", "main", "main-7")
    assert obj["moves"][1] == {"agent": "a3", "from": None, "to": "chat", "reason": "r"}


def test_health_logged_only_when_it_changes() -> None:
    out = capture("text")
    health = oplog.HealthLog()
    ok = oplog.Health(True, 1, (), (), 0, 0, 0)
    assert health.update(ok) and not health.update(ok)
    stale = oplog.Health(
        False, 2, (("b", "shadow"),), tuple(f"a/q{i:02d}" for i in range(12)), 3, 1, 2
    )
    assert health.update(stale)
    assert health.update(ok)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert "INFO" in lines[0] and lines[0].endswith(
        "health: mqtt=up sites=1 not_auto=- stale=- in_flight=0 proposals=0 overrides=0"
        " event=health"  # the text format appends the context fields
    )
    assert "WARNING" in lines[1] and lines[1].endswith(
        "health: mqtt=down sites=2 not_auto=b:shadow "
        "stale=a/q00,a/q01,a/q02,a/q03,a/q04,a/q05,a/q06,a/q07,a/q08,a/q09,+2 more "
        "in_flight=3 proposals=1 overrides=2 event=health"
    )
    assert logging.getLogger("staffer.ops").name == "staffer.ops"
