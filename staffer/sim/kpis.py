"""KPIs of a simulated day, per queue and for the site.

Definitions (same as the models'): service level = contacts answered within
``target_s`` / all contacts offered (abandoned ones count as misses); ASA = mean wait
of answered contacts; abandonment = abandoned / offered. Email: ``on_time`` = items
whose handling started within ``target_s`` of arrival / items that were started or
are already past their deadline at the end of the run (items still open and not yet
due are left out). Intervals are ``report_interval_s`` buckets of arrival time; an
interval "met" its target when its service level (email: on-time ratio) reached the
queue's ``sl_target``, "within 5 points" when it reached ``sl_target - 0.05``.

What the day leaves behind and what the planner believed:

* email carry-over (tomorrow's backlog): ``open_at_end`` = items that arrived during the
  day and were not started when the run ended (the site closes: the last shift ends
  after the drain), ``oldest_open_age_s`` the age of the oldest of them then (0 when
  none); ``open_at_day_end`` the same count at the end of the arrivals (before the drain);
* reversals: moves (switches, by the time they happened) that took an agent back into a
  queue it had left less than ``REVERSAL_S`` earlier, and their share of all moves;
* calibration (real-time queues, policies that plan): for each report interval, the
  predicted service level of the plan made at the interval's start against the
  interval's realised service level; ``prediction_mae`` is the mean absolute error over
  the intervals that had both (NaN when none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from staffer.sim.engine import Contact, SimTrace

WITHIN_POINTS = 0.05
REVERSAL_S = 1800.0  # moved back into a queue left less than this long ago


@dataclass
class QueueKpis:
    """KPIs of one queue over the day."""

    channel: str
    offered: int
    answered: int
    abandoned: int
    service_level: float
    asa_s: float
    abandon_ratio: float
    sl_target: float
    intervals_met: float
    intervals_within_5pt: float
    interval_sl: list[float | None] = field(default_factory=list)
    interval_agents: list[float] = field(default_factory=list)
    on_time: float | None = None
    open_at_end: int | None = None
    open_at_day_end: int | None = None
    oldest_open_age_s: float | None = None
    prediction_mae: float | None = None
    predicted_intervals: int = 0

    def as_dict(self, series: bool = False) -> dict[str, object]:
        d = {
            k: _clean(v)
            for k, v in self.__dict__.items()
            if series
            or not k.startswith("interval_")
            or k in ("intervals_met", "intervals_within_5pt")
        }
        drop = (
            ("prediction_mae", "predicted_intervals")
            if self.channel == "email"
            else ("on_time", "open_at_end", "open_at_day_end", "oldest_open_age_s")
        )
        for k in drop:
            d.pop(k, None)
        return d


@dataclass
class DayKpis:
    """KPIs of one policy's day."""

    policy: str
    seed: int
    queues: dict[str, QueueKpis]
    moves: int
    agent_hours: float
    moves_per_agent_hour: float
    interval_starts_s: list[float]
    reversals: int = 0
    reversal_share: float = math.nan

    def as_dict(self, series: bool = False) -> dict[str, object]:
        out: dict[str, object] = {
            "policy": self.policy,
            "seed": self.seed,
            "moves": self.moves,
            "agent_hours": round(self.agent_hours, 3),
            "moves_per_agent_hour": _clean(self.moves_per_agent_hour),
            "reversals": self.reversals,
            "reversal_share": _clean(self.reversal_share),
            "queues": {q: k.as_dict(series) for q, k in self.queues.items()},
        }
        if series:
            out["interval_starts_s"] = self.interval_starts_s
        return out


def _clean(v: object) -> object:
    """JSON-safe numbers: NaN/inf become None, floats rounded to 6 digits."""
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 6)
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _email_status(c: Contact, target: float, end: float) -> bool | None:
    """True on time, False late, None still open and not yet due."""
    if c.start is not None:
        return c.start - c.arrival <= target
    return False if end - c.arrival > target else None


