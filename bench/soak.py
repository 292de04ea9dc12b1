"""Soak: hours of contact-center traffic compressed into minutes, with faults injected.

    .venv/bin/python bench/soak.py [--minutes 5] [--sites 100] [--speed 150] [--seed 1]

* Its own mosquitto on a free port (``tests.conftest.start_mosquitto``), restarted every
  ``--restart-every`` seconds of wall time on the same port (``--restarts`` times); the
  broker keeps nothing (no persistence), so the bridge republishes its retained agent
  states after each restart, as a real bridge does.
* ``staffer run`` in a child process, event clock (300 s plan grid, auto mode), ``--sites``
  sites of phone/chat/email with 24 agents each; killed with SIGKILL once
  (``--daemon-kills``) and restarted on the same state file.
* This process is the bridge: every tick (60 s of event time, at most ``--speed`` event
  seconds per wall second, and never more than two ticks ahead of what the daemon has
  handled, as with real time) one site snapshot per site from a daily demand curve with surges, a
  little agent churn (breaks), a supervisor request now and then (pin, unpin,
  lock_agent, unlock_agent, 7-day ttl) and a few invalid messages (garbage, NaN, bad ts,
  negative counts, unknown queues, oversized). It applies every commanded move at once
  and reports the agent's new queue.

Before each fault the bridge waits until the daemon has counted every message it was
sent (``staffer_messages_total``), so the accounting is exact. Measured:

* messages processed (sum over daemon lifetimes) vs sent, invalid rejected vs sent;
* reconnects (``staffer_mqtt_reconnects_total``, summed over lifetimes);
* commands duplicated: a ``command_id`` seen twice, or a move of an agent to the queue
  the bridge has already put it in (a re-issued move) -- must be 0;
* overrides lost: accepted by a reply, not removed by a later reply, but absent from the
  retained ``{site}/overrides`` lists at the end or from the state file -- must be 0;
* resident memory of the daemon (psutil) after warm-up and at the end of each lifetime.

Progress goes to stderr, a markdown table (or ``--json``) to stdout; exit 1 when a
must-be-zero count is not zero or a message went missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import Broker, free_port, start_mosquitto  # noqa: E402

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC).timestamp()
PREFIX = "soak"
TICK_S = 60.0
TTL_S = 7 * 86400
SKILLS = [["phone", "email"]] * 10 + [["chat", "email"]] * 6 + [["phone", "chat", "email"]] * 8
START_QUEUE = ["phone"] * 8 + ["email"] * 2 + ["chat"] * 6 + ["email"] * 8


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def bad_messages(site: str, ts: float) -> list[tuple[str, bytes]]:
    """Invalid traffic; every entry must be counted as invalid by the daemon."""
    good = {"ts": iso(ts), "interval_s": 60, "offered": 1, "waiting": 0}
    return [
        (f"{site}/metrics", b"\xff\xfe garbage"),
        (
            f"{site}/metrics",
            b'{"ts": "' + iso(ts).encode() + b'", "queues": {"phone": '
            b'{"interval_s": NaN, "offered": 1, "waiting": 0}}}',
        ),
        (f"{site}/queues/phone/metrics", json.dumps({**good, "ts": "2026-11-23"}).encode()),
        (f"{site}/queues/chat/metrics", json.dumps({**good, "offered": -3}).encode()),
        (f"{site}/queues/fax/metrics", json.dumps(good).encode()),
        (f"{site}/agents/a0/state", b'{"ts": "' + iso(ts).encode() + b'", "status": 7}'),
        (f"{site}/metrics", b"[" * 100 + b"]" * 100),
        (f"{site}/queues/email/metrics", json.dumps({**good, "pad": "x" * 70000}).encode()),
        (f"{site}/override/mallory", b"not json at all"),
    ]


# -- the daemon ---------------------------------------------------------------------------------


class Daemon:
    """``staffer run`` as a child process; ``scrape`` parses /metrics."""

    def __init__(self, conf: Path, http_port: int, log: Path) -> None:
        self.http_port = http_port
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "staffer", "run", "-c", str(conf)],
                cwd=conf.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.ps = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + 60
        while self.status("/readyz") != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daemon did not become ready; see {log}")
            time.sleep(0.1)

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=5) as r:
                return int(r.status)
        except OSError as err:
            return int(getattr(err, "code", 0) or 0)

    def scrape(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics", timeout=30) as r:
            text = r.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def counts(self) -> tuple[float, float, float]:
        """(messages counted, invalid, reconnects) so far in this lifetime."""
        m = self.scrape()
        total = sum(v for k, v in m.items() if k.startswith("staffer_messages_total{"))
        invalid = sum(
            v
            for k, v in m.items()
            if k.startswith("staffer_messages_total{") and 'outcome="invalid"' in k
        )
        return total, invalid, m.get("staffer_mqtt_reconnects_total", 0.0)

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


# -- the bridge ---------------------------------------------------------------------------------


@dataclass
class Bridge:
    """Simulated contact-center bridge and supervisors (paho, QoS 1)."""

    sites: list[str]
    rng: random.Random
    client: mqtt.Client = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # agent states leave in the order they were made (the broker keeps the last one as
    # the retained state a restarted daemon gets back)
    order: threading.Lock = field(default_factory=threading.Lock)
    connected: threading.Event = field(default_factory=threading.Event)
    now: float = T0
    sent: int = 0
    sent_invalid: int = 0
    commands: int = 0
    moves: int = 0
    command_ids: set[str] = field(default_factory=set)
    dup_ids: int = 0
    reissued: list[dict[str, Any]] = field(default_factory=list)
    roster: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # request id -> site
    expected: dict[str, set[str]] = field(default_factory=dict)  # site -> override ids
    replies: int = 0
    rejected: int = 0
    seq: int = 0

    def __post_init__(self) -> None:
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="soak-bridge", protocol=mqtt.MQTTv311
        )
        c.max_inflight_messages_set(200)
        c.reconnect_delay_set(0.1, 2.0)
        c.on_connect = self._on_connect
        c.on_disconnect = lambda *_a: self.connected.clear()
        c.on_message = self._on_message
        self.client = c
        for s in self.sites:
            for i, skills in enumerate(SKILLS):
                self.roster[(s, f"a{i}")] = {
                    "status": "available",
                    "queue": START_QUEUE[i],
                    "skills": skills,
                }

    def _on_connect(self, client: mqtt.Client, *_a: Any) -> None:
        client.subscribe([(f"{PREFIX}/+/commands", 1), (f"{PREFIX}/+/override/+/reply", 1)])
        self.connected.set()

    def start(self, broker: Broker) -> None:
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.wait_connected()

    def wait_connected(self, timeout: float = 60) -> None:
        if not self.connected.wait(timeout):
            raise RuntimeError("bridge could not (re)connect")
        time.sleep(0.3)  # let the subscription settle

    def send(
        self, suffix: str, payload: bytes, *, retain: bool = False, invalid: bool = False
    ) -> mqtt.MQTTMessageInfo:
        with self.lock:
            self.sent += 1
            self.sent_invalid += invalid
        return self.client.publish(f"{PREFIX}/{suffix}", payload, qos=1, retain=retain)

    def agent_payload(self, site: str, agent: str) -> bytes:
        """The agent's state now. Call with ``lock`` held: the ts is strictly increasing per
        agent, so whichever of two racing reports arrives last, the newer one wins."""
        a = self.roster[(site, agent)]
        ts = max(self.now, a.get("ts", 0.0) + 0.001)
        a["ts"] = ts
        return json.dumps(
            {"ts": iso_ms(ts), "status": a["status"], "queue": a["queue"], "skills": a["skills"]}
        ).encode()

    def publish_roster(self) -> None:
        for site, agent in list(self.roster):
            with self.order:
                with self.lock:
                    payload = self.agent_payload(site, agent)
                self.send(f"{site}/agents/{agent}/state", payload, retain=True)

    # -- inbound ---------------------------------------------------------------------
    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        body = json.loads(msg.payload)
        if parts[2] == "commands":
            self._command(parts[1], body)
        elif parts[-1] == "reply":
            self._reply(parts[1], body)

    def _command(self, site: str, cmd: dict[str, Any]) -> None:
        with self.order:
            self._apply(site, cmd)

    def _apply(self, site: str, cmd: dict[str, Any]) -> None:
        with self.lock:
            self.commands += 1
            if cmd["command_id"] in self.command_ids:
                self.dup_ids += 1
            self.command_ids.add(cmd["command_id"])
            for m in cmd["moves"]:
                self.moves += 1
                a = self.roster[(site, m["agent"])]
                if a["queue"] == m["to"]:
                    self.reissued.append(
                        {
                            "site": site,
                            "agent": m["agent"],
                            "from": m["from"],
                            "to": m["to"],
                            "command": cmd["command_id"],
                            "ts": cmd["ts"],
                            "previous": a.get("moved"),
                            "status": a["status"],
                        }
                    )
                a["queue"] = m["to"]
                a["moved"] = (cmd["command_id"], cmd["ts"], m["from"], m["to"])
            # the bridge applies the move and reports it
            reports = [(m["agent"], self.agent_payload(site, m["agent"])) for m in cmd["moves"]]
        for agent, payload in reports:
            self.send(f"{site}/agents/{agent}/state", payload, retain=True)

    def _reply(self, site: str, reply: dict[str, Any]) -> None:
        with self.lock:
            self.replies += 1
            if self.pending.pop(str(reply.get("id")), None) is None:
                return  # mallory's garbage gets a reply too (id null)
            ids = self.expected.setdefault(site, set())
            if not reply.get("ok"):
                self.rejected += 1
                return
            for gone in reply.get("removed") or []:
                ids.discard(gone)
            if reply.get("override_id") and reply.get("expires_at"):
                ids.add(reply["override_id"])

    # -- outbound, one tick -----------------------------------------------------------
    def tick(self, invalid_per_tick: float) -> None:
        self.now += TICK_S
        hour = (self.now % 86400) / 3600
        day = max(0.05, math.sin(math.pi * (hour - 7) / 12)) if 7 <= hour <= 19 else 0.05
        for k, site in enumerate(self.sites):
            scale = 0.6 + (k % 7) / 5
            surge = 2.5 if (k + int(self.now // 3600)) % 13 == 0 else 1.0
            queues = {}
            for q, base, aht in (("phone", 0.06, 240), ("chat", 0.03, 480), ("email", 0.02, 360)):
                lam = base * scale * day * (surge if q != "email" else 1.0) * TICK_S
                offered = int(self.rng.gauss(lam, math.sqrt(lam) + 0.1) + 0.5)
                offered = max(0, offered)
                body = {
                    "interval_s": TICK_S,
                    "offered": offered,
                    "waiting": max(0, offered // 3 if surge > 1 else 0),
                    "answered": offered,
                    "answered_within_target": int(offered * 0.8),
                    "aht_s": aht,
                }
                if q == "email":
                    body.update(backlog=offered * 4, oldest_age_s=1200.0)
                queues[q] = body
            self.send(
                f"{site}/metrics", json.dumps({"ts": iso(self.now), "queues": queues}).encode()
            )
        for _ in range(max(1, len(self.sites) // 10)):  # churn: breaks and returns
            site = self.rng.choice(self.sites)
            agent = f"a{self.rng.randrange(len(SKILLS))}"
            with self.order:
                with self.lock:
                    a = self.roster[(site, agent)]
                    a["status"] = "break" if a["status"] != "break" else "available"
                    payload = self.agent_payload(site, agent)
                self.send(f"{site}/agents/{agent}/state", payload, retain=True)
        if self.rng.random() < 0.5:
            self.supervisor()
        whole = int(invalid_per_tick) + (self.rng.random() < invalid_per_tick % 1)
        for _ in range(whole):
            site = self.rng.choice(self.sites)
            suffix, payload = self.rng.choice(bad_messages(site, self.now))
            self.send(suffix, payload, invalid=True)

    def supervisor(self) -> None:
        site = self.rng.choice(self.sites)
        self.seq += 1
        rid = f"q{self.seq}"
        action = self.rng.choice(
            ["pin", "pin", "lock_agent", "lock_agent", "unpin", "unlock_agent"]
        )
        req: dict[str, Any] = {"id": rid, "action": action, "ttl_s": TTL_S}
        if action in ("pin", "unpin"):
            req["queue"] = self.rng.choice(["phone", "chat", "email"])
        if action == "pin":
            req["min"], req["max"] = self.rng.randint(0, 3), self.rng.randint(8, 30)
        if action in ("lock_agent", "unlock_agent"):
            req["agent"] = f"a{self.rng.randrange(len(SKILLS))}"
        if action in ("unpin", "unlock_agent"):
            del req["ttl_s"]
        with self.lock:
            self.pending[rid] = site
        self.send(f"{site}/override/sup{self.seq % 5}", json.dumps(req).encode())


# -- the run ------------------------------------------------------------------------------------


class BrokerCtl:
    """start_mosquitto on a fixed port, restartable."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port, self.n = workdir, free_port(), 0
        self.cm: AbstractContextManager[Broker] | None = None
        self.broker: Broker | None = None

    def start(self) -> Broker:
        self.n += 1
        self.cm = start_mosquitto(self.workdir / f"broker{self.n}", port=self.port)
        self.broker = self.cm.__enter__()
        return self.broker

    def stop(self) -> None:
        if self.cm is not None:
            self.cm.__exit__(None, None, None)
            self.cm = None


