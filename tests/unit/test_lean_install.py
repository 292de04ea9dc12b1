"""Without the ``demo`` extra (simpy, matplotlib, amqtt) the daemon and its CLI still work
(``run``, ``check-config``, ``erlang``, ``ctl``, ``audit``, ``bridge-check``, ``scenario
from-history``), and ``staffer demo`` / ``staffer simulate`` say in one line what to install
(exit 2).

Each case runs in a fresh interpreter in which those packages cannot be imported
(``sys.modules[name] = None`` makes ``import name`` fail, as when it is not installed).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from staffer.adapters.store import StateStore
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BOOT = (
    "import sys\n"
    "for name in ('simpy', 'matplotlib', 'amqtt'):\n"
    "    sys.modules[name] = None\n"
    "import staffer.app  # the daemon imports nothing of the extra\n"
    "from staffer.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def staffer(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BOOT, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["simulate", "--help"],
        ["erlang", "c", "--help"],
        ["ctl", "--help"],
        ["ctl", "pin", "--help"],
        ["audit", "--help"],
        ["bridge-check", "--help"],
        ["scenario", "from-history", "--help"],
    ],
)
def test_cli_and_daemon_import_without_the_extra(argv: list[str]) -> None:
    done = staffer(*argv)
    assert done.returncode == 0, done.stderr
    assert "usage: staffer" in done.stdout


def test_check_config_works_without_the_extra() -> None:
    done = staffer("check-config", "config/staffer.toml")
    assert done.returncode == 0, done.stderr
    assert ": OK (" in done.stdout


def test_audit_reads_a_state_file_without_the_extra(tmp_path: Path) -> None:
    StateStore.open(tmp_path / "state.db").close()
    done = staffer("audit", "--state", str(tmp_path / "state.db"), "--format", "json")
    assert done.returncode == 0, done.stderr


def test_ctl_and_bridge_check_reach_for_the_broker_without_the_extra(tmp_path: Path) -> None:
    dead = f"mqtt://127.0.0.1:{free_port()}"
    done = staffer("ctl", "--url", dead, "--site", "main", "replan", cwd=tmp_path)
    assert done.returncode == 3 and "cannot reach the MQTT broker" in done.stderr, done.stderr
    done = staffer("bridge-check", "--url", dead, "--site", "main", "--json", cwd=tmp_path)
    assert done.returncode == 3 and "cannot reach the broker" in done.stdout, done.stderr


def test_scenario_from_history_works_without_the_extra(tmp_path: Path) -> None:
    lakeside = ROOT / "examples" / "lakeside"
    out = tmp_path / "day.toml"
    done = staffer(
        "scenario",
        "from-history",
        "--history",
        str(lakeside / "intervals-2026-03-02.csv"),
        "--roster",
        str(lakeside / "agents.csv"),
        "-c",
        str(lakeside / "staffer.toml"),
        "--tz",
        "Europe/Amsterdam",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").count("[[agents]]") > 0


@pytest.mark.parametrize("argv", [["demo", "--short"], ["simulate", "surge"]])
def test_demo_and_simulate_name_the_extra(argv: list[str]) -> None:
    done = staffer(*argv)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pip install 'staffer[demo]'" in lines[0] and lines[0].startswith("staffer: error:")
