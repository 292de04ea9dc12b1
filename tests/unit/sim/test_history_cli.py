"""``staffer simulate --history`` and ``staffer scenario from-history`` end to end, on a
one-hour day written by the test: table with the calibration row, per-interval output,
seeds, chart, JSON, the equivalent scenario file, and exit 2 on bad input."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from staffer.cli import main
from staffer.sim.from_history import HistoryInputs, load_day
from staffer.sim.scenario import load_scenario, scenario_from_dict
from tests.unit.sim.history_files import day_files, write


def _args(tmp: Path) -> list[str]:
    i, r, c = day_files(tmp)
    return ["--history", str(i), "--roster", str(r), "-c", str(c)]


def test_one_command_before_after_table_and_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "day.png"
    assert main(["simulate", *_args(tmp_path), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("scenario intervals (seed 1): Replay of")
    rows = [ln.split() for ln in lines if ln.startswith(("phone ", "chat "))]
    assert [r[:2] for r in rows] == [
        ["phone", "actual"],
        ["phone", "static"],
        ["phone", "staffer"],
        ["chat", "actual"],
        ["chat", "static"],
        ["chat", "staffer"],
    ]
    # the actual row: 100 offered, SL 63/100, abandonment 10/100, ASA unknown
    assert rows[0][2:6] == ["100", "63.0", "80.0", "-"] and rows[0][6] == "10.0"
    assert "chart: " + str(png) in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_intervals_table_and_moves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", *_args(tmp_path), "--policy", "threshold", "--intervals"]) == 0
    out = capsys.readouterr().out
    assert "phone (voice, target 80.0% within 20 s)" in out
    table = out[out.index("phone (voice") :].splitlines()
    assert table[1].split() == ["actual", "static", "threshold"]
    assert table[2].split()[:5] == ["time", "offered", "offered", "SL", "aband"]
    assert table[3].split()[0] == "08:00" and table[3].split()[2:5] == ["40", "82.5", "2"]
    assert table[4].split()[0] == "08:30" and table[4].split()[2:5] == ["60", "50.0", "8"]
    assert "moves of threshold (seed 1):" in out


def test_json_has_actuals_intervals_moves_and_seed_spread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *_args(tmp_path), "--seeds", "2", "--seed", "5", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert captured.err == ""
    assert data["seeds"] == [5, 6] and set(data["policies"]) == {"static", "staffer"}
    assert data["actual"]["phone"]["service_level"] == pytest.approx(0.63)
    assert data["actual"]["phone"]["abandon_ratio"] == pytest.approx(0.10)
    sl = data["summary"]["static"]["queues"]["phone"]["service_level"]
    assert set(sl) == {"mean", "sd"} and sl["sd"] is not None  # two seeds: a spread
    iv = data["intervals"]
    assert iv["interval_s"] == 1800 and iv["starts"] == [
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:30:00Z",
    ]
    phone = iv["queues"]["phone"]
    assert phone["actual"]["offered"] == [40, 60]
    static = phone["policies"]["static"]
    assert set(static) >= {
        "offered",
        "service_level",
        "service_level_sd",
        "asa_s",
        "abandoned",
        "agents",
    }
    assert len(static["agents"]) == 2 and static["agents"][0] == pytest.approx(3.0)
    assert set(data["rescued"]["staffer"]["phone"]) == {"static_missed", "rescued"}
    for m in data["moves"]["staffer"]["moves"]:
        assert m["reason"] and m["to"] in ("phone", "chat") and m["at"].endswith("Z")


def test_from_history_writes_the_equivalent_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(tmp_path)
    day = tmp_path / "out" / "day.toml"
    assert main(["scenario", "from-history", *args, "-o", str(day)]) == 0
    assert "wrote " + str(day) in capsys.readouterr().out
    i, r, c = day_files(tmp_path)
    expected, _ = load_day(HistoryInputs(i, r, c))
    assert load_scenario(day) == expected
    assert scenario_from_dict(tomllib.loads(day.read_text())) == expected
    # simulating the file gives what simulating the history gives
    assert main(["simulate", str(day), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert set(from_file["policies"]) == {"static", "staffer"}  # a real day: static too
    assert main(["simulate", *args, "--json"]) == 0
    from_history = json.loads(capsys.readouterr().out)
    from_file.pop("notes"), from_history.pop("notes")
    assert from_file == from_history


def test_from_history_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "from-history", *_args(tmp_path), "-o", "-", "--name", "mon"]) == 0
    data = tomllib.loads(capsys.readouterr().out)
    assert data["name"] == "mon" and data["actuals"]["phone"]["offered"] == [40, 60]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["simulate"], "give a SCENARIO (e.g. surge) or --history"),
        (["simulate", "short", "--history", "x.csv"], "not both"),
        (["simulate", "short", "--tz", "UTC"], "--tz only goes with --history"),
        (["simulate", "--history", "x.csv"], "needs both --history INTERVALS.csv and --roster"),
        (["simulate", "short", "--seeds", "0"], "--seeds: expected a count >= 1"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("staffer: error:") and needle in err and err.count("\n") == 1


@pytest.mark.parametrize("command", [["simulate"], ["scenario", "from-history", "-o", "OUT"]])
def test_bad_rows_exit_2_with_every_location(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(tmp_path)
    write(
        tmp_path,
        "intervals.csv",
        "interval_start,queue,offered,aht_s\n"
        "2026-03-02T08:00:00Z,phone,4,240\n"
        "2026-03-02T08:30:00Z,phone,many,240\n"
        "2026-03-02T08:30:00Z,sales,3,240\n",
    )
    out = tmp_path / "x.toml"
    assert main([str(out) if c == "OUT" else c for c in command] + args) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "staffer: error: 2 problems in the input:"
    assert err[1].endswith(
        "intervals.csv:3: column offered: expected a whole number >= 0, got 'many'"
    )
    assert err[2].endswith(
        "intervals.csv:4: column queue: expected a queue of site main (phone, chat, email), "
        "got 'sales'"
    )
    assert not out.exists()


@pytest.mark.parametrize("command", [["simulate"], ["scenario", "from-history", "-o", "OUT"]])
@pytest.mark.parametrize(
    ("offered", "needle"),
    [
        ("99999999999", "column offered: expected a whole number at most 1,000,000,000"),
        ("999999", "column offered: expected at most 50,000 in 1800 s (100,000 an hour)"),
    ],
)
def test_absurd_counts_exit_2_with_their_location(
    tmp_path: Path,
    command: list[str],
    offered: str,
    needle: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = _args(tmp_path)
    write(
        tmp_path,
        "intervals.csv",
        f"interval_start,queue,offered,aht_s\n2026-03-02T08:00:00Z,phone,{offered},240\n",
    )
    out = tmp_path / "x.toml"
    assert main([str(out) if c == "OUT" else c for c in command] + args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"intervals.csv:2: {needle}, got '{offered}'" in err
    assert not out.exists()


def test_from_history_help_marks_history_and_roster_required(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["scenario", "from-history", "--help"])
    assert done.value.code == 0
    usage = " ".join(capsys.readouterr().out.split("\n\n")[0].split())
    assert "--history INTERVALS.csv --roster AGENTS.csv" in usage
    assert "[--history" not in usage and "[--roster" not in usage
    with pytest.raises(SystemExit) as done:
        main(["scenario", "from-history", "-o", "-", "--history", "x.csv"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "required: --roster" in err and err.count("\n") == 1
