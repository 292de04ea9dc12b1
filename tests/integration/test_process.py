"""`staffer run` as a real process (signals, reload, exit codes), the wall clock, sharding."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from staffer.core.sharding import owns
from tests.conftest import Broker, free_port
from tests.integration.harness import (
    fetch_retained,
    make_settings,
    peer,
    running_daemon,
    staff_surge_site,
)


def _config(broker: Broker, prefix: str, state: Path, http_port: int, mode: str = "auto") -> str:
    return (
        f'[mqtt]\nurl = "{broker.url}"\ntopic_prefix = "{prefix}"\n'
        f'client_id = "cli-{prefix}"\nreconnect_min_s = 0.05\n'
        f'[http]\nport = {http_port}\n[state]\npath = "{state}"\n'
        f'[planner]\nmode = "{mode}"\nclock = "event"\n'
    )


def _http(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status)
    except OSError as err:
        return int(getattr(err, "code", 0) or 0)


def _wait(pred: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_staffer_run_signals(mosquitto: Broker, topic_prefix: str, tmp_path: Path) -> None:
    http_port = free_port()
    conf = tmp_path / "staffer.toml"
    conf.write_text(_config(mosquitto, topic_prefix, tmp_path / "s.db", http_port), "utf-8")
    log = (tmp_path / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "staffer", "run", "-c", str(conf), "--log-format", "json"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait(lambda: _http(f"http://127.0.0.1:{http_port}/readyz") == 200)
        # SIGHUP with a broken file: keeps running on the old configuration
        conf.write_text("[planner]\nmode = 'sideways'\n", "utf-8")
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: b"reload failed" in (tmp_path / "daemon.log").read_bytes())
        assert proc.poll() is None
        # SIGHUP with a good file: applied
        conf.write_text(
            _config(mosquitto, topic_prefix, tmp_path / "s.db", http_port, mode="shadow"), "utf-8"
        )
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: b"configuration reloaded" in (tmp_path / "daemon.log").read_bytes())
        _wait(
            lambda: (
                b'staffer_mode{mode="shadow",site="main"} 1.0'
                in urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=2).read()
            )
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    lines = (tmp_path / "daemon.log").read_text("utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(r["msg"] == "stopped" for r in records)
    import asyncio

    status = asyncio.run(fetch_retained(mosquitto.host, mosquitto.port, f"{topic_prefix}/status"))
    assert status.json() == {"status": "offline"}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "-c", "/nonexistent/staffer.toml"], "no such configuration file"),
        (["run", "--http-port", "99999"], "outside"),
    ],
)
def test_staffer_run_usage_errors_exit_2(argv: list[str], needle: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "staffer", *argv], capture_output=True, timeout=30, check=False
    )
    assert done.returncode == 2
    err = done.stderr.decode().strip()
    assert needle in err and len(err.splitlines()) == 1


def test_staffer_run_bad_config_value_exits_2(tmp_path: Path) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text("[planner]\ninterval_s = -5\n", "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "staffer", "run", "-c", str(conf)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.decode().count("\n") == 1 and "planner.interval_s" in done.stderr.decode()


async def test_wall_clock_plans_on_the_grid(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url,
        topic_prefix,
        tmp_path,
        planner={"clock": "wall", "interval_s": 1, "mode": "shadow"},
    )
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        plans = await p.wait_for("main/plan", count=2)
    for plan in plans:
        as_of = datetime.fromisoformat(plan["as_of"].replace("Z", "+00:00")).timestamp()
        assert abs(as_of - round(as_of)) < 0.5  # fired on (near) a whole second


async def test_replica_serves_only_its_shard(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    sites = [f"site{i}" for i in range(8)]
    mine = [s for s in sites if owns(s, 1, 2)]
    theirs = [s for s in sites if not owns(s, 1, 2)]
    assert mine and theirs
    settings = make_settings(
        mosquitto.url, topic_prefix, tmp_path, sites=[{"id": s} for s in sites]
    )
    settings = settings.model_copy(
        update={"cluster": settings.cluster.model_copy(update={"shard_index": 1, "shard_count": 2})}
    )
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        assert sorted(daemon.sites) == sorted(mine)
        for s in sites:
            await p.publish(f"{s}/override/dan", {"id": s, "action": "replan"})
        replies = await p.wait_for(f"{mine[0]}/override/dan/reply")
        assert replies[0]["id"] == mine[0]
        for s in mine:
            await p.wait_for(f"{s}/override/dan/reply")
        await p.settle()
        assert all(p.on(f"{s}/override/dan/reply") == [] for s in theirs)
        status = (
            await fetch_retained(mosquitto.host, mosquitto.port, f"{topic_prefix}/status")
        ).json()
        assert status["sites"] == mine and status["shard_index"] == 1


def test_example_config_documents_the_defaults() -> None:
    """config/staffer.toml shows every key with its default value: loading it changes
    nothing, and every key of every section appears in it."""
    from staffer.settings import QueueSettings, Settings, SiteSettings, load_settings

    root = Path(__file__).resolve().parents[2]
    path = root / "config" / "staffer.toml"
    assert load_settings(path, env={}) == Settings()
    text = path.read_text("utf-8")
    sections = [m.annotation for n, m in Settings.model_fields.items() if n != "sites"]
    keys = [k for sec in sections for k in sec.model_fields]  # type: ignore[union-attr]
    keys += [k for k in SiteSettings.model_fields if k != "queues"]
    keys += list(QueueSettings.model_fields)
    assert [k for k in keys if f"{k} =" not in text] == []
