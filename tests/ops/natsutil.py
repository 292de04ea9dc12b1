"""Start nats-server from the shipped deploy/nats/nats.conf, on local ports."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port

from .conftest import DEPLOY, require_tool, running
from .mqtt_client import Client

PASSWORDS = {
    "STAFFER_PASSWORD": "staffer-pw",
    "BRIDGE_MAIN_PASSWORD": "bridge-pw",
    "OBSERVER_PASSWORD": "observer-pw",
    "ALICE_PASSWORD": "alice-pw",
}
USERS = {
    "staffer": "staffer-pw",
    "bridge-main": "bridge-pw",
    "observer": "observer-pw",
    "alice": "alice-pw",
}


@dataclass(frozen=True)
class Node:
    name: str
    client: int
    mqtt: int
    route: int
    http: int
    ws: int  # MQTT over WebSocket


def node_conf(shipped: str, node: Node, nodes: list[Node], store: Path) -> str:
    """The shipped config with its listeners, routes and store moved to this machine."""
    subs = [
        (r"listen: 0\.0\.0\.0:4222", f"listen: 127.0.0.1:{node.client}"),
        (r"http: 0\.0\.0\.0:8222", f"http: 127.0.0.1:{node.http}"),
        (r"listen: 0\.0\.0\.0:6222", f"listen: 127.0.0.1:{node.route}"),
        (r"listen: 0\.0\.0\.0:1883", f"listen: 127.0.0.1:{node.mqtt}"),
        (r"listen: 0\.0\.0\.0:8080", f"listen: 127.0.0.1:{node.ws}"),
        (r"store_dir: /data/jetstream", f"store_dir: {store}"),
        (r"pid_file: /var/run/nats/nats\.pid", f"pid_file: {store.parent / 'nats.pid'}"),
    ]
    for pattern, repl in subs:
        shipped, n = re.subn(pattern, repl, shipped)
        assert n == 1, f"nats.conf: expected one {pattern}"
    if len(nodes) == 1:  # a single server: no cluster block, no replicas to wait for
        shipped, n = re.subn(r"\ncluster \{.*?\n\}\n", "\n", shipped, flags=re.S)
        assert n == 1, "nats.conf: expected one cluster block"
        return shipped.replace("stream_replicas: 3", "stream_replicas: 1")
    routes = re.findall(r"nats-route://nats-(\d)\.nats:6222", shipped)
    assert routes == [str(i) for i in range(len(nodes))], routes
    return re.sub(
        r"nats-route://nats-(\d)\.nats:6222",
        lambda m: f"nats-route://127.0.0.1:{nodes[int(m.group(1))].route}",
        shipped,
    )


def wait_mqtt_ready(port: int, timeout_s: float = 30.0) -> None:
    """JetStream (and with it MQTT) is usable once a QoS 1 subscription succeeds."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            c = Client(port, "observer", USERS["observer"])
            try:
                c.subscribe("staffer/ready-probe")
                return
            finally:
                c.close()
        except (AssertionError, TimeoutError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def nats_cluster(workdir: Path, size: int) -> Iterator[list[Node]]:
    """Run ``size`` nats-servers (1 or 3) with the shipped configuration."""
    binary = require_tool("nats-server")
    shipped = (DEPLOY / "nats" / "nats.conf").read_text()
    nodes = [Node(f"nats-{i}", *(free_port() for _ in range(5))) for i in range(size)]
    if size > 1:
        assert size == 3, "the shipped config routes exactly three nodes"
    with contextlib.ExitStack() as stack:
        for node in nodes:
            conf = workdir / f"{node.name}.conf"
            (workdir / node.name).mkdir()
            conf.write_text(node_conf(shipped, node, nodes, workdir / node.name / "jetstream"))
            env = {**os.environ, **PASSWORDS, "NATS_SERVER_NAME": node.name}
            stack.enter_context(
                running([binary, "-c", str(conf)], node.mqtt, workdir / f"{node.name}.log", env=env)
            )
        for node in nodes:
            wait_mqtt_ready(node.mqtt)
        yield nodes
