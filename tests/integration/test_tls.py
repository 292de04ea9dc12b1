"""TLS, client certificates and a password file against a real mosquitto.

openssl makes a CA, a server certificate (localhost / 127.0.0.1) and client
certificates in ``tmp_path``; mosquitto serves one TLS listener that requires a
client certificate *and* a username/password (``mosquitto_passwd``), anonymous
access off. ``staffer run`` (a real process, DEBUG logging so every library logs)
connects with ``mqtts://``, ``ca_file``, ``cert_file``/``key_file``, ``username`` and
``password_file``; a bridge on the same TLS listener gets a plan back. The password
must never appear in the daemon's output or in /metrics, not even when the broker
refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shutil
import ssl
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from tests.conftest import Broker, free_port, start_mosquitto
from tests.integration.harness import T0, Peer, iso, peer, staff_surge_site, surge_snapshot
from tests.integration.test_process import _http, _wait

OPENSSL = shutil.which("openssl")
PASSWD = shutil.which("mosquitto_passwd")


def _openssl(*args: str, cwd: Path) -> None:
    assert OPENSSL, "openssl is required"
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> dict[str, Path]:
    """CA, server cert (SAN localhost + 127.0.0.1) and two client certs, EC P-256."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=staffer test CA",
        cwd=d,
    )
    (d / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", "utf-8"
    )
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n", "utf-8")
    for name, ext in (
        ("server", "server.ext"),
        ("staffer", "client.ext"),
        ("bridge", "client.ext"),
    ):
        _openssl(
            "req",
            *ec,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={'localhost' if name == 'server' else name}",
            cwd=d,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            "-extfile",
            ext,
            cwd=d,
        )
    return {
        n: d / n
        for n in (
            "ca.crt",
            "server.crt",
            "server.key",
            "staffer.crt",
            "staffer.key",
            "bridge.crt",
            "bridge.key",
        )
    }


