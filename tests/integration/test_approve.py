"""Approve mode (contract §9) end to end: the real daemon on a real mosquitto, driven by a
supervisor through `staffer ctl` (real child processes), a scripted bridge (`Peer`), and
`staffer audit` reading the state file. The event clock makes plans happen on demand: a
site snapshot on the 300 s grid plans, one off the grid only moves the clock (and sweeps).

Covered: approve one, a list and --all; approve twice; --all with nothing open; an unknown
id; a stale proposal (agent locked, agent moved); reject and its cool-down; expiry after
proposal_ttl_s; withdrawal when a later plan no longer wants a move; ids stable across
plans; a restart (proposals survive); kill -9 right after an approval's reply (the
command arrives exactly once); shadow mode (read-only); the audit in three formats.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import signal
import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import Broker
from tests.integration.cli_runner import Done, staffer
from tests.integration.harness import (
    T0,
    Peer,
    agent,
    iso,
    make_settings,
    peer,
    queue_body,
    running_daemon,
    spawn_daemon,
    staff_surge_site,
    surge_snapshot,
)
from tests.integration.test_ctl import ONE_LINE_ERROR, ctl_for

PROPOSAL_ID = re.compile(r"^p-[0-9a-f]{12}$")


def ok(done: Done) -> str:
    assert done.rc == 0, (done.rc, done.out, done.err)
    return done.out


def refused(done: Done, code: str) -> str:
    """A ``ctl`` run the daemon said no to: exit 1, one line ``code: message``."""
    assert done.rc == 1, (done.rc, done.out, done.err)
    assert ONE_LINE_ERROR.match(done.err) and f"staffer ctl: {code}: " in done.err, done.err
    assert done.out == "" and "Traceback" not in done.err
    return done.err


async def open_ids(ctl: Any) -> list[str]:
    body = json.loads(ok(await ctl("proposals", "--json")))
    return [p["proposal_id"] for p in body["proposals"]]


async def wait_ids(ctl: Any, pred: Any, tries: int = 100) -> list[str]:
    """The retained proposals once ``pred(ids)`` holds (the daemon publishes them after
    handling a message: poll the retained topic instead of sleeping)."""
    for _ in range(tries):
        ids = await open_ids(ctl)
        if pred(ids):
            return ids
        await asyncio.sleep(0.1)
    raise AssertionError(f"proposals never satisfied the condition: {ids}")


async def synced(p: Peer, tag: str) -> None:
    """Wait until the daemon has handled everything ``p`` published before: a request on
    the same connection (MQTT keeps one client's order) and its reply."""
    await p.publish("main/override/bridge", {"id": tag, "action": "unpin", "queue": "phone"})
    await p.wait_for("main/override/bridge/reply", lambda r: r["id"] == tag)


async def plan_at(p: Peer, ts: float, snapshot: dict[str, Any] | None = None) -> dict[str, Any]:
    """A site snapshot at ``ts`` (on the grid: a plan); the plan it triggered, once its
    proposals (approve and shadow mode) are published too."""
    await p.publish("main/metrics", snapshot or surge_snapshot(ts))
    [plan] = await p.wait_for("main/plan", lambda x: x["as_of"] == iso(ts))
    if plan["mode"] in ("approve", "shadow"):
        await p.wait_for("main/proposals", lambda x: x["as_of"] == iso(ts))
    return plan


def quiet_snapshot(ts: float) -> dict[str, Any]:
    """The surge is over: phone has nothing waiting, email a growing backlog."""
    return {
        "ts": iso(ts),
        "queues": {
            "phone": queue_body(1, 0, aht_s=240, answered=1, within=1),
            "chat": queue_body(0, 0, aht_s=480),
            "email": queue_body(30, 0, aht_s=360, backlog=200, oldest_age_s=20000),
        },
    }


async def test_approve_one_a_list_and_all_through_ctl(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"mode": "approve"})
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "alice")
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        assert "no open proposals" in ok(await ctl("proposals"))  # published at connect
        await staff_surge_site(p)
        plan = await plan_at(p, T0)
        table = ok(await ctl("proposals")).splitlines()
        assert table[0] == f"site main  as of {iso(T0)}"
        assert table[1].split() == ["proposal", "move", "expires", "reason"]
        ids = await open_ids(ctl)
        assert len(ids) == plan["moves"] >= 5 and all(PROPOSAL_ID.match(i) for i in ids)
        assert table[2].split()[:5] == [ids[0], *table[2].split()[1:4], "phone"]
        assert p.on("main/commands") == []  # approve mode: nothing moves by itself

        # a later plan that still wants the same moves keeps their ids
        await plan_at(p, T0 + 300)
        assert await open_ids(ctl) == ids

        # approve one: one command whose move carries the proposal and the approver
        out = ok(await ctl("approve", ids[0], "--reason", "go"))
        lines = out.splitlines()
        assert lines[0] == "ok" and lines[1].startswith(f"approved {ids[0]}: e")
        cid = re.fullmatch(r"command (main-\d{8}-[0-9a-f]{6})", lines[2]).group(1)  # type: ignore[union-attr]
        [command] = await p.wait_for("main/commands")
        assert command["command_id"] == cid and command["mode"] == "approve"
        [move] = command["moves"]
        assert (move["proposal_id"], move["approved_by"], move["to"]) == (ids[0], "alice", "phone")
        assert daemon.sites["main"].flights.is_in_flight(move["agent"], "phone")

        # approving it again: unknown_proposal, and nothing is sent twice
        err = refused(await ctl("approve", ids[0]), "unknown_proposal")
        assert f"proposal '{ids[0]}' was already approved by alice" in err
        refused(await ctl("approve", "p-000000000000"), "unknown_proposal")
        # a list: one command with both moves
        ok(await ctl("approve", ids[1], ids[2]))
        [_, listed] = await p.wait_for("main/commands", count=2)
        assert [m["proposal_id"] for m in listed["moves"]] == ids[1:3]
        # --all: the rest; then nothing is open
        reply = json.loads(ok(await ctl("approve", "--all", "--json")))
        assert [a["proposal_id"] for a in reply["approved"]] == ids[3:]
        [*_, everything] = await p.wait_for("main/commands", count=3)
        assert everything["command_id"] == reply["command_id"]
        assert await wait_ids(ctl, lambda i: i == []) == []
        refused(await ctl("approve", "--all"), "no_proposals")
        await p.settle()
        assert len(p.on("main/commands")) == 3
        metrics = daemon.exposition().decode()
        assert f'staffer_proposals_total{{outcome="approved",site="main"}} {len(ids)}.0' in metrics
        assert 'staffer_mode{mode="approve",site="main"} 1.0' in metrics


