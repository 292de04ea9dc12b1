"""deploy/systemd/staffer.service: `systemd-analyze verify` and the offline security score.

The unit's ExecStart is /opt/staffer/bin/staffer, which does not exist on a test machine
and which verify rightly reports. The shipped file is checked for exactly that one
complaint; a copy whose ExecStart points at this checkout's real `staffer` must verify
without a single message.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import DEPLOY, VENV_BIN, require_tool

UNIT = DEPLOY / "systemd" / "staffer.service"
SHIPPED_EXEC = "/opt/staffer/bin/staffer"


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("systemd-analyze"), "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def local_unit(tmp_path) -> Path:
    staffer = VENV_BIN / "staffer"
    assert staffer.exists(), f"{staffer} missing: install the package (make install)"
    unit = tmp_path / "staffer.service"
    unit.write_text(UNIT.read_text().replace(SHIPPED_EXEC, str(staffer)))
    return unit


def test_shipped_unit_only_lacks_the_installed_binary(tmp_path) -> None:
    copy = tmp_path / "staffer.service"
    copy.write_text(UNIT.read_text())
    proc = verify(copy)
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert lines and all(SHIPPED_EXEC in ln and "not executable" in ln for ln in lines), lines


def test_unit_verifies_cleanly_with_a_real_binary(local_unit) -> None:
    proc = verify(local_unit)
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), (
        proc.stdout + proc.stderr
    )


def test_verify_catches_mistakes(local_unit) -> None:
    local_unit.write_text(
        local_unit.read_text().replace("[Service]\n", "[Service]\nProtectSystm=strict\n")
    )
    proc = verify(local_unit)
    assert "Unknown key" in proc.stdout + proc.stderr


def test_security_exposure_is_low(local_unit) -> None:
    proc = subprocess.run(
        [
            require_tool("systemd-analyze"),
            "security",
            "--offline=yes",
            "--no-pager",
            str(local_unit),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", proc.stdout)
    assert m, proc.stdout[-2000:] + proc.stderr
    assert float(m.group(1)) <= 2.0, proc.stdout[-3000:]


def test_required_directives() -> None:
    text = UNIT.read_text()
    for directive in (
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=staffer",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "RestartPreventExitStatus=2",
        "ExecStart=/opt/staffer/bin/staffer run -c /etc/staffer/staffer.toml",
        "LoadCredential=mqtt_password:",
    ):
        assert re.search(rf"^{re.escape(directive)}", text, re.M), directive
