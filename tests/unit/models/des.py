"""A small, seeded discrete-event simulator of M/M/N+M queues with k-concurrent agents.

Used by ``test_simulation.py`` to validate ``staffer.models`` independently of its
formulas. The system: Poisson arrivals (rate per second), ``agents`` agents each serving
up to ``concurrency`` contacts at once, one FCFS queue, exponential patience with mean
``patience`` seconds (``None`` = infinitely patient, i.e. Erlang C).

Service: while an agent holds ``j`` contacts, each of them completes at rate
``speed[j-1] / aht`` (memoryless). With the default ``speed = (1, ..., 1)`` every contact
takes an exponential time of mean ``aht`` whatever the agent's load ("aht measured under
concurrency"), which is exactly the "slot" model (``agents * concurrency`` Erlang
servers). Other ``speed`` profiles model agents who slow down when juggling chats.

Statistics (after a warm-up) are computed per batch of consecutive arrivals so callers
can build batch-means confidence intervals. Abandoned contacts are removed lazily (when
they reach the head of the queue), which is exact for FCFS: an abandoned contact never
delays anybody, and its wait never counts as answered.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A batch-means estimate: ``mean`` and its standard error ``se``."""

    mean: float
    se: float


@dataclass(frozen=True)
class SimResult:
    """Per-batch metrics; every array has one entry per batch."""

    p_wait: np.ndarray  # fraction of arrivals that found no free slot
    service_level: np.ndarray  # fraction of *all* arrivals answered within target
    abandon_ratio: np.ndarray  # fraction of arrivals that abandoned
    wait_answered: np.ndarray  # total wait of answered contacts in the batch, seconds
    answered: np.ndarray  # number of answered contacts in the batch
    occupancy: np.ndarray  # busy slot-seconds / (slots * elapsed seconds)

    def estimate(self, name: str) -> Estimate:
        """Batch-means mean and standard error of a per-arrival ratio."""
        x = np.asarray(getattr(self, name), dtype=float)
        return Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x))))

    def asa(self) -> Estimate:
        """Mean wait of answered contacts (ratio estimator with a batch-means error)."""
        w, n = self.wait_answered, self.answered
        mean = float(w.sum() / n.sum())
        per_batch = w / np.maximum(n, 1)
        weights = n / n.mean()
        resid = weights * (per_batch - mean)
        return Estimate(mean, float(resid.std(ddof=1) / math.sqrt(len(w))))