async def test_stale_proposals_through_ctl(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"mode": "approve"})
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "bob")
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        await plan_at(p, T0)
        body = json.loads(ok(await ctl("proposals", "--json")))
        [first, second, *rest] = body["proposals"]
        ok(await ctl("lock", first["agent"], "--reason", "training"))
        err = refused(await ctl("approve", first["proposal_id"]), "stale_proposal")
        assert f"agent {first['agent']} is locked" in err
        # the agent moved by itself (the bridge says so) before anyone approved
        moved = agent("available", "chat", ["phone", "email", "chat"], T0 + 10)
        await p.publish(f"main/agents/{second['agent']}/state", moved)
        await synced(p, "moved")
        err = refused(await ctl("approve", second["proposal_id"]), "stale_proposal")
        assert f"agent {second['agent']} has since moved to chat" in err
        # --all skips what no longer applies (already closed) and commands the rest
        reply = json.loads(ok(await ctl("approve", "--all", "--json")))
        assert [a["proposal_id"] for a in reply["approved"]] == [r["proposal_id"] for r in rest]
        [command] = await p.wait_for("main/commands")
        assert {m["agent"] for m in command["moves"]} == {r["agent"] for r in rest}


async def test_reject_cooldown_expiry_and_withdrawal_through_ctl(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    """Plans fall due on the 300 s grid; a snapshot before the next grid time only moves
    the clock and sweeps, and ``replan`` plans at once (between grid times)."""
    planner = {"mode": "approve", "proposal_ttl_s": 250, "reject_cooldown_s": 1800}
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner=planner)
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "carol")
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        assert daemon.store is not None
        await staff_surge_site(p)
        await plan_at(p, T0)
        body = json.loads(ok(await ctl("proposals", "--json")))
        first = body["proposals"][0]
        cooled = first["agent"]
        out = ok(await ctl("reject", first["proposal_id"], "--reason", "she is on a course"))
        assert out.splitlines() == [
            "ok",
            f"rejected {first['proposal_id']}",
            f"not proposed again before {iso(T0 + 1800)}",
        ]
        ids = await wait_ids(ctl, lambda i: first["proposal_id"] not in i)
        assert len(ids) == len(body["proposals"]) - 1
        [cooldown] = daemon.store.load_cooldowns_sync()["main"]
        assert (cooldown.agent, cooldown.queue, cooldown.source) == (cooled, "phone", "carol")
        assert cooldown.reason.endswith(": she is on a course")

        # expiry: proposal_ttl_s after they opened, a snapshot's sweep closes them
        await p.publish("main/metrics", surge_snapshot(T0 + 260))
        assert await wait_ids(ctl, lambda i: i == []) == []
        err = refused(await ctl("approve", ids[0]), "unknown_proposal")
        assert f"proposal '{ids[0]}' expired" in err
        expired = f'proposals_total{{outcome="expired",site="main"}} {len(ids)}.0'
        assert expired in daemon.exposition().decode()

        # the next plan proposes again (new ids), but not the cooled-down pair
        await plan_at(p, T0 + 300)
        fresh = json.loads(ok(await ctl("proposals", "--json")))["proposals"]
        assert fresh and not {x["proposal_id"] for x in fresh} & set(ids)
        assert cooled not in {x["agent"] for x in fresh if x["to"] == "phone"}

        # withdrawal: the surge is over; a replan no longer wants those moves
        await p.publish("main/metrics", quiet_snapshot(T0 + 310))
        ok(await ctl("replan"))
        wanted = await wait_ids(ctl, lambda i: i != [x["proposal_id"] for x in fresh])
        gone = [x["proposal_id"] for x in fresh if x["proposal_id"] not in wanted]
        err = refused(await ctl("approve", gone[0]), "unknown_proposal")
        assert "was withdrawn (no longer planned)" in err
        withdrawn = f'proposals_total{{outcome="withdrawn",site="main"}} {len(gone)}.0'
        assert withdrawn in daemon.exposition().decode()

        # the cool-down ends on the site's clock, in memory and on disk
        assert daemon.sites["main"].cooldowns.blocks(cooled, "phone", T0 + 1799)
        await p.publish("main/metrics", quiet_snapshot(T0 + 1850))
        for _ in range(100):
            if not daemon.store.load_cooldowns_sync():
                break
            await asyncio.sleep(0.1)
        assert daemon.store.load_cooldowns_sync() == {}
        assert len(daemon.sites["main"].cooldowns) == 0
        assert p.on("main/commands") == []  # approve mode: nothing without an approval


