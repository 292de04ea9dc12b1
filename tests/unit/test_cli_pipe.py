"""``staffer ... | head -1``: a reader that goes away early ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv",
    [
        ["erlang", "c", "--rate", "0.05", "--aht", "240", "--agents", "14", "--target", "20"],
        ["simulate", "short", "--intervals"],
    ],
)
def test_closed_stdout_exits_1_without_traceback(argv: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "staffer", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1  # the Python docs' exit code on EPIPE
    assert err == ""
