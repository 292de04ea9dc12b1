"""``staffer erlang``: outputs match staffer.models; bad arguments exit 2 with one line."""

from __future__ import annotations

import json
import math
import warnings

import pytest

from staffer import models as m
from staffer.cli import main

RATE, AHT, TARGET = 0.05, 240.0, 20.0  # 12 Erlangs


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``staffer <argv>`` (argparse exits included)."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    assert out.count("\n") == 1  # exactly one JSON object, one line
    obj = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert isinstance(obj, dict)
    return obj


BASE = ["--rate", str(RATE), "--aht", str(AHT)]


def test_erlang_c_json_matches_models(capsys: pytest.CaptureFixture[str]) -> None:
    obj = run_json(["erlang", "c", *BASE, "--agents", "14", "--target", "15"], capsys)
    assert obj["model"] == "erlang_c" and obj["agents"] == 14
    assert {"p_wait", "asa_s", "service_level", "occupancy"} <= obj.keys()
    assert obj["p_wait"] == pytest.approx(float(m.erlang_c(RATE * AHT, 14)), rel=1e-12)
    assert obj["asa_s"] == pytest.approx(float(m.asa(RATE, AHT, 14)), rel=1e-12)
    assert obj["service_level"] == pytest.approx(
        float(m.service_level(RATE, AHT, 14, 15.0)), rel=1e-12
    )
    assert obj["occupancy"] == pytest.approx(12.0 / 14.0, rel=1e-12)
    assert 0 < obj["p_wait"] < 1 and 0 < obj["service_level"] < 1


def test_erlang_c_with_patience_is_erlang_a(capsys: pytest.CaptureFixture[str]) -> None:
    c = run_json(["erlang", "c", *BASE, "--agents", "12", "--patience", "90"], capsys)
    a = run_json(["erlang", "a", *BASE, "--agents", "12", "--patience", "90"], capsys)
    assert c == a and c["model"] == "erlang_a"


def test_rate_per_hour_is_rate_times_3600(capsys: pytest.CaptureFixture[str]) -> None:
    per_s = run_json(["erlang", "c", *BASE, "--agents", "14"], capsys)
    per_h = run_json(
        ["erlang", "c", "--rate-per-hour", str(RATE * 3600), "--aht", str(AHT), "--agents", "14"],
        capsys,
    )
    assert per_h["p_wait"] == pytest.approx(per_s["p_wait"], rel=1e-12)
    assert per_h["service_level"] == pytest.approx(per_s["service_level"], rel=1e-12)


def test_erlang_a_reports_abandonment(capsys: pytest.CaptureFixture[str]) -> None:
    obj = run_json(["erlang", "a", *BASE, "--agents", "12", "--patience", "90"], capsys)
    assert obj["model"] == "erlang_a"
    assert obj["abandon_ratio"] == pytest.approx(
        float(m.abandon_ratio(RATE, AHT, 12, 90.0)), rel=1e-10
    )
    assert obj["service_level"] == pytest.approx(
        float(m.service_level(RATE, AHT, 12, TARGET, patience=90.0)), rel=1e-10
    )
    assert obj["p_wait"] == pytest.approx(float(m.p_wait(RATE, AHT, 12, patience=90.0)), rel=1e-10)
    assert 0 < obj["abandon_ratio"] < 1


def test_required_erlang_c_is_the_smallest_meeting_the_goal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    obj = run_json(["erlang", "required", *BASE, "--target", "20", "--sl", "0.8"], capsys)
    n = obj["agents"]
    assert n == int(m.required_agents(RATE, AHT, TARGET, 0.8))
    assert obj["model"] == "erlang_c"
    assert obj["service_level"] >= 0.8
    assert float(m.service_level(RATE, AHT, n - 1, TARGET)) < 0.8


