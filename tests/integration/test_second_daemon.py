"""Two `staffer run` processes on one state file (contract §16): the second exits 2 at once
with one line naming the file and the first's pid; the first keeps serving, never
disconnected, and its state is intact."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

from staffer.adapters.store import StateStore
from tests.conftest import Broker, free_port
from tests.integration.harness import agent, peer
from tests.integration.test_process import _config, _http, _wait


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def _last_open(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return str(conn.execute("SELECT value FROM meta WHERE key='last_open'").fetchone()[0])
    finally:
        conn.close()


async def _pin(broker: Broker, prefix: str, request_id: str, queue: str) -> dict:
    async with peer(broker.host, broker.port, prefix) as sup:
        # the event clock starts with the site's first timestamp (before it: ``unavailable``)
        await sup.publish("main/agents/a1/state", agent("busy", "phone", ["phone"]))
        await sup.wait_for("main/agents/a1/state")
        await sup.publish(
            "main/override/alice",
            {"id": request_id, "action": "pin", "queue": queue, "min": 1, "reason": "lock test"},
        )
        (reply,) = await sup.wait_for("main/override/alice/reply", lambda r: r["id"] == request_id)
        return reply


def test_second_daemon_on_the_same_state_file_exits_2(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    first_port, second_port = free_port(), free_port()
    first_cfg, second_cfg = tmp_path / "first.toml", tmp_path / "second.toml"
    first_cfg.write_text(_config(mosquitto, topic_prefix, db, first_port), "utf-8")
    # the same state file, its own HTTP port: only the state file is shared
    second_cfg.write_text(_config(mosquitto, topic_prefix, db, second_port), "utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with (tmp_path / "first.log").open("wb") as log:
        first = subprocess.Popen(
            [sys.executable, "-m", "staffer", "run", "-c", str(first_cfg)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    try:
        _wait(lambda: _http(f"http://127.0.0.1:{first_port}/readyz") == 200, timeout=30)
        assert asyncio.run(_pin(mosquitto, topic_prefix, "before", "chat"))["ok"] is True
        opened = _last_open(db)

        second = subprocess.run(
            [sys.executable, "-m", "staffer", "run", "-c", str(second_cfg)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        assert second.returncode == 2, second.stderr
        assert second.stderr == (
            f"staffer: error: state file {db} is in use by another staffer "
            f"(pid {first.pid} on {os.uname().nodename}, lock {db}.lock); stop it first, "
            "or give this daemon its own [state] path\n"
        )
        assert second.stdout == ""
        assert _http(f"http://127.0.0.1:{second_port}/healthz") == 0  # never served

        # the first: still ready, never knocked off the broker, state untouched and writable
        assert first.poll() is None
        assert _http(f"http://127.0.0.1:{first_port}/readyz") == 200
        assert _metric(first_port, "staffer_mqtt_reconnects_total") == 0
        assert _last_open(db) == opened  # the second did not even probe the database
        assert asyncio.run(_pin(mosquitto, topic_prefix, "after", "email"))["ok"] is True
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    with StateStore.open(db) as store:  # the lock is free again, both requests on disk
        ids = {o.override_id for o in store.load_overrides_sync()}
        audit = [json.dumps(r.payload) for r in store.audit_sync()]
    assert len(ids) == 2, ids
    assert any('"before"' in a for a in audit) and any('"after"' in a for a in audit)
