"""Per-queue forecast for the planning horizon: arrival rate, AHT, patience, backlog.

The live part is an exponentially weighted *ratio* estimator updated in O(1) per snapshot:
every running sum (contacts, covered seconds, handle work, abandons, waiting exposure) decays
by ``2 ** (-elapsed / half_life)`` with the *actual* time between snapshots, and a rate is a
ratio of two decayed sums. A missing interval therefore neither counts as zero arrivals nor
stalls the decay, and a late snapshot covering a longer interval weighs by its length.

Optionally the live level is blended with a scheduled forecast (``load_forecast_csv``): the
intraday actual-to-scheduled ratio scales the schedule over the horizon, mixed with the live
level by ``PlannerSettings.forecast_weight``. Contacts already waiting add a catch-up term
``waiting / min(interval_s, horizon_s)`` (clear them before the next plan) to the rate used
for staffing real-time queues. Real-time queues use
the larger of the estimate and a fast one (a quarter of the half-life): a surge is followed
within minutes, a lull only at the configured pace (email, the deferrable buffer, uses the
slow estimate alone).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from staffer.core.types import Channel, QueueSnapshot
from staffer.settings import PlannerSettings, QueueSettings

DAY_S = 86400.0
PATIENCE_MIN_S = 10.0  # clamp for estimated patience
PATIENCE_MAX_S = 3600.0
PATIENCE_PRIOR_S = 120.0  # shrinkage prior: estimate = (exposure + k*prior) / (abandons + k)
PATIENCE_PRIOR_WEIGHT = 2.0
PATIENCE_MIN_ABANDONS = 1.0  # below this (decayed) count, patience is unknown -> Erlang C
FAST_FRACTION = 0.25  # the fast estimate's half-life, as a fraction of the slow one
RATIO_BOUNDS = (0.2, 5.0)  # clamp for the intraday actual-to-schedule ratio
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


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


# -- scheduled forecast ---------------------------------------------------------------------


class ForecastError(ValueError):
    """A scheduled-forecast CSV is malformed; the message names the line and column."""


@dataclass(frozen=True, slots=True)
class _Series:
    """Piecewise-constant schedule of one queue as cumulative curves over knots."""

    knots: np.ndarray  # interval boundaries (seconds; of day when daily)
    contacts: np.ndarray  # cumulative expected contacts at the knots
    work: np.ndarray  # cumulative expected handle seconds at the knots


@dataclass(frozen=True, slots=True)
class ScheduledForecast:
    """Expected contacts and AHT per queue over time; ``daily`` when rows are HH:MM (UTC)."""

    series: dict[str, _Series]
    daily: bool

    def _cum(self, s: _Series, curve: np.ndarray, t: np.ndarray) -> np.ndarray:
        if not self.daily:
            return np.interp(t, s.knots, curve)
        day, tod = np.divmod(t, DAY_S)
        return day * curve[-1] + np.interp(tod, s.knots, curve)

    def _covered(self, s: _Series, t0: float, t1: float) -> tuple[float, float] | None:
        if self.daily:
            return (t0, t1) if t1 > t0 else None
        a, b = max(t0, float(s.knots[0])), min(t1, float(s.knots[-1]))
        return (a, b) if b > a else None

    def expected(self, queue: str, t0: np.ndarray, t1: np.ndarray) -> np.ndarray | None:
        """Expected contacts in [t0, t1) (vectorised), None for an unknown queue."""
        s = self.series.get(queue)
        if s is None:
            return None
        return self._cum(s, s.contacts, np.asarray(t1, float)) - self._cum(
            s, s.contacts, np.asarray(t0, float)
        )

    def rate_and_aht(self, queue: str, t0: float, t1: float) -> tuple[float, float | None] | None:
        """Mean scheduled arrival rate and AHT over the covered part of [t0, t1)."""
        s = self.series.get(queue)
        span = None if s is None else self._covered(s, t0, t1)
        if s is None or span is None:
            return None
        a, b = np.array([span[0]]), np.array([span[1]])
        n = float((self._cum(s, s.contacts, b) - self._cum(s, s.contacts, a))[0])
        w = float((self._cum(s, s.work, b) - self._cum(s, s.work, a))[0])
        return n / (span[1] - span[0]), (w / n if n > 0 else None)

    def covers(self, queue: str, t: float) -> bool:
        s = self.series.get(queue)
        return s is not None and (self.daily or float(s.knots[0]) <= t <= float(s.knots[-1]))


def _parse_start(raw: str, where: str) -> tuple[float, bool]:
    """(seconds, daily): HH:MM[:SS] -> seconds of day; RFC 3339 -> POSIX seconds."""
    raw = raw.strip()
    m = _HHMM.match(raw)
    if m:
        h, mi, se = int(m[1]), int(m[2]), int(m[3] or 0)
        if h > 23 or mi > 59 or se > 59:
            raise ForecastError(f"{where}: interval_start {raw!r} is not a time of day")
        return float(h * 3600 + mi * 60 + se), True
    try:
        dt = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ForecastError(
            f"{where}: interval_start {raw!r} is neither RFC 3339 nor HH:MM"
        ) from None
    if dt.tzinfo is None:
        raise ForecastError(f"{where}: interval_start {raw!r} has no time zone")
    return dt.timestamp(), False


def _number(raw: str | None, where: str, col: str, positive: bool) -> float:
    try:
        v = float((raw or "").strip())
    except ValueError:
        raise ForecastError(f"{where}: {col} {raw!r} is not a number") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise ForecastError(f"{where}: {col} must be {'> 0' if positive else '>= 0'}")
    return v


def _series(rows: list[tuple[float, float, float]], where: str) -> _Series:
    rows.sort()
    starts = np.array([r[0] for r in rows])
    steps = np.diff(starts)
    if steps.size and steps.min() <= 0:
        raise ForecastError(f"{where}: duplicate interval_start")
    last = float(steps.min()) if steps.size else 900.0  # the last row lasts one usual step
    knots = np.append(starts, starts[-1] + last)
    n = np.array([r[1] for r in rows])
    work = n * np.array([r[2] for r in rows])
    return _Series(
        knots, np.concatenate(([0.0], np.cumsum(n))), np.concatenate(([0.0], np.cumsum(work)))
    )


def load_forecast_csv(text: str) -> ScheduledForecast:
    """Parse a scheduled forecast: columns interval_start, queue, expected_contacts, aht_s.

    Each row covers from its start to the queue's next start (the last row: the usual step).
    ``interval_start`` is RFC 3339 with a zone (absolute) or HH:MM (UTC, repeating daily);
    one file uses one kind. Raises ForecastError naming the line on anything malformed.
    """
    reader = csv.DictReader(io.StringIO(text))
    need = ("interval_start", "queue", "expected_contacts", "aht_s")
    missing = [c for c in need if c not in (reader.fieldnames or ())]
    if missing:
        raise ForecastError(f"missing column(s): {', '.join(missing)}")
    per_queue: dict[str, list[tuple[float, float, float]]] = {}
    kinds: set[bool] = set()
    for lineno, row in enumerate(reader, start=2):
        where = f"line {lineno}"
        t, daily = _parse_start(row["interval_start"] or "", where)
        kinds.add(daily)
        if len(kinds) > 1:
            raise ForecastError(f"{where}: mixes HH:MM and RFC 3339 interval_start values")
        queue = (row["queue"] or "").strip()
        if not queue:
            raise ForecastError(f"{where}: empty queue")
        n = _number(row["expected_contacts"], where, "expected_contacts", positive=False)
        aht = _number(row["aht_s"], where, "aht_s", positive=True)
        per_queue.setdefault(queue, []).append((t, n, aht))
    series = {q: _series(rows, f"queue {q}") for q, rows in sorted(per_queue.items())}
    return ScheduledForecast(series, daily=kinds == {True})


# -- the per-queue forecast -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueForecast:
    """What the planner needs about one queue for the horizon (SI units)."""

    channel: Channel
    arrival_rate: float  # forecast arrivals per second (no catch-up term)
    aht_s: float
    staffing_rate: float  # arrival_rate + waiting / catch_up_s (real-time)
    patience_s: float | None  # configured, else estimated; None = Erlang C / email
    waiting: int
    backlog: int  # email open items
    oldest_age_s: float  # email: age of the oldest open item


def catch_up_s(planner: PlannerSettings) -> float:
    """Time to clear contacts already waiting: until the next plan, at most the horizon."""
    return min(planner.interval_s, planner.horizon_s)


def intraday_ratio(
    schedule: ScheduledForecast, queue: str, history: tuple[QueueSnapshot, ...], now: float
) -> float | None:
    """Actual / scheduled contacts over today's snapshots (UTC day of ``now``), clamped."""
    day0 = math.floor(now / DAY_S) * DAY_S
    todays = [
        s
        for s in history
        if s.ts - s.interval_s >= day0
        and s.interval_s > 0
        and schedule.covers(queue, s.ts - s.interval_s)
        and schedule.covers(queue, s.ts)
    ]
    if not todays:
        return None
    ends = np.array([s.ts for s in todays])
    starts = ends - np.array([s.interval_s for s in todays])
    exp = schedule.expected(queue, starts, ends)
    expected = float(exp.sum()) if exp is not None else 0.0
    actual = float(sum(s.offered for s in todays))
    if expected <= 0:
        return None
    return min(max(actual / expected, RATIO_BOUNDS[0]), RATIO_BOUNDS[1])