def test_required_with_patience_honours_abandon_cap(capsys: pytest.CaptureFixture[str]) -> None:
    # Impatient callers: the SL goal alone would be met by fewer agents than the cap needs.
    argv = [
        "erlang",
        "required",
        "--rate",
        "1.0",
        "--aht",
        "240",
        "--sl",
        "0.8",
        "--patience",
        "30",
    ]
    obj = run_json(argv, capsys)
    assert obj["model"] == "erlang_a"
    assert obj["agents"] == int(
        m.required_agents(1.0, 240.0, TARGET, 0.8, patience=30.0, max_abandon=0.05)
    )
    assert obj["abandon_ratio"] <= 0.05 and obj["service_level"] >= 0.8
    loose = run_json([*argv, "--max-abandon", "0.5"], capsys)
    assert loose["agents"] == int(
        m.required_agents(1.0, 240.0, TARGET, 0.8, patience=30.0, max_abandon=0.5)
    )
    assert loose["agents"] <= obj["agents"]


def test_required_asa_goal(capsys: pytest.CaptureFixture[str]) -> None:
    obj = run_json(["erlang", "required", *BASE, "--asa", "10"], capsys)
    assert obj["agents"] == int(m.required_agents_asa(RATE, AHT, 10.0))
    assert obj["asa_s"] <= 10.0


def test_chat_concurrency(capsys: pytest.CaptureFixture[str]) -> None:
    obj = run_json(["erlang", "chat", *BASE, "--agents", "7", "--concurrency", "2"], capsys)
    assert obj["concurrency"] == 2
    assert obj["p_wait"] == pytest.approx(float(m.p_wait(RATE, AHT, 7, concurrency=2)), rel=1e-12)
    single = run_json(["erlang", "c", *BASE, "--agents", "7"], capsys)
    assert single["p_wait"] == 1.0 and obj["p_wait"] < 1.0  # 12 E > 7 agents alone


def test_erlang_b(capsys: pytest.CaptureFixture[str]) -> None:
    obj = run_json(["erlang", "b", *BASE, "--agents", "14"], capsys)
    assert obj["model"] == "erlang_b"
    assert obj["blocking"] == pytest.approx(float(m.erlang_b(12.0, 14)), rel=1e-12)


def test_email(capsys: pytest.CaptureFixture[str]) -> None:
    obj = run_json(
        [
            "erlang",
            "email",
            "--rate-per-hour",
            "60",
            "--aht",
            "300",
            "--target",
            "14400",
            "--backlog",
            "200",
            "--agents",
            "3",
        ],
        capsys,
    )
    n = int(m.email_required_agents(200, 60 / 3600, 300.0, 14400.0))
    assert obj["model"] == "email" and obj["agents"] == n
    assert obj["at_agents"]["on_time_ratio"] == pytest.approx(
        float(m.email_on_time_ratio(200, 60 / 3600, 300.0, 3, 14400.0))
    )
    short = run_json(
        [
            "erlang",
            "email",
            "--rate-per-hour",
            "60",
            "--aht",
            "300",
            "--target",
            "14400",
            "--backlog",
            "200",
            "--horizon",
            "3600",
        ],
        capsys,
    )
    assert short["agents"] == int(
        m.email_required_agents(200, 60 / 3600, 300.0, 14400.0, horizon_s=3600.0)
    )
    assert short["horizon_s"] == 3600.0


def test_unstable_erlang_c_edges_are_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    obj = run_json(["erlang", "c", *BASE, "--agents", "12"], capsys)  # agents == traffic
    assert obj["p_wait"] == 1.0 and obj["service_level"] == 0.0
    assert obj["asa_s"] is None  # inf -> null
    zero = run_json(["erlang", "required", "--rate", "0", "--aht", "240", "--sl", "0.8"], capsys)
    assert zero["agents"] == 0