def make_password_file(path: Path, users: dict[str, str]) -> None:
    assert PASSWD, "mosquitto_passwd is required (Debian package mosquitto)"
    for i, (user, password) in enumerate(users.items()):
        flags = ["-c"] if i == 0 else []
        subprocess.run(
            [PASSWD, *flags, "-b", str(path), user, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
    path.chmod(0o600)


@contextlib.contextmanager
def tls_broker(d: Path, pki: dict[str, Path], passwords: Path) -> Iterator[Broker]:
    """The shared ``start_mosquitto`` with its listener turned into a TLS listener."""
    extra = (
        f"cafile {pki['ca.crt']}\ncertfile {pki['server.crt']}\n"
        f"keyfile {pki['server.key']}\nrequire_certificate true\n"
        f"allow_anonymous false\npassword_file {passwords}\n"
        # as root, mosquitto would drop to `mosquitto`, who cannot read tmp_path
        f"user {getpass.getuser()}\n"
    )
    with start_mosquitto(d, extra_config=extra) as broker:
        yield broker


def tls_peer(
    broker: Broker, prefix: str, pki: dict[str, Path], user: str, password: str
) -> contextlib.AbstractAsyncContextManager[Peer]:
    """harness.peer over TLS with a client certificate and a password."""
    tls = aiomqtt.TLSParameters(
        ca_certs=str(pki["ca.crt"]),
        certfile=str(pki["bridge.crt"]),
        keyfile=str(pki["bridge.key"]),
        cert_reqs=ssl.CERT_REQUIRED,
    )
    return peer("localhost", broker.port, prefix, username=user, password=password, tls_params=tls)


def _daemon_config(
    path: Path,
    broker: Broker,
    prefix: str,
    pki: dict[str, Path],
    password_file: Path,
    http_port: int,
    url_host: str = "localhost",
) -> None:
    path.write_text(
        f'[mqtt]\nurl = "mqtts://{url_host}:{broker.port}"\ntopic_prefix = "{prefix}"\n'
        f'client_id = "tls-{prefix}"\nusername = "staffer"\n'
        f'password_file = "{password_file}"\nca_file = "{pki["ca.crt"]}"\n'
        f'cert_file = "{pki["staffer.crt"]}"\nkey_file = "{pki["staffer.key"]}"\n'
        f"reconnect_min_s = 0.05\nreconnect_max_s = 0.5\n"
        f'[http]\nport = {http_port}\n[state]\npath = "{path.parent / "state.db"}"\n'
        f'[planner]\nclock = "event"\nmin_dwell_s = 0\n',
        "utf-8",
    )


def _metrics_text(http_port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as r:
        return r.read().decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


async def test_tls_password_round_trip_and_no_secret_leaks(
    pki: dict[str, Path], tmp_path: Path, topic_prefix: str
) -> None:
    secret = f"pw-{uuid.uuid4().hex}"
    bridge_secret = f"bridge-{uuid.uuid4().hex}"
    passwords = tmp_path / "mosquitto.passwd"
    make_password_file(passwords, {"staffer": secret, "bridge": bridge_secret})
    password_file = tmp_path / "staffer.password"
    password_file.write_text(secret + "\n", "utf-8")
    password_file.chmod(0o600)
    http_port = free_port()
    conf = tmp_path / "staffer.toml"
    log_path = tmp_path / "daemon.log"
    bad_log = tmp_path / "bad.log"
    wrong = f"wrong-{uuid.uuid4().hex}"
    with tls_broker(tmp_path / "broker", pki, passwords) as broker:
        _daemon_config(conf, broker, topic_prefix, pki, password_file, http_port)
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "staffer", "run", "-c", str(conf), "--log-level", "DEBUG"],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            await asyncio.to_thread(
                _wait, lambda: _http(f"http://127.0.0.1:{http_port}/readyz") == 200
            )
            async with tls_peer(broker, topic_prefix, pki, "bridge", bridge_secret) as p:
                await staff_surge_site(p)
                await p.publish("main/metrics", surge_snapshot(T0))
                [plan] = await p.wait_for("main/plan")
                assert plan["as_of"] == iso(T0)
                assert plan["queues"]["phone"]["target"] > plan["queues"]["phone"]["assigned"]
                [command] = await p.wait_for("main/commands")
                assert command["plan_id"] == plan["plan_id"]
                await p.publish("main/override/bridge", {"id": "t1", "action": "replan"})
                [reply] = await p.wait_for("main/override/bridge/reply")
                assert reply["ok"], reply
            metrics = await asyncio.to_thread(_metrics_text, http_port)
            assert "staffer_mqtt_connected 1.0" in metrics
            # a second daemon with a wrong password: refused, keeps retrying, says so
            # without the password
            bad_port = free_port()
            bad_conf = tmp_path / "bad" / "staffer.toml"
            bad_conf.parent.mkdir()
            wrong_file = tmp_path / "bad" / "password"
            wrong_file.write_text(wrong + "\n", "utf-8")
            _daemon_config(bad_conf, broker, topic_prefix, pki, wrong_file, bad_port)
            with bad_log.open("wb") as out:
                bad = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "staffer",
                        "run",
                        "-c",
                        str(bad_conf),
                        "--log-level",
                        "DEBUG",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=bad_conf.parent,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            try:
                await asyncio.to_thread(
                    _wait, lambda: b"cannot connect to mqtts://" in bad_log.read_bytes()
                )
                assert _http(f"http://127.0.0.1:{bad_port}/readyz") == 503
                metrics += await asyncio.to_thread(_metrics_text, bad_port)
            finally:
                _stop(bad)
        finally:
            _stop(proc)
    output = log_path.read_bytes()
    assert b"connected to mqtts://" in output
    assert b"refused" in bad_log.read_bytes().lower()
    output += bad_log.read_bytes()
    for leak in (secret, bridge_secret, wrong):
        assert leak.encode() not in output, "a password appears in the daemon's log"
        assert leak not in metrics, "a password appears in /metrics"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
