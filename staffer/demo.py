"""``staffer demo``: broker, simulated contact center and the real daemon on one machine.

1. an embedded amqtt broker on a free 127.0.0.1 port;
2. the real daemon in-process (``staffer.app.run_daemon``) with the event clock, a temp
   state directory and HTTP on port 0;
3. the simulated surge day driven through MQTT by :class:`staffer.sim.bridge.SimBridge`,
   a bridge built on ``staffer.bridge`` exactly as a contact-center bridge would be
   (it acknowledges every move: accepted at once, done when the agent switches);
4. the same day (same seed, identical contacts) under the static schedule, offline;
5. a static-vs-staffer KPI table and a PNG chart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from staffer.bridge import Bridge
from staffer.settings import settings_from_dict
from staffer.sim.bridge import BridgeStats, SimBridge, TickReport
from staffer.sim.engine import Engine
from staffer.sim.kpis import DayKpis, compute_kpis
from staffer.sim.run import run_policy, trace_of
from staffer.sim.scenario import Scenario, load_scenario

DEMO_SCENARIO = "surge"
SHORT_SCENARIO = "short"


@dataclass
class DemoResult:
    """What the demo produced."""

    static: DayKpis
    staffer: DayKpis
    chart: Path | None
    metrics_url: str | None
    plans: int
    missed_plans: int
    elapsed_s: float
    bridge: BridgeStats


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def embedded_broker(port: int):
    """An amqtt broker on 127.0.0.1:``port`` (anonymous, no $SYS topics)."""
    from amqtt.broker import Broker

    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await broker.start()
    try:
        yield broker
    finally:
        with contextlib.suppress(Exception):
            await broker.shutdown()


def daemon_settings(scenario: Scenario, port: int, state_dir: Path, prefix: str) -> Any:
    """The daemon's configuration for the demo: event clock, auto mode, HTTP port 0."""
    forecast = state_dir / "forecast.csv"
    forecast.write_text(scenario.forecast_csv(), encoding="utf-8")
    site = scenario.site.model_dump(mode="json", exclude_none=True)
    site["forecast_file"] = str(forecast)
    planner = scenario.planner.model_dump(mode="json")
    planner.update(clock="event", mode="auto")
    return settings_from_dict(
        {
            "mqtt": {
                "url": f"mqtt://127.0.0.1:{port}",
                "topic_prefix": prefix,
                "client_id": f"staffer-demo-{os.getpid()}",
                "protocol": "3.1.1",
                "reconnect_min_s": 0.1,
                "reconnect_max_s": 1.0,
            },
            "http": {"host": "127.0.0.1", "port": 0},
            "state": {"path": str(state_dir / "state.db")},
            "log": {"level": "WARNING"},
            "planner": planner,
            "sites": [site],
        },
        env={},
    )


