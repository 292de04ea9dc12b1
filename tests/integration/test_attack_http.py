"""The HTTP endpoint under a connection flood and malformed requests (issue 14, item 10).

A real ``staffer run`` with 256 file descriptors (RLIMIT_NOFILE) and 300 idle TCP
connections to its HTTP port, plus malformed requests: ``/healthz`` still answers, the
broker connection comes back after a broker restart, refusals are counted
(``staffer_http_rejected_total``) and the log stays small (no traceback per request).
Before the fix the idle connections used up the descriptors: ``/healthz`` stopped
answering, the reconnect failed, and every malformed request logged a traceback.
"""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, mosquitto_binary, start_mosquitto, stop_process

pytestmark = pytest.mark.skipif(mosquitto_binary() is None, reason="needs mosquitto")

MALFORMED = b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return int(r.status), r.read().decode()
    except OSError as err:
        return int(getattr(err, "code", 0) or 0), ""


def _until(pred: object, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def _few_fds() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def test_idle_connections_and_bad_requests_do_not_take_the_daemon_down(
    tmp_path: Path, topic_prefix: str
) -> None:
    port, http_port = free_port(), free_port()
    base = f"http://127.0.0.1:{http_port}"
    conf = tmp_path / "staffer.toml"
    conf.write_text(
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{port}"\ntopic_prefix = "{topic_prefix}"\n'
        f'client_id = "http-{topic_prefix}"\nreconnect_min_s = 0.05\nreconnect_max_s = 0.5\n'
        f'[http]\nport = {http_port}\n[state]\npath = "{tmp_path / "s.db"}"\n',
        "utf-8",
    )
    log = tmp_path / "daemon.log"
    first = start_mosquitto(tmp_path / "b1", port=port)
    first.__enter__()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "staffer", "run", "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            preexec_fn=_few_fds,
        )
    idle: list[socket.socket] = []
    try:
        _until(lambda: _get(f"{base}/readyz")[0] == 200)
        for _ in range(300):
            idle.append(socket.create_connection(("127.0.0.1", http_port), timeout=5))
        for _ in range(50):
            with socket.create_connection(("127.0.0.1", http_port), timeout=5) as bad:
                bad.sendall(MALFORMED)
                bad.recv(4096)
        assert _get(f"{base}/healthz")[0] == 200  # the 300 are still open on our side
        first.__exit__(None, None, None)  # the broker restarts
        _until(lambda: _get(f"{base}/readyz")[0] == 503)
        with start_mosquitto(tmp_path / "b2", port=port):
            _until(lambda: _get(f"{base}/readyz")[0] == 200)  # reconnected
            status, metrics = _get(f"{base}/metrics")
        assert status == 200
        assert 'staffer_http_rejected_total{reason="too_many_connections"}' in metrics
        assert 'staffer_http_rejected_total{reason="malformed"} 50.0' in metrics
    finally:
        for s in idle:
            s.close()
        stop_process(proc, 10.0)
        first.__exit__(None, None, None)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert len(text) < 20000, f"{len(text)} bytes of log: {text[-2000:]}"
