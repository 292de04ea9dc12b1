"""`staffer run` refuses every configuration `staffer check-config` refuses, at once, with
the same one line and exit 2: no traceback, no reconnect loop on a missing password or
CA file (contract §16). The cases are `tests/unit/test_preflight.py`'s: every file case,
and one of the URL cases (they share one validator); all the daemons start together
(each is a separate process) to keep the test short."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from staffer.cli import main
from tests.unit.test_preflight import CASE_IDS, make_pki, write_case

RUN_TIMEOUT_S = 60.0  # a daemon that does not refuse its config keeps retrying: fails here
RUN_CASES = [c for c in CASE_IDS if not c.startswith("url-")] + ["url-port-too-large"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int, str]]:
    """case -> (config path, exit code of `staffer run -c`, its stderr)."""
    root = tmp_path_factory.mktemp("preflight-run")
    pki = make_pki(root / "pki")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFER_")}
    procs = {}
    for case in RUN_CASES:
        path = write_case(root / case, pki, case)
        procs[case] = (
            path,
            subprocess.Popen(
                [sys.executable, "-m", "staffer", "run", "-c", str(path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=root / case,
            ),
        )
    out = {}
    try:
        for case, (path, proc) in procs.items():
            _, err = proc.communicate(timeout=RUN_TIMEOUT_S)
            out[case] = (path, proc.returncode, err)
    finally:
        for _, proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return out


@pytest.mark.parametrize("case", RUN_CASES)
def test_run_refuses_like_check_config(
    runs: dict[str, tuple[Path, int, str]], case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, code, err = runs[case]
    assert main(["check-config", str(path)]) == 2
    expected = capsys.readouterr().err
    assert (code, err) == (2, expected)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (path.parent / "state.db").exists()  # refused before the state was opened
