"""Per-queue forecast: arrival rates over the planning steps and the look-ahead, AHT,
patience, backlog; and the scheduled forecast file.

``LiveEstimate`` keeps exponentially decayed sums per queue, updated in O(1) per snapshot
(every sum decays by ``2 ** (-elapsed / half_life)`` with the *actual* time between
snapshots): the smoothed AHT and the patience estimate come from it. Arrival rates come
from ``staffer.core.reforecast``: recency-weighted over the recent snapshots (a missing
interval is not read as zero arrivals; a late long one weighs by its length), shaped by the
scheduled forecast where it covers the step and scaled by the intraday actual-to-schedule
ratio, with an uncertainty estimate. Contacts already waiting are *not* folded into the
rate: the transient predictor starts from them (``staffer.core.transient``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from staffer.core.reforecast import Ratio, intraday_ratio
from staffer.core.schedule import ForecastError, ScheduledForecast, load_forecast_csv
from staffer.core.types import Channel, QueueSnapshot
from staffer.settings import PlannerSettings, QueueSettings

__all__ = [  # the scheduled forecast is re-exported: its users import it from here
    "ForecastError",
    "LiveEstimate",
    "QueueForecast",
    "ScheduledForecast",
    "forecast_queue",
    "load_forecast_csv",
    "recent_aht",
]

PATIENCE_MIN_S = 10.0  # clamp for estimated patience
PATIENCE_MAX_S = 3600.0
PATIENCE_PRIOR_S = 120.0  # shrinkage prior: estimate = (exposure + k*prior) / (abandons + k)
PATIENCE_PRIOR_WEIGHT = 2.0
PATIENCE_MIN_ABANDONS = 1.0  # below this (decayed) count, patience is unknown -> Erlang C
FAST_FRACTION = 0.25  # the fast estimate's half-life, as a fraction of the slow one
AHT_PRIOR = 200.0  # pseudo-contacts at the scheduled (or configured) AHT
AHT_HALF_LIFE_S = 3600.0
RECENT_S = 1800.0  # the schedule's "level now": its rate over the last half hour


class LiveEstimate:
    """Exponentially decayed sums of one queue's snapshots (see module docstring)."""

    __slots__ = (
        "abandoned",
        "exposure_s",
        "fast_offered",
        "fast_seconds",
        "half_life_s",
        "last_ts",
        "offered",
        "seconds",
        "work_n",
        "work_s",
    )

    def __init__(self, half_life_s: float) -> None:
        self.half_life_s = half_life_s
        self.last_ts: float | None = None
        self.seconds = 0.0  # covered interval seconds
        self.offered = 0.0  # contacts offered
        self.fast_seconds = 0.0  # the same two sums with a FAST_FRACTION half-life
        self.fast_offered = 0.0
        self.work_s = 0.0  # handle seconds (aht x completed)
        self.work_n = 0.0  # completed contacts behind work_s
        self.abandoned = 0.0  # abandons (only intervals reporting them)
        self.exposure_s = 0.0  # waiting-contact seconds in those intervals

    def update(self, snap: QueueSnapshot, prev: QueueSnapshot | None) -> None:
        """Decay by the time since the last snapshot, then add this one (ts must increase)."""
        if self.last_ts is not None:
            f = 2.0 ** (-(snap.ts - self.last_ts) / self.half_life_s)
            self.seconds *= f
            self.offered *= f
            ff = f ** (1.0 / FAST_FRACTION)
            self.fast_seconds *= ff
            self.fast_offered *= ff
            self.work_s *= f
            self.work_n *= f
            self.abandoned *= f
            self.exposure_s *= f
        self.last_ts = snap.ts
        iv = snap.interval_s
        if iv > 0:
            self.seconds += iv
            self.offered += snap.offered
            self.fast_seconds += iv
            self.fast_offered += snap.offered
        if snap.aht_s is not None and snap.aht_s > 0:
            n = snap.answered if snap.answered is not None else snap.offered
            n = max(n, 1)
            self.work_s += snap.aht_s * n
            self.work_n += n
        if snap.abandoned is not None and iv > 0:
            # Waiting exposure over the interval: trapezoid between contiguous snapshots.
            contiguous = prev is not None and snap.ts - prev.ts <= 1.5 * iv
            mean_waiting = (
                (prev.waiting + snap.waiting) / 2 if contiguous and prev else float(snap.waiting)
            )
            self.abandoned += snap.abandoned
            self.exposure_s += mean_waiting * iv

    def rate(self) -> float | None:
        """Smoothed arrival rate (per second), None before any interval was seen."""
        return self.offered / self.seconds if self.seconds > 0 else None

    def fast_rate(self) -> float | None:
        """Arrival rate smoothed with a FAST_FRACTION of the half-life (surge detection)."""
        return self.fast_offered / self.fast_seconds if self.fast_seconds > 0 else None

    def aht_s(self) -> float | None:
        """Smoothed mean handle time, None when no snapshot reported one."""
        return self.work_s / self.work_n if self.work_n > 0 else None

    def patience_s(self) -> float | None:
        """Mean patience from abandons per waiting-contact second (Little: ab_rate = E[Q]/θ).

        Shrunk towards PATIENCE_PRIOR_S by a couple of pseudo-abandons and clamped to
        [PATIENCE_MIN_S, PATIENCE_MAX_S]; None (Erlang C, the conservative choice) while
        fewer than PATIENCE_MIN_ABANDONS abandons have been observed.
        """
        if self.abandoned < PATIENCE_MIN_ABANDONS:
            return None
        k = PATIENCE_PRIOR_WEIGHT
        theta = (self.exposure_s + k * PATIENCE_PRIOR_S) / (self.abandoned + k)
        return min(max(theta, PATIENCE_MIN_S), PATIENCE_MAX_S)