async def test_shadow_mode_proposals_are_read_only_through_ctl(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"mode": "shadow"})
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "dave")
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        plan = await plan_at(p, T0)
        ids = await open_ids(ctl)
        assert plan["mode"] == "shadow" and len(ids) == plan["moves"] > 0
        err = refused(await ctl("approve", ids[0]), "shadow_mode")
        assert "read-only" in err
        refused(await ctl("reject", ids[0]), "shadow_mode")
        ok(await ctl("mode", "approve", "--reason", "looks right"))
        assert "approved" in ok(await ctl("approve", ids[0]))  # the very same proposal
        [command] = await p.wait_for("main/commands")
        assert command["moves"][0]["proposal_id"] == ids[0]
        ok(await ctl("mode", "auto"))  # leaving approve mode withdraws what is open at once
        assert await wait_ids(ctl, lambda i: i == []) == []


async def test_proposals_survive_a_restart_with_their_ids(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"mode": "approve"})
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "erin")
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        await plan_at(p, T0)
        before = await open_ids(ctl)
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        assert await open_ids(ctl) == before  # restored, republished at connect
        await staff_surge_site(p)  # agent states are live data: the bridge reports again
        await p.publish("main/metrics", surge_snapshot(T0 + 60))  # the clock, off the grid
        await synced(p, "reported")
        out = ok(await ctl("approve", before[0]))
        assert out.splitlines()[1].startswith(f"approved {before[0]}: ")
        await plan_at(p, T0 + 300)
        await p.wait_for("main/proposals", lambda b: b["as_of"] == iso(T0 + 300))
        kept = await open_ids(ctl)  # a plan after the restart keeps their ids
        assert set(before[1:]) <= set(kept) and before[0] not in kept


