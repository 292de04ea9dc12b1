"""Without the ``demo`` extra (simpy, matplotlib, amqtt) the daemon and its CLI still work,
and ``staffer demo`` / ``staffer simulate`` say in one line what to install (exit 2).

Each case runs in a fresh interpreter in which those packages cannot be imported
(``sys.modules[name] = None`` makes ``import name`` fail, as when it is not installed).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOT = (
    "import sys\n"
    "for name in ('simpy', 'matplotlib', 'amqtt'):\n"
    "    sys.modules[name] = None\n"
    "import staffer.app  # the daemon imports nothing of the extra\n"
    "from staffer.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def staffer(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BOOT, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["run", "--help"], ["simulate", "--help"], ["erlang", "c", "--help"]],
)
def test_cli_and_daemon_import_without_the_extra(argv: list[str]) -> None:
    done = staffer(*argv)
    assert done.returncode == 0, done.stderr
    assert "usage: staffer" in done.stdout


def test_check_config_works_without_the_extra() -> None:
    done = staffer("check-config", "config/staffer.toml")
    assert done.returncode == 0, done.stderr
    assert ": OK (" in done.stdout


@pytest.mark.parametrize("argv", [["demo", "--short"], ["simulate", "surge"]])
def test_demo_and_simulate_name_the_extra(argv: list[str]) -> None:
    done = staffer(*argv)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pip install 'staffer[demo]'" in lines[0] and lines[0].startswith("staffer: error:")
