"""Faults on real processes: broker restarts, ``kill -9`` of the daemon, unusable state
files and event-clock jumps.

* Broker restart: the test stops mosquitto and starts a fresh one (no persistence, so no
  retained messages survive) on the same port; the daemon must reconnect with backoff,
  resubscribe, republish its retained status, plan and overrides, never re-send a move
  that is in flight and lose no override.
* ``kill -9``: ``python -m staffer run`` (event clock) is killed mid-stream; the SQLite
  file, opened read-only, must hold every acknowledged override, lock, in-flight move and
  audit record; the restarted daemon resumes from it (no command id reused, no in-flight
  move re-issued, locks and pins still shape the next plan).
* Unusable state (corrupt file, a directory): ``staffer run`` exits non-zero with a
  one-line error naming the file (no traceback) and leaves the file untouched (no silent
  fresh state).
* Clock jumps: a snapshot far in the future, then back, then after a long gap: every plan
  stays finite and non-negative and the daemon keeps answering.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from staffer.adapters.port import Inbound
from tests.conftest import Broker, free_port, start_mosquitto
from tests.integration.harness import (
    T0,
    WAIT_S,
    Peer,
    agent,
    fetch_retained,
    iso,
    make_settings,
    peer,
    running_daemon,
    spawn_daemon,
    staff_surge_site,
    surge_snapshot,
)
from tests.integration.test_process import _config, _http, _wait

SKILLS = ["phone", "email"]


async def _staff_retained(p: Peer, phone: int = 5, email: int = 12) -> None:
    """The surge roster of ``staff_surge_site``, retained as a bridge would publish it."""
    for i in range(phone):
        await p.publish(f"main/agents/p{i}/state", agent("busy", "phone", SKILLS), retain=True)
    for i in range(email):
        await p.publish(
            f"main/agents/e{i:02d}/state", agent("available", "email", SKILLS), retain=True
        )


def _moves(commands: list[dict]) -> list[tuple[str, str]]:
    return [(m["agent"], m["to"]) for c in commands for m in c["moves"]]


def _dups(items: list[Any]) -> list[Any]:
    return [k for k, n in Counter(items).items() if n > 1]


def check_plan_sane(plan: dict) -> None:
    """No negative, NaN or infinite rates/agents; ratios in [0, 1] (null allowed)."""
    for qid, q in plan["queues"].items():
        for key in ("assigned", "target", "required"):
            v = q[key]
            assert isinstance(v, int) and v >= 0, (qid, key, v, plan)
        rate = q["forecast_arrival_rate"]
        assert rate is not None and math.isfinite(rate) and rate >= 0, (qid, rate, plan)
        aht = q["forecast_aht_s"]
        assert aht is not None and math.isfinite(aht) and aht > 0, (qid, aht, plan)
        for key in ("predicted_service_level", "predicted_abandon_ratio"):
            v = q[key]
            assert v is None or (math.isfinite(v) and 0 <= v <= 1), (qid, key, v, plan)
        asa = q["predicted_asa_s"]
        assert asa is None or (math.isfinite(asa) and asa >= 0), (qid, asa, plan)


# -- broker restart --------------------------------------------------------------------------


async def _retained(broker: Broker, topic: str, pred: Any = lambda _: True) -> Any:
    """The retained JSON on ``topic`` once it satisfies ``pred`` (bounded wait)."""
    deadline = time.monotonic() + WAIT_S
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = (await fetch_retained(broker.host, broker.port, topic, timeout=0.5)).json()
        except (TimeoutError, AssertionError):
            last = None
        if last is not None and pred(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"no matching retained message on {topic}; last: {last}")


async def test_broker_restart_resubscribes_republishes_and_duplicates_nothing(
    tmp_path: Path, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="staffer.mqtt")
    port = free_port()
    settings = make_settings(
        f"mqtt://127.0.0.1:{port}",
        topic_prefix,
        tmp_path,
        planner={"move_timeout_s": 3600, "max_moves_per_cycle": 3},
    )
    commands: list[dict] = []
    async with running_daemon(settings, wait_connected=False) as daemon:
        with start_mosquitto(tmp_path / "b1", port=port) as broker:
            await asyncio.wait_for(daemon.connected.wait(), WAIT_S)
            async with peer(broker.host, broker.port, topic_prefix) as p:
                await _staff_retained(p)
                for req in (
                    {"id": "r1", "action": "lock_agent", "agent": "e11"},
                    {"id": "r2", "action": "pin", "queue": "chat", "max": 4, "ttl_s": 7200},
                ):
                    await p.publish("main/override/alice", req)
                await p.wait_for("main/override/alice/reply", count=2)
                await p.publish("main/metrics", surge_snapshot(T0))
                [plan1] = await p.wait_for("main/plan")
                await p.wait_for("main/commands")
                await p.settle()
                commands += [r.json() for r in p.on("main/commands")]
                caplog.clear()
        # -- the broker is gone: the daemon notices and keeps retrying with backoff --------
        deadline = time.monotonic() + WAIT_S
        while (
            daemon.mqtt.connected
            or sum("cannot connect to" in r.getMessage() for r in caplog.records) < 2
        ):
            assert time.monotonic() < deadline, (
                f"expected a disconnect and >= 2 failed reconnect attempts; log: "
                f"{[r.getMessage() for r in caplog.records]}"
            )
            await asyncio.sleep(0.05)
        assert any("disconnected from" in r.getMessage() for r in caplog.records)
        # -- a fresh broker (no retained messages at all) on the same port ----------------
        with start_mosquitto(tmp_path / "b2", port=port) as broker:
            await asyncio.wait_for(daemon.connected.wait(), WAIT_S)
            status = await _retained(broker, f"{topic_prefix}/status")
            assert status["status"] == "online"
            assert await _retained(broker, f"{topic_prefix}/main/plan") == plan1
            overrides = await _retained(broker, f"{topic_prefix}/main/overrides")
            assert {o["action"] for o in overrides} == {"lock_agent", "pin"}
            async with peer(broker.host, broker.port, topic_prefix) as p:
                # resubscribed: the next grid snapshot plans; a supervisor is answered
                await p.publish("main/metrics", surge_snapshot(T0 + 300))
                [plan2] = await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0 + 300))
                await p.publish("main/override/alice", {"id": "r3", "action": "replan"})
                [reply] = await p.wait_for("main/override/alice/reply")
                assert reply["ok"], reply
                await p.wait_for("main/plan", count=2)
                await p.settle()
                commands += [r.json() for r in p.on("main/commands")]
            assert daemon.book.count("main", T0 + 300) == 2, "an override was lost"
        metrics = daemon.metrics.exposition().decode()
    assert "staffer_mqtt_reconnects_total 1.0" in metrics
    ids = [c["command_id"] for c in commands]
    moves = _moves(commands)
    assert commands and not _dups(ids), f"command ids re-sent: {_dups(ids)}"
    assert not _dups(moves), f"moves commanded twice: {_dups(moves)}"
    assert all(a != "e11" for a, _ in moves), "the locked agent was moved"
    assert plan2["queues"]["chat"]["target"] <= 4, "the pin was lost"
    check_plan_sane(plan2)


# -- kill -9 of a daemon process ---------------------------------------------------------------


def _read_only(db: Path) -> dict[str, list[tuple]]:
    """Every table of the state file, read through a read-only connection."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            t: con.execute(f"SELECT * FROM {t}").fetchall()
            for t in ("overrides", "in_flight", "audit", "command_seq", "plans")
        }
    finally:
        con.close()


