"""The scheduled forecast: expected contacts and AHT per queue over time, from a CSV file.

``load_forecast_csv(text)`` reads columns ``interval_start, queue, expected_contacts,
aht_s``; ``interval_start`` is RFC 3339 with a zone (absolute) or ``HH:MM[:SS]`` (UTC,
repeating daily); one file uses one kind. A row lasts until the queue's next row (the last
row: the queue's usual step). Errors raise ``ForecastError`` naming the line.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np

DAY_S = 86400.0
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


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
            flat: np.ndarray = np.interp(t, s.knots, curve)
            return flat
        day, tod = np.divmod(t, DAY_S)
        daily: np.ndarray = day * curve[-1] + np.interp(tod, s.knots, curve)
        return daily

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
        cum = self._cum(s, s.contacts, np.asarray(t1, float))
        out: np.ndarray = cum - self._cum(s, s.contacts, np.asarray(t0, float))
        return out

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
        """A daily schedule covers every time, a dated one its first to its last knot."""
        s = self.series.get(queue)
        return s is not None and (self.daily or float(s.knots[0]) <= t <= float(s.knots[-1]))

    def covers_each(self, queue: str, t: np.ndarray) -> np.ndarray:
        """``covers`` for every time of ``t`` at once."""
        s = self.series.get(queue)
        if s is None or self.daily:
            return np.full(t.shape, s is not None)
        inside: np.ndarray = (s.knots[0] <= t) & (t <= s.knots[-1])
        return inside


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
