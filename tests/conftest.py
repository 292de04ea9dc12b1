"""Shared fixtures: a private mosquitto broker per test module, unique topic prefixes.

Other test directories reuse them as is (pytest loads this conftest for all of
``tests/``). ``start_mosquitto`` is also importable for benchmarks and the demo.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


@dataclass(frozen=True)
class Broker:
    """A running MQTT broker: where to connect."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def _ephemeral_low() -> int:
    """The first port the kernel may give an outgoing connection as its source port."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_LOW = _ephemeral_low()
_handed_out: set[int] = set()
_port_rng = random.Random(os.getpid() ^ time.monotonic_ns())


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago, never the same one twice in a process.

    Taken below the kernel's ephemeral range when there is room: a port the kernel picked
    for us could meanwhile become the source port of an outgoing connection (a NATS node
    dialing its routes before the next node binds) and the server then fails with
    "address already in use" (seen in 2 of 40 runs of the 3-node NATS cluster).
    """
    low = 10_000
    for _ in range(200 if _EPHEMERAL_LOW - low > 1_000 else 0):
        port = _port_rng.randrange(low, _EPHEMERAL_LOW)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:  # no room below the ephemeral range: let the kernel pick
        s.bind((host, 0))
        port = int(s.getsockname()[1])
    _handed_out.add(port)
    return port


def wait_for_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port}") from None
            time.sleep(0.05)


def mosquitto_binary() -> str | None:
    """Path of the mosquitto binary, or None when it is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in MOSQUITTO_CANDIDATES if os.access(p, os.X_OK)), None)


def stop_process(proc: subprocess.Popen, timeout_s: float) -> None:
    """Terminate a child process, killing it if it does not exit within ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def start_mosquitto(
    workdir: Path, extra_config: str = "", port: int | None = None
) -> Iterator[Broker]:
    """Run a private mosquitto on a free port (or ``port``) with a temp config; stop it
    afterwards. Falls back to the system broker on 127.0.0.1:1883 when the binary is
    missing.
    """
    binary = mosquitto_binary()
    if binary is None:
        yield Broker("127.0.0.1", 1883)
        return
    workdir.mkdir(parents=True, exist_ok=True)
    wanted = port
    for _attempt in range(5 if wanted is None else 50):
        port = wanted or free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 100000\n"
            "log_type error\nlog_type warning\n"
            f"log_dest file {workdir / 'mosquitto.log'}\n"
            f"{extra_config}\n",
            encoding="utf-8",
        )
        proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_port("127.0.0.1", port, timeout_s=5.0)
        except TimeoutError:
            proc.kill()
            proc.wait()
            time.sleep(0.1)
            continue  # port raced away (or still in TIME_WAIT): try again
        try:
            yield Broker("127.0.0.1", port)
        finally:
            stop_process(proc, 5.0)
        return
    raise RuntimeError("could not start mosquitto")


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A private broker for the test module: ``mosquitto.host``, ``mosquitto.port``."""
    with start_mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker


@pytest.fixture
def topic_prefix() -> str:
    """A unique topic prefix per test, so tests can share one broker."""
    return f"t{uuid.uuid4().hex[:10]}"


INTEGRATION_DIRS = ("integration", "ops")  # every test there needs real brokers or tools


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark broker tests ``integration`` (``-m "not integration"`` is the fast loop):
    everything under tests/integration and tests/ops, and any test using a broker."""
    for item in items:
        parts = item.path.relative_to(config.rootpath).parts
        in_dir = len(parts) > 1 and parts[0] == "tests" and parts[1] in INTEGRATION_DIRS
        if in_dir or "mosquitto" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