def simulate(  # noqa: C901  # TODO(issue 12/16): split
    rate: float,
    aht: float,
    agents: int,
    *,
    target: float,
    patience: float | None = None,
    concurrency: int = 1,
    speed: tuple[float, ...] | None = None,
    arrivals: int = 200_000,
    batches: int = 20,
    warmup: float = 0.05,
    seed: int = 0,
) -> SimResult:
    """Simulate ``arrivals`` contacts and return per-batch statistics (see module doc)."""
    if agents < 1 or concurrency < 1 or rate <= 0 or aht <= 0:
        raise ValueError("need agents >= 1, concurrency >= 1, rate > 0 and aht > 0")
    k = concurrency
    speed = tuple(speed) if speed is not None else (1.0,) * k
    if len(speed) != k or min(speed) <= 0:
        raise ValueError("speed needs one positive factor per concurrency level")
    rng = np.random.default_rng(seed)
    arr_t = np.cumsum(rng.exponential(1.0 / rate, arrivals)).tolist()
    deadline = (
        arr_t
        + (
            rng.exponential(patience, arrivals)
            if patience is not None
            else np.full(arrivals, np.inf)
        )
    ).tolist()
    # Completions are drawn as Exp(1) "work" scaled by each agent's current total rate.
    unit = iter(rng.exponential(1.0, 4 * arrivals).tolist())
    mu = 1.0 / aht
    total_rate = [0.0] + [j * speed[j - 1] * mu for j in range(1, k + 1)]

    load = [0] * agents  # contacts held by each agent
    version = [0] * agents  # invalidates stale completion events
    free_by_load: list[set[int]] = [set() for _ in range(k)]  # agents with load j < k
    free_by_load[0].update(range(agents))
    heap: list[tuple[float, int, int]] = []  # (time, agent, version)
    queue: deque[int] = deque()  # waiting arrival indices, FCFS

    waited = [False] * arrivals
    wait = [math.nan] * arrivals  # NaN = abandoned / never answered
    busy_area = 0.0  # integral of busy slots over time
    busy = 0
    t_last = 0.0
    area_at: list[float] = []  # busy_area sampled at each arrival

    def assign(agent: int, now: float) -> None:
        """Give the agent one more contact and reschedule its next completion."""
        j = load[agent]
        free_by_load[j].discard(agent)
        load[agent] = j + 1
        if j + 1 < k:
            free_by_load[j + 1].add(agent)
        reschedule(agent, now)

    def reschedule(agent: int, now: float) -> None:
        version[agent] += 1
        j = load[agent]
        if j:
            heapq.heappush(heap, (now + next(unit) / total_rate[j], agent, version[agent]))

    def pick_agent() -> int:
        """Least-loaded agent with a free slot (ties: any), or -1."""
        for j in range(k):
            if free_by_load[j]:
                return next(iter(free_by_load[j]))
        return -1

    i = 0
    while i < arrivals:
        t_arr = arr_t[i]
        if heap and heap[0][0] < t_arr:
            t, agent, ver = heapq.heappop(heap)
            if ver != version[agent]:
                continue
            busy_area += busy * (t - t_last)
            t_last = t
            j = load[agent]  # one contact completes
            if j < k:
                free_by_load[j].discard(agent)
            load[agent] = j - 1
            free_by_load[j - 1].add(agent)
            busy -= 1
            while queue:  # serve the head, skipping abandoned ones
                h = queue.popleft()
                if deadline[h] >= t:
                    wait[h] = t - arr_t[h]
                    busy += 1
                    assign(agent, t)
                    break
            else:
                reschedule(agent, t)
            continue
        busy_area += busy * (t_arr - t_last)
        t_last = t_arr
        area_at.append(busy_area)
        agent = pick_agent()
        if agent >= 0 and not queue:
            wait[i] = 0.0
            busy += 1
            assign(agent, t_arr)
        else:
            waited[i] = True
            queue.append(i)
        i += 1
    # Contacts still queued at the end arrived in the dropped tail (see ``_batch``).
    return _batch(arr_t, waited, wait, area_at, agents * k, target, batches, warmup)


def _batch(
    arr_t: list[float],
    waited: list[bool],
    wait: list[float],
    area_at: list[float],
    slots: int,
    target: float,
    batches: int,
    warmup: float,
) -> SimResult:
    n = len(arr_t)
    start = int(n * warmup)
    # Drop the tail (5%) whose fate may be undecided when the simulation stops.
    stop = n - max(int(n * 0.05), 1)
    edges = np.linspace(start, stop, batches + 1).astype(int)
    w = np.asarray(wait)
    a = np.asarray(arr_t)
    answered = ~np.isnan(w)
    within = answered & (w <= target)
    wt = np.asarray(waited)
    area = np.asarray(area_at)
    out: dict[str, list[float]] = {
        k: []
        for k in (
            "p_wait",
            "service_level",
            "abandon_ratio",
            "wait_answered",
            "answered",
            "occupancy",
        )
    }
    for lo, hi in itertools.pairwise(edges.tolist()):
        sl = slice(lo, hi)
        m = hi - lo
        out["p_wait"].append(wt[sl].sum() / m)
        out["service_level"].append(within[sl].sum() / m)
        out["abandon_ratio"].append((~answered[sl]).sum() / m)
        out["wait_answered"].append(float(np.nansum(w[sl])))
        out["answered"].append(float(answered[sl].sum()))
        out["occupancy"].append((area[hi] - area[lo]) / (slots * (a[hi] - a[lo])))
    return SimResult(**{k: np.asarray(v) for k, v in out.items()})