# -- kill -9 right after an approval's reply --------------------------------------------------


def _config(broker: Broker, prefix: str, state: Path) -> str:
    return (
        f'[mqtt]\nurl = "{broker.url}"\ntopic_prefix = "{prefix}"\n'
        f'client_id = "kill9-{prefix}"\nreconnect_min_s = 0.05\n'
        f'[http]\nenabled = false\n[state]\npath = "{state}"\n'
        '[planner]\nmode = "approve"\nclock = "event"\nmin_dwell_s = 0\nmove_timeout_s = 3600\n'
    )


async def _online(p: Peer, n: int) -> None:
    """The daemon's ``n``-th retained online status (its presence after a start)."""
    await p.wait_for("status", lambda s: s["status"] == "online", count=n, timeout=30)


async def test_kill_9_right_after_an_approval_reply_sends_the_command_once(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    """A real ``staffer run``: approve through ctl, SIGKILL the daemon the moment ctl has
    the reply, restart it on the same state file. The bridge (subscribed throughout) gets
    the command exactly once, and the restarted daemon neither re-proposes nor re-issues
    the approved move; what was still open is open again under the same ids."""
    db, conf, log = tmp_path / "state.db", tmp_path / "staffer.toml", tmp_path / "daemon.log"
    conf.write_text(_config(mosquitto, topic_prefix, db), "utf-8")
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "alice")
    async with peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        proc = spawn_daemon(conf, log)
        try:
            await _online(p, 1)
            await staff_surge_site(p)
            await plan_at(p, T0)
            ids = await open_ids(ctl)
            out = ok(await ctl("approve", ids[0], ids[1]))
            proc.send_signal(signal.SIGKILL)  # right after the reply
            assert await asyncio.to_thread(proc.wait, 10) == -signal.SIGKILL
            cid = out.splitlines()[-1].split()[-1]
            pending = _rows(db, "SELECT command_id FROM pending_commands")
            proc = spawn_daemon(conf, log)
            await _online(p, 2)
            assert await open_ids(ctl) == ids[2:]  # restored and republished
            await staff_surge_site(p)
            await plan_at(p, T0 + 300)  # a plan after the restart
            [after] = await p.wait_for("main/proposals", lambda b: b["as_of"] == iso(T0 + 300))
            await p.settle(1.0)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.to_thread(proc.wait, 15)
    commands = [r.json() for r in p.on("main/commands")]
    assert [c["command_id"] for c in commands] == [cid], commands  # exactly once
    assert [m["proposal_id"] for m in commands[0]["moves"]] == ids[:2]
    # the approved moves are in flight again after the restart: not proposed again
    approved = {m["agent"] for m in commands[0]["moves"]}
    assert not approved & {x["agent"] for x in after["proposals"]}
    assert set(ids[2:]) <= {x["proposal_id"] for x in after["proposals"]}  # ids kept
    assert pending == []  # the broker had it before the reply was sent
    flights = _rows(db, "SELECT agent, command_id FROM in_flight")
    assert {c for _, c in flights} == {cid} and len(flights) == 2
    moved = _rows(db, "SELECT payload FROM audit WHERE kind = 'move'")
    assert sorted(json.loads(r)["proposal_id"] for (r,) in moved) == sorted(ids[:2])


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# -- the audit: who moved whom, and why -----------------------------------------------------


