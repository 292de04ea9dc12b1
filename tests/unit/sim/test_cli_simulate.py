"""``staffer simulate``: JSON with every KPI, table, plot, exit 2 on bad scenarios."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from staffer.cli import main
from staffer.cli.simulate import ProgressBar
from staffer.sim.scenario import SCENARIO_DIR

QUEUE_KPIS = {
    "channel",
    "offered",
    "answered",
    "abandoned",
    "service_level",
    "asa_s",
    "abandon_ratio",
    "sl_target",
    "intervals_met",
    "intervals_within_5pt",
}


def test_json_has_all_kpis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "short", "--policy", "threshold", "--seed", "3", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert err == ""  # no progress bar with --json
    assert data["scenario"] == "short" and data["seed"] == 3
    day = data["policies"]["threshold"]
    assert {"moves", "moves_per_agent_hour", "agent_hours", "queues"} <= set(day)
    assert set(day["queues"]) == {"phone", "chat", "email"}
    for q in ("phone", "chat"):
        assert set(day["queues"][q]) >= QUEUE_KPIS
        assert 0 <= day["queues"][q]["service_level"] <= 1
    email = day["queues"]["email"]
    assert {"on_time", "open_at_end"} <= set(email)


def test_all_policies_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "day.png"
    assert main(["simulate", "short", "--policy", "all", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    for name in ("static", "threshold", "staffer"):
        assert name in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("content", ["not = [toml", 'name = "x"\n'])
def test_bad_scenario_exits_2(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(content)
    assert main(["simulate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("staffer: error:") and err.count("\n") == 1


def test_missing_scenario_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "no-such-scenario"]) == 2
    assert "no such scenario" in capsys.readouterr().err


@pytest.mark.parametrize(("runs", "steps"), [(3, 200), (9, 97), (1, 7)])
def test_progress_bar_is_monotone_and_ends_at_100(runs: int, steps: int) -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, True, runs)
    for _ in range(runs):  # as run_policy reports: t / end for each period, ending at 1.0
        for k in range(1, steps + 1):
            bar("staffer", k / steps)
    shown = [int(m) for m in re.findall(r"\] +(\d+)%", stream.getvalue())]
    assert shown == sorted(shown) and shown[-1] == 100


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--seed", "-1"], "--seed: expected a whole number >= 0 (got -1)"),
        (["--plot", "chart.txt"], "--plot: expected a file ending in .png, .svg, .pdf"),
        (["--plot", "mychart"], "(got 'mychart')"),
        (["--plot", ""], "--plot: expected a file ending in"),
    ],
)
def test_bad_seed_or_plot_exits_2(
    tmp_path: Path,
    argv: list[str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "short", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("staffer: error:") and needle in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("suffix", [".svg", ".PDF"])
def test_plot_reports_the_file_written(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / f"day{suffix}"
    assert main(["simulate", "short", "--plot", str(chart), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plot"] == str(chart)
    assert chart.stat().st_size > 0


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        (
            "rates_per_hour = [90, 100, 160, 160]",
            "rates_per_hour = [90, 1e12, 160, 160]",
            "demand.phone: Value error, rates_per_hour[1]: expected a rate >= 0 and at most "
            "100,000 per hour (got 1000000000000.0)",
        ),
        ("drain_s = 600", "drain_s = 1e15", "drain_s: Input should be less than or equal to"),
        ("drain_s = 600", "drain_s = inf", "drain_s: Input should be"),
    ],
)
def test_absurd_scenario_values_exit_2_naming_the_key(
    tmp_path: Path, old: str, new: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (SCENARIO_DIR / "short.toml").read_text()
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    assert main(["simulate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("staffer: error:") and needle in err and err.count("\n") == 1


def test_unknown_scenario_lists_the_bundled_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "nosuch: no such scenario file (bundled scenarios: " in err
    assert "short" in err and "surge" in err and err.count("\n") == 1
