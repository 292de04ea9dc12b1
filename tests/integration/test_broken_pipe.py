"""``staffer ctl watch | head -1``: the reader going away ends a running watch quietly
(exit 1, the Python docs' code on EPIPE; no BrokenPipeError traceback)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import Broker
from tests.integration.cli_runner import clean_env
from tests.integration.harness import (
    T0,
    make_settings,
    peer,
    running_daemon,
    staff_surge_site,
    surge_snapshot,
)


async def test_watch_into_a_closed_pipe_exits_quietly(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    conn = ("--url", mosquitto.url, "--topic-prefix", topic_prefix)
    async with (
        running_daemon(settings),
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "staffer", "ctl", "watch", *conn,
            cwd=tmp_path, env=clean_env(), stdout=write_end, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        os.close(write_end)
        try:
            assert proc.stderr is not None
            ready = await asyncio.wait_for(proc.stderr.readline(), 60)
            assert b"watching site main" in ready, ready
            await staff_surge_site(p)
            await p.publish("main/metrics", surge_snapshot(T0))  # the planner moves agents
            err = await asyncio.wait_for(proc.stderr.read(), 30)
            assert await proc.wait() == 1
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert err == b""
