"""`staffer ctl` through the shipped broker configuration (password file, ACL): a supervisor
logs in with their own password, is identified by their username, reads what the ACL
lets them read; a wrong password is one line and exit 3, and never printed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

from .stack import T0, ShippedBroker, daemon_toml, shipped_mosquitto, staff_surge, staffer_run


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedBroker]:
    with shipped_mosquitto(tmp_path_factory.mktemp("ctl-acl")) as b:
        yield b


def ctl(
    broker: ShippedBroker, cwd: Path, *argv: str, user: str = "alice", password: Path | None = None
):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFER_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "staffer",
            "ctl",
            "--url",
            broker.url,
            "--username",
            user,
            "--password-file",
            str(password or broker.secrets / f"{user}.password"),
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


def test_supervisor_session_on_the_shipped_broker(broker: ShippedBroker, tmp_path: Path) -> None:
    http = free_port()
    toml = daemon_toml(
        broker.url,
        http,
        tmp_path / "s.db",
        ["main"],
        password_file=broker.secrets / "staffer.password",
    )
    with staffer_run(tmp_path / "daemon", toml, http):
        bridge = broker.client("bridge-main")
        try:
            staff_surge(bridge, "main", T0)
            time.sleep(0.5)  # let the daemon take the agent states in
            done = ctl(broker, tmp_path, "assign", "e00", "phone", "--reason", "VIP caller")
            assert done.returncode == 0, done
            # The shipped broker keeps one connection per user (use_username_as_clientid):
            # a watch as alice would be taken over by alice's next ctl command, so the
            # watch runs as the read-only observer (it reads every supervisor's replies)
            watch = subprocess.Popen(
                [sys.executable, "-m", "staffer", "ctl", "watch", "--count", "2", "--url",
                 broker.url, "--username", "observer", "--password-file",
                 str(broker.secrets / "observer.password")],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            )  # fmt: skip
            try:
                assert "watching site main" in watch.stderr.readline()  # type: ignore[union-attr]
                assert ctl(broker, tmp_path, "assign", "e01", "phone").returncode == 0
                out, _ = watch.communicate(timeout=30)
            finally:
                if watch.poll() is None:
                    watch.kill()
                    watch.wait()
            assert watch.returncode == 0
            assert "e01 email -> phone: assigned by alice" in out
            assert "reply to alice" in out
            overrides = ctl(broker, tmp_path, "overrides")
            assert overrides.returncode == 0 and overrides.stdout.count(" alice ") == 2
        finally:
            bridge.close()

        bad = tmp_path / "wrong.password"
        bad.write_text("not-alices-password\n")
        done = ctl(broker, tmp_path, "replan", password=bad)
        assert done.returncode == 3
        assert done.stderr.count("\n") == 1 and "refused the login" in done.stderr
        assert "not-alices-password" not in done.stderr + done.stdout