def test_table_output_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["erlang", "c", *BASE, "--agents", "14"], capsys)
    assert code == 0
    assert "erlang_c" in out and "P(wait)" in out and "service level" in out
    assert f"{float(m.erlang_c(12.0, 14)):.6g}" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["c", "--rate", "-1", "--aht", "240", "--agents", "14"], "--rate"),
        (["c", "--rate", "nan", "--aht", "240", "--agents", "14"], "--rate"),
        (["c", "--rate", "0.05", "--aht", "inf", "--agents", "14"], "--aht"),
        (["c", "--rate", "0.05", "--aht", "0", "--agents", "14"], "--aht"),
        (["c", "--rate", "0.05", "--aht", "240", "--agents", "14.5"], "--agents"),
        (["c", "--rate", "0.05", "--aht", "240", "--agents", "-3"], "--agents"),
        (["c", "--rate", "0.05", "--agents", "14"], "--aht"),
        (["c", "--aht", "240", "--agents", "14"], "--rate"),
        (
            ["c", "--rate", "0.05", "--rate-per-hour", "180", "--aht", "240", "--agents", "14"],
            "--rate",
        ),
        (["a", "--rate", "0.05", "--aht", "240", "--agents", "14"], "--patience"),
        (
            ["a", "--rate", "0.05", "--aht", "240", "--agents", "14", "--patience", "-5"],
            "--patience",
        ),
        (["required", "--rate", "0.05", "--aht", "240", "--sl", "1.5"], "--sl"),
        (["required", "--rate", "0.05", "--aht", "240", "--sl", "-0.1"], "--sl"),
        (["required", "--rate", "0.05", "--aht", "240"], "--sl"),
        (["required", "--rate", "0.05", "--aht", "240", "--asa", "0"], "--asa"),
        (
            ["required", "--rate", "0.05", "--aht", "240", "--sl", "0.8", "--max-abandon", "2"],
            "--max-abandon",
        ),
        (
            ["chat", "--rate", "0.05", "--aht", "240", "--agents", "4", "--concurrency", "0"],
            "--concurrency",
        ),
        (["c", "--rate", "0.05", "--aht", "240", "--agents", "14", "--target", "-1"], "--target"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["erlang", *argv], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and option in err
    assert "Traceback" not in err


def test_help_explains_units(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["erlang", "required", "--help"], capsys)
    assert code == 0
    assert "per second" in out and "seconds" in out and "--max-abandon" in out
    code, out, _ = run(["erlang", "--help"], capsys)
    assert code == 0
    assert "Erlang C" in out and "Erlang A" in out and "required" in out and "rate x aht" in out


def test_json_values_are_finite_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    obj = run_json(["erlang", "a", *BASE, "--agents", "8", "--patience", "60"], capsys)
    for key in ("p_wait", "asa_s", "service_level", "occupancy", "abandon_ratio"):
        assert isinstance(obj[key], float) and math.isfinite(obj[key]), key


def test_model_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The staffing functions return -1 for input they reject; the CLI must not print it.
    monkeypatch.setattr(m, "required_agents", lambda *a, **k: -1)
    code, out, err = run(["erlang", "required", *BASE, "--sl", "0.8"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "Traceback" not in err


HUGE = ["--rate", "1e300", "--aht", "1e10", "--target", "20"]  # rate x aht = inf


@pytest.mark.parametrize(
    "argv",
    [
        ["c", *HUGE, "--agents", "3"],
        ["c", *HUGE, "--agents", "3", "--json"],
        ["required", *HUGE, "--sl", "0.8"],
        ["required", *HUGE, "--sl", "0.8", "--json"],
        ["a", "--rate-per-hour", "4e8", "--aht", "1000", "--agents", "3", "--patience", "9"],
        ["b", "--rate", "1e300", "--aht", "1e10", "--agents", "3", "--json"],
        ["email", "--rate", "1e300", "--aht", "1e10", "--target", "3600"],
    ],
)
def test_traffic_beyond_the_models_range_exits_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run(["erlang", *argv], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "x --aht = " in err and "expected at most 100,000" in err
    assert not caught


def test_edge_inputs_print_no_runtime_warning(capsys: pytest.CaptureFixture[str]) -> None:
    tiny = ["--rate", "1e-300", "--aht", "1e-300", "--agents", "3", "--concurrency", "1000000"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obj = run_json(["erlang", "chat", *tiny], capsys)  # traffic underflows to 0
    assert obj["service_level"] == 1.0 and not caught
    most = run_json(["erlang", "c", "--rate", "25", "--aht", "4000", "--agents", "100200"], capsys)
    assert most["traffic_erlangs"] == 100_000.0  # the bound itself is accepted
