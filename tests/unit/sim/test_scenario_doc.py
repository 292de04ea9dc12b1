"""docs/scenario-format.md is generated from the scenario schema and must stay current;
the keys replayed days add (names, per-interval AHT, actuals, time zone) work in the engine."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from staffer.settings import ConfigError
from staffer.sim import scenario_doc
from staffer.sim.engine import Engine
from staffer.sim.run import run_policy
from staffer.sim.scenario import scenario_from_dict

PAGE = Path(__file__).resolve().parents[3] / "docs" / "scenario-format.md"


def test_reference_page_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == scenario_doc.render(), (
        "docs/scenario-format.md is stale: "
        "run .venv/bin/python -m staffer.sim.scenario_doc > docs/scenario-format.md"
    )


def test_every_key_is_documented_and_listed() -> None:
    assert scenario_doc.undocumented() == []
    page = scenario_doc.render()
    for _, model, _ in scenario_doc.SECTIONS:
        for name in model.model_fields:
            assert f"| `{name}` |" in page


def test_the_page_example_is_a_valid_scenario() -> None:
    sc = scenario_from_dict(tomllib.loads(scenario_doc.EXAMPLE))
    assert sc.agent_count() == 8
    assert [a for g in sc.agents for a in g.agent_ids()][-2:] == ["ann", "bob"]


def _day(**demand: object) -> dict:
    return {
        "name": "t",
        "start": "2026-11-23T08:00:00Z",
        "profile_interval_s": 3600,
        "report_interval_s": 3600,
        "drain_s": 0,
        "site": {"id": "s", "queues": [{"id": "q", "channel": "voice", "aht_s": 100}]},
        "demand": {"q": {"rates_per_hour": [600, 600], **demand}},
        "agents": [{"prefix": "a", "names": ["ann", "bob"], "skills": ["q"], "queue": "q"}],
    }


def test_named_agents_and_per_interval_handle_times() -> None:
    sc = scenario_from_dict(_day(aht_s=100, aht_per_interval_s=[50, 150]))
    engine = Engine(sc, seed=3)
    assert set(engine.agents) == {"ann", "bob"}
    contacts = engine._draw("q")
    first = [c.handle_s for c in contacts if c.arrival < 3600]
    second = [c.handle_s for c in contacts if c.arrival >= 3600]
    assert np.mean(first) == pytest.approx(50, rel=0.1)
    assert np.mean(second) == pytest.approx(150, rel=0.1)
    # without the key, the same draws at the day's mean (common random numbers kept)
    flat = Engine(scenario_from_dict(_day(aht_s=100)), seed=3)._draw("q")
    assert [c.arrival for c in flat] == [c.arrival for c in contacts]
    assert flat[0].handle_s * 0.5 == pytest.approx(contacts[0].handle_s)


def test_outage_events_take_named_agents() -> None:
    data = _day()
    data["events"] = [{"prefix": "a", "agents": 1, "start_s": 0, "end_s": 7200}]
    _, kpis = run_policy(scenario_from_dict(data), "static", seed=1)
    assert kpis.queues["q"].interval_agents == [1.0, 1.0]  # ann out all day


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"aht_per_interval_s": [50]}, "aht_per_interval_s must have as many entries"),
        ({"forecast_aht_s": [50, 0]}, "handle times must be finite and > 0"),
        ({"actuals": {"q": {"offered": [1]}}}, "actuals.q: needs one entry per profile interval"),
        ({"actuals": {"x": {"offered": [1, 2]}}}, "actuals.x: not a queue"),
        ({"actuals": {"q": {"offered": [1, 2], "answered": [1]}}}, "answered must have as many"),
        ({"time_zone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        (
            {
                "agents": [
                    {"prefix": "a", "count": 3, "names": ["x", "y"], "skills": ["q"], "queue": "q"}
                ]
            },
            "count is 3 but names has 2",
        ),
        (
            {"agents": [{"prefix": "a", "names": ["x", "x"], "skills": ["q"], "queue": "q"}]},
            "duplicate agent id(s) x",
        ),
        (
            {"agents": [{"prefix": "a", "names": ["a b"], "skills": ["q"], "queue": "q"}]},
            "agent id 'a b'",
        ),
    ],
)
def test_bad_replay_keys_fail_with_one_line(patch: dict, needle: str) -> None:
    data = _day()
    for k, v in patch.items():
        if k in ("aht_per_interval_s", "forecast_aht_s"):
            data["demand"]["q"][k] = v
        else:
            data[k] = v
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(data)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_shortened_cuts_the_replay_lists() -> None:
    data = _day(aht_per_interval_s=[50, 150], forecast_aht_s=[60, 70])
    data["actuals"] = {"q": {"offered": [5, 6], "abandoned": [1, 2]}}
    sc = scenario_from_dict(data).shortened(1)
    assert sc.demand["q"].aht_per_interval_s == [50] and sc.demand["q"].forecast_aht_s == [60]
    assert sc.actuals["q"].offered == [5] and sc.actuals["q"].abandoned == [1]
    assert sc.actuals["q"].answered is None
