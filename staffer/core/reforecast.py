"""Intraday reforecast: how far today runs from its schedule, how sure we are, and the
arrival rates that follows for the next minutes and hours.

Each snapshot is one observation: contacts offered against contacts expected over its
interval (the scheduled forecast's, or the interval's length when there is no schedule,
which makes the ratio a plain rate per second).

* Level: the recency-weighted ratio (half-life ``SLOW_HALF_LIFE_S``), shrunk towards 1
  (the schedule is right) by ``PRIOR_CONTACTS`` pseudo-contacts so the first snapshots of
  the day cannot swing the plan (no prior without a schedule: nothing to shrink towards).
* Regime change: for each recent window (``WINDOWS_S``) the window's contacts are tested
  against what the level before the window predicts (Poisson, plus ``DRIFT``); when the
  largest deviation exceeds ``CHANGE_Z`` standard deviations, the level since that change
  point is used instead (recency-weighted within the window, half-life
  ``FAST_HALF_LIFE_S``, so a ramp is followed), shrunk towards the level before it by
  ``CHANGE_PRIOR`` expected contacts (a surge or a campaign starting, a lull): a step is
  followed within a few snapshots, not at the pace of the half-life.
* Uncertainty: the relative standard deviation of the chosen ratio, Poisson counting error
  plus ``DRIFT`` (the ratio moving within the horizon).
* Over the planning horizon the near-term ratio holds (a regime seen now is the best guess
  for the next half hour: reverting within the horizon put a campaign's or a surge's rates
  ~10 % low); further ahead (hours, for the email look-ahead) it reverts to the day's
  (``DAY_HALF_LIFE_S``) with time constant ``REVERT_S``.

Pure numpy, times passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SLOW_HALF_LIFE_S = 3600.0
FAST_HALF_LIFE_S = 900.0  # weights within a changed regime
DAY_HALF_LIFE_S = 4 * 3600.0
WINDOWS_S = (600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0)
CHANGE_Z = 2.75
CHANGE_PRIOR = 10.0  # expected contacts of shrinkage towards the level before a change
PRIOR_CONTACTS = 10.0
DRIFT = 0.05
REVERT_S = 3600.0
RATIO_BOUNDS = (0.2, 5.0)


@dataclass(frozen=True, slots=True)
class Ratio:
    """Actual / expected arrivals now (``near``), over the day (``day``), and the relative
    standard deviation of ``near``; ``shift`` when a regime change was detected."""

    near: float
    day: float
    rel_sd: float
    shift: bool = False

    def at(self, ahead_s: np.ndarray, hold_s: float = 0.0) -> np.ndarray:
        """The ratio expected ``ahead_s`` from now: the near-term one up to ``hold_s`` (the
        planning horizon), then reverting to the day's."""
        held = np.maximum(np.asarray(ahead_s) - hold_s, 0.0)
        return self.day + (self.near - self.day) * np.exp(-held / REVERT_S)


NO_DATA = Ratio(1.0, 1.0, DRIFT)


def _weighted(
    age_s: np.ndarray, offered: np.ndarray, expected: np.ndarray, half_life_s: float, prior: float
) -> tuple[float, float]:
    """(ratio, relative variance) with weights 2^(-age / half_life), ``prior`` pseudo-counts."""
    w = np.exp2(-age_s / half_life_s)
    num = float(w @ offered) + prior
    den = float(w @ expected) + prior
    if den <= 0:
        return 1.0, math.inf
    ratio = num / den
    counted = float((w * w) @ offered) + prior
    var = counted / max(num * num, 1e-12) if num > 0 else 1.0 / max(den, 1e-12)
    return ratio, var


def _change(
    age: np.ndarray, o: np.ndarray, e: np.ndarray, prior: float
) -> tuple[float, float] | None:
    """(ratio, relative variance) since the most significant change point, if any.

    For every window (all at once): the window's contacts against what the level before it
    (slow half-life, measured from the window's start) predicts.
    """
    w = np.array(WINDOWS_S)[:, None]
    inside = age[None, :] < w  # (windows, snapshots)
    n_in = inside.sum(axis=1)
    usable = (n_in >= 2) & (n_in < age.size)
    if not usable.any():
        return None
    before = ~inside
    slow = np.exp2(-(age[None, :] - w) / SLOW_HALF_LIFE_S) * before
    ref = (slow @ o + prior) / np.maximum(slow @ e + prior, 1e-12)
    o_w, e_w = inside @ o, inside @ e
    expect = ref * e_w
    z = np.abs(o_w - expect) / np.sqrt(np.maximum(expect, 1.0) + (DRIFT * expect) ** 2)
    z = np.where(usable & (e_w > 0), z, 0.0)
    best = int(np.argmax(z))
    if z[best] <= CHANGE_Z:
        return None
    # the level since the change, recent snapshots first (a ramp is followed), shrunk
    # towards the level before it
    mask = inside[best]
    level = _weighted(age[mask], o[mask], e[mask], FAST_HALF_LIFE_S, 0.0)[0]
    k = CHANGE_PRIOR
    e_b = float(e_w[best])
    return (level * e_b + k * ref[best]) / (e_b + k), 1.0 / max(
        float(o_w[best]) + k * ref[best], 1.0
    )


def intraday_ratio(
    end_ts: np.ndarray,
    offered: np.ndarray,
    expected: np.ndarray,
    now: float,
    scheduled: bool = True,
) -> Ratio:
    """Actual/expected ratio of the snapshots ending at ``end_ts`` (module docstring).

    ``expected`` are the scheduled contacts of each snapshot's interval (``scheduled``), or
    the interval lengths in seconds (then the "ratio" is the arrival rate per second).
    """
    keep = (expected > 0) & (end_ts <= now)
    if not keep.any():
        return NO_DATA if scheduled else Ratio(0.0, 0.0, 1.0)
    age = now - end_ts[keep]
    o, e = offered[keep].astype(float), expected[keep].astype(float)
    prior = PRIOR_CONTACTS if scheduled else 0.0
    near, var = _weighted(age, o, e, SLOW_HALF_LIFE_S, prior)
    day, _ = _weighted(age, o, e, DAY_HALF_LIFE_S, prior)
    change = _change(age, o, e, prior)
    if change is not None:
        near, var = change
    lo, hi = RATIO_BOUNDS if scheduled else (0.0, math.inf)
    near, day = min(max(near, lo), hi), min(max(day, lo), hi)
    return Ratio(near, day, math.sqrt(min(var, 1.0) + DRIFT * DRIFT), change is not None)


# three-point Gauss-Hermite rule: E f(X), X ~ N(m, sd^2) = sum w_i f(m + z_i sd)
GH_Z = np.array([-math.sqrt(3.0), 0.0, math.sqrt(3.0)])
GH_W = np.array([1.0 / 6.0, 2.0 / 3.0, 1.0 / 6.0])
GH_MEDIAN = 1  # the node at z = 0: the rate's median


def rate_multipliers(rel_sd: float) -> np.ndarray:
    """Multipliers of the mean rate at the quadrature points (never below zero)."""
    return np.maximum(1.0 + GH_Z * rel_sd, 0.0)
