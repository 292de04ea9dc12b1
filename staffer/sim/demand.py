"""The simulated day's contacts, drawn before the day starts (common random numbers).

Every contact's arrival time, base handle time and patience come from per-queue,
per-purpose RNG streams keyed by the seed and the queue id, so every policy sees exactly
the same contacts, and adding a queue does not disturb the others' streams.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from staffer.sim.scenario import Scenario

STREAM_ARRIVALS, STREAM_HANDLE, STREAM_PATIENCE, STREAM_BACKLOG = 0, 1, 2, 3


@dataclass(slots=True)
class Contact:
    """One contact and what happened to it."""

    queue: str
    arrival: float
    handle_s: float
    patience_s: float
    start: float | None = None
    end: float | None = None
    abandoned_at: float | None = None

    @property
    def wait_s(self) -> float | None:
        return None if self.start is None else self.start - self.arrival


def rng_stream(seed: int, queue_id: str, purpose: int) -> np.random.Generator:
    """An independent generator per (seed, queue, purpose): common random numbers."""
    key = (zlib.crc32(queue_id.encode()), purpose)
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def arrival_times(
    rates_per_s: list[float], period_s: float, rng: np.random.Generator
) -> np.ndarray:
    """Non-homogeneous Poisson arrivals with a piecewise-constant rate (exact)."""
    out: list[np.ndarray] = []
    for i, rate in enumerate(rates_per_s):
        if rate <= 0:
            continue
        n = rng.poisson(rate * period_s)
        out.append(np.sort(rng.uniform(i * period_s, (i + 1) * period_s, n)))
    return np.concatenate(out) if out else np.empty(0)


def handle_times(n: int, aht: float, kind: str, cv: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` handle times with mean ``aht``: exponential or lognormal with the given CV."""
    if kind == "exponential":
        return rng.exponential(aht, n)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(aht) - sigma2 / 2, math.sqrt(sigma2), n)


def draw_contacts(sc: Scenario, seed: int, qid: str) -> list[Contact]:
    """Queue ``qid``'s contacts of the day (an initial backlog arrives at negative times)."""
    d = sc.demand[qid]
    times = arrival_times(
        [r / 3600.0 for r in d.rates_per_hour],
        sc.profile_interval_s,
        rng_stream(seed, qid, STREAM_ARRIVALS),
    )
    if d.initial_backlog:
        ages = rng_stream(seed, qid, STREAM_BACKLOG).uniform(
            0, d.initial_max_age_s, d.initial_backlog
        )
        times = np.concatenate([np.sort(-ages), times])
    hts = handle_times(
        len(times), sc.aht_of(qid), d.handle, d.handle_cv, rng_stream(seed, qid, STREAM_HANDLE)
    ) * sc.handle_scale(qid, times)  # per-interval handle times (a replayed day), else 1
    patience = sc.patience_of(qid)
    if patience is None:
        pats = np.full(len(times), math.inf)
    else:
        pats = rng_stream(seed, qid, STREAM_PATIENCE).exponential(patience, len(times))
    return [
        Contact(qid, float(t), float(h), float(p)) for t, h, p in zip(times, hts, pats, strict=True)
    ]
