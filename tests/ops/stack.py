"""Real processes for the live deployment tests: the shipped Mosquitto configuration,
`staffer run` daemons, a Prometheus server with the shipped config and rules, an
Alertmanager with the shipped configuration, and a scripted bridge speaking contract
JSON."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import queue
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import free_port, wait_for_port

from .conftest import DEPLOY, VENV_BIN, require_tool, running
from .mqtt_client import Client

T0 = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC).timestamp()  # on every planning grid
ACL_USERS = ["staffer", "bridge-main", "observer", "alice", "bob"]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


# -- Mosquitto with the shipped mosquitto.conf, acl and make-users.sh ------------------------


@dataclass(frozen=True)
class ShippedBroker:
    port: int
    ws_port: int  # the MQTT over WebSocket listener (supervisor console)
    passwords: dict[str, str]
    secrets: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def client(self, user: str) -> Client:
        return Client(self.port, user, self.passwords[user])


def shipped_mosquitto_conf(workdir: Path, port: int, ws_port: int) -> str:
    """deploy/mosquitto/mosquitto.conf with the listeners and paths moved into workdir."""
    text = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    subs = {
        r"^listener 1883$": f"listener {port} 127.0.0.1",
        r"^listener 8080$": f"listener {ws_port} 127.0.0.1",
        r"^password_file .*$": f"password_file {workdir / 'passwd'}",
        r"^acl_file .*$": f"acl_file {DEPLOY / 'mosquitto' / 'acl'}",
        r"^persistence_location .*$": f"persistence_location {workdir}/",
    }
    for pattern, repl in subs.items():
        text, n = re.subn(pattern, repl, text, flags=re.M)
        assert n == 1, f"mosquitto.conf: expected exactly one line matching {pattern}"
    # Started as root, mosquitto would drop to the `mosquitto` user, who cannot read the
    # private temp dir; stay the user running the tests.
    return text + f"\nuser {getpass.getuser()}\n"


@contextlib.contextmanager
def shipped_mosquitto(workdir: Path) -> Iterator[ShippedBroker]:
    mosquitto = require_tool("mosquitto")
    require_tool("mosquitto_passwd")
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(DEPLOY / "mosquitto" / "make-users.sh"), "-d", str(workdir), *ACL_USERS],
        check=True,
        capture_output=True,
        timeout=60,
    )
    secrets = workdir / "secrets"
    passwords = {u: (secrets / f"{u}.password").read_text().strip() for u in ACL_USERS}
    port, ws_port = free_port(), free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(shipped_mosquitto_conf(workdir, port, ws_port))
    with running([mosquitto, "-c", str(conf)], port, workdir / "mosquitto.log") as proc:
        wait_for_port("127.0.0.1", ws_port)
        yield ShippedBroker(port, ws_port, passwords, secrets, proc)


# -- the daemon, as `staffer run -c FILE` ------------------------------------------------------


@dataclass(frozen=True)
class Daemon:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def metric(self, name: str, **labels: str) -> float | None:
        """A sample of this daemon's /metrics, None when absent."""
        _, text = self.get("/metrics")
        for line in text.splitlines():
            m = re.match(r"^([\w:]+)(?:\{(.*)\})? (\S+)$", line)
            if not m or m.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                return float(m.group(3))
        return None


