"""Benchmark the daemon end to end over a real mosquitto.

Run: ``.venv/bin/python bench/daemon.py [--quick] [--json]`` (a few minutes; ``--quick``
about one). Progress goes to stderr, a markdown table (or one JSON object) to stdout.

The daemon runs as a real ``staffer run`` child process; this process is the bridge:
a paho client publishing QoS 1 snapshots and agent states, and subscribing to commands.

1. **Ingest**: queue snapshots for 100 sites x 3 queues at stepped offered rates, 5 s
   per step; the daemon's processed count is scraped from ``/metrics``
   (``staffer_messages_total``). A rate is sustained when the processed rate keeps up
   (>= 98 %) and the backlog at the end of the step is under half a second of input.
2. **Latency**: event clock, 20 sites, 1,000 snapshots/s in total, of which 20/s are site
   snapshots crossing a planning time; latency = publishing the triggering snapshot ->
   receiving its command (matched by site and ``ts``). Phone is in a sustained surge, and
   in every round (one event minute) at every site one phone agent's shift ends and a new
   agent logs in on chat, so (after the first rounds' batch) each plan moves one agent:
   about one command per trigger, and the p99 is a percentile, not the maximum. The
   bridge confirms every move, like a real one.
3. **Plan time vs site size**: ``plan_site`` in-process on ``bench/planner.py``'s
   synthetic sites, plus the daemon's own ``staffer_plan_duration_seconds`` from phase 2.
4. **Memory**: two compressed simulated hours (200 sites, a site snapshot every 10 s of
   event time, agent churn, override requests, auto mode) while sampling the daemon's
   resident set size; the first half warms up (histories and caches fill), flat = RSS
   grows by < 5 % over the second half.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from tests.conftest import Broker, free_port, start_mosquitto  # noqa: E402

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp()
PREFIX = "bench"
QUEUES = ("phone", "chat", "email")
# the broker as shipped by Debian, with room for the benchmark's bursts and Nagle off
# (``set_tcp_nodelay true``, as deploy/mosquitto/mosquitto.conf ships; ``--nagle`` leaves
# mosquitto's default ``false`` to show what it costs)
BROKER_CONFIG = "max_inflight_messages 0\nmax_queued_messages 1000000\n"
NODELAY = "set_tcp_nodelay true\n"
SNAPSHOT_QOS = 0  # snapshots are QoS 0 end to end (the daemon subscribes to them at QoS 0)
# STAFFER_BENCH_TRACE=DIR: the latency phase writes its send and receive times there, and
# the daemon child its own steps (bench/trace_hooks; bench/latency_trace.py joins them)
TRACE_DIR = (
    Path(os.environ["STAFFER_BENCH_TRACE"]) if os.environ.get("STAFFER_BENCH_TRACE") else None
)


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- the daemon under test ----------------------------------------------------------------------


class DaemonProcess:
    """``staffer run`` in a child process with a generated configuration."""

    def __init__(
        self,
        broker: Broker,
        workdir: Path,
        *,
        sites: int,
        planner: dict,
        protocol: str = "auto",
        code: Path | None = None,
    ) -> None:
        self.http_port = free_port()
        conf = workdir / "staffer.toml"
        lines = [
            f'[mqtt]\nurl = "{broker.url}"\ntopic_prefix = "{PREFIX}"\n'
            f'client_id = "bench-daemon"\nprotocol = "{protocol}"\n',
            f'[http]\nport = {self.http_port}\n[state]\npath = "{workdir / "s.db"}"\n',
            '[log]\nlevel = "WARNING"\n[planner]\n',
        ]
        lines += [f"{k} = {json.dumps(v)}\n" for k, v in planner.items()]
        lines += [f'[[sites]]\nid = "s{i:03d}"\n' for i in range(sites)]
        conf.write_text("".join(lines), encoding="utf-8")
        self.log = (workdir / "daemon.log").open("wb")
        env = dict(os.environ)
        if code is not None:  # another tree's ``staffer`` (e.g. main's, for "before")
            env["PYTHONPATH"] = str(code)
        if TRACE_DIR is not None:  # bench/trace_hooks: each step of a plan's way out
            TRACE_DIR.mkdir(parents=True, exist_ok=True)
            paths = [*env.get("PYTHONPATH", "").split(os.pathsep), str(ROOT / "bench/trace_hooks")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
            env["STAFFER_BENCH_TRACE"] = str(TRACE_DIR / f"{workdir.name}-daemon.jsonl")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "staffer", "run", "-c", str(conf)],
            cwd=workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.ps = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + 30
        while self._status("/readyz") != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daemon did not start; see {workdir / 'daemon.log'}")
            time.sleep(0.1)

    def _status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=2) as r:
                return int(r.status)
        except OSError:
            return 0

    def scrape(self) -> dict[str, float]:
        """Sample name{labels} -> value from /metrics (plain text parsing)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def processed(self, kind: str) -> float:
        m = self.scrape()
        return sum(
            v
            for k, v in m.items()
            if k.startswith("staffer_messages_total") and f'kind="{kind}"' in k
        )

    def cpu_s(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@contextmanager
def daemon(broker: Broker, workdir: Path, **kw: object) -> Iterator[DaemonProcess]:
    d = DaemonProcess(broker, workdir, **kw)  # type: ignore[arg-type]
    try:
        yield d
    finally:
        d.stop()


class Bridge:
    """The load generator and simulated contact-center bridge (paho, QoS 1)."""

    def __init__(
        self,
        broker: Broker,
        on_command: Callable[[dict, float], None] | None = None,
        on_plan: Callable[[dict, float], None] | None = None,
    ):
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.c.max_inflight_messages_set(1000)
        self.c.max_queued_messages_set(0)
        self.on_command = on_command
        self.on_plan = on_plan
        self.c.on_message = self._on_message
        self.c.connect(broker.host, broker.port)
        sock = self.c.socket()
        if sock is not None:  # small messages: no Nagle delay on our side either
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.c.loop_start()
        self.c.subscribe(f"{PREFIX}/+/commands", qos=1)
        if on_plan is not None:
            self.c.subscribe(f"{PREFIX}/+/plan", qos=1)
        time.sleep(0.2)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        t = time.perf_counter()
        if msg.topic.endswith("/plan"):
            if self.on_plan is not None and not msg.retain:
                self.on_plan(json.loads(msg.payload), t)
        elif self.on_command is not None:
            self.on_command(json.loads(msg.payload), t)

    def send(self, suffix: str, payload: bytes, qos: int = 1) -> None:
        """Publish; snapshots (``.../metrics``) at `SNAPSHOT_QOS`, the rest at QoS 1."""
        if suffix.endswith("/metrics"):
            qos = SNAPSHOT_QOS
        self.c.publish(f"{PREFIX}/{suffix}", payload, qos=qos)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def agent_state(ts: float, queue: str, status: str = "available") -> bytes:
    return json.dumps(
        {"ts": iso(ts), "status": status, "queue": queue, "skills": list(QUEUES)}
    ).encode()


def queue_snap(ts: float, offered: int, waiting: int, aht: float = 240.0) -> bytes:
    return (
        f'{{"ts":"{iso(ts)}","interval_s":60,"offered":{offered},"waiting":{waiting},'
        f'"aht_s":{aht}}}'
    ).encode()


# The latency phase's load, per 60 s interval: phone 24 Erlangs at 240 s AHT, more than a
# site's 30 agents can serve (so phone always takes a spare agent), chat and email 4.
# (Surges alternating between phone and chat every event minute, as before, made 46-56
# commands in 1,200 plans: the planner rightly stops chasing a surge that flips.)
HOT = {"offered": 6, "waiting": 3}
COLD = {"offered": 1, "waiting": 0}
SURGE = "phone"
AGENTS = 30  # per site


MEMORY_HOT = {"offered": 4, "waiting": 3}  # the memory phase's surges: 16 Erlangs


def load_of(q: str, surge: str = SURGE, hot: dict[str, int] = HOT) -> dict[str, int]:
    """Queue ``q``'s load: ``hot`` for the ``surge`` queue, else ``COLD``."""
    return hot if q == surge else COLD


def site_snap(ts: float, surge: str = SURGE, hot: dict[str, int] = HOT) -> bytes:
    """A site snapshot with ``surge`` at ``hot`` (the memory phase alternates it)."""
    queues = {
        q: {"interval_s": 60, "aht_s": 240 if q != "email" else 360, **load_of(q, surge, hot)}
        for q in QUEUES
    }
    queues["email"]["backlog"] = 5
    return json.dumps({"ts": iso(ts), "queues": queues}).encode()


def paced(rate: float, seconds: float) -> Iterator[int]:
    """Yield message indices at ``rate`` per second for ``seconds`` (bursts every 5 ms)."""
    start = time.perf_counter()
    sent = 0
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return
        due = int(rate * elapsed)
        while sent < due:
            yield sent
            sent += 1
        time.sleep(0.005)


# -- phases -------------------------------------------------------------------------------------


def _ingest_messages(n: int, sites: int, round0: int) -> list[tuple[str, bytes]]:
    """Pre-encoded queue snapshots (so the generator spends its time publishing)."""
    out = []
    for i in range(n):
        site, q = divmod(i % (sites * 3), 3)
        ts = T0 + round0 + i // (sites * 3)
        out.append((f"s{site:03d}/queues/{QUEUES[q]}/metrics", queue_snap(ts, 10 + i % 7, i % 5)))
    return out


def _wait_processed(
    d: DaemonProcess, target: float, timeout_s: float, poll_s: float = 0.05
) -> float:
    t = time.perf_counter()
    while d.processed("queue_metrics") < target and time.perf_counter() - t < timeout_s:
        time.sleep(poll_s)
    return time.perf_counter() - t


def bench_ingest(
    broker: Broker, work: Path, rates: list[int], step_s: float, protocol: str, burst: int
) -> list[dict]:
    """Stepped offered rates, then a burst sent as fast as the generator can."""
    sites = 100
    rows = []
    with daemon(
        broker,
        work,
        sites=sites,
        planner={"clock": "wall", "interval_s": 3600, "mode": "shadow"},
        protocol=protocol,
    ) as d:
        bridge = Bridge(broker)
        round_ = 0
        for rate in [*rates, 0]:
            n_planned = burst if rate == 0 else int(rate * step_s)
            msgs = _ingest_messages(n_planned, sites, round_)
            round_ += n_planned // (sites * 3) + 1
            before, cpu0 = d.processed("queue_metrics"), d.cpu_s()
            t0 = time.perf_counter()
            n = 0
            if rate == 0:
                for topic, payload in msgs:
                    bridge.send(topic, payload)
                n = len(msgs)
            else:
                for i in paced(rate, step_s):
                    bridge.send(*msgs[i % len(msgs)])
                    n += 1
            window = time.perf_counter() - t0
            done = d.processed("queue_metrics") - before
            drain_s = _wait_processed(d, before + n, 60)
            total_s = time.perf_counter() - t0
            cpu_us = 1e6 * (d.cpu_s() - cpu0) / max(1.0, d.processed("queue_metrics") - before)
            sent_rate, done_rate = n / window, done / window
            ok = done_rate >= 0.98 * sent_rate and (n - done) <= 0.5 * sent_rate
            rows.append(
                {
                    "offered_per_s": "burst" if rate == 0 else rate,
                    "sent_per_s": round(sent_rate),
                    "processed_per_s": round(done_rate),
                    "backlog_at_end": int(n - done),
                    "drain_s": round(drain_s, 2),
                    "end_to_end_per_s": round(n / total_s),
                    "daemon_cpu_us_per_msg": round(cpu_us),
                    "one_core_capacity_per_s": round(1e6 / cpu_us),
                    "sustained": "-" if rate == 0 else ok,
                }
            )
            progress(f"ingest {rows[-1]}")
        bridge.close()
    return rows


def _wait_plans(d: DaemonProcess, n: int, timeout_s: float = 20) -> dict[str, float]:
    """Let every triggered plan finish; the last scrape."""
    deadline = time.monotonic() + timeout_s
    while True:
        m = d.scrape()
        if m_sum(m, "staffer_plan_duration_seconds_count") >= n or time.monotonic() > deadline:
            return m
        time.sleep(0.2)


class Handovers:
    """Shift handovers of the latency phase: per site, the agents serving the surge queue,
    oldest first (the next one whose shift ends), kept up to date from the commands, and
    the agent off shift since the site's last handover (the next one to log in: a site
    keeps its 30 agents and one off shift, rather than collecting offline agents)."""

    def __init__(self, sites: int) -> None:
        self._lock = threading.Lock()
        self._on_surge = {
            f"s{s:03d}": [f"a{a:02d}" for a in range(AGENTS) if QUEUES[a % 3] == SURGE]
            for s in range(sites)
        }
        self._off = {f"s{s:03d}": f"a{AGENTS:02d}" for s in range(sites)}

    def moved(self, site: str, agent: str, to: str) -> None:
        if to == SURGE:
            with self._lock:
                self._on_surge[site].append(agent)

    def messages(self, site: str, ts: float) -> list[tuple[str, bytes]]:
        """The oldest surge agent's shift ends; the one off shift logs in on chat."""
        with self._lock:
            leaving = self._on_surge[site].pop(0) if self._on_surge[site] else None
            joining = self._off[site]
            if leaving is not None:
                self._off[site] = leaving
        out = [(f"{site}/agents/{joining}/state", agent_state(ts, "chat"))]
        if leaving is not None:
            out.insert(0, (f"{site}/agents/{leaving}/state", agent_state(ts, SURGE, "offline")))
        return out


def _latency_load(
    bridge: Bridge,
    handovers: Handovers,
    mark_sent: Callable[[str, float], None],
    total_rate: int,
    seconds: float,
    sites: int,
    interval: int,
) -> None:
    """One round per second: ``sites`` grid-crossing site snapshots spread evenly over it,
    a shift handover half-way between a site's two, and live queue snapshots between."""
    per_round = total_rate
    spacing = per_round // sites
    k = 0
    for i in paced(total_rate, seconds):
        j = i % per_round
        if j == 0:
            k += 1
        slot, offset = divmod(j, spacing)
        if offset == 0 and slot < sites:
            site, ts = f"s{slot:03d}", T0 + k * interval
            mark_sent(site, ts)
            bridge.send(f"{site}/metrics", site_snap(ts))
        elif offset == spacing // 2 and slot < sites and k >= 2:
            for topic, payload in handovers.messages(f"s{slot:03d}", T0 + k * interval + 30):
                bridge.send(topic, payload)
        else:
            m = j % sites
            site, q = f"s{m:03d}", QUEUES[(j // sites) % 3]
            # live data: after the site's last grid time, before its next one
            kk = k if j > m * spacing else k - 1
            ts = T0 + kk * interval + 1 + j / 1000
            load = load_of(q)
            bridge.send(
                f"{site}/queues/{q}/metrics", queue_snap(ts, load["offered"], load["waiting"])
            )


def bench_latency(
    broker: Broker,
    work: Path,
    total_rate: int,
    seconds: float,
    protocol: str,
    code: Path | None = None,
) -> dict:
    sites, interval = 20, 60
    sent_at: dict[tuple[str, float], float] = {}
    received_at: list[tuple[str, float, float]] = []  # (site, ts, perf_counter) per command
    latencies: list[float] = []
    plan_latencies: list[float] = []
    received = 0
    lock = threading.Lock()
    bridge: Bridge | None = None
    handovers = Handovers(sites)

    def mark_sent(site: str, ts: float) -> None:
        with lock:
            sent_at[(site, ts)] = time.perf_counter()

    def on_command(cmd: dict, t: float) -> None:
        nonlocal received
        received += 1
        ts = datetime.fromisoformat(cmd["ts"].replace("Z", "+00:00")).timestamp()
        with lock:
            t_sent = sent_at.get((cmd["site"], ts))
        if t_sent is not None and cmd.get("plan_id"):
            latencies.append(t - t_sent)
            received_at.append((cmd["site"], ts, t))
        for m in cmd["moves"]:  # the bridge applies the move and reports it
            assert bridge is not None
            handovers.moved(cmd["site"], m["agent"], m["to"])
            bridge.send(
                f"{cmd['site']}/agents/{m['agent']}/state", agent_state(ts + 1, m["to"], "busy")
            )

    def on_plan(plan: dict, t: float) -> None:
        ts = datetime.fromisoformat(plan["as_of"].replace("Z", "+00:00")).timestamp()
        with lock:
            t_sent = sent_at.get((plan["site"], ts))
        if t_sent is not None:
            plan_latencies.append(t - t_sent)

    planner = {
        "clock": "event",
        "interval_s": interval,
        "mode": "auto",
        "min_dwell_s": 0,
        "move_timeout_s": 120,
        "max_moves_per_cycle": 5,
        # the daemon's speed is measured, not the policy: no return or switching limits
        "min_return_s": 0,
        "switch_cost_s": 0,
        "smoothing_half_life_s": 30,
    }
    with daemon(broker, work, sites=sites, planner=planner, protocol=protocol, code=code) as d:
        bridge = Bridge(broker, on_command, on_plan)
        cpu0, t_cpu = d.cpu_s(), time.perf_counter()
        for s in range(sites):
            for a in range(AGENTS):
                bridge.send(f"s{s:03d}/agents/a{a:02d}/state", agent_state(T0 - 10, QUEUES[a % 3]))
        time.sleep(1.0)
        _latency_load(bridge, handovers, mark_sent, total_rate, seconds, sites, interval)
        m = _wait_plans(d, len(sent_at))
        time.sleep(0.5)
        busy = (d.cpu_s() - cpu0) / (time.perf_counter() - t_cpu)
        bridge.close()
    if TRACE_DIR is not None:
        sent = [[site, ts, t] for (site, ts), t in sent_at.items()]
        (TRACE_DIR / f"{work.name}-bench.json").write_text(
            json.dumps({"sent": sent, "received": received_at}), encoding="utf-8"
        )
    count = sum(v for key, v in m.items() if key.startswith("staffer_plan_duration_seconds_count"))
    total = sum(v for key, v in m.items() if key.startswith("staffer_plan_duration_seconds_sum"))
    ms = [x * 1000 for x in latencies]
    plan_ms = [x * 1000 for x in plan_latencies]
    row = {
        "rate_per_s": total_rate,
        "triggers": len(sent_at),
        "plans": len(plan_ms),
        "commands": received,
        "matched": len(ms),
        "plan_p50_ms": round(pct(plan_ms, 0.5), 2),
        "plan_p99_ms": round(pct(plan_ms, 0.99), 2),
        "p50_ms": round(pct(ms, 0.5), 2),
        "p99_ms": round(pct(ms, 0.99), 2),
        "max_ms": round(max(ms), 2) if ms else None,
        "daemon_plans": int(count),
        "daemon_cpu_share": round(busy, 2),
        "daemon_mean_plan_ms": round(1000 * total / count, 2) if count else None,
    }
    progress(f"latency: {row}")
    return row


def bench_cpu(
    broker: Broker,
    work: Path,
    n: int,
    rate: int,
    protocol: str,
    code: Path | None = None,
    poll_s: float = 1.0,
) -> dict:
    """Daemon CPU per ingested queue snapshot: ``n`` QoS 0 snapshots of 100 sites x 3
    queues at ``rate``/s, CPU from the first publish until all are processed (polled
    every ``poll_s``, so those few /metrics scrapes and the 1 Hz sweep are included;
    ``scrape_ms`` is the daemon CPU of one scrape, measured idle)."""
    sites = 100
    with daemon(
        broker,
        work,
        sites=sites,
        planner={"clock": "wall", "interval_s": 3600, "mode": "shadow"},
        protocol=protocol,
        code=code,
    ) as d:
        bridge = Bridge(broker)
        for topic, payload in _ingest_messages(sites * 3, sites, 0):  # warm the caches
            bridge.send(topic, payload)
        _wait_processed(d, sites * 3, 10, poll_s=0.25)
        idle0, t_idle = d.cpu_s(), time.perf_counter()
        time.sleep(2.0)
        idle_share = (d.cpu_s() - idle0) / (time.perf_counter() - t_idle)
        scrape0 = d.cpu_s()
        for _ in range(10):
            d.scrape()
        scrape_ms = 100 * (d.cpu_s() - scrape0)
        msgs = _ingest_messages(n, sites, 1)
        before, cpu0, t0 = d.processed("queue_metrics"), d.cpu_s(), time.perf_counter()
        sent = 0
        for i in paced(rate, n / rate):
            bridge.send(*msgs[i])
            sent += 1
        _wait_processed(d, before + sent, 60, poll_s=poll_s)
        cpu, wall = d.cpu_s() - cpu0, time.perf_counter() - t0
        m = d.scrape()
        done = m_sum(m, "staffer_messages_total", 'kind="queue_metrics"') - before
        coalesced = m_sum(m, "staffer_messages_coalesced_total")
        bridge.close()
    row = {
        "protocol": protocol,
        "sent": sent,
        "processed": int(done),
        "coalesced": int(coalesced),
        "wall_s": round(wall, 2),
        "daemon_cpu_us_per_msg": round(1e6 * cpu / max(1.0, done), 1),
        "net_of_idle_us": round(1e6 * (cpu - idle_share * wall) / max(1.0, done), 1),
        "one_core_per_s": round(done / cpu) if cpu else None,
        "idle_cpu_share": round(idle_share, 3),
        "scrape_ms": round(scrape_ms, 1),
    }
    progress(f"cpu ({'before' if code else 'this tree'}): {row}")
    return row


def m_sum(m: dict[str, float], name: str, label: str = "") -> float:
    return sum(v for k, v in m.items() if k.startswith(name) and label in k)


def bench_plan_sizes(repeat: int) -> list[dict]:
    from planner import NOW, build  # bench/planner.py's synthetic sites

    from staffer.core.planner import plan_site
    from staffer.core.types import Controls
    from staffer.settings import PlannerSettings

    rows = []
    p = PlannerSettings(min_dwell_s=0)
    for agents, queues in ((30, 3), (300, 3), (1000, 10), (3000, 20)):
        site, state = build(agents, queues)
        now = NOW
        times = []
        for r in range(repeat + 1):
            t = time.perf_counter()
            plan_site(site, p, state, Controls(), {}, now, f"p{r}")
            times.append(time.perf_counter() - t)
        times = times[1:]
        rows.append(
            {
                "agents": agents,
                "queues": queues,
                "median_ms": round(1000 * statistics.median(times), 2),
                "p90_ms": round(1000 * pct(times, 0.9), 2),
            }
        )
        progress(f"plan time: {rows[-1]}")
    return rows


def bench_memory(
    broker: Broker, work: Path, sites: int, rate: int, protocol: str, hours: float = 2.0
) -> dict:
    step, hour = 10, int(3600 * hours)
    planner = {
        "clock": "event",
        "interval_s": 300,
        "mode": "auto",
        "min_dwell_s": 0,
        "move_timeout_s": 300,
    }
    samples: list[tuple[float, float]] = []
    with daemon(broker, work, sites=sites, planner=planner, protocol=protocol) as d:
        bridge = Bridge(broker)
        for s in range(sites):
            for a in range(20):
                bridge.send(f"s{s:03d}/agents/a{a:02d}/state", agent_state(T0 - 10, QUEUES[a % 3]))
        sent = 0
        steps = hour // step
        t0 = t_start = time.perf_counter()
        for k in range(1, steps + 1):
            ts = T0 + k * step
            for s in range(sites):
                surge = "phone" if (k // 30) % 2 else "chat"
                bridge.send(f"s{s:03d}/metrics", site_snap(ts, surge, MEMORY_HOT))
                sent += 1
                if k % 6 == 0:  # agent churn: a few status changes per site every minute
                    a = (k + s) % 20
                    bridge.send(
                        f"s{s:03d}/agents/a{a:02d}/state",
                        agent_state(ts, QUEUES[(k + a) % 3], ("available", "busy", "break")[k % 3]),
                    )
                if k % 60 == 0:  # an override request per site every 10 minutes
                    bridge.send(
                        f"s{s:03d}/override/sup",
                        json.dumps(
                            {
                                "id": f"{k}-{s}",
                                "action": "pin",
                                "queue": "email",
                                "min": 1,
                                "ttl_s": 900,
                            }
                        ).encode(),
                    )
            # pace to `rate` site snapshots per second
            ahead = sent / rate - (time.perf_counter() - t0)
            if ahead > 0:
                time.sleep(ahead)
            if k % (steps // 20) == 0:
                wait_until = time.monotonic() + 60  # flow control: keep the backlog < 1 s
                while sent - d.processed("site_metrics") > rate and time.monotonic() < wait_until:
                    time.sleep(0.1)
                t0 = time.perf_counter() - sent / rate  # pace on from here, no catching up
                samples.append((k / steps, d.rss_mb()))
                progress(
                    f"memory: {100 * k / steps:.0f}% of {hours:g} simulated h, RSS "
                    f"{samples[-1][1]:.1f} MiB"
                )
        deadline = time.monotonic() + 60
        while d.processed("site_metrics") < sent and time.monotonic() < deadline:
            time.sleep(0.2)
        samples.append((1.0, d.rss_mb()))
        bridge.close()
    half = [r for f, r in samples if f >= 0.5]
    growth = (half[-1] - half[0]) / half[0] if half else float("nan")
    row = {
        "sites": sites,
        "simulated_h": hours,
        "site_snapshots": sent,
        "wall_s": round(time.perf_counter() - t_start, 1),
        "rss_10pct_mib": round(next(r for f, r in samples if f >= 0.1), 1),
        "rss_50pct_mib": round(half[0], 1),
        "rss_end_mib": round(half[-1], 1),
        "growth_2nd_half": round(growth, 4),
        "flat": bool(growth < 0.05),
    }
    progress(f"memory: {row}")
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter steps (about a minute)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument(
        "--only",
        choices=("ingest", "cpu", "latency", "plan", "memory"),
        action="append",
        help="run only these phases (repeatable)",
    )
    ap.add_argument(
        "--hours",
        type=float,
        default=2.0,
        help="simulated hours in the memory phase (default 2: warm-up, then "
        "the hour judged for growth)",
    )
    ap.add_argument(
        "--protocol",
        choices=("auto", "5", "3.1.1"),
        default="auto",
        help="the daemon's [mqtt] protocol (default auto = MQTT 5 on mosquitto)",
    )
    ap.add_argument(
        "--compare",
        metavar="REF",
        help="also run the cpu and latency phases with the daemon of git REF (e.g. main), "
        "before and after back to back in this one invocation",
    )
    ap.add_argument("--rounds", type=int, default=1, help="before/after pairs with --compare")
    ap.add_argument(
        "--nagle",
        action="store_true",
        help="leave mosquitto's default set_tcp_nodelay false (Nagle on)",
    )
    ap.add_argument("--cpu-messages", type=int, default=30000, help="snapshots in the cpu phase")
    ap.add_argument("--cpu-rate", type=int, default=10000, help="their offered rate per second")
    ap.add_argument(
        "--latency-seconds",
        type=float,
        help="length of each latency phase (default 8 with --quick, else 20): 20 plans "
        "and about 20 commands per second",
    )
    args = ap.parse_args()
    if args.latency_seconds is None:
        args.latency_seconds = 8.0 if args.quick else 20.0
    elif args.latency_seconds <= 0:
        ap.error("--latency-seconds must be positive")
    t_start = time.perf_counter()
    result: dict[str, object] = {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "quick": args.quick,
            "protocol": args.protocol,
            "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
            "broker_nodelay": not args.nagle,
            "snapshot_qos": SNAPSHOT_QOS,
            "compare": args.compare,
        }
    }
    with tempfile.TemporaryDirectory(prefix="staffer-bench-") as tmp:
        work = Path(tmp)
        config = BROKER_CONFIG + ("" if args.nagle else NODELAY)
        with start_mosquitto(work / "broker", extra_config=config) as broker:
            progress(f"mosquitto on {broker.url}")
            only = set(args.only or ("ingest", "cpu", "latency", "plan", "memory"))
            for phase in ("ingest", "latency", "memory"):
                (work / phase).mkdir()
            run_compared(args, broker, work, only, result)
            if "latency" in only:
                result["latency"] = bench_latency(
                    broker, work / "latency", 1000, args.latency_seconds, args.protocol
                )
            if "plan" in only:
                result["plan_time"] = bench_plan_sizes(5 if args.quick else 20)
            if "memory" in only:
                result["memory"] = bench_memory(
                    broker,
                    work / "memory",
                    100 if args.quick else 200,
                    2000,
                    args.protocol,
                    args.hours,
                )
    result["meta"]["run_s"] = round(time.perf_counter() - t_start, 1)  # type: ignore[index]
    if args.json:
        print(json.dumps(result))
    else:
        print_tables(result)
    return 0


def run_compared(
    args: argparse.Namespace, broker: Broker, work: Path, only: set[str], result: dict
) -> None:
    """The cpu phase (each protocol) and, with ``--compare``, the latency phase, for the
    code before (``--compare REF``) and this tree, back to back, ``--rounds`` times;
    then the stepped ingest phase (this tree)."""
    codes: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.compare:
        base = work / "before"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.compare, "staffer"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        codes = [(args.compare, base), ("this tree", None)]
    if "cpu" in only:
        protocols = ["5", "3.1.1"] if args.protocol == "auto" else [args.protocol]
        rows = []
        for r in range(args.rounds):
            for proto in protocols:
                for name, code in codes:
                    (work / f"cpu-{r}-{proto}-{len(rows)}").mkdir()
                    row = bench_cpu(
                        broker,
                        work / f"cpu-{r}-{proto}-{len(rows)}",
                        args.cpu_messages,
                        args.cpu_rate,
                        proto,
                        code,
                    )
                    rows.append({"code": name, **row})
        result["cpu"] = rows
    if "latency" in only and args.compare:
        rows = []
        for r in range(args.rounds):
            for name, code in codes:
                sub = work / f"latency-{r}-{len(rows)}"
                sub.mkdir()
                row = bench_latency(broker, sub, 1000, args.latency_seconds, args.protocol, code)
                rows.append({"code": name, **row})
        result["latency"] = rows
        only.discard("latency")
    if "ingest" in only:
        result["ingest"] = bench_ingest(
            broker,
            work / "ingest",
            [5000, 10000] if args.quick else [2000, 5000, 10000, 15000],
            3.0 if args.quick else 5.0,
            args.protocol,
            20000 if args.quick else 60000,
        )


def print_tables(r: dict) -> None:
    def table(title: str, rows: list[dict]) -> None:
        print(f"\n**{title}**\n")
        cols = list(rows[0])
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for row in rows:
            print("| " + " | ".join(str(row[c]) for c in cols) + " |")

    print(f"Daemon benchmark {r['meta']}")
    for key, title in (
        ("ingest", "Ingest (queue snapshots, QoS 0, 100 sites x 3 queues)"),
        ("cpu", "Daemon CPU per ingested queue snapshot (QoS 0, 100 sites x 3 queues)"),
        ("latency", "Snapshot -> command latency (event clock, real broker)"),
        ("plan_time", "plan_site time vs site size"),
        ("memory", "Resident memory over compressed simulated hours"),
    ):
        if key in r:
            table(title, r[key] if isinstance(r[key], list) else [r[key]])


if __name__ == "__main__":
    sys.exit(main())