async def test_kill_9_mid_run_keeps_acknowledged_state(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    http_port = free_port()
    db = tmp_path / "state.db"
    conf = tmp_path / "staffer.toml"
    conf.write_text(
        _config(mosquitto, topic_prefix, db, http_port)
        + "move_timeout_s = 3600\nmax_moves_per_cycle = 3\nmin_dwell_s = 0\n",
        "utf-8",
    )
    log = tmp_path / "daemon.log"
    ready = f"http://127.0.0.1:{http_port}/readyz"
    proc = spawn_daemon(conf, log)
    try:
        await asyncio.to_thread(_wait, lambda: _http(ready) == 200)
        async with peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
            await staff_surge_site(p)  # not retained (the bridge's choice)
            for req in (
                {"id": "k1", "action": "lock_agent", "agent": "e11"},
                {"id": "k2", "action": "pin", "queue": "chat", "max": 4, "ttl_s": 7200},
                {"id": "k3", "action": "assign", "agent": "e10", "queue": "phone"},
                {"id": "k4", "action": "pin", "queue": "nope", "min": 1},
            ):
                await p.publish("main/override/alice", req)
            replies = await p.wait_for("main/override/alice/reply", count=4)
            assert [r["ok"] for r in replies] == [True, True, True, False], replies
            await p.publish("main/metrics", surge_snapshot(T0))
            await p.wait_for("main/commands", count=2)  # the assign and the plan's moves
            await p.settle()
            first = [r.json() for r in p.on("main/commands")]
            # mid-run: a stream of snapshots is being handled when the process dies
            for k in range(200):
                await p.publish(
                    "main/queues/phone/metrics",
                    {
                        "ts": iso(T0 + 1 + k),
                        "interval_s": 60,
                        "offered": 3,
                        "waiting": 1,
                        "aht_s": 240,
                    },
                )
            proc.send_signal(signal.SIGKILL)
            assert await asyncio.to_thread(proc.wait, 10) == -signal.SIGKILL
            # forget the retained overrides list, to see what the restarted daemon publishes
            await p.publish("main/overrides", None, raw=b"", retain=True)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # the file as the killed process left it, read-only
    rows = _read_only(db)
    ov = {
        (r[3], json.loads(r[4]).get("agent") or json.loads(r[4]).get("queue"))
        for r in rows["overrides"]
    }
    assert ov == {("lock_agent", "e11"), ("pin", "chat"), ("assign", "e10")}, rows["overrides"]
    issued = {(m["agent"], m["to"], c["command_id"]) for c in first for m in c["moves"]}
    assert {(r[1], r[2], r[3]) for r in rows["in_flight"]} == issued
    audited = [json.loads(r[5]) for r in rows["audit"] if r[4] == "alice" and r[3] == "override"]
    assert len(audited) == 4, rows["audit"]
    moved = {
        (m["agent"], m["to"], m["command_id"])
        for r in rows["audit"]
        if r[3] == "move"
        for m in [json.loads(r[5])]
    }
    assert moved == issued  # every commanded move is audited with its command (contract §16)
    assert rows["command_seq"] == [("main", len(first))]
    assert len(rows["plans"]) == 1

    # restart on the same file: state restored, next plan follows from it
    proc = spawn_daemon(conf, log)
    try:
        await asyncio.to_thread(_wait, lambda: _http(ready) == 200)
        metrics = (
            urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5)
            .read()
            .decode()
        )
        retained = await _retained(mosquitto, f"{topic_prefix}/main/overrides")
        async with peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
            await staff_surge_site(p)
            await p.publish("main/metrics", surge_snapshot(T0 + 300))
            [plan] = await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0 + 300))
            await p.publish("main/override/alice", {"id": "k5", "action": "replan"})
            await p.wait_for("main/override/alice/reply")
            await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0 + 300), count=2)
            await p.settle()
            later = [r.json() for r in p.on("main/commands")]
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check_plan_sane(plan)
    assert plan["queues"]["chat"]["target"] <= 4, "pin not restored"
    everything = first + later
    ids = [c["command_id"] for c in everything]
    assert not _dups(ids), f"command id reused after kill -9: {_dups(ids)}"
    in_flight_pairs = {(a, t) for a, t, _ in issued}
    again = set(_moves(later)) & in_flight_pairs
    assert not again, f"in-flight moves re-issued after restart: {again}"
    assert all(a not in ("e11", "e10") for a, _ in _moves(later)), "a locked agent moved"
    seqs = [int(i.split("-")[1]) for i in ids]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    rows = _read_only(db)
    requests = [r for r in rows["audit"] if r[4] == "alice" and r[3] == "override"]
    assert len(requests) == 5  # nothing lost or doubled
    # what a console sees right after the restart, before any new input
    assert f'staffer_moves_in_flight{{site="main"}} {float(len(issued))}' in metrics
    assert {o["action"] for o in retained} == {"lock_agent", "pin", "assign"}, (
        f"retained overrides after restart: {retained}"
    )
    assert 'staffer_overrides_active{site="main"} 3.0' in metrics, [
        ln for ln in metrics.splitlines() if ln.startswith("staffer_overrides_active")
    ]


