"""Per-interval results agree with the day's KPIs; moves carry their decision's reason;
actuals become the calibration KPIs; spreads over seeds."""

from __future__ import annotations

import math

import pytest

from staffer.core.types import Move
from staffer.sim.intervals import actual_queues, interval_stats, moves_with_reasons
from staffer.sim.replay import Spread, mean_day, rescued, run_seeds
from staffer.sim.run import run_policy
from staffer.sim.scenario import load_scenario, scenario_from_dict


def test_interval_stats_add_up_to_the_day() -> None:
    sc = load_scenario("short")
    trace, kpis = run_policy(sc, "static", seed=4)
    stats = interval_stats(trace, kpis)
    for q, k in kpis.queues.items():
        s = stats[q]
        assert len(s.offered) == len(k.interval_sl) == 4
        assert sum(s.offered) == k.offered
        if k.channel != "email":
            assert sum(s.abandoned) == k.abandoned
            answered = [
                c for c in trace.contacts if c.queue == q and 0 <= c.arrival < sc.day_s and c.start
            ]
            by_interval = [
                sum(1 for c in answered if int(c.arrival // 1800) == i) for i in range(4)
            ]
            weighted = sum(
                a * n for a, n in zip(s.asa_s, by_interval, strict=True) if a is not None
            )
            assert weighted / sum(by_interval) == pytest.approx(k.asa_s)
        assert s.service_level == k.interval_sl and s.agents == k.interval_agents


def test_moves_carry_the_reason_of_their_decision() -> None:
    sc = load_scenario("short")
    decisions: list[tuple[float, Move]] = []
    trace, _ = run_policy(
        sc, "threshold", seed=3, on_moves=lambda t, ms: decisions.extend((t, m) for m in ms)
    )
    moves = moves_with_reasons(trace, decisions)
    assert len(moves) == len(trace.move_log) >= 1
    for m in moves:
        assert m.decided_s is not None and m.decided_s <= m.at_s
        assert m.reason.endswith("waiting") or m.reason.endswith("quiet")


def _with_actuals(actuals: dict) -> object:
    return scenario_from_dict(
        {
            "name": "a",
            "start": "2026-11-23T08:00:00Z",
            "site": {
                "id": "s",
                "queues": [
                    {"id": "p", "channel": "voice", "sl_target": 0.8},
                    {"id": "e", "channel": "email", "sl_target": 0.9, "target_s": 14400},
                ],
            },
            "demand": {"p": {"rates_per_hour": [10, 10, 10]}, "e": {"rates_per_hour": [1, 1, 1]}},
            "agents": [{"prefix": "a", "count": 1, "skills": ["p", "e"], "queue": "p"}],
            "actuals": actuals,
        }
    )


def test_actuals_become_calibration_kpis() -> None:
    sc = _with_actuals(
        {
            "p": {
                "offered": [10, 20, 0],
                "answered": [9, 15, 0],
                "abandoned": [1, 5, 0],
                "answered_within_target": [8, 10, 0],
            },
            "e": {"offered": [4, 4, 4], "answered": [4, 2, 2], "answered_within_target": [4, 2, 1]},
        }
    )
    a = actual_queues(sc)  # type: ignore[arg-type]
    p, e = a["p"], a["e"]
    assert p.offered == 30 and p.service_level == pytest.approx(18 / 30)
    assert p.abandon_ratio == pytest.approx(6 / 30)
    assert p.interval_sl == [0.8, 0.5, None]
    assert p.intervals_met == 0.5  # 80% met in the first, 50% missed, no contacts in the third
    assert e.service_level == pytest.approx(7 / 8)  # email: within target / answered
    assert e.abandon_ratio is None and e.abandoned is None
    assert e.interval_sl == [1.0, 1.0, 0.5]


def test_actuals_without_within_target_have_no_service_level() -> None:
    a = actual_queues(_with_actuals({"p": {"offered": [1, 2, 3]}}))  # type: ignore[arg-type]
    assert list(a) == ["p"]
    assert a["p"].service_level is None and a["p"].intervals_met is None
    assert a["p"].interval_offered == [1, 2, 3]


def test_spread_mean_and_sample_sd() -> None:
    s = Spread.of([1.0, 2.0, 3.0, math.nan, None])
    assert (s.mean, s.sd, s.n) == (2.0, 1.0, 3)
    assert Spread.of([5.0]).sd is None
    assert Spread.of([]).mean is None
    assert Spread.of([0.5, 0.7]).as_dict() == {"mean": 0.6, "sd": pytest.approx(0.141421, abs=1e-6)}


def test_seeds_rescued_and_mean_day() -> None:
    sc = load_scenario("short")
    runs = run_seeds(sc, ["static", "threshold"], [1, 2], None)
    assert [r.seed for r in runs["static"]] == [1, 2]
    static = [r.kpis for r in runs["static"]]
    other = [r.kpis for r in runs["threshold"]]
    missed, done = rescued(static, other, "phone")
    floor = 0.75 - 1e-12
    assert missed == sum(
        1 for k in static for v in k.queues["phone"].interval_sl if v is not None and v < floor
    )
    assert 0 <= done <= missed
    mean = mean_day(static)
    sl = [k.queues["phone"].interval_sl[1] for k in static]
    assert mean.queues["phone"].interval_sl[1] == pytest.approx(sum(sl) / 2)  # type: ignore[operator]
