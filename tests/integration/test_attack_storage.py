"""Issue 14 item 2: a state disk that stops taking writes (real daemon, real mosquitto).

No root needed: Python ignores SIGXFSZ, so lowering the daemon's RLIMIT_FSIZE with
``resource.prlimit`` makes every write past the limit fail with EFBIG, as on a full
disk (SQLite reports "database or disk is full" at COMMIT, WAL and main file alike).
Raising it again is the disk recovering. The daemon's log goes through a pipe (a log
FILE would hit the limit too), collected by a thread.

While storage fails: every request is answered ``ok: false, code: storage``, nothing
is commanded or counted, ``/readyz`` is 503, ``staffer_storage_ok`` is 0 and the log has
one error line, not a traceback per request. When the disk recovers the next write
flips everything back by itself, and what was refused was never applied (a restart
shows exactly the overrides that were acknowledged).

As root, the same on a real 4 MB tmpfs that fills up (skipped, with the reason, where
mounting is not permitted).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Broker, free_port
from tests.integration.harness import T0, Peer, iso, peer, staff_surge_site, surge_snapshot
from tests.integration.test_process import _config, _http, _wait

FULL = 1  # bytes: nothing more can be written to any file


class Daemon:
    """``staffer run`` as a child process whose output is collected through a pipe."""

    def __init__(self, conf: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "staffer", "run", "-c", str(conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=conf.parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace"))

    def disk(self, limit: int) -> None:
        """Set the daemon's file-size limit (``FULL``: the disk is full)."""
        _soft, hard = resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (limit, hard))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(5)


def _metric(http_port: int, name: str) -> float:
    url = f"http://127.0.0.1:{http_port}/metrics"
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _request(p: Peer, rid: str, body: dict) -> dict:
    def mine(r: dict) -> bool:
        return r.get("id") == rid

    seen = len([r for r in p.on("main/override/alice/reply") if mine(r.json())])
    await p.publish("main/override/alice", {"id": rid, **body})
    return (await p.wait_for("main/override/alice/reply", mine, count=seen + 1))[-1]


async def test_full_disk_answers_storage_and_recovers(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    http_port = free_port()
    db = tmp_path / "state.db"
    conf = tmp_path / "staffer.toml"
    conf.write_text(
        _config(mosquitto, topic_prefix, db, http_port)
        + "move_timeout_s = 3600\nmax_moves_per_cycle = 10\nmin_dwell_s = 0\n",
        "utf-8",
    )
    ready = f"http://127.0.0.1:{http_port}/readyz"
    d = Daemon(conf)
    try:
        await asyncio.to_thread(_wait, lambda: _http(ready) == 200)
        assert _metric(http_port, "staffer_storage_ok") == 1
        async with peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
            await staff_surge_site(p)
            assert (await _request(p, "before", {"action": "lock_agent", "agent": "e11"}))["ok"]

            d.disk(FULL)
            replies = [
                await _request(p, f"full{i}", {"action": "pin", "queue": "chat", "max": i + 1})
                for i in range(30)
            ]
            assert all(not r["ok"] and r["error"]["code"] == "storage" for r in replies), replies
            # an assign's move is not commanded either
            assign = await _request(
                p, "full-assign", {"action": "assign", "agent": "e10", "queue": "phone"}
            )
            assert assign["error"]["code"] == "storage", assign
            # a plan with moves (auto mode): published, but its command is not
            await p.publish("main/metrics", surge_snapshot(T0))
            [plan] = await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0))
            assert plan["moves"], plan  # the planner did want moves
            await p.settle(1.0)
            assert p.on("main/commands") == []
            assert _metric(http_port, "staffer_commands_total") == 0
            assert _metric(http_port, "staffer_moves_total") == 0
            assert _metric(http_port, "staffer_storage_ok") == 0
            assert await asyncio.to_thread(_http, ready) == 503
            # the retained overrides list shows only what was acknowledged
            listed = [r.json() for r in p.on("main/overrides")][-1]
            assert [o["action"] for o in listed] == ["lock_agent"], listed

            d.disk(resource.RLIM_INFINITY)  # the disk recovers
            after = await _request(p, "after", {"action": "pin", "queue": "chat", "max": 4})
            assert after["ok"], after
            assert _metric(http_port, "staffer_storage_ok") == 1
            assert await asyncio.to_thread(_http, ready) == 200
            # a refused request id can be retried once the disk is back
            again = await _request(p, "full0", {"action": "pin", "queue": "chat", "max": 1})
            assert again["ok"], again
            # the next plan commands the moves that were never sent
            await p.publish("main/metrics", surge_snapshot(T0 + 300))
            [cmd] = await p.wait_for("main/commands")
            assert cmd["moves"]
            assert _metric(http_port, "staffer_commands_total") == 1
        assert d.stop() == 0
    finally:
        d.stop()
    log = "".join(d.lines)
    assert "Traceback" not in log, log[-3000:]
    errors = [ln for ln in d.lines if "state storage" in ln and "ERROR" in ln]
    assert len(errors) == 1, errors  # one loud line, not one per request
    assert any("recovered" in ln for ln in d.lines), log[-3000:]

    # restart: exactly what was acknowledged survived
    d = Daemon(conf)
    try:
        await asyncio.to_thread(_wait, lambda: _http(ready) == 200)
        assert _metric(http_port, "staffer_overrides_active") == 2  # lock e11 + pin chat
    finally:
        assert d.stop() == 0


# -- root only: a real full disk and a read-only remount (a tiny tmpfs) ---------------------------


@contextlib.contextmanager
def _tiny_tmpfs(where: Path) -> Iterator[Path]:
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the RLIMIT_FSIZE test covers it without)")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"mount not permitted here: {proc.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path) -> Path:
    """Write a file until the tmpfs is full (ENOSPC)."""
    filler = disk / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


async def test_real_full_disk(mosquitto: Broker, topic_prefix: str, tmp_path: Path) -> None:
    """A 4 MB tmpfs filled up under the running daemon, then freed. (A read-only remount
    cannot be tested this way: Linux refuses it while the daemon holds the file open for
    writing; a file read-only at start is refused by the write probe, test_faults.py.)"""
    with _tiny_tmpfs(tmp_path / "disk") as disk:
        http_port = free_port()
        conf = tmp_path / "staffer.toml"
        conf.write_text(_config(mosquitto, topic_prefix, disk / "state.db", http_port), "utf-8")
        ready = f"http://127.0.0.1:{http_port}/readyz"
        d = Daemon(conf)
        try:
            await asyncio.to_thread(_wait, lambda: _http(ready) == 200)
            async with peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
                await p.publish("main/metrics", surge_snapshot(T0))
                assert (await _request(p, "ok1", {"action": "lock_agent", "agent": "a1"}))["ok"]
                filler = _fill(disk)
                for i in range(5):
                    reply = await _request(p, f"bad{i}", {"action": "lock_agent", "agent": "a2"})
                    assert reply["error"]["code"] == "storage", reply
                assert _metric(http_port, "staffer_storage_ok") == 0
                assert await asyncio.to_thread(_http, ready) == 503
                filler.unlink()
                assert (await _request(p, "ok2", {"action": "lock_agent", "agent": "a2"}))["ok"]
                assert _metric(http_port, "staffer_storage_ok") == 1
                assert await asyncio.to_thread(_http, ready) == 200
            assert d.stop() == 0
        finally:
            d.stop()
        assert "Traceback" not in "".join(d.lines), "".join(d.lines)[-3000:]
