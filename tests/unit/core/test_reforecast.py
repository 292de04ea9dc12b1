"""The intraday reforecast: level, regime changes, uncertainty, reversion (pure numpy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staffer.core.reforecast import (
    DRIFT,
    GH_W,
    NO_DATA,
    PRIOR_CONTACTS,
    RATIO_BOUNDS,
    Ratio,
    intraday_ratio,
    rate_multipliers,
)

NOW = 1_795_000_000.0
STEP = 300.0


def _obs(counts: list[float], expected: float = 25.0) -> tuple[np.ndarray, ...]:
    """Snapshots every 300 s ending at NOW: offered ``counts``, ``expected`` each."""
    n = len(counts)
    ends = NOW - STEP * np.arange(n - 1, -1, -1)
    return ends, np.array(counts, dtype=float), np.full(n, expected)


@pytest.mark.parametrize(
    ("counts", "near", "shift"),
    [
        ([], 1.0, False),  # no data: the schedule is right
        ([25.0] * 24, 1.0, False),  # on schedule all day
        ([50.0] * 24, 2.0, False),  # twice the schedule all day: a level, not a change
        ([25.0] * 20 + [45.0] * 4, 1.8, True),  # a surge for 20 minutes: followed
        ([25.0] * 21 + [50.0] * 3, 2.0, True),  # ... within three snapshots
        ([25.0] * 20 + [5.0] * 4, 0.2, True),  # a lull (clamped to the ratio bounds)
        ([0.0] * 24, RATIO_BOUNDS[0], None),  # nothing at all: the lower bound
    ],
)
def test_level_and_regime_changes(counts: list[float], near: float, shift: bool | None) -> None:
    if counts:
        r = intraday_ratio(*_obs(counts), NOW)
    else:
        r = intraday_ratio(np.zeros(0), np.zeros(0), np.zeros(0), NOW)
    assert shift is None or r.shift is shift
    assert r.near == pytest.approx(near, abs=0.25)


def test_a_single_snapshot_cannot_swing_the_plan() -> None:
    one = intraday_ratio(*_obs([60.0]), NOW)  # first snapshot of the day: 2.4x the schedule
    assert not one.shift  # a change needs at least two snapshots in its window
    assert one.near == pytest.approx((60.0 + PRIOR_CONTACTS) / (25.0 + PRIOR_CONTACTS))


def test_without_a_schedule_the_ratio_is_a_rate() -> None:
    ends, offered, _ = _obs([30.0] * 12)
    r = intraday_ratio(ends, offered, np.full(12, STEP), NOW, scheduled=False)
    assert r.near == pytest.approx(0.1) and r.day == pytest.approx(0.1)
    empty = intraday_ratio(np.zeros(0), np.zeros(0), np.zeros(0), NOW, scheduled=False)
    assert empty.near == 0.0 and empty.rel_sd == 1.0


def test_snapshots_from_the_future_and_empty_intervals_are_ignored() -> None:
    ends, offered, expected = _obs([25.0] * 12)
    ends = np.append(ends, NOW + 600.0)  # not yet happened (a clock ahead): ignored
    offered, expected = np.append(offered, 500.0), np.append(expected, 25.0)
    assert intraday_ratio(ends, offered, expected, NOW).near == pytest.approx(1.0)
    expected[3] = 0.0  # an interval the schedule did not cover
    assert intraday_ratio(ends, offered, expected, NOW).near == pytest.approx(1.0)


def test_uncertainty_shrinks_with_data_down_to_the_drift() -> None:
    few = intraday_ratio(*_obs([25.0] * 2), NOW)
    many = intraday_ratio(*_obs([2500.0] * 24, expected=2500.0), NOW)
    assert few.rel_sd > many.rel_sd >= DRIFT
    assert many.rel_sd == pytest.approx(DRIFT, rel=0.05)
    assert NO_DATA.rel_sd == DRIFT


def test_further_ahead_the_ratio_reverts_to_the_days() -> None:
    r = Ratio(near=1.5, day=1.1, rel_sd=0.1)
    ahead = r.at(np.array([0.0, 3600.0, 6 * 3600.0]))
    assert ahead[0] == pytest.approx(1.5)
    assert 1.1 < ahead[1] < 1.5 and ahead[2] == pytest.approx(1.1, abs=0.01)


def test_rate_multipliers_are_a_quadrature_of_the_spread() -> None:
    m = rate_multipliers(0.1)
    assert m[1] == 1.0 and m[0] < 1.0 < m[2]
    assert float(GH_W @ m) == pytest.approx(1.0)  # the mean
    assert float(GH_W @ (m - 1.0) ** 2) == pytest.approx(0.01)  # the variance
    assert (rate_multipliers(5.0) >= 0.0).all()  # never a negative rate


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 200), min_size=1, max_size=40),
    st.floats(1.0, 100.0),
)
def test_properties(counts: list[int], expected: float) -> None:
    r = intraday_ratio(*_obs([float(c) for c in counts], expected), NOW)
    assert RATIO_BOUNDS[0] <= r.near <= RATIO_BOUNDS[1]
    assert RATIO_BOUNDS[0] <= r.day <= RATIO_BOUNDS[1]
    assert DRIFT <= r.rel_sd <= math.sqrt(1.0 + DRIFT**2)
    doubled = intraday_ratio(*_obs([2.0 * c for c in counts], expected), NOW)
    # more contacts raise the day's ratio, and the near-term one while no regime change is
    # seen; a change point may fall elsewhere (``test_more_contacts_can_move_the_change``)
    assert doubled.day >= r.day
    if not (r.shift or doubled.shift):
        assert doubled.near >= r.near


def test_more_contacts_can_move_the_change() -> None:
    # found by hypothesis in CI: on a bursty day the near ratio fell from 3.44 to 1.87
    # when every count doubled. Twice the contacts make the last 10 minutes' silence the
    # most significant change (Poisson noise is relatively smaller), so the near-term ratio
    # follows that lull, while the day's ratio only rises (to its cap here).
    counts = [0.0, 80, 0, 0, 114, 0, 0, 171, 0, 139, 194, 94, 0, 0]
    r = intraday_ratio(*_obs(counts, 17.0), NOW)
    doubled = intraday_ratio(*_obs([2.0 * c for c in counts], 17.0), NOW)
    assert r.shift and doubled.shift
    assert doubled.near < r.near and doubled.near < doubled.day
    assert doubled.day >= r.day


def test_the_near_term_ratio_holds_over_the_planning_horizon() -> None:
    # a campaign seen now (near 1.9, the day's 1.3) is the forecast for the whole horizon;
    # only beyond it does the ratio revert to the day's
    r = Ratio(near=1.9, day=1.3, rel_sd=0.1, shift=True)
    ahead = r.at(np.array([0.0, 900.0, 1800.0, 1800.0 + 3600.0]), hold_s=1800.0)
    assert ahead[:3] == pytest.approx([1.9, 1.9, 1.9])
    assert ahead[3] == pytest.approx(1.3 + 0.6 * math.exp(-1.0))
    assert r.at(np.array([900.0]))[0] < 1.9  # without a hold: reverting from now on
