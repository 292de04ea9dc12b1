"""Forecast: elapsed-time smoothing, missing/late intervals, schedule blend, backlog, patience."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from staffer.core.forecast import (
    AHT_HALF_LIFE_S,
    AHT_PRIOR,
    PATIENCE_MAX_S,
    ForecastError,
    LiveEstimate,
    forecast_queue,
    load_forecast_csv,
    recent_aht,
)
from staffer.core.reforecast import PRIOR_CONTACTS
from staffer.core.state import SiteState
from staffer.settings import QueueSettings

from .conftest import NOW, feed, planner, snap

PHONE = QueueSettings(id="phone", channel="voice", aht_s=240.0)
EMAIL = QueueSettings(id="email", channel="email", target_s=14400.0, aht_s=360.0)
EMAIL_AS_PHONE = QueueSettings(id="phone", channel="email", target_s=14400.0, aht_s=360.0)


def _fc(state: SiteState, q: QueueSettings = PHONE, now: float = NOW, **kw: object):  # type: ignore[no-untyped-def]
    return forecast_queue(
        q,
        planner(**kw),
        state.estimate(q.id),
        state.latest(q.id),
        state.history(q.id),
        now,
        state.schedule,
    )


def test_steady_stream_gives_its_rate_and_an_aht_shrunk_to_the_configured_one(
    state: SiteState,
) -> None:
    feed(state, "phone", 60, aht_s=200.0)  # 720 contacts at 200 s; configured 240 s
    fc = _fc(state)
    assert fc.arrival_rate == pytest.approx(0.2)
    assert 200.0 < fc.aht_s < 240.0
    feed(state, "phone", 60, aht_s=200.0, intervals=48, end=NOW + 14400)
    assert 200.0 < _fc(state, now=NOW + 14400).aht_s < fc.aht_s  # more data, closer


@pytest.mark.parametrize(
    ("snaps", "prior", "aht"),
    [
        ([], 300.0, 300.0),  # nothing observed: the prior
        ([(NOW, 100, 200.0)], 300.0, (100 * 200.0 + AHT_PRIOR * 300.0) / (100 + AHT_PRIOR)),
        (
            [(NOW - AHT_HALF_LIFE_S, 100, 200.0)],
            300.0,
            (50 * 200.0 + AHT_PRIOR * 300.0) / (50 + AHT_PRIOR),
        ),  # an hour old: half the weight
        ([(NOW, 0, None)], 300.0, 300.0),  # no completed contact, no AHT
    ],
)
def test_recent_aht(snaps: list[tuple[float, int, float | None]], prior: float, aht: float) -> None:
    history = tuple(snap(ts, n, aht_s=a, answered=n) for ts, n, a in snaps)
    assert recent_aht(history, NOW, prior) == pytest.approx(aht)


def test_smoothing_weights_by_half_life_of_elapsed_time() -> None:
    est = LiveEstimate(half_life_s=300.0)
    est.update(snap(NOW, 30), None)
    est.update(snap(NOW + 300, 60), snap(NOW, 30))
    # first interval decays by 2**-1: (15 + 60) contacts over (150 + 300) seconds
    assert est.rate() == pytest.approx(75 / 450)


def test_a_surge_and_a_lull_are_followed_within_a_few_snapshots(state: SiteState) -> None:
    feed(state, "phone", 60, aht_s=240.0, intervals=24)  # 0.2 / s for two hours
    feed(state, "phone", 120, aht_s=240.0, intervals=3, end=NOW + 900)  # then 0.4 / s
    surge = _fc(state, now=NOW + 900)
    assert surge.shift and surge.arrival_rate > 0.2 + 0.8 * 0.2
    lull = SiteState("main")
    feed(lull, "phone", 120, aht_s=240.0, intervals=24)
    feed(lull, "phone", 30, aht_s=240.0, intervals=3, end=NOW + 900)
    quiet = _fc(lull, now=NOW + 900)
    assert quiet.shift and quiet.arrival_rate < 0.4 - 0.8 * 0.3
    steady = SiteState("main")
    feed(steady, "phone", 60, aht_s=240.0, intervals=27, end=NOW + 900)
    assert not _fc(steady, now=NOW + 900).shift


def test_missing_interval_is_not_read_as_zero_arrivals(state: SiteState) -> None:
    for ts in (NOW, NOW + 300, NOW + 900, NOW + 1200):  # NOW + 600 never arrives
        state.apply_snapshot("phone", snap(ts, 30))
    assert _fc(state, now=NOW + 1200).arrival_rate == pytest.approx(0.1)


def test_gap_decays_old_data_by_actual_elapsed_time() -> None:
    est = LiveEstimate(half_life_s=300.0)
    est.update(snap(NOW, 300), None)  # 1.0 per second
    est.update(snap(NOW + 3000, 0), snap(NOW, 300))  # 10 half-lives later: quiet
    assert est.rate() == pytest.approx(300 * 2**-10 / (300 * 2**-10 + 300))
    assert est.rate() < 0.002


def test_late_long_interval_weighs_by_its_length() -> None:
    est = LiveEstimate(half_life_s=1e9)  # no decay: a pure ratio
    est.update(snap(NOW, 30, interval_s=300.0), None)
    est.update(snap(NOW + 600, 90, interval_s=600.0), snap(NOW, 30))
    assert est.rate() == pytest.approx(120 / 900)


def test_no_data_falls_back_to_configured_aht_and_zero_rate(state: SiteState) -> None:
    fc = _fc(state)
    assert fc.arrival_rate == 0.0 and fc.aht_s == 240.0 and fc.patience_s is None


def test_waiting_contacts_are_state_not_rate(state: SiteState) -> None:
    feed(state, "phone", 60, waiting=45, aht_s=240.0)
    fc = _fc(state, horizon_s=900.0, interval_s=300.0)
    assert fc.arrival_rate == pytest.approx(0.2)  # the transient predictor starts from them
    assert fc.waiting == 45


def test_patience_estimated_from_abandons_per_waiting_exposure(state: SiteState) -> None:
    # 10 waiting on average, 10 abandons per 300 s -> 300 s mean patience
    feed(state, "phone", 60, waiting=10, aht_s=240.0, intervals=60, abandoned=10)
    assert _fc(state).patience_s == pytest.approx(300.0, rel=0.05)


def test_patience_unknown_without_abandons_and_clamped_and_configured_wins(
    state: SiteState,
) -> None:
    feed(state, "phone", 60, waiting=10, aht_s=240.0, abandoned=0)
    assert _fc(state).patience_s is None  # Erlang C: the conservative choice
    st = SiteState("main")
    feed(st, "phone", 60, waiting=500, aht_s=240.0, intervals=40, abandoned=1)
    assert _fc(st).patience_s == PATIENCE_MAX_S
    configured = QueueSettings(id="phone", channel="voice", patience_s=42.0)
    assert _fc(st, configured).patience_s == 42.0


def test_email_forecast_carries_backlog_and_oldest_age(state: SiteState) -> None:
    feed(state, "email", 30, waiting=0, aht_s=360.0, backlog=120, oldest_age_s=5400.0)
    fc = _fc(state, EMAIL)
    assert (fc.backlog, fc.oldest_age_s, fc.patience_s) == (120, 5400.0, None)
    assert fc.arrival_rate == pytest.approx(0.1)


CSV_DAILY = """interval_start,queue,expected_contacts,aht_s
08:00,phone,30,200
08:05,phone,30,200
08:10,phone,90,300
08:15,phone,90,300
08:20,phone,90,300
08:25,phone,90,300
"""


def test_schedule_parses_hh_mm_and_gives_rate_and_aht() -> None:
    sf = load_forecast_csv(CSV_DAILY)
    day = 86400.0 * 20000
    rate, aht = sf.rate_and_aht("phone", day + 8 * 3600 + 600, day + 8 * 3600 + 1800)  # type: ignore[misc]
    assert rate == pytest.approx(0.3)
    assert aht == pytest.approx(300.0)
    assert sf.rate_and_aht("chat", day, day + 900) is None


def test_schedule_parses_rfc3339() -> None:
    sf = load_forecast_csv(
        "interval_start,queue,expected_contacts,aht_s\n"
        "2026-11-22T08:00:00Z,phone,60,240\n"
        "2026-11-22T09:05:00+01:00,phone,120,240\n"
    )
    t0 = datetime(2026, 11, 22, 8, tzinfo=UTC).timestamp()
    assert sf.rate_and_aht("phone", t0, t0 + 300)[0] == pytest.approx(60 / 300)  # type: ignore[index]
    assert sf.rate_and_aht("phone", t0 + 300, t0 + 600)[0] == pytest.approx(120 / 300)  # type: ignore[index]
    assert not sf.daily


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("interval_start,queue,aht_s\n08:00,phone,200\n", "expected_contacts"),
        ("interval_start,queue,expected_contacts,aht_s\n25:00,phone,1,200\n", "line 2"),
        (
            "interval_start,queue,expected_contacts,aht_s\n2026-11-22T08:00:00,phone,1,200\n",
            "time zone",
        ),
        ("interval_start,queue,expected_contacts,aht_s\n08:00,phone,-1,200\n", "expected_contacts"),
        ("interval_start,queue,expected_contacts,aht_s\n08:00,phone,1,0\n", "aht_s"),
        (
            "interval_start,queue,expected_contacts,aht_s\n08:00,phone,1,9\n"
            "2026-11-22T08:00:00Z,phone,1,9\n",
            "mixes",
        ),
        (
            "interval_start,queue,expected_contacts,aht_s\n2026-11-22T08:00:00Z,phone,1,9\n"
            "2026-11-22T09:00:00+01:00,phone,1,9\n",
            "duplicate",
        ),
    ],
)
def test_malformed_schedule_is_rejected_with_a_named_location(text: str, fragment: str) -> None:
    with pytest.raises(ForecastError, match=fragment):
        load_forecast_csv(text)


def test_the_schedule_scaled_by_the_intraday_ratio() -> None:
    day0 = 86400.0 * 20000
    now = day0 + 8 * 3600 + 600  # 08:10, after two 5-minute intervals
    st = SiteState("main")
    st.schedule = load_forecast_csv(CSV_DAILY)
    # actual is double the schedule (60 instead of 30 per interval)
    st.apply_snapshot("phone", snap(now - 300, 60, aht_s=200.0))
    st.apply_snapshot("phone", snap(now, 60, aht_s=200.0))
    ratio = (120 + PRIOR_CONTACTS) / (60 + PRIOR_CONTACTS)  # about: shrunk to the schedule
    shape = 90 * 3 / 900  # the schedule's rate over the 900 s horizon
    full = _fc(st, now=now, forecast_weight=1.0)
    assert full.arrival_rate == pytest.approx(ratio * shape, rel=0.01)  # recency-weighted
    flat = _fc(st, now=now, forecast_weight=0.0)
    assert flat.arrival_rate < full.arrival_rate  # the schedule rises at 08:10
    half = _fc(st, now=now, forecast_weight=0.5)
    assert flat.arrival_rate < half.arrival_rate < full.arrival_rate
    assert full.aht_s == pytest.approx(
        (2 * 60 * 200.0 + AHT_PRIOR * 300.0) / (120 + AHT_PRIOR), rel=0.01
    )


def test_without_live_data_the_schedule_alone() -> None:
    now = 86400.0 * 20000 + 8 * 3600 + 600
    st = SiteState("main")
    st.schedule = load_forecast_csv(CSV_DAILY)
    fc = _fc(st, now=now, forecast_weight=0.3)
    assert fc.arrival_rate == pytest.approx(0.3)
    assert fc.aht_s == pytest.approx(300.0)


def test_rates_over_steps_and_beyond_the_schedule() -> None:
    day0 = 86400.0 * 20000
    st = SiteState("main")
    st.schedule = load_forecast_csv(
        "interval_start,queue,expected_contacts,aht_s\n"
        "2024-10-04T08:00:00Z,phone,90,240\n2024-10-04T08:30:00Z,phone,180,240\n"
    )
    t0 = datetime(2024, 10, 4, 8, 0, tzinfo=UTC).timestamp()
    for k in range(1, 7):
        st.apply_snapshot("phone", snap(t0 + 300 * k, 15, aht_s=240.0))  # on schedule
    del day0
    fc = forecast_queue(
        PHONE,
        planner(forecast_weight=1.0),
        st.estimate("phone"),
        st.latest("phone"),
        st.history("phone"),
        t0 + 1800,
        st.schedule,
        np.array([0.0, 900.0, 1800.0]),
        np.array([0.0, 1800.0, 3600.0]),
    )
    assert fc.step_rates == pytest.approx([0.1, 0.1], rel=0.05)  # 180 per 1800 s
    # the schedule ends at 09:00: beyond it the live rate (0.05 / s)
    assert fc.ahead_rates[0] == pytest.approx(0.1, rel=0.05)
    assert fc.ahead_rates[1] == pytest.approx(0.05, rel=0.05)


def test_a_regime_seen_now_holds_over_the_horizon_then_reverts() -> None:
    # on schedule 08:00-11:00, double it since: the next half hour is forecast at the new
    # level throughout (reverting within the horizon put a campaign's rates ~10 % low)
    st = SiteState("main")
    rows = "".join(
        f"2024-10-04T{h:02d}:{m:02d}:00Z,phone,90,240\n" for h in range(8, 16) for m in (0, 30)
    )
    st.schedule = load_forecast_csv("interval_start,queue,expected_contacts,aht_s\n" + rows)
    t0 = datetime(2024, 10, 4, 8, 0, tzinfo=UTC).timestamp()
    for k in range(1, 43):
        st.apply_snapshot("phone", snap(t0 + 300 * k, 15 if k <= 36 else 30, aht_s=240.0))
    fc = forecast_queue(
        PHONE,
        planner(forecast_weight=1.0, horizon_s=1800.0),
        st.estimate("phone"),
        st.latest("phone"),
        st.history("phone"),
        t0 + 300 * 42,
        st.schedule,
        np.array([0.0, 900.0, 1800.0]),
        np.array([0.0, 1800.0, 3600.0, 5400.0]),
    )
    assert fc.shift
    assert fc.step_rates[0] == pytest.approx(fc.step_rates[1], rel=1e-9)
    assert fc.step_rates[0] > 1.6 * 0.05  # near the doubled level (0.1 / s), not the day's
    assert fc.ahead_rates[0] == pytest.approx(fc.step_rates[0], rel=1e-9)
    assert fc.ahead_rates[2] < fc.ahead_rates[1] < fc.ahead_rates[0]  # then reverting