# -- unusable state file -----------------------------------------------------------------------


def _run_with_state(tmp_path: Path, state: Path) -> subprocess.CompletedProcess[bytes]:
    conf = tmp_path / "staffer.toml"
    conf.write_text(
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{free_port()}"\n'
        f'[http]\nport = 0\n[state]\npath = "{state}"\n',
        "utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "staffer", "run", "-c", str(conf)],
        capture_output=True,
        timeout=30,
        check=False,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("kind", ["corrupt", "directory"])
def test_unusable_state_file_exits_with_one_line(tmp_path: Path, kind: str) -> None:
    state = tmp_path / "state.db"
    if kind == "directory":
        state.mkdir()
        before = None
    else:
        state.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
        before = state.read_bytes()
    try:
        done = _run_with_state(tmp_path, state)
    except subprocess.TimeoutExpired:
        raise AssertionError("staffer run started on an unusable state file") from None
    err = done.stderr.decode().strip()
    assert done.returncode != 0
    # start-up log lines may precede it; the error itself is one line, no traceback
    assert "Traceback" not in err, f"expected a one-line error, got:\n{err}"
    last = err.splitlines()[-1] if err else ""
    assert "error" in last and (str(state) in last or state.name in last), err
    if before is not None:
        assert state.read_bytes() == before, "the unusable file was modified"
    else:
        assert state.is_dir() and not any(state.iterdir())


# -- clock jumps -------------------------------------------------------------------------------


async def test_clock_jumps_keep_plans_sane(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url,
        topic_prefix,
        tmp_path,
        planner={"min_dwell_s": 600, "move_timeout_s": 600},
        mqtt={"max_clock_skew_s": 0},  # a replay far ahead of today: future_ts off
    )
    far = T0 + 400 * 86400  # 400 days ahead, on the grid
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        await _staff_retained(p)
        n = 0

        async def replan() -> None:
            nonlocal n
            n += 1
            seen = len(p.on("main/plan"))
            await p.publish("main/override/alice", {"id": f"c{n}", "action": "replan"})
            [reply] = (await p.wait_for("main/override/alice/reply", count=n))[-1:]
            assert reply["ok"], reply
            await p.wait_for("main/plan", count=seen + 1)

        await p.publish("main/metrics", surge_snapshot(T0))
        await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0))
        await p.publish("main/metrics", surge_snapshot(far))  # far future
        await p.wait_for("main/plan", lambda x: x["as_of"] == iso(far))
        await p.publish("main/metrics", surge_snapshot(T0 + 300))  # back again
        await p.publish("main/agents/e00/state", agent("busy", "phone", SKILLS, T0 + 310))
        await replan()
        await p.publish("main/metrics", surge_snapshot(far + 6 * 3600))  # 6 h gap
        await p.wait_for("main/plan", lambda x: x["as_of"] == iso(far + 6 * 3600))
        quiet = {
            "ts": iso(far + 6 * 3600 + 300),
            "queues": {
                "phone": {"interval_s": 300, "offered": 0, "waiting": 0},
                "chat": {"interval_s": 300, "offered": 0, "waiting": 0},
                "email": {"interval_s": 300, "offered": 0, "waiting": 0, "backlog": 0},
            },
        }
        await p.publish("main/metrics", quiet)
        await p.wait_for("main/plan", lambda x: x["as_of"] == quiet["ts"])
        await replan()
        await p.settle()
        plans = [r.json() for r in p.on("main/plan")]
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"http://127.0.0.1:{daemon.http_port}/healthz") as r,
        ):
            assert r.status == 200
        assert daemon.mqtt.connected
    assert len(plans) >= 6
    for plan in plans:
        check_plan_sane(plan)
    commands = [r.json() for r in p.on("main/commands")]
    assert not _dups([c["command_id"] for c in commands])


