"""Commands survive a broken broker link (issue 14, item 3), on a real mosquitto.

* broker restart mid-burst: 150 commands published while the broker is stopped and
  started again on the same port (persistence on, as in production);
* a half-open link: the broker is SIGSTOPped with commands on the wire; the daemon's
  keepalive finds the link dead, and the stopped broker is then killed and replaced
  (what it had read into its socket buffer is gone, as with a dead network path).

Every command the daemon took an id for must reach a bridge that was subscribed
throughout (a persistent session): at least once; the bridge deduplicates by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest

from staffer.app import Daemon
from staffer.core.types import Move
from tests.conftest import free_port, mosquitto_binary, stop_process, wait_for_port
from tests.integration.harness import WAIT_S, make_settings, running_daemon

pytestmark = pytest.mark.skipif(mosquitto_binary() is None, reason="needs mosquitto")


@contextlib.contextmanager
def broker_process(workdir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A mosquitto on ``port`` that saves its sessions at every change (so a crash keeps
    the bridge's subscription), as a process the test can stop and kill."""
    binary = mosquitto_binary()
    assert binary is not None
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        + ("user root\n" if os.geteuid() == 0 else "")  # else it cannot write the files
        + f"persistence true\npersistence_location {workdir}/\n"
        "autosave_interval 1\nautosave_on_changes true\nmax_queued_messages 100000\n"
        f"log_type error\nlog_dest file {workdir / 'mosquitto.log'}\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            stop_process(proc, 5.0)


class Bridge:
    """A bridge's persistent session on the commands topic, reconnecting forever."""

    def __init__(self, port: int, prefix: str) -> None:
        self.port, self.prefix = port, prefix
        self.ids: list[str] = []

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.port,
                    identifier=f"bridge-{self.prefix}",
                    protocol=aiomqtt.ProtocolVersion.V311,
                    clean_session=False,
                    keepalive=60,
                ) as client:
                    await client.subscribe(f"{self.prefix}/+/commands", qos=1)
                    async for m in client.messages:
                        body = m.payload if isinstance(m.payload, bytes) else b""
                        self.ids.append(__import__("json").loads(body)["command_id"])
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    async def wait_for(self, ids: set[str], timeout_s: float) -> set[str]:
        """The ids of ``ids`` still missing after ``timeout_s`` (empty: all arrived)."""
        deadline = time.monotonic() + timeout_s
        while (missing := ids - set(self.ids)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return missing


@contextlib.asynccontextmanager
async def bridge(port: int, prefix: str) -> AsyncIterator[Bridge]:
    b = Bridge(port, prefix)
    task = asyncio.create_task(b.run())
    try:
        yield b
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def command(daemon: Daemon, i: int) -> None:
    """One planner-path command of one move (Runtime.command, as a plan's moves go)."""
    site = daemon.runtime.sites["main"]
    move = Move(f"a{i:03d}", "email", "phone", "test")
    await daemon.runtime.command(site, [move], None, time.time(), "auto")


async def commanded(daemon: Daemon) -> set[str]:
    """The command ids the daemon took (their audit rows are written with them)."""
    assert await daemon.emit.drain(WAIT_S) and daemon.store is not None
    rows = daemon.store.audit_sync("main", limit=100000)
    return {r.payload["command_id"] for r in rows if r.kind == "move"}


async def subscribed(b: Bridge, port: int, prefix: str) -> None:
    """The bridge's subscription is live (a probe command reaches it) and saved."""
    async with aiomqtt.Client("127.0.0.1", port) as probe:
        for _ in range(100):
            await probe.publish(f"{prefix}/probe/commands", b'{"command_id": "probe"}', qos=1)
            if "probe" in b.ids:
                break
            await asyncio.sleep(0.1)
    assert "probe" in b.ids
    await asyncio.sleep(1.5)  # autosave_interval 1: the session is on the broker's disk


async def test_every_command_of_a_burst_arrives_across_a_broker_restart(
    tmp_path: Path, topic_prefix: str
) -> None:
    port = free_port()
    settings = make_settings(
        f"mqtt://127.0.0.1:{port}",
        topic_prefix,
        tmp_path,
        planner={"move_timeout_s": 3600},
        mqtt={"session_expiry_s": 60},
    )
    with broker_process(tmp_path / "broker", port) as first:
        async with bridge(port, topic_prefix) as b, running_daemon(settings) as daemon:
            await subscribed(b, port, topic_prefix)
            for i in range(150):
                await command(daemon, i)
                if i == 60:
                    first.terminate()  # the broker restarts mid-burst
                    first.wait(5)
                    restarted = broker_process(tmp_path / "broker", port)
                    second = restarted.__enter__()
                await asyncio.sleep(0.002)
            try:
                await asyncio.wait_for(daemon.connected.wait(), WAIT_S)
                sent = await commanded(daemon)
                assert len(sent) == 150
                missing = await b.wait_for(sent, 3 * WAIT_S)
                assert not missing, f"{len(missing)} of 150 never arrived: {sorted(missing)}"
                await asyncio.sleep(0.5)  # the acknowledged ones leave the pending list
                assert daemon.store is not None
                assert daemon.store.load_pending_commands_sync() == []
            finally:
                restarted.__exit__(None, None, None)
                del second


async def test_commands_sent_into_a_half_open_link_arrive_after_the_reconnect(
    tmp_path: Path, topic_prefix: str
) -> None:
    port = free_port()
    settings = make_settings(
        f"mqtt://127.0.0.1:{port}",
        topic_prefix,
        tmp_path,
        planner={"move_timeout_s": 3600},
        mqtt={"keepalive_s": 1, "session_expiry_s": 60},
    )
    with broker_process(tmp_path / "broker", port) as stopped:
        async with bridge(port, topic_prefix) as b, running_daemon(settings) as daemon:
            await subscribed(b, port, topic_prefix)
            os.kill(stopped.pid, signal.SIGSTOP)  # the link goes half-open
            await command(daemon, 1)
            await command(daemon, 2)
            deadline = time.monotonic() + WAIT_S
            while daemon.mqtt.connected:  # keepalive finds the link dead
                assert time.monotonic() < deadline, "the dead link was never noticed"
                await asyncio.sleep(0.1)
            stopped.kill()  # what it had in its socket buffers is gone
            stopped.wait(5)
            with broker_process(tmp_path / "broker", port):
                await asyncio.wait_for(daemon.connected.wait(), 3 * WAIT_S)
                sent = await commanded(daemon)
                assert len(sent) == 2
                missing = await b.wait_for(sent, 3 * WAIT_S)
                assert not missing, f"{len(missing)} of 2 commands never arrived"
