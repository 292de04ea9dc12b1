"""`staffer ctl` as a real process against a real mosquitto and the real daemon: every §4
action, the retained topics as tables and JSON, watch, MQTT 5 and 3.1.1, exit codes."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from staffer.core.types import Pin
from tests.conftest import Broker, free_port
from tests.integration.cli_runner import Done, staffer, staffer_background
from tests.integration.harness import (
    T0,
    agent,
    make_settings,
    peer,
    running_daemon,
    staff_surge_site,
    surge_snapshot,
)

ONE_LINE_ERROR = re.compile(r"^staffer ctl: \S.*\n$")


def ctl_for(broker: Broker, prefix: str, cwd: Path, *conn: str):
    async def ctl(*argv: str) -> Done:
        return await staffer(
            "ctl", *argv, "--url", broker.url, "--topic-prefix", prefix, *conn, cwd=cwd
        )

    return ctl


def watching(broker: Broker, prefix: str, cwd: Path, *argv: str):
    """``staffer ctl watch ARGV`` in the background, once it is subscribed."""
    conn = ("--url", broker.url, "--topic-prefix", prefix)
    return staffer_background("ctl", "watch", *argv, *conn, cwd=cwd, ready="watching site main")


def _ok(done: Done) -> str:
    assert done.rc == 0, (done.rc, done.out, done.err)
    return done.out


async def test_every_action_through_ctl(mosquitto: Broker, topic_prefix: str, tmp_path: Path):
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "alice")
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        await staff_surge_site(p)
        pin = _ok(await ctl("pin", "phone", "--min", "6", "--max", "30", "--ttl", "15m"))
        oid = re.match(r"ok, override (\w+), until ", pin).group(1)  # type: ignore[union-attr]
        [ov] = daemon.book.active("main", T0)
        assert (ov.override_id, ov.payload, ov.supervisor) == (oid, Pin("phone", 6, 30), "alice")
        assert ov.expires_at is not None and ov.expires_at - ov.created_at == 900

        table = _ok(await ctl("overrides"))
        assert oid in table and "queue=phone min=6 max=30" in table
        listed = json.loads(_ok(await ctl("overrides", "--json")))
        assert [o["override_id"] for o in listed["overrides"]] == [oid]

        assert _ok(await ctl("unpin", "phone")).startswith("ok")
        assert daemon.book.active("main", T0) == []
        forged = "line one\n2026-12-07T23:00:00Z  main  planner  move  commanded  FORGED ROW"
        _ok(await ctl("lock", "e00", "--reason", forged))
        assert "e00" in daemon.book.controls("main", T0, "auto").locked_agents
        rows = _ok(await ctl("overrides")).splitlines()  # the reason cannot add a row
        assert len(rows) == 2 and rows[1].endswith(
            "line one\\n2026-12-07T23:00:00Z  main  planner  move  commanded  FORGED ROW"
        )
        _ok(await ctl("unlock", "e00"))
        assert "e00" not in daemon.book.controls("main", T0, "auto").locked_agents

        _ok(await ctl("assign", "e01", "phone", "--reason", "VIP caller"))
        [command] = await p.wait_for("main/commands")
        [move] = command["moves"]
        assert (move["agent"], move["from"], move["to"]) == ("e01", "email", "phone")
        assert move["reason"] == "assigned by alice: VIP caller"

        _ok(await ctl("mode", "shadow", "--ttl", "permanent"))
        goal = _ok(await ctl("target", "phone", "--sl", "0.9", "--target-s", "15s"))
        goal_id = goal.split()[2].rstrip(",")
        controls = daemon.book.controls("main", T0, "auto")
        assert controls.mode == "shadow"
        assert [(g.sl_target, g.target_s) for g in controls.goals] == [(0.9, 15.0)]

        _ok(await ctl("replan"))
        plan = _ok(await ctl("plan"))
        assert "mode shadow" in plan.splitlines()[0]
        phone = next(line for line in plan.splitlines() if line.startswith("phone"))
        assert "90%" in phone and "voice" in phone
        as_json = json.loads(_ok(await ctl("plan", "--json")))
        assert as_json["mode"] == "shadow" and as_json["queues"]["phone"]["sl_target"] == 0.9

        assert _ok(await ctl("cancel", goal_id)).strip() == f"ok, cancelled {goal_id}"
        assert daemon.book.controls("main", T0, "auto").goals == ()

        status = _ok(await ctl("status"))
        assert re.search(r"^status\s+online$", status, re.M)
        assert json.loads(_ok(await ctl("status", "--json")))["sites"] == ["main"]

        assert daemon.store is not None
        audit = [a for a in await daemon.store.audit("main", limit=100) if a.kind == "override"]
        assert [a.payload["action"] for a in audit] == [
            "pin",
            "unpin",
            "lock_agent",
            "unlock_agent",
            "assign",
            "mode",
            "target",
            "replan",
            "cancel",
        ]
        assert {a.actor for a in audit} == {"alice"}


async def test_the_daemon_saying_no_exits_1(mosquitto: Broker, topic_prefix: str, tmp_path: Path):
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "bob")
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        cases = [
            (("cancel", "nope"), "not_found"),
            (("pin", "fax", "--max", "1"), "unknown_queue"),
            (("pin", "phone", "--min", "9", "--max", "3"), "invalid: min 9 > max 3"),
            (("assign", "ghost", "phone"), "unknown_agent"),
            (("target", "phone", "--sl", "1.5"), "invalid"),
        ]
        for argv, needle in cases:
            done = await ctl(*argv)
            assert done.rc == 1, (argv, done)
            assert ONE_LINE_ERROR.match(done.err) and needle in done.err, done.err
            assert "Traceback" not in done.err and done.out == ""
        done = await ctl("--json", "unpin", "phone")
        assert done.rc == 1
        reply = json.loads(done.out)
        assert reply["ok"] is False and reply["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("daemon_protocol", "ctl_protocol"), [("auto", "3.1.1"), ("3.1.1", "5"), ("3.1.1", "3.1.1")]
)
async def test_mqtt_5_and_311(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path, daemon_protocol: str, ctl_protocol: str
):
    """Request/response with the response topic (v5) and the reply-topic fallback (3.1.1),
    whichever side speaks which."""
    settings = make_settings(
        mosquitto.url, topic_prefix, tmp_path, mqtt={"protocol": daemon_protocol}
    )
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--protocol", ctl_protocol, "--as", "carol")
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        assert daemon.mqtt.protocol == ("3.1.1" if daemon_protocol == "3.1.1" else "5")
        await p.publish("main/agents/a1/state", agent("busy", "phone", ["phone"]))  # clock
        await p.wait_for("main/agents/a1/state")  # through the broker before the request
        assert _ok(await ctl("lock", "x1")).startswith("ok, override ")
        done = await ctl("cancel", "nope")
        assert done.rc == 1 and "not_found" in done.err


async def test_watch_prints_moves_replies_and_proposals(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
):
    """The real daemon in approve mode: a plan opens proposals, an approval closes one
    and commands it, an assign commands at once; watch prints each with its reason."""
    settings = make_settings(
        mosquitto.url, topic_prefix, tmp_path, planner={"mode": "approve", "max_moves_per_cycle": 2}
    )
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "alice")
    async with (
        running_daemon(settings),
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
        watching(
            mosquitto, topic_prefix, tmp_path, "--count", "7", "--json", "--as", "alice"
        ) as watcher,
    ):
        await staff_surge_site(p)
        await p.publish("main/metrics", surge_snapshot(T0))  # two proposals open
        [listing] = await p.wait_for("main/proposals", lambda b: len(b["proposals"]) == 2)
        first, second = (x["proposal_id"] for x in listing["proposals"])
        _ok(await ctl("approve", first))  # a reply, a move, a proposal closed
        _ok(await ctl("assign", "e11", "phone", "--reason", "VIP caller"))  # a reply, a move
        out, _ = await asyncio.wait_for(watcher.communicate(), 30)
        assert watcher.returncode == 0
    events = [json.loads(line) for line in out.decode().splitlines()]
    assert sorted(e["event"] for e in events) == [
        "move",
        "move",
        "proposal_closed",
        "proposal_open",
        "proposal_open",
        "reply",
        "reply",
    ]
    opened = [e for e in events if e["event"] == "proposal_open"]
    assert [e["proposal_id"] for e in opened] == [first, second]
    assert all(e["reason"].startswith("phone SL ") for e in opened)
    [closed] = [e for e in events if e["event"] == "proposal_closed"]
    assert closed["proposal_id"] == first
    approved, assigned = (e for e in events if e["event"] == "move")
    assert (approved["mode"], approved["proposal_id"]) == ("approve", first)
    assert approved["reason"] == opened[0]["reason"]
    assert (assigned["agent"], assigned["from"], assigned["to"]) == ("e11", "email", "phone")
    assert assigned["reason"] == "assigned by alice: VIP caller" and assigned["mode"] == "assign"
    replies = [e for e in events if e["event"] == "reply"]
    assert [r["ok"] for r in replies] == [True, True] and replies[0]["approved"][0][
        "proposal_id"
    ] == first
    assert {r["supervisor"] for r in replies} == {"alice"}


async def test_watch_text_lines_carry_the_reason(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
):
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    async with (
        running_daemon(settings),
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
        watching(mosquitto, topic_prefix, tmp_path, "--count", "2") as watcher,
    ):
        await staff_surge_site(p)
        await p.publish("main/metrics", surge_snapshot(T0))  # the planner moves agents
        out, _ = await asyncio.wait_for(watcher.communicate(), 30)
    lines = out.decode().splitlines()
    assert len(lines) == 2 and watcher.returncode == 0
    for line in lines:
        assert re.match(
            r"^2026-11-22T08:00:00Z  move \S+ \[auto\] e\d\d email -> phone: phone SL ", line
        ), line


async def test_proposals_table_from_the_daemon(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
):
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"mode": "shadow"})
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path)
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        assert _ok(await ctl("proposals")).splitlines()[1] == "no open proposals"
        await staff_surge_site(p)
        await p.publish("main/metrics", surge_snapshot(T0))
        [listing] = await p.wait_for("main/proposals", lambda b: b["proposals"])
        table = _ok(await ctl("proposals")).splitlines()
        assert table[0] == "site main  as of 2026-11-22T08:00:00Z"
        assert table[1].split() == ["proposal", "move", "expires", "reason"]
        first = listing["proposals"][0]
        assert table[2].split()[:6] == [
            first["proposal_id"],
            first["agent"],
            "email",
            "->",
            "phone",
            "2026-11-22T08:10:00Z",
        ]
        assert " phone SL " in table[2]
        listed = json.loads(_ok(await ctl("proposals", "--json")))
        assert listed == listing


async def test_no_reply_dead_broker_and_nothing_retained_exit_3(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
):
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path)
    done = await ctl("replan", "--timeout", "1")  # no daemon serves this prefix
    assert done.rc == 3 and ONE_LINE_ERROR.match(done.err)
    assert "no reply from the daemon within 1 s" in done.err
    done = await ctl("plan", "--timeout", "1")
    assert done.rc == 3 and "nothing retained on" in done.err
    dead = f"mqtt://user:s3cret@127.0.0.1:{free_port()}"
    done = await staffer("ctl", "--url", dead, "replan", cwd=tmp_path)
    assert done.rc == 3 and ONE_LINE_ERROR.match(done.err)
    assert "cannot reach the MQTT broker at mqtt://127.0.0.1:" in done.err
    assert "s3cret" not in done.err + done.out
