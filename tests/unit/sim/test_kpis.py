"""KPI definitions on hand-made traces; the progress bar's TTY behaviour."""

from __future__ import annotations

import io
import math

import pytest

from staffer.cli.simulate import ProgressBar
from staffer.sim.engine import Contact, SimTrace
from staffer.sim.kpis import (
    QueueKpis,
    calibration,
    carry_over,
    compute_kpis,
    rescue_share,
    reversals,
)
from staffer.sim.scenario import scenario_from_dict


def _scenario():
    return scenario_from_dict(
        {
            "name": "k",
            "start": "2026-11-23T08:00:00Z",
            "profile_interval_s": 1800,
            "report_interval_s": 1800,
            "drain_s": 0,
            "site": {
                "id": "s",
                "queues": [
                    {"id": "phone", "channel": "voice", "target_s": 20, "sl_target": 0.8},
                    {"id": "email", "channel": "email", "target_s": 3600, "sl_target": 0.9},
                ],
            },
            "demand": {"phone": {"rates_per_hour": [1, 1]}, "email": {"rates_per_hour": [1, 1]}},
            "agents": [{"prefix": "a", "count": 1, "skills": ["phone", "email"], "queue": "phone"}],
        }
    )


def test_definitions() -> None:
    inf = math.inf
    contacts = [
        Contact("phone", 10.0, 60.0, inf, start=15.0, end=75.0),  # within target
        Contact("phone", 20.0, 60.0, 30.0, abandoned_at=50.0),  # abandoned: miss
        Contact("phone", 1900.0, 60.0, inf, start=1950.0, end=2010.0),  # late answer
        Contact("phone", 1950.0, 60.0, inf, start=1955.0, end=2015.0),  # within
        Contact("email", -100.0, 60.0, inf, start=100.0, end=160.0),  # backlog, on time
        Contact("email", 10.0, 60.0, inf, start=3700.0, end=3760.0),  # late
        Contact("email", 3000.0, 60.0, inf),  # open, not yet due
    ]
    sc = _scenario()
    trace = SimTrace(
        sc,
        "x",
        1,
        contacts,
        [(0.0, {"phone": 1, "email": 0})],
        [(100.0, "a001", "phone", "email")],
        3600.0,
    )
    k = compute_kpis(trace, end_s=3800.0)  # the day's arrivals end at 3600, the run at 3800
    phone = k.queues["phone"]
    assert (phone.offered, phone.answered, phone.abandoned) == (4, 3, 1)
    assert phone.service_level == 0.5
    assert phone.abandon_ratio == 0.25
    assert math.isclose(phone.asa_s, (5 + 50 + 5) / 3)
    assert phone.interval_sl == [0.5, 0.5]
    assert phone.intervals_met == 0.0
    email = k.queues["email"]
    assert email.on_time == 0.5 and email.open_at_end == 1
    assert email.oldest_open_age_s == 800.0  # the item of 3000 s, when the run ends
    assert email.open_at_day_end == 2  # at 3600 the item of 10 s had not started either
    assert k.moves == 1 and k.moves_per_agent_hour == 1.0
    assert (k.reversals, k.reversal_share) == (0, 0.0)
    assert phone.prediction_mae is None  # a policy without plans predicts nothing


@pytest.mark.parametrize(
    ("log", "back"),
    [
        ([], 0),
        ([(0.0, "a", "email", "phone")], 0),
        ([(0.0, "a", "email", "phone"), (1799.0, "a", "phone", "email")], 1),  # back in 30 min
        ([(0.0, "a", "email", "phone"), (1800.0, "a", "phone", "email")], 0),  # 30 min: not
        ([(0.0, "a", "email", "phone"), (600.0, "b", "phone", "email")], 0),  # someone else
        ([(0.0, "a", "email", "phone"), (600.0, "a", "phone", "chat")], 0),  # onwards
        (
            [
                (0.0, "a", "email", "phone"),
                (600.0, "a", "phone", "chat"),
                (1200.0, "a", "chat", "email"),
            ],
            1,
        ),  # a round trip through chat still returns to email within 30 min
        ([(1799.0, "a", "phone", "email"), (0.0, "a", "email", "phone")], 1),  # log order
    ],
)
def test_reversals(log: list[tuple[float, str, str, str]], back: int) -> None:
    assert reversals(log) == back


def test_carry_over_counts_what_was_not_started() -> None:
    inf = math.inf
    emails = [
        Contact("email", -50.0, 1.0, inf),  # initial backlog, never started
        Contact("email", 100.0, 1.0, inf, start=500.0),
        Contact("email", 900.0, 1.0, inf),  # arrives after the cut
    ]
    assert carry_over(emails, 400.0) == (2, 450.0)
    assert carry_over(emails, 600.0) == (1, 650.0)
    assert carry_over([], 600.0) == (0, 0.0)


def test_calibration_uses_the_plan_made_at_each_interval_start() -> None:
    preds = [
        (300.0, {"phone": 0.1}),  # mid-interval: ignored
        (1800.0, {"phone": 0.9, "chat": 0.5}),
        (3600.0, {"phone": 0.6}),
        (5400.0, {"phone": 0.7}),  # its interval had no contacts
    ]
    realised = [0.8, 0.8, 0.9, None]
    mae, n = calibration(preds, "phone", realised, 1800.0)
    assert n == 2 and math.isclose(mae, (0.1 + 0.3) / 2)
    assert calibration(preds, "chat", realised, 1800.0)[1] == 1
    assert math.isnan(calibration([], "phone", realised, 1800.0)[0])


def test_rescue_share() -> None:
    def q(series: list[float | None]) -> QueueKpis:
        return QueueKpis("voice", 0, 0, 0, 0.0, 0.0, 0.0, 0.8, 0.0, 0.0, interval_sl=series)

    static = q([0.9, 0.5, 0.6, None, 0.7])
    other = q([0.5, 0.8, 0.74, 0.1, 0.76])
    assert rescue_share(static, other) == (3, 2 / 3)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_tty() -> None:
    tty = _Tty()
    bar = ProgressBar(tty, tty.isatty(), total=2)
    bar("static", 0.5)
    bar("static", 1.0)
    bar("staffer", 1.0)
    bar.close()
    assert "25%" in tty.getvalue() and "100%" in tty.getvalue()
    plain = io.StringIO()
    quiet = ProgressBar(plain, plain.isatty(), total=1)
    quiet("static", 1.0)
    quiet.close()
    assert plain.getvalue() == ""