def compute_kpis(trace: SimTrace, end_s: float) -> DayKpis:
    """Per-queue and site KPIs of a finished run (``end_s``: when the run stopped)."""
    sc = trace.scenario
    day, width = sc.day_s, sc.report_interval_s
    n_int = math.ceil(day / width - 1e-9)
    starts = [i * width for i in range(n_int)]
    by_q: dict[str, list[Contact]] = {q.id: [] for q in sc.site.queues}
    for c in trace.contacts:
        if c.arrival < day:
            by_q[c.queue].append(c)
    agents = _interval_agents(trace, n_int, width)
    out: dict[str, QueueKpis] = {}
    for q in sc.site.queues:
        cs = by_q[q.id]
        bucket_hit = [0] * n_int
        bucket_all = [0] * n_int
        if q.channel == "email":
            statuses = [(c, _email_status(c, q.target_s, end_s)) for c in cs]
            decided = [(c, s) for c, s in statuses if s is not None]
            on = sum(1 for _, s in decided if s)
            for c, s in decided:
                i = max(0, int(c.arrival // width))
                bucket_all[i] += 1
                bucket_hit[i] += int(bool(s))
            sl = _ratio(on, len(decided))
            answered = sum(1 for c in cs if c.start is not None)
            waits = [c.start - c.arrival for c in cs if c.start is not None]
            kp = QueueKpis(
                "email",
                sum(1 for c in cs if c.arrival >= 0),
                answered,
                0,
                sl,
                _mean(waits),
                0.0,
                q.sl_target,
                0.0,
                0.0,
                on_time=sl,
            )
            kp.open_at_end, kp.oldest_open_age_s = carry_over(cs, end_s)
            kp.open_at_day_end = carry_over(cs, day)[0]
        else:
            offered = [c for c in cs if c.arrival >= 0]
            ans = [c for c in offered if c.start is not None]
            within = sum(1 for c in ans if c.start - c.arrival <= q.target_s)  # type: ignore
            ab = sum(1 for c in offered if c.abandoned_at is not None)
            for c in offered:
                i = int(c.arrival // width)
                bucket_all[i] += 1
                bucket_hit[i] += int(c.start is not None and c.start - c.arrival <= q.target_s)
            kp = QueueKpis(
                q.channel,
                len(offered),
                len(ans),
                ab,
                _ratio(within, len(offered)),
                _mean([c.start - c.arrival for c in ans]),  # type: ignore[operator]
                _ratio(ab, len(offered)),
                q.sl_target,
                0.0,
                0.0,
            )
        kp.interval_sl = [
            _ratio(h, a) if a else None for h, a in zip(bucket_hit, bucket_all, strict=True)
        ]
        seen = [v for v in kp.interval_sl if v is not None]
        kp.intervals_met = _ratio(sum(v >= q.sl_target - 1e-12 for v in seen), len(seen))
        kp.intervals_within_5pt = _ratio(sum(v >= within_floor(kp) for v in seen), len(seen))
        kp.interval_agents = agents[q.id]
        if q.channel != "email" and trace.predictions:
            kp.prediction_mae, kp.predicted_intervals = calibration(
                trace.predictions, q.id, kp.interval_sl, width
            )
        out[q.id] = kp
    hours = trace.agent_seconds / 3600.0
    day_moves = [m for m in trace.move_log if m[0] < day]
    back = reversals(day_moves)
    return DayKpis(
        trace.policy,
        trace.seed,
        out,
        len(day_moves),
        hours,
        _ratio(len(day_moves), hours),
        starts,
        back,
        _ratio(back, len(day_moves)),
    )


def carry_over(emails: list[Contact], at: float) -> tuple[int, float]:
    """Items arrived before ``at`` and not started by then; age of the oldest (0: none)."""
    open_ = [c.arrival for c in emails if c.arrival < at and (c.start is None or c.start > at)]
    return len(open_), (at - min(open_) if open_ else 0.0)


def reversals(move_log: list[tuple[float, str, str, str]]) -> int:
    """Switches into a queue the agent left less than REVERSAL_S earlier."""
    left: dict[str, dict[str, float]] = {}
    back = 0
    for t, agent, src, dst in sorted(move_log):
        mine = left.setdefault(agent, {})
        since = mine.get(dst)
        if since is not None and t - since < REVERSAL_S:
            back += 1
        mine[src] = t
    return back


def calibration(
    predictions: list[tuple[float, dict[str, float]]],
    queue: str,
    realised: list[float | None],
    width: float,
) -> tuple[float, int]:
    """MAE of the prediction made at each interval's start vs the interval's realised SL."""
    at_start = {
        round(t / width): p[queue]
        for t, p in predictions
        if queue in p and abs(t / width - round(t / width)) < 1e-9
    }
    errs = [
        abs(at_start[i] - r)
        for i, r in enumerate(realised)
        if r is not None and i in at_start and math.isfinite(at_start[i])
    ]
    return _ratio(sum(errs), len(errs)), len(errs)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def _interval_agents(trace: SimTrace, n_int: int, width: float) -> dict[str, list[float]]:
    """Mean online agents per queue in each report interval (from the 60 s samples)."""
    qs = [q.id for q in trace.scenario.site.queues]
    sums = {q: [0.0] * n_int for q in qs}
    cnt = [0] * n_int
    for t, counts in trace.samples:
        i = int(t // width)
        if i >= n_int:
            continue
        cnt[i] += 1
        for q in qs:
            sums[q][i] += counts.get(q, 0)
    return {q: [s / c if c else 0.0 for s, c in zip(sums[q], cnt, strict=True)] for q in qs}


def within_floor(q: QueueKpis) -> float:
    """The lowest interval service level that counts as within 5 points of target."""
    return q.sl_target - WITHIN_POINTS - 1e-12


def missed_intervals(static: QueueKpis) -> list[int]:
    """The intervals where ``static`` missed by more than 5 points."""
    floor = within_floor(static)
    return [i for i, v in enumerate(static.interval_sl) if v is not None and v < floor]


def rescued_intervals(static: QueueKpis, other: QueueKpis) -> list[int]:
    """Of ``missed_intervals(static)``, those ``other`` brought within 5 points of target."""
    floor = within_floor(static)
    return [i for i in missed_intervals(static) if (other.interval_sl[i] or 0.0) >= floor]


def rescue_share(static: QueueKpis, other: QueueKpis) -> tuple[int, float]:
    """Of the intervals where ``static`` missed by more than 5 points, how many and what
    share ``other`` brought within 5 points of target (NaN when there were none)."""
    missed = len(missed_intervals(static))
    return missed, _ratio(len(rescued_intervals(static, other)), missed)