# -- a reply due while the broker is away ------------------------------------------------------


async def test_reply_due_during_an_outage_is_delivered_after_reconnect(
    tmp_path: Path, topic_prefix: str
) -> None:
    """Contract §4: every request gets exactly one reply. A request the daemon took in
    just before the connection died (QoS 1: the broker considers it delivered) is
    answered once the daemon is back, not dropped. The request is handed to the daemon
    while it is disconnected, which is that race with the window held open."""
    port = free_port()
    settings = make_settings(
        f"mqtt://127.0.0.1:{port}",
        topic_prefix,
        tmp_path,
        mqtt={"reconnect_min_s": 1.0, "reconnect_max_s": 2.0},
    )
    async with running_daemon(settings, wait_connected=False) as daemon:
        with start_mosquitto(tmp_path / "b1", port=port) as broker:
            await asyncio.wait_for(daemon.connected.wait(), WAIT_S)
            async with peer(broker.host, broker.port, topic_prefix) as p:
                await _staff_retained(p)
                await p.publish("main/metrics", surge_snapshot(T0))
                await p.wait_for("main/plan")
        deadline = time.monotonic() + WAIT_S
        while daemon.mqtt.connected:
            assert time.monotonic() < deadline, "the daemon did not notice the outage"
            await asyncio.sleep(0.05)
        request = {"id": "during-outage", "action": "pin", "queue": "chat", "max": 3}
        await daemon.handle(
            Inbound(f"{topic_prefix}/main/override/alice", json.dumps(request).encode())
        )
        with start_mosquitto(tmp_path / "b2", port=port) as broker:
            # subscribed before the daemon's first reconnect attempt (>= 1 s backoff)
            async with peer(broker.host, broker.port, topic_prefix) as p:
                await asyncio.wait_for(daemon.connected.wait(), WAIT_S)
                assert daemon.book.count("main", T0) == 1  # the pin itself was taken
                replies = await p.wait_for(
                    "main/override/alice/reply", lambda r: r["id"] == "during-outage"
                )
                assert replies[0]["ok"], replies
