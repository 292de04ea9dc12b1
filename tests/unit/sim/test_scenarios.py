"""Scenario files: every bundled one validates; bad ones fail with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from staffer.settings import ConfigError
from staffer.sim.scenario import load_scenario, scenario_from_dict

SCENARIOS = sorted((Path(__file__).resolve().parents[3] / "config" / "scenarios").glob("*.toml"))


def test_bundled_scenarios_exist() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {"normal", "surge", "chat_campaign", "above_forecast", "quiet", "short"} <= names
    assert {"lunch_rush", "afternoon_incident"} <= names  # the held-out days of issue 12


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_validates(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.name == path.stem
    assert sc.day_s > 0
    channels = {q.channel for q in sc.site.queues}
    assert channels == {"voice", "chat", "email"}
    skill_sets = {frozenset(g.skills) for g in sc.agents}
    assert len(skill_sets) >= 3  # mixed skill sets


def test_bundled_name_resolves() -> None:
    assert load_scenario("short").name == "short"


def _base() -> dict:
    return {
        "name": "x",
        "start": "2026-11-23T08:00:00Z",
        "site": {"id": "main", "queues": [{"id": "phone", "channel": "voice"}]},
        "demand": {"phone": {"rates_per_hour": [10, 20]}},
        "agents": [{"prefix": "a", "count": 2, "skills": ["phone"], "queue": "phone"}],
    }


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"demand": {"nope": {"rates_per_hour": [1]}}}, "nope"),
        ({"agents": [{"prefix": "a", "count": 1, "skills": ["chat"], "queue": "chat"}]}, "chat"),
        ({"demand": {"phone": {"rates_per_hour": [-1]}}}, "rates"),
        ({"start": "2026-11-23T08:00:00"}, "zone"),
        ({"bogus": 1}, "bogus"),
        ({"switch_cost_s": -1}, "switch_cost_s"),
        (
            {"events": [{"kind": "break", "prefix": "a", "agents": 1, "start_s": 9, "end_s": 5}]},
            "end_s",
        ),
        (
            {"events": [{"kind": "lunch", "prefix": "a", "agents": 1, "start_s": 0, "end_s": 5}]},
            "kind",
        ),
    ],
)
def test_bad_scenarios_raise_one_line(patch: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        scenario_from_dict({**_base(), **patch})
    msg = str(err.value)
    assert "\n" not in msg
    assert needle in msg


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_scenario(tmp_path / "missing.toml")


def test_forecast_csv_round_trips() -> None:
    from staffer.core.forecast import load_forecast_csv

    sc = load_scenario("surge")
    fc = load_forecast_csv(sc.forecast_csv())
    rate, aht = fc.rate_and_aht("phone", sc.start_ts + 4 * 1800, sc.start_ts + 5 * 1800)
    assert rate == pytest.approx(sc.demand["phone"].forecast_per_hour[4] / 3600)
    assert aht == pytest.approx(240.0)


def test_scenarios_ship_as_package_data() -> None:
    """A wheel carries the scenarios: they live in the package and pyproject includes them."""
    import tomllib

    from staffer.sim import scenario as mod

    assert mod.SCENARIO_DIR.parent == Path(mod.__file__).resolve().parent
    assert {p.stem for p in mod.SCENARIO_DIR.glob("*.toml")} == {p.stem for p in SCENARIOS}
    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text())
    assert "scenarios/*.toml" in data["tool"]["setuptools"]["package-data"]["staffer.sim"]
    assert mod.load_scenario("surge").name == "surge"
    with pytest.raises(ConfigError):
        mod.load_scenario("no-such-scenario")


def test_breaks_are_staggered_and_switch_cost_defaults_to_a_minute() -> None:
    old = scenario_from_dict(_base())  # a file written before these keys existed
    assert old.switch_cost_s == 60.0 and old.events == []
    sc = scenario_from_dict(
        {
            **_base(),
            "switch_cost_s": 0,
            "events": [
                {
                    "kind": "break",
                    "prefix": "a",
                    "agents": 2,
                    "start_s": 100,
                    "end_s": 400,
                    "stagger_s": 50,
                },
                {"prefix": "a", "agents": 1, "start_s": 10, "end_s": 20},
            ],
        }
    )
    brk, outage = sc.events
    assert sc.switch_cost_s == 0.0 and outage.kind == "outage"
    assert [brk.window(k) for k in range(2)] == [(100.0, 400.0), (150.0, 450.0)]