@dataclass
class Lifetime:
    counted: float = 0.0
    invalid: float = 0.0
    reconnects: float = 0.0
    rss_start: float = 0.0
    rss_end: float = 0.0


def settle(daemon: Daemon, bridge: Bridge, base: float, extra: int, timeout: float) -> None:
    """Wait until the daemon has counted every message sent (plus ``extra`` redeliveries)."""
    deadline = time.monotonic() + timeout
    stable = 0
    while True:
        counted = base + daemon.counts()[0]
        with bridge.lock:
            want = bridge.sent + extra
        stable = stable + 1 if counted >= want else 0
        if stable >= 3:  # caught up, and no late confirmation was sent meanwhile
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"daemon counted {counted:.0f} of {want} messages")
        time.sleep(0.2)


def keep_up(daemon: Daemon, bridge: Bridge, base: float, extra: int, behind: int) -> int:
    """Wait while the daemon has more than ``behind`` messages to catch up; 1 if it did."""
    waited = 0
    deadline = time.monotonic() + 120
    while True:
        with bridge.lock:
            want = bridge.sent + extra
        if want - (base + daemon.counts()[0]) <= behind:
            return waited
        if time.monotonic() > deadline:
            raise RuntimeError("the daemon stopped consuming")
        waited = 1
        time.sleep(0.05)


