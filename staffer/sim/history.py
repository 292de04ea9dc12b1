"""An ACD interval export (contract §15): one row per queue and interval, on a regular grid.

Columns ``interval_start,queue,offered,aht_s`` plus optional ``answered,abandoned,
answered_within_target,interval_s`` (default ``interval_s`` 1800). Rows may come in any
order across queues (per time or per queue), but each queue's rows must be in time order
without overlaps, all of one interval length, on one grid. A queue missing from an
interval had no contacts in it. ``aht_s`` blank or 0 (nobody handled) means the queue's
mean of the day. Counts stay counts here; rates per second are derived on demand.
The same format (actuals ignored) is a FORECAST.csv, resampled onto the history's grid.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path

from staffer.sim.csvinput import Problems, Row, number, read_table, time_cell, whole
from staffer.sim.scenario import MAX_RATE_PER_HOUR

REQUIRED = ("interval_start", "queue", "offered", "aht_s")
ACTUALS = ("answered", "abandoned", "answered_within_target")
OPTIONAL = (*ACTUALS, "interval_s")
DEFAULT_INTERVAL_S = 1800.0
MAX_SPAN_S = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class IntervalRow:
    """One valid row of an export."""

    line: int
    raw_start: str
    start: float  # POSIX seconds
    length_s: float
    queue: str
    offered: int
    aht_s: float | None  # None: blank or 0
    actual: dict[str, int | None]


@dataclass
class History:
    """A replayed day on a regular grid: per queue, per interval counts and handle times."""

    source: str
    start_ts: float
    interval_s: float
    n: int
    zone: tzinfo  # reports show times here: --tz, else the zone of the first start
    queues: list[str]  # config order
    offered: dict[str, list[int]]
    aht_s: dict[str, list[float | None]]
    actuals: dict[str, dict[str, list[int]]]  # queue -> column -> per interval (complete only)
    notes: list[str] = field(default_factory=list)

    @property
    def end_ts(self) -> float:
        return self.start_ts + self.n * self.interval_s

    def label(self, ts: float) -> str:
        """``HH:MM`` of a POSIX time in the history's zone."""
        return datetime.fromtimestamp(ts, self.zone).strftime("%H:%M")

    def rates_per_s(self, queue: str) -> list[float]:
        return [n / self.interval_s for n in self.offered[queue]]

    def mean_aht_s(self, queue: str) -> float | None:
        """The day's mean handle time, weighted by contacts answered (else offered)."""
        weights = self.actuals.get(queue, {}).get("answered") or self.offered[queue]
        pairs = [(a, w) for a, w in zip(self.aht_s[queue], weights, strict=True) if a and w]
        total = sum(w for _, w in pairs)
        return sum(a * w for a, w in pairs) / total if total else None


@dataclass(frozen=True)
class Forecast:
    """What the schedule expected per queue and history interval: rates and handle times."""

    rates_per_s: dict[str, list[float]]
    aht_s: dict[str, list[float | None]]
    source: str


def read_interval_rows(
    path: Path | str, queues: Sequence[str], site_id: str, zone: tzinfo | None
) -> tuple[list[IntervalRow], list[str], Problems]:
    """Parse and check every row (problems collected, not raised); returns the valid rows,
    the ignored columns and the problems so far."""
    problems = Problems(path)
    rows, ignored = read_table(path, REQUIRED, OPTIONAL, problems)
    out: list[IntervalRow] = []
    for row in rows:
        r = _interval_row(row, queues, site_id, zone, problems)
        if r is not None:
            out.append(r)
    _check_sequence(out, problems)
    return out, ignored, problems


def _interval_row(
    row: Row, queues: Sequence[str], site_id: str, zone: tzinfo | None, problems: Problems
) -> IntervalRow | None:
    before = len(problems)
    start = time_cell(problems, row, "interval_start", zone)
    queue = row.get("queue")
    if queue not in queues:
        problems.at(row.line, "queue", f"a queue of site {site_id} ({', '.join(queues)})", queue)
    offered = whole(problems, row, "offered")
    aht = number(problems, row, "aht_s", required=False)
    length = DEFAULT_INTERVAL_S
    if row.get("interval_s"):
        length = number(problems, row, "interval_s", positive=True) or DEFAULT_INTERVAL_S
        if length > 86400:
            problems.at(row.line, "interval_s", "at most 86400 seconds", row.get("interval_s"))
    if offered is not None and offered * 3600.0 / length > MAX_RATE_PER_HOUR:
        most = int(MAX_RATE_PER_HOUR * length / 3600.0)
        problems.at(
            row.line,
            "offered",
            f"at most {most:,} in {length:g} s ({MAX_RATE_PER_HOUR:,.0f} an hour)",
            row.get("offered"),
        )
    actual = {c: whole(problems, row, c, required=False) for c in ACTUALS}
    within, answered = actual["answered_within_target"], actual["answered"]
    if within is not None and answered is not None and within > answered:
        problems.at(
            row.line, "answered_within_target", f"at most answered ({answered})", str(within)
        )
    if len(problems) > before or start is None or offered is None:
        return None
    return IntervalRow(
        row.line, row.get("interval_start"), start, length, queue, offered, aht or None, actual
    )