# -- the per-queue forecast -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueForecast:
    """What the planner needs about one queue, SI units.

    ``step_rates`` are the expected arrival rates over the planning steps (see
    ``forecast_queue``), ``ahead_rates`` over the look-ahead steps; ``arrival_rate`` is
    their mean over the planning horizon; ``rel_sd`` the relative uncertainty of the rates.
    """

    channel: Channel
    arrival_rate: float  # forecast arrivals per second over the horizon
    aht_s: float
    patience_s: float | None  # configured, else estimated; None = Erlang C / email
    waiting: int
    backlog: int  # email open items
    oldest_age_s: float  # email: age of the oldest open item
    rel_sd: float = 0.0
    step_rates: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ahead_rates: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shift: bool = False  # the fast estimate is in use (a regime change)


def _observations(
    queue: str, history: tuple[QueueSnapshot, ...], schedule: ScheduledForecast | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(end ts, offered, interval s, scheduled contacts or None) of the usable snapshots."""
    snaps = [s for s in history if s.interval_s > 0]
    ends = np.array([s.ts for s in snaps], dtype=float)
    offered = np.array([s.offered for s in snaps], dtype=float)
    iv = np.array([s.interval_s for s in snaps], dtype=float)
    if schedule is None or queue not in schedule.series:
        return ends, offered, iv, None
    if not snaps:
        return ends, offered, iv, np.zeros(0)  # the schedule, no observation yet
    covered = schedule.covers_each(queue, ends - iv) & schedule.covers_each(queue, ends)
    exp = schedule.expected(queue, ends - iv, ends)
    return ends, offered, iv, np.where(covered, exp, 0.0) if exp is not None else None


def _rates_over(
    queue: str,
    edges: tuple[np.ndarray, ...],
    now: float,
    schedule: ScheduledForecast | None,
    scheduled: Ratio | None,
    live: float,
    schedule_weight: float,
    hold_s: float = 0.0,
) -> list[np.ndarray]:
    """Mean arrival rate in each [now + e[i], now + e[i+1]) of each ``e`` of ``edges``.

    Where the schedule covers a step: the intraday ratio times a blend of the schedule's
    rate in the step (weight ``schedule_weight``, its shape) and its rate over the last
    ``RECENT_S`` (the level now); elsewhere the live rate. The ratio is the near-term one
    up to ``hold_s`` ahead (``Ratio.at``). Every step is computed on its own, so all the
    edge arrays go through in one pass (numpy's per-call overhead, paid once).
    """
    if schedule is None or scheduled is None or queue not in schedule.series:
        return [np.full(e.size - 1, live) for e in edges]
    a = np.concatenate([e[:-1] for e in edges])
    b = np.concatenate([e[1:] for e in edges])
    t0, t1 = now + a, now + b
    exp = schedule.expected(queue, t0, t1)
    recent = schedule.expected(queue, np.array([now - RECENT_S]), np.array([now]))
    if exp is None or recent is None:
        return [np.full(e.size - 1, live) for e in edges]
    covered = schedule.covers_each(queue, (t0 + t1) / 2)
    mid = (a + b) / 2
    shape = exp / np.maximum(t1 - t0, 1e-9)
    level = float(recent[0]) / RECENT_S if schedule.covers(queue, now - RECENT_S) else shape
    blend = scheduled.at(mid, hold_s) * (schedule_weight * shape + (1 - schedule_weight) * level)
    rates = np.where(covered, np.maximum(blend, 0.0), live)
    ends = np.cumsum([e.size - 1 for e in edges]).tolist()
    return [rates[i:j].copy() for i, j in zip([0, *ends[:-1]], ends, strict=True)]


def recent_aht(history: tuple[QueueSnapshot, ...], now: float, prior_aht: float) -> float:
    """Recency-weighted AHT of the snapshots (half-life ``AHT_HALF_LIFE_S``), shrunk
    towards ``prior_aht`` by ``AHT_PRIOR`` contacts: a handful of long chats ending in one
    interval does not swing the plan."""
    work = count = 0.0
    for s in history:  # max(x, y) spelled out: this loop runs over every snapshot
        aht = s.aht_s
        if aht is not None and aht > 0:
            n = s.answered if s.answered is not None else s.offered
            age = now - s.ts
            w = 2.0 ** (-(0.0 if age < 0.0 else age) / AHT_HALF_LIFE_S) * (1 if n < 1 else n)
            work += w * aht
            count += w
    return (work + AHT_PRIOR * prior_aht) / (count + AHT_PRIOR)


def forecast_queue(
    q: QueueSettings,
    planner: PlannerSettings,
    estimate: LiveEstimate | None,
    latest: QueueSnapshot | None,
    history: tuple[QueueSnapshot, ...],
    now: float,
    schedule: ScheduledForecast | None = None,
    step_edges: np.ndarray | None = None,
    ahead_edges: np.ndarray | None = None,
) -> QueueForecast:
    """Forecast one queue from its recent snapshots and the scheduled forecast, if any.

    Rates (``_rates_over``): where the schedule covers a step, the schedule scaled by the
    intraday ratio (``reforecast``), its shape weighted by ``planner.forecast_weight``;
    elsewhere the recency-weighted live rate. ``step_edges`` and
    ``ahead_edges`` are step boundaries in seconds from ``now`` (default: one step over the
    horizon). AHT: the smoothed observed AHT shrunk towards the schedule's (else the
    queue's ``aht_s``) by ``AHT_PRIOR`` contacts.
    """
    steps = np.array([0.0, planner.horizon_s]) if step_edges is None else step_edges
    ahead = np.array([0.0, planner.horizon_s]) if ahead_edges is None else ahead_edges
    ends, offered, iv, expected = _observations(q.id, history, schedule)
    live = intraday_ratio(ends, offered, iv, now, scheduled=False)
    sched = None if expected is None else intraday_ratio(ends, offered, expected, now)
    w = planner.forecast_weight if ends.size else 1.0
    hold = planner.horizon_s
    step_rates, ahead_rates = _rates_over(
        q.id, (steps, ahead), now, schedule, sched, live.near, w, hold
    )
    lengths = np.diff(steps)
    rate = float(step_rates @ lengths / max(lengths.sum(), 1e-9))
    ref = schedule.rate_and_aht(q.id, now, now + planner.horizon_s) if schedule else None
    aht = recent_aht(history, now, ref[1] if ref is not None and ref[1] else q.aht_s)
    ratio = sched if sched is not None else live
    rel_sd = ratio.rel_sd if ends.size else 0.5  # no data yet: wide
    waiting = latest.waiting if latest is not None else 0
    if q.channel == "email":
        backlog = latest.backlog if latest is not None and latest.backlog is not None else waiting
        oldest = latest.oldest_age_s if latest is not None and latest.oldest_age_s else 0.0
        return QueueForecast(
            q.channel, rate, aht, None, waiting, backlog, oldest, rel_sd, step_rates, ahead_rates
        )
    patience = q.patience_s
    if patience is None and estimate is not None:
        patience = estimate.patience_s()
    return QueueForecast(
        q.channel,
        rate,
        aht,
        patience,
        waiting,
        0,
        0.0,
        rel_sd,
        step_rates,
        ahead_rates,
        ratio.shift,
    )