def write_config(workdir: Path, broker_port: int, http_port: int, sites: list[str]) -> Path:
    conf = workdir / "staffer.toml"
    lines = [
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{broker_port}"\ntopic_prefix = "{PREFIX}"\n'
        'client_id = "soak-daemon"\nreconnect_min_s = 0.2\nreconnect_max_s = 2.0\n'
        f'[http]\nport = {http_port}\n[state]\npath = "{workdir / "state.db"}"\n'
        '[log]\nlevel = "WARNING"\n'
        '[planner]\nclock = "event"\ninterval_s = 300\nmode = "auto"\n'
        "min_dwell_s = 600\nmove_timeout_s = 900\nmax_moves_per_cycle = 5\n"
    ]
    lines += [f'[[sites]]\nid = "{s}"\n' for s in sites]
    conf.write_text("".join(lines), "utf-8")
    return conf


def retained_overrides(broker: Broker, sites: list[str]) -> dict[str, set[str]]:
    """Every site's retained override list, read with a fresh subscription."""
    got: dict[str, set[str]] = {}
    done = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        got[msg.topic.split("/")[1]] = {o["override_id"] for o in json.loads(msg.payload)}
        if len(got) >= len(sites):
            done.set()

    c.on_message = on_message
    c.connect(broker.host, broker.port)
    c.loop_start()
    c.subscribe(f"{PREFIX}/+/overrides", qos=1)
    done.wait(10)
    c.loop_stop()
    c.disconnect()
    return got


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    sites = [f"s{i:03d}" for i in range(args.sites)]
    workdir = Path(tempfile.mkdtemp(prefix="staffer-soak-"))
    brokers = BrokerCtl(workdir)
    broker = brokers.start()
    http_port = free_port()
    conf = write_config(workdir, brokers.port, http_port, sites)
    log = workdir / "daemon.log"
    progress(f"workdir {workdir}; broker :{brokers.port}; {len(sites)} sites")
    daemon = Daemon(conf, http_port, log)
    bridge = Bridge(sites, rng)
    bridge.start(broker)
    bridge.publish_roster()
    lives: list[Lifetime] = [Lifetime()]
    base = 0.0  # messages counted by earlier lifetimes
    extra = 0  # retained agent states redelivered to a restarted daemon
    ticks = 0
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    restart_at = [t0 + args.restart_every * (i + 1) for i in range(args.restarts)]
    kill_at = [
        t0 + (end - t0) * (i + 1) / (args.daemon_kills + 1) + args.restart_every / 4
        for i in range(args.daemon_kills)
    ]
    tick_wall = TICK_S / args.speed
    per_tick = len(sites) + max(1, len(sites) // 10) + int(args.invalid_per_tick) + 2
    lag_waits = 0
    next_tick = time.monotonic()
    last_report = t0
    while time.monotonic() < end:
        bridge.tick(args.invalid_per_tick)
        ticks += 1
        if ticks == 10:
            settle(daemon, bridge, base, extra, 120)
            lives[-1].rss_start = daemon.rss_mb()
        now = time.monotonic()
        if restart_at and now >= restart_at[0]:
            restart_at.pop(0)
            settle(daemon, bridge, base, extra, 120)
            progress(f"restarting the broker at event {iso(bridge.now)}")
            brokers.stop()
            time.sleep(1.0)
            broker = brokers.start()
            bridge.wait_connected()
            while daemon.status("/readyz") != 200:
                time.sleep(0.1)
            bridge.publish_roster()  # retained states are gone with the old broker
        elif kill_at and now >= kill_at[0]:
            kill_at.pop(0)
            settle(daemon, bridge, base, extra, 120)
            life = lives[-1]
            life.counted, life.invalid, life.reconnects = daemon.counts()
            life.rss_end = daemon.rss_mb()
            base += life.counted
            progress(
                f"kill -9 of the daemon at event {iso(bridge.now)}, restarting it on the "
                "same state file"
            )
            daemon.stop(signal.SIGKILL)
            daemon = Daemon(conf, http_port, log)
            extra += len(bridge.roster)  # the broker redelivers every retained agent state
            lives.append(Lifetime())
            settle(daemon, bridge, base, extra, 120)
            lives[-1].rss_start = daemon.rss_mb()
        if now - last_report >= 15:
            last_report = now
            counted = base + daemon.counts()[0]
            progress(
                f"{now - t0:5.0f}s event {iso(bridge.now)} sent {bridge.sent + extra} "
                f"counted "
                f"{counted:.0f} commands {bridge.commands} moves {bridge.moves} "
                f"rss {daemon.rss_mb():.0f} MB"
            )
        # backpressure, like real time: never run more than ~2 ticks ahead of the daemon
        # (otherwise a confirmation can sit in the daemon's queue past move_timeout_s of
        # event time, and a timed-out move may legitimately be issued again)
        lag_waits += keep_up(daemon, bridge, base, extra, 2 * per_tick)
        next_tick += tick_wall
        delay = next_tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_tick = time.monotonic()  # behind schedule: no catch-up burst
    settle(daemon, bridge, base, extra, 180)
    time.sleep(1.0)  # the last replies and commands
    life = lives[-1]
    life.counted, life.invalid, life.reconnects = daemon.counts()
    life.rss_end = daemon.rss_mb()
    retained = retained_overrides(broker, sites)
    rc = daemon.stop()
    bridge.client.loop_stop()
    bridge.client.disconnect()
    brokers.stop()
    with sqlite3.connect(f"file:{workdir / 'state.db'}?mode=ro", uri=True) as con:
        stored = {r[0] for r in con.execute("SELECT override_id FROM overrides")}
    (workdir / "reissued.json").write_text(json.dumps(bridge.reissued, indent=1), "utf-8")
    expected = {i for ids in bridge.expected.values() for i in ids}
    shown = {i for ids in retained.values() for i in ids}
    elapsed = time.monotonic() - t0
    return {
        "command": " ".join(["bench/soak.py", *sys.argv[1:]]),
        "wall_s": round(elapsed, 1),
        "event_hours": round((bridge.now - T0) / 3600, 1),
        "sites": len(sites),
        "ticks": ticks,
        "messages_sent": bridge.sent + extra,
        "messages_processed": int(sum(lv.counted for lv in lives)),
        "invalid_sent": bridge.sent_invalid,
        "invalid_rejected": int(sum(lv.invalid for lv in lives)),
        "broker_restarts": brokers.n - 1,
        "daemon_kills": len(lives) - 1,
        "reconnects": int(sum(lv.reconnects for lv in lives)),
        "commands": bridge.commands,
        "moves": bridge.moves,
        "commands_duplicated": bridge.dup_ids + len(bridge.reissued),
        "override_requests": bridge.seq,
        "override_replies": bridge.replies,
        "overrides_expected_active": len(expected),
        "overrides_lost": len(expected - shown) + len(expected - stored),
        "overrides_unexpected": len(shown - expected),
        "rss_mb": [(round(lv.rss_start, 1), round(lv.rss_end, 1)) for lv in lives],
        "ticks_throttled": lag_waits,
        "daemon_exit": rc,
        "workdir": str(workdir),
        "reissued_sample": bridge.reissued[:5],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument(
        "--speed", type=float, default=150.0, help="event seconds per wall second (default 150)"
    )
    ap.add_argument("--restarts", type=int, default=3, help="broker restarts")
    ap.add_argument("--restart-every", type=float, default=60.0, help="seconds (wall)")
    ap.add_argument("--daemon-kills", type=int, default=1)
    ap.add_argument("--invalid-per-tick", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = run(args)
    if args.json:
        print(json.dumps(r))
    else:
        print(f"| soak ({r['command']}) | value |\n|---|---|")
        for key in (
            "wall_s",
            "event_hours",
            "sites",
            "messages_sent",
            "messages_processed",
            "invalid_sent",
            "invalid_rejected",
            "broker_restarts",
            "daemon_kills",
            "reconnects",
            "commands",
            "moves",
            "commands_duplicated",
            "override_requests",
            "override_replies",
            "overrides_expected_active",
            "overrides_lost",
            "overrides_unexpected",
            "rss_mb",
            "ticks_throttled",
            "daemon_exit",
        ):
            print(f"| {key} | {r[key]} |")
    bad = (
        r["commands_duplicated"]
        or r["overrides_lost"]
        or r["overrides_unexpected"]
        or r["messages_processed"] != r["messages_sent"]
        or r["invalid_rejected"] != r["invalid_sent"]
    )
    if r["reissued_sample"]:
        for x in r["reissued_sample"]:
            progress(f"re-issued move: {x}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