def _check_sequence(rows: list[IntervalRow], problems: Problems) -> None:
    """Each queue's rows in time order, none overlapping the previous one."""
    last: dict[str, IntervalRow] = {}
    for r in rows:
        prev = last.get(r.queue)
        last[r.queue] = r if prev is None or r.start > prev.start else prev
        if prev is None:
            continue
        if r.start < prev.start:
            problems.line(
                r.line,
                f"interval_start {r.raw_start!r} of queue {r.queue} is before line "
                f"{prev.line}'s {prev.raw_start!r} (expected each queue's rows in time order)",
            )
        elif r.start < prev.start + prev.length_s:
            problems.line(
                r.line,
                f"interval {r.raw_start!r} of queue {r.queue} overlaps line {prev.line}'s "
                f"{prev.raw_start!r} + {prev.length_s:g} s (expected one row per queue and "
                "interval)",
            )


def _grid(rows: list[IntervalRow], problems: Problems, zone: tzinfo) -> tuple[float, float, int]:
    """(start, interval length, intervals) of the rows' common grid; problems otherwise."""
    first = rows[0]
    start = min(r.start for r in rows)
    for r in rows:
        if r.length_s != first.length_s:
            problems.at(
                r.line,
                "interval_s",
                f"{first.length_s:g} like line {first.line} (one interval length per file)",
                f"{r.length_s:g}",
            )
        elif (r.start - start) % first.length_s:
            t0 = datetime.fromtimestamp(start, zone).strftime("%Y-%m-%d %H:%M")
            problems.at(
                r.line,
                "interval_start",
                f"a start on the {first.length_s / 60:g}-minute grid from {t0}",
                r.raw_start,
            )
    end = max(r.start + r.length_s for r in rows)
    if end - start > MAX_SPAN_S:
        problems.file(
            f"the rows span {(end - start) / 86400:.1f} days (expected at most 7: split the export)"
        )
    return start, first.length_s, round((end - start) / first.length_s)


def load_history(
    path: Path | str, queues: Sequence[str], site_id: str, zone: tzinfo | None
) -> History:
    """Read and check an export against the config's queue ids (InputError on any problem)."""
    rows, ignored, problems = read_interval_rows(path, queues, site_id, zone)
    if not rows:
        problems.check()
    shown = zone or _zone_of(rows[0].raw_start)
    start, length, n = _grid(rows, problems, shown)
    problems.check()
    present = {r.queue for r in rows}
    qs = [q for q in queues if q in present]
    offered = {q: [0] * n for q in qs}
    aht: dict[str, list[float | None]] = {q: [None] * n for q in qs}
    cols: dict[str, dict[str, list[int | None]]] = {q: {c: [0] * n for c in ACTUALS} for q in qs}
    for r in rows:
        i = round((r.start - start) / length)
        offered[r.queue][i] = r.offered
        aht[r.queue][i] = r.aht_s
        for c in ACTUALS:
            cols[r.queue][c][i] = r.actual[c]
    h = History(str(path), start, length, n, shown, qs, offered, aht, {})
    if ignored:
        h.notes.append(f"{path}: ignored column(s) {', '.join(ignored)}")
    for q in qs:
        h.actuals[q] = _complete_actuals(q, cols[q], rows, h.notes, path)
    return h


def _complete_actuals(
    queue: str,
    cols: dict[str, list[int | None]],
    rows: list[IntervalRow],
    notes: list[str],
    path: Path | str,
) -> dict[str, list[int]]:
    """The actual columns that every row of the queue filled in."""
    out: dict[str, list[int]] = {}
    for c, values in cols.items():
        blank = [r.line for r in rows if r.queue == queue and r.actual[c] is None]
        present = [r.line for r in rows if r.actual[c] is not None]
        if not blank:
            out[c] = [v or 0 for v in values]
        elif present:
            notes.append(
                f"{path}: {queue}: {c} is blank on {len(blank)} row(s) (first line "
                f"{blank[0]}); not used for calibration"
            )
    return out


def _zone_of(raw_start: str) -> tzinfo:
    """The fixed offset an RFC 3339 start carries (UTC for ``Z``)."""
    text = raw_start.strip()
    if text[-1:] in "Zz":
        return UTC
    sign = 1 if text[-6] == "+" else -1
    hours, minutes = int(text[-5:-3]), int(text[-2:])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def load_forecast(
    path: Path | str, history: History, site_id: str, zone: tzinfo | None
) -> Forecast:
    """A FORECAST.csv (the export's format) resampled onto the history's grid: each history
    interval takes the rate of the forecast row that covers its start (0 where none does)."""
    rows, _, problems = read_interval_rows(path, history.queues, site_id, zone)
    problems.check()
    by_q: dict[str, list[IntervalRow]] = {q: [] for q in history.queues}
    for r in rows:
        by_q[r.queue].append(r)
    rates: dict[str, list[float]] = {}
    aht: dict[str, list[float | None]] = {}
    for q, rs in by_q.items():
        if not rs:
            history.notes.append(f"{path}: no rows for {q}; its forecast is 0 all day")
        starts = [r.start for r in rs]
        rates[q], aht[q] = [], []
        for i in range(history.n):
            t = history.start_ts + i * history.interval_s
            k = bisect.bisect_right(starts, t) - 1
            hit = rs[k] if k >= 0 and t < rs[k].start + rs[k].length_s else None
            rates[q].append(hit.offered / hit.length_s if hit else 0.0)
            aht[q].append(hit.aht_s if hit else None)
    return Forecast(rates, aht, str(path))


def flat_forecast(history: History) -> Forecast:
    """The history flattened to its daily mean per queue: a schedule that did not know the
    day's shape (the planner's default forecast)."""
    span = history.n * history.interval_s
    rates = {q: [sum(history.offered[q]) / span] * history.n for q in history.queues}
    aht = {q: [history.mean_aht_s(q)] * history.n for q in history.queues}
    return Forecast(rates, aht, "the history's daily mean")
