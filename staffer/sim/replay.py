"""Run a day under several policies and seeds and summarise it (``staffer simulate``).

On each seed every policy sees the same contacts (common random numbers). A run keeps
its day KPIs, its per-interval results and its moves with reasons, not the contacts, so
30 seeds of a long day stay small. Summaries are mean and sample standard deviation over
seeds (None with one seed); per-interval values are averaged over the seeds on which
they are defined (an interval without contacts has no service level).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from staffer.core.types import Move
from staffer.sim.intervals import MoveRecord, QueueIntervals, interval_stats, moves_with_reasons
from staffer.sim.kpis import DayKpis, QueueKpis, rescue_share
from staffer.sim.run import Progress, run_policy
from staffer.sim.scenario import Scenario

# day KPIs of a queue that get a mean and spread over seeds
QUEUE_KPIS = (
    "offered",
    "service_level",
    "asa_s",
    "abandon_ratio",
    "on_time",
    "intervals_met",
    "intervals_within_5pt",
)


@dataclass
class PolicyRun:
    """One policy on one seed."""

    seed: int
    kpis: DayKpis
    intervals: dict[str, QueueIntervals]
    moves: list[MoveRecord]


Runs = dict[str, list[PolicyRun]]  # policy -> one run per seed, seeds in the same order


def run_seeds(
    scenario: Scenario, policies: Sequence[str], seeds: Sequence[int], progress: Progress | None
) -> Runs:
    """Every policy on every seed."""
    out: Runs = {p: [] for p in policies}
    for seed in seeds:
        for p in policies:
            decisions: list[tuple[float, Move]] = []

            def record(t: float, moves: list[Move], into: list = decisions) -> None:
                into.extend((t, m) for m in moves)

            trace, kpis = run_policy(scenario, p, seed, progress, record)
            out[p].append(
                PolicyRun(
                    seed, kpis, interval_stats(trace, kpis), moves_with_reasons(trace, decisions)
                )
            )
    return out


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation of the finite values (None when there are none;
    ``sd`` None with a single value)."""

    mean: float | None
    sd: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Spread:
        v = [float(x) for x in values if x is not None and math.isfinite(x)]
        if not v:
            return cls(None, None, 0)
        return cls(statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else None, len(v))

    def as_dict(self) -> dict[str, float | None]:
        r = None if self.sd is None else round(self.sd, 6)
        return {"mean": None if self.mean is None else round(self.mean, 6), "sd": r}


def queue_spreads(days: list[DayKpis], queue: str) -> dict[str, Spread]:
    """Mean and spread of each day KPI of ``queue`` over the days (one per seed)."""
    qk: list[QueueKpis] = [d.queues[queue] for d in days]
    return {k: Spread.of([getattr(x, k) for x in qk]) for k in QUEUE_KPIS}


def moves_spread(days: list[DayKpis]) -> tuple[Spread, Spread]:
    """(moves per day, moves per agent-hour) over the days."""
    return Spread.of([d.moves for d in days]), Spread.of([d.moves_per_agent_hour for d in days])


def interval_spreads(runs: list[PolicyRun], queue: str) -> dict[str, list[Spread]]:
    """Per interval: each QueueIntervals series' mean and spread over the runs."""
    keys = ("offered", "service_level", "asa_s", "abandoned", "agents")
    series = [r.intervals[queue] for r in runs]
    n = len(series[0].offered)
    return {k: [Spread.of([getattr(s, k)[i] for s in series]) for i in range(n)] for k in keys}


def rescued(static: list[DayKpis], other: list[DayKpis], queue: str) -> tuple[int, int]:
    """Over all seeds: intervals where static missed by more than 5 points, and how many of
    them ``other`` brought within 5 points."""
    missed = done = 0
    for s, o in zip(static, other, strict=True):
        n, share = rescue_share(s.queues[queue], o.queues[queue])
        missed += n
        done += 0 if n == 0 else round(share * n)
    return missed, done


def mean_day(days: list[DayKpis]) -> DayKpis:
    """A DayKpis whose per-interval series are the means over the days (for the chart)."""
    queues = {}
    for q, k in days[0].queues.items():
        sl = [
            Spread.of([d.queues[q].interval_sl[i] for d in days]).mean
            for i in range(len(k.interval_sl))
        ]
        agents = [
            statistics.fmean(d.queues[q].interval_agents[i] for d in days)
            for i in range(len(k.interval_agents))
        ]
        queues[q] = replace(k, interval_sl=sl, interval_agents=agents)
    return replace(days[0], queues=queues, moves=round(statistics.fmean(d.moves for d in days)))


def days_of(runs: Runs) -> dict[str, list[DayKpis]]:
    """The day KPIs of every policy, one per seed."""
    return {p: [r.kpis for r in rs] for p, rs in runs.items()}
