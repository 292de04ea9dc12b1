"""Integration harness: an in-process daemon and an MQTT peer on a real broker.

``running_daemon(settings)`` runs `staffer.app.Daemon` in a task until the block
ends; ``Peer`` is a test client (bridge, supervisor, console) that records every
message under the test's topic prefix and waits for the ones a test expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from staffer.app import Daemon
from staffer.settings import Settings, settings_from_dict

T0 = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC).timestamp()  # on every grid
WAIT_S = 10.0


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def make_settings(
    broker_url: str,
    prefix: str,
    state_dir: Path,
    *,
    planner: dict[str, Any] | None = None,
    mqtt: dict[str, Any] | None = None,
    sites: list[dict[str, Any]] | None = None,
) -> Settings:
    """Test settings: event clock, 300 s grid, ephemeral HTTP port, fast reconnects."""
    return settings_from_dict(
        {
            "mqtt": {
                "url": broker_url,
                "topic_prefix": prefix,
                "client_id": f"staffer-{prefix}",
                "reconnect_min_s": 0.05,
                "reconnect_max_s": 0.5,
                **(mqtt or {}),
            },
            "http": {"host": "127.0.0.1", "port": 0},
            "state": {"path": str(state_dir / "state.db")},
            "planner": {"clock": "event", "interval_s": 300, "min_dwell_s": 0, **(planner or {})},
            "sites": sites or [{"id": "main"}],
        },
        env={},
    )


@contextlib.asynccontextmanager
async def running_daemon(
    settings: Settings,
    *,
    wait_connected: bool = True,
    reload: Callable[[], Settings] | None = None,
) -> AsyncIterator[Daemon]:
    """Run the daemon in-process; stop it (and check it stopped) at the end."""
    daemon = Daemon(settings, reload=reload)
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    try:
        while daemon.http is not None and daemon.http._bound is None:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        if wait_connected:
            await asyncio.wait_for(daemon.connected.wait(), WAIT_S)
        yield daemon
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    correlation_data: bytes | None = None

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Peer:
    """A test MQTT client that records messages and publishes JSON."""

    client: aiomqtt.Client
    prefix: str
    received: list[Received] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def _pump(self) -> None:
        async for m in self.client.messages:
            props = m.properties
            cd = getattr(props, "CorrelationData", None) if props is not None else None
            payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
            self.received.append(Received(str(m.topic), payload, bool(m.retain), cd))
            self._changed.set()

    def on(self, suffix: str) -> list[Received]:
        """Messages received on ``{prefix}/{suffix}`` so far."""
        topic = f"{self.prefix}/{suffix}"
        return [r for r in self.received if r.topic == topic]

    async def wait_for(
        self,
        suffix: str,
        pred: Callable[[Any], bool] = lambda _: True,
        timeout: float = WAIT_S,
        count: int = 1,
    ) -> list[Any]:
        """Wait until ``count`` JSON messages on the topic satisfy ``pred``; return them."""
        deadline = time.monotonic() + timeout
        while True:
            hits = [r.json() for r in self.on(suffix) if pred(r.json())]
            if len(hits) >= count:
                return hits
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [r.payload[:200] for r in self.on(suffix)]
                raise AssertionError(f"timed out waiting for {suffix}: got {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))

    async def publish(
        self,
        suffix: str,
        obj: Any,
        *,
        retain: bool = False,
        raw: bytes | None = None,
        response_topic: str | None = None,
        correlation: bytes | None = None,
    ) -> None:
        props = None
        if response_topic is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = response_topic
            if correlation is not None:
                props.CorrelationData = correlation
        payload = raw if raw is not None else json.dumps(obj).encode()
        await self.client.publish(
            f"{self.prefix}/{suffix}", payload, qos=1, retain=retain, properties=props
        )

    async def settle(self, seconds: float = 0.3) -> None:
        """Give the daemon a moment (used only before asserting that nothing arrived)."""
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def peer(
    host: str,
    port: int,
    prefix: str,
    *,
    v5: bool = True,
    identifier: str | None = None,
    **client_options: Any,
) -> AsyncIterator[Peer]:
    """A connected Peer subscribed to everything under ``prefix``.

    ``client_options`` go to ``aiomqtt.Client`` (e.g. ``tls_params``, ``username``).
    """
    proto = aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311
    async with aiomqtt.Client(
        host, port, protocol=proto, identifier=identifier, **client_options
    ) as client:
        p = Peer(client, prefix)
        await client.subscribe(f"{prefix}/#", qos=1)
        task = asyncio.create_task(p._pump())
        try:
            yield p
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task


# -- payload builders ----------------------------------------------------------------------------


def agent(status: str, queue: str | None, skills: list[str], ts: float = T0 - 60) -> dict:
    return {"ts": iso(ts), "status": status, "queue": queue, "skills": skills}


def queue_body(
    offered: int,
    waiting: int,
    *,
    interval_s: float = 300,
    aht_s: float = 240,
    answered: int | None = None,
    within: int | None = None,
    backlog: int | None = None,
    oldest_age_s: float | None = None,
) -> dict:
    body: dict[str, Any] = {
        "interval_s": interval_s,
        "offered": offered,
        "waiting": waiting,
        "aht_s": aht_s,
    }
    if answered is not None:
        body["answered"] = answered
    if within is not None:
        body["answered_within_target"] = within
    if backlog is not None:
        body["backlog"] = backlog
    if oldest_age_s is not None:
        body["oldest_age_s"] = oldest_age_s
    return body


def surge_snapshot(ts: float) -> dict:
    """A phone surge (about 10 Erlangs on 5 agents) with a quiet email queue."""
    return {
        "ts": iso(ts),
        "queues": {
            "phone": queue_body(12, 8, aht_s=240, answered=4, within=1),
            "chat": queue_body(1, 0, aht_s=480, answered=1, within=1),
            "email": queue_body(1, 0, aht_s=360, backlog=3, oldest_age_s=600),
        },
    }


async def staff_surge_site(p: Peer, site: str = "main", phone: int = 5, email: int = 12) -> None:
    """Publish agent states: ``phone`` agents on phone, ``email`` idle on email, all
    skilled for phone and email."""
    for i in range(phone):
        await p.publish(f"{site}/agents/p{i}/state", agent("busy", "phone", ["phone", "email"]))
    for i in range(email):
        await p.publish(
            f"{site}/agents/e{i:02d}/state", agent("available", "email", ["phone", "email"])
        )


async def fetch_retained(host: str, port: int, topic: str, timeout: float = 2.0) -> Received:
    """The retained message on ``topic`` (a fresh subscription sees it with retain set)."""
    async with aiomqtt.Client(host, port) as client:
        await client.subscribe(topic, qos=1)
        async with asyncio.timeout(timeout):
            async for m in client.messages:
                payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
                return Received(str(m.topic), payload, bool(m.retain))
    raise AssertionError(f"no retained message on {topic}")


def spawn_daemon(conf: Path, log: Path) -> subprocess.Popen[bytes]:
    """``staffer run -c CONF`` as a real child process, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "staffer", "run", "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=conf.parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