def daemon_toml(
    broker_url: str,
    http_port: int,
    state: Path,
    sites: list[str],
    *,
    username: str | None = "staffer",
    password_file: Path | None = None,
    protocol: str = "auto",
    mode: str = "auto",
    shard: tuple[int, int] = (0, 1),
    client_id: str = "staffer",
) -> str:
    mqtt = {
        "url": broker_url,
        "client_id": client_id,
        "protocol": protocol,
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 1.0,
    }
    if username:
        mqtt["username"] = username
    if password_file:
        mqtt["password_file"] = str(password_file)
    lines = ["[mqtt]"] + [f"{k} = {json.dumps(v)}" for k, v in mqtt.items()]
    lines += [
        "[http]",
        'host = "127.0.0.1"',
        f"port = {http_port}",
        "[state]",
        f"path = {json.dumps(str(state))}",
        "[log]",
        'level = "INFO"',
        "[planner]",
        'clock = "event"',
        "interval_s = 300",
        "min_dwell_s = 0",
        "move_timeout_s = 900",
        f'mode = "{mode}"',
        "[cluster]",
        f"shard_index = {shard[0]}",
        f"shard_count = {shard[1]}",
    ]
    for site in sites:
        lines += ["[[sites]]", f'id = "{site}"']
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def staffer_run(workdir: Path, toml: str, http_port: int) -> Iterator[Daemon]:
    """`staffer run -c FILE` as a child process; waits until /readyz says connected."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "staffer.toml"
    cfg.write_text(toml)
    staffer = VENV_BIN / "staffer"
    assert staffer.exists(), f"{staffer} missing: make install"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFER_")}
    log = workdir / "staffer.log"
    with running(
        [str(staffer), "run", "-c", str(cfg)], http_port, log, env=env, cwd=workdir
    ) as proc:
        daemon = Daemon(http_port, proc, log)
        deadline = time.monotonic() + 20
        while daemon.get("/readyz")[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"daemon never ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield daemon


# -- a bridge speaking contract JSON ---------------------------------------------------------


def agent_state(status: str, queue: str | None, skills: list[str], ts: float) -> bytes:
    return json.dumps({"ts": iso(ts), "status": status, "queue": queue, "skills": skills}).encode()


def surge_site_snapshot(ts: float) -> bytes:
    """A phone surge (about 10 Erlangs on 5 agents), a quiet email queue."""

    def body(
        offered: int, waiting: int, aht: float, answered: int, within: int, **extra: Any
    ) -> dict[str, Any]:
        return {
            "interval_s": 300,
            "offered": offered,
            "waiting": waiting,
            "aht_s": aht,
            "answered": answered,
            "answered_within_target": within,
            **extra,
        }

    return json.dumps(
        {
            "ts": iso(ts),
            "queues": {
                "phone": body(12, 8, 240, 4, 1, abandoned=2, oldest_wait_s=95),
                "chat": body(1, 0, 480, 1, 1),
                "email": body(1, 0, 360, 1, 1, backlog=3, oldest_age_s=600),
            },
        }
    ).encode()


def staff_surge(bridge: Client, site: str, ts: float, phone: int = 5, email: int = 12) -> None:
    for i in range(phone):
        bridge.publish(
            f"staffer/{site}/agents/p{i}/state",
            agent_state("busy", "phone", ["phone", "email"], ts),
        )
    for i in range(email):
        bridge.publish(
            f"staffer/{site}/agents/e{i:02d}/state",
            agent_state("available", "email", ["phone", "email"], ts),
        )


def wait_json(client: Client, topic: str, pred=lambda _: True, timeout_s: float = 15) -> Any:
    """The first JSON message on ``topic`` satisfying ``pred``.

    Non-matching messages on ``topic`` are dropped; messages on other topics are kept in
    ``client.backlog`` for later waits (brokers do not order messages across topics).
    """
    kept = [m for m in client.backlog if m[0] != topic]
    mine = [m for m in client.backlog if m[0] == topic]
    client.backlog[:] = kept
    for _, payload, _ in mine:
        obj = json.loads(payload)
        if pred(obj):
            return obj
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"nothing on {topic} matched"
        try:
            t, payload, retained = client.next_message(left)
        except queue.Empty:
            raise AssertionError(f"nothing on {topic} matched within {timeout_s} s") from None
        if t != topic:
            client.backlog.append((t, payload, retained))
            continue
        obj = json.loads(payload)
        if pred(obj):
            return obj


# -- Prometheus server with the shipped configuration ---------------------------------------


@dataclass(frozen=True)
class Prometheus:
    port: int

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.api("query", query=expr)
        return data["result"] if data["resultType"] == "vector" else [data["result"]]

    def wait(self, expr: str, timeout_s: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(expr)
            if result:
                return result
            assert time.monotonic() < deadline, f"no data for {expr}"
            time.sleep(0.25)


def shipped_prometheus_config(
    targets: list[str], self_port: int, alertmanager: str | None = None
) -> dict:
    """deploy/prometheus/prometheus.yml scraping ``targets`` every second, with the shipped
    rules evaluated every second and alerts sent to ``alertmanager`` (host:port; none when
    None)."""
    cfg = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    (managers,) = cfg["alerting"]["alertmanagers"]
    if alertmanager is None:
        del cfg["alerting"]
    else:
        managers["static_configs"] = [{"targets": [alertmanager]}]
    cfg["rule_files"] = [str(DEPLOY / "prometheus" / r) for r in cfg["rule_files"]]
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    jobs["staffer"]["static_configs"] = [{"targets": targets}]
    jobs["prometheus"]["static_configs"] = [{"targets": [f"127.0.0.1:{self_port}"]}]
    return cfg


@contextlib.contextmanager
def prometheus_server(
    workdir: Path, targets: list[str], alertmanager: str | None = None
) -> Iterator[Prometheus]:
    binary = require_tool("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cfg = workdir / "prometheus.yml"
    cfg.write_text(yaml.safe_dump(shipped_prometheus_config(targets, port, alertmanager)))
    with running(
        [
            binary,
            f"--config.file={cfg}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
        workdir / "prometheus.log",
    ):
        prom = Prometheus(port)
        deadline = time.monotonic() + 30
        while True:  # ready once it answers queries
            try:
                prom.api("query", query="1")
                break
            except (OSError, AssertionError):
                assert time.monotonic() < deadline, (workdir / "prometheus.log").read_text()
                time.sleep(0.2)
        yield prom


# -- Alertmanager with the shipped configuration ----------------------------------------------


@dataclass(frozen=True)
class Alertmanager:
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def alerts(self, **filters: str) -> list[dict]:
        """GET /api/v2/alerts: the alerts it holds (``filter`` matchers, as label=value)."""
        query = urllib.parse.urlencode([("filter", f'{k}="{v}"') for k, v in filters.items()])
        with urllib.request.urlopen(
            f"http://{self.address}/api/v2/alerts?{query}", timeout=10
        ) as r:
            return json.loads(r.read())

    def post(self, *alerts: dict) -> None:
        """POST /api/v2/alerts, as Prometheus does."""
        req = urllib.request.Request(
            f"http://{self.address}/api/v2/alerts",
            data=json.dumps(list(alerts)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200

    def wait(self, pred, timeout_s: float = 60, **filters: str) -> dict:
        """The first alert matching ``filters`` that satisfies ``pred``."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [a for a in self.alerts(**filters) if pred(a)]
            if found:
                return found[0]
            assert time.monotonic() < deadline, f"no alert {filters}: {self.alerts()}"
            time.sleep(0.25)


@contextlib.contextmanager
def alertmanager_server(workdir: Path) -> Iterator[Alertmanager]:
    """Debian's prometheus-alertmanager with deploy/alertmanager/alertmanager.yml, on a free
    port, clustering off (no gossip port)."""
    binary = require_tool("prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with running(
        [
            binary,
            f"--config.file={DEPLOY / 'alertmanager' / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        port,
        workdir / "alertmanager.log",
    ):
        yield Alertmanager(port)