class LiveView:
    """Live progress: one status line per tick on a TTY, every 30 min of day otherwise."""

    def __init__(self, stream: TextIO, scenario: Scenario) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.sc = scenario
        self.moves = 0
        self._last_line = -1
        self._emit(
            "time   per queue: contacts waiting (email: open), service level of the last "
            "interval, agents assigned; moves accepted so far",
            final=True,
        )

    def __call__(self, r: TickReport) -> None:
        from staffer.codec.timefmt import format_ts

        self.moves += len(r.moves)
        clock = format_ts(r.ts)[11:16]
        parts = []
        for q in self.sc.site.queues:
            s = r.snaps[q.id]
            if q.channel == "email":
                parts.append(f"{q.id} {s.backlog:3d} open {r.assigned[q.id]:2d} ag")
            else:
                hit = s.answered_within_target or 0
                sl = "  - " if not s.offered else f"{hit / s.offered:4.0%}"
                parts.append(f"{q.id} {s.waiting:3d} wait SL {sl} {r.assigned[q.id]:2d} ag")
        line = f"{clock}  " + " | ".join(parts) + f" | {self.moves} moves"
        for m in r.moves[:3]:
            self._emit(
                f"{clock}  move {m.agent}: {m.from_queue} -> {m.to_queue}  ({m.reason})", final=True
            )
        if len(r.moves) > 3:
            self._emit(f"{clock}  ... and {len(r.moves) - 3} more moves", final=True)
        if self.tty:
            self._emit(line, final=False)
        elif int(r.t // 1800) != self._last_line:
            self._last_line = int(r.t // 1800)
            self._emit(line, final=True)

    def _emit(self, line: str, final: bool) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _metrics_url(daemon: Any) -> str | None:
    """The daemon's bound HTTP address (``Daemon.http_port``), None when unknown."""
    port = getattr(daemon, "http_port", None)
    if callable(port):
        port = port()
    return f"http://127.0.0.1:{port}/metrics" if isinstance(port, int) and port > 0 else None


async def run_demo(
    *,
    short: bool = False,
    seed: int | None = None,
    out_dir: Path | None = None,
    stream: TextIO = sys.stdout,
    scenario: Scenario | None = None,
) -> DemoResult:
    """Run the whole loop and return the KPIs (see the module docstring)."""
    from staffer.app import run_daemon

    t0 = time.perf_counter()
    sc = scenario or load_scenario(SHORT_SCENARIO if short else DEMO_SCENARIO)
    seed = sc.seed if seed is None else seed
    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="staffer-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    prefix = "staffer"
    port = free_port()
    stream.write(f"staffer demo: scenario {sc.name} (seed {seed}): {sc.description}\n")
    with tempfile.TemporaryDirectory(prefix="staffer-demo-state-") as state_dir:
        settings = daemon_settings(sc, port, Path(state_dir), prefix)
        async with embedded_broker(port):
            stream.write(f"broker: embedded amqtt on mqtt://127.0.0.1:{port}\n")
            stop, online = asyncio.Event(), asyncio.Event()
            ready: dict[str, Any] = {}

            def on_ready(d: Any) -> None:
                ready["daemon"] = d
                online.set()

            daemon = asyncio.create_task(run_daemon(settings, stop=stop, ready=on_ready))
            engine = Engine(sc, seed)
            metrics: str | None = None
            try:
                await _until_ready(online, daemon, 30.0)
                metrics = _metrics_url(ready.get("daemon"))
                async with Bridge(
                    f"mqtt://127.0.0.1:{port}",
                    sc.site.id,
                    prefix=prefix,
                    client_id="staffer-demo-bridge",
                    protocol="3.1.1",
                    reconnect_min_s=0.1,
                    reconnect_max_s=1.0,
                    max_clock_skew_s=0,  # a simulated day, not today's clock
                    plans=True,
                ) as client:
                    stream.write(
                        "daemon: online (event clock, mode auto)"
                        + (f", metrics at {metrics}" if metrics else "")
                        + "\n"
                    )
                    view = LiveView(stream, sc)
                    bridge = SimBridge(engine, client, plan_timeout_s=3.0)
                    stats = await bridge.run(sc.planner.interval_s, view)
                    view.close()
            finally:
                stop.set()
                try:
                    await asyncio.wait_for(daemon, 15.0)
                except TimeoutError:
                    daemon.cancel()
    staffer_k = compute_kpis(trace_of(engine, "staffer"), engine.end_s)
    _, static_k = run_policy(sc, "static", seed)
    png = out / f"demo-{sc.name}-seed{seed}.png"
    chart: Path | None = png
    try:
        from staffer.sim.plot import plot_day

        plot_day({"static": static_k, "staffer (daemon)": staffer_k}, sc, png)
    except Exception as err:  # a chart must never sink the demo
        stream.write(f"chart: not written ({err})\n")
        chart = None
    return DemoResult(
        static_k,
        staffer_k,
        chart,
        metrics,
        stats.plans,
        stats.missed_plans,
        time.perf_counter() - t0,
        stats,
    )


async def _until_ready(online: asyncio.Event, daemon: asyncio.Task, timeout_s: float) -> None:
    """Wait for the daemon's ready signal; surface its error if it dies first."""
    waiter = asyncio.create_task(online.wait())
    done, _ = await asyncio.wait(
        {waiter, daemon}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
    )
    if waiter not in done:
        waiter.cancel()
        if daemon in done:
            daemon.result()  # raises the daemon's error
            raise RuntimeError("the daemon stopped before it was ready")
        raise TimeoutError(f"the daemon was not ready within {timeout_s:.0f} s")
