"""``staffer demo --short`` end to end: embedded broker, real daemon, simulated site."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from staffer.demo import run_demo
from staffer.sim.run import run_policy
from staffer.sim.scenario import load_scenario

pytestmark = pytest.mark.integration


async def test_demo_short_end_to_end(tmp_path: Path) -> None:
    out = io.StringIO()
    result = await run_demo(short=True, seed=7, out_dir=tmp_path, stream=out)
    text = out.getvalue()
    assert "broker: embedded amqtt on mqtt://127.0.0.1:" in text
    assert "daemon: online" in text
    # the daemon planned on every site snapshot (event clock) and its moves were applied
    assert result.plans > 0 and result.missed_plans == 0
    assert result.staffer.moves > 0
    assert " move " in text
    # identical contacts under both policies; the surge needs the daemon's moves
    assert result.staffer.queues["phone"].offered == result.static.queues["phone"].offered
    assert (
        result.staffer.queues["phone"].service_level > result.static.queues["phone"].service_level
    )
    assert result.metrics_url is not None and result.metrics_url.startswith("http://127.0.0.1:")
    assert result.chart is not None and result.chart.read_bytes()[:4] == b"\x89PNG"
    assert result.chart.parent == tmp_path
    # the offline `staffer` policy runs the same core in-process: same day, same decisions
    # (identical in practice; a tolerance allows a command that misses its tick under load)
    _, offline = run_policy(load_scenario("short"), "staffer", seed=7)
    for q in ("phone", "chat"):
        assert abs(offline.queues[q].service_level - result.staffer.queues[q].service_level) <= 0.03
    assert abs(offline.moves - result.staffer.moves) <= 2


def test_demo_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    from staffer.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["demo", "--help"])
    assert exc.value.code == 0
    assert "--short" in capsys.readouterr().out