async def test_audit_shows_planner_approval_and_assign_moves_in_three_formats(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url, topic_prefix, tmp_path, planner={"max_moves_per_cycle": 2}
    )
    ctl = ctl_for(mosquitto, topic_prefix, tmp_path, "--as", "alice")
    state = str(settings.state.path)

    async def audit(*argv: str) -> str:
        done = await staffer("audit", "--state", state, *argv, cwd=tmp_path)
        assert done.rc == 0 and done.err == "", done
        return done.out

    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        await plan_at(p, T0)  # auto: the planner moves two agents itself
        [auto] = await p.wait_for("main/commands")
        ok(await ctl("mode", "approve"))
        await plan_at(p, T0 + 300)
        [pid, *_] = await open_ids(ctl)
        ok(await ctl("approve", pid, "--reason", "agreed"))
        ok(await ctl("assign", "p4", "email", "--reason", "backlog"))
        await p.wait_for("main/commands", count=3)
        rows = json.loads(await audit("--format", "json"))["entries"]
    moves = [e for e in rows if e["action"] == "move"]
    assert [(e["supervisor"], e["outcome"]) for e in moves] == [
        ("planner", "commanded"),
        ("planner", "commanded"),
        ("alice", "approved"),
        ("alice", "assigned"),
    ]
    for e, m in zip(moves[:2], auto["moves"], strict=True):
        d = e["data"]
        assert (d["command_id"], d["agent"], d["from"], d["to"], d["reason"]) == (
            auto["command_id"],
            m["agent"],
            m["from"],
            m["to"],
            m["reason"],
        )
        move = f"{m['agent']} {m['from']} -> {m['to']}: {m['reason']}"
        assert e["details"] == f"{move} (command {auto['command_id']})"
    approved = moves[2]
    assert approved["data"]["proposal_id"] == pid and approved["data"]["decided_by"] == "alice"
    assert f"(command {approved['data']['command_id']}, proposal {pid})" in approved["details"]
    [decision] = [e for e in rows if e["action"] == "approve"]
    assert decision["outcome"] == "accepted" and f"approved {pid}" in decision["details"]
    assert decision["data"]["command_id"] == approved["data"]["command_id"]
    assert moves[3]["details"].startswith("p4 phone -> email: assigned by alice: backlog (command ")

    table = (await audit("--supervisor", "planner")).splitlines()
    assert table[0].split() == ["time", "site", "supervisor", "action", "outcome", "details"]
    assert [line.split()[2:5] for line in table[1:]] == [["planner", "move", "commanded"]] * 2
    assert f"(command {auto['command_id']})" in table[1]
    rows_csv = list(csv.reader(io.StringIO(await audit("--format", "csv"))))
    assert rows_csv[0] == ["time", "site", "supervisor", "action", "outcome", "details"]
    move_rows = [r for r in rows_csv[1:] if r[3] == "move"]
    assert [r[2] for r in move_rows] == ["planner", "planner", "alice", "alice"]
    assert move_rows[2][5] == approved["details"] and move_rows[2][4] == "approved"