def forecast_queue(
    q: QueueSettings,
    planner: PlannerSettings,
    estimate: LiveEstimate | None,
    latest: QueueSnapshot | None,
    history: tuple[QueueSnapshot, ...],
    now: float,
    schedule: ScheduledForecast | None = None,
) -> QueueForecast:
    """Forecast one queue over [now, now + horizon] from live data and an optional schedule."""
    live_rate = estimate.rate() if estimate is not None else None
    if live_rate is not None and q.channel != "email":
        # real-time queues: react to a surge at the fast pace, relax at the slow one
        live_rate = max(live_rate, estimate.fast_rate() or 0.0)  # type: ignore[union-attr]
    live_aht = estimate.aht_s() if estimate is not None else None
    rate, aht = live_rate, live_aht
    sched = None if schedule is None else schedule.rate_and_aht(q.id, now, now + planner.horizon_s)
    if sched is not None:
        ratio = intraday_ratio(schedule, q.id, history, now) if schedule else None
        s_rate = sched[0] * (ratio if ratio is not None else 1.0)
        w = planner.forecast_weight if live_rate is not None else 1.0
        rate = (1 - w) * (live_rate or 0.0) + w * s_rate
        if sched[1] is not None:
            wa = planner.forecast_weight if live_aht is not None else 1.0
            aht = (1 - wa) * (live_aht or 0.0) + wa * sched[1]
    rate = max(rate or 0.0, 0.0)
    aht = aht if aht is not None and aht > 0 else q.aht_s
    waiting = latest.waiting if latest is not None else 0
    if q.channel == "email":
        backlog = latest.backlog if latest is not None and latest.backlog is not None else waiting
        oldest = latest.oldest_age_s if latest is not None and latest.oldest_age_s else 0.0
        return QueueForecast(q.channel, rate, aht, rate, None, waiting, backlog, oldest)
    patience = q.patience_s
    if patience is None and estimate is not None:
        patience = estimate.patience_s()
    staffing = rate + waiting / catch_up_s(planner)
    return QueueForecast(q.channel, rate, aht, staffing, patience, waiting, 0, 0.0)
