"""The simulator agrees with the queueing models on stationary cases (within sampling error).

Each case runs a long stationary day (no moves) and compares service level, ASA and
abandonment with ``staffer.models``. The tolerance is four standard errors estimated by
batch means over 4-hour batches (long enough to be nearly independent at these loads),
plus a small absolute floor, so a failure means a real disagreement, not noise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from staffer import models
from staffer.sim.engine import Contact
from staffer.sim.run import run_policy

from .helpers import stationary

HOURS = 200
BATCH_S = 4 * 3600.0


def _batches(contacts: list[Contact], target_s: float) -> dict[str, np.ndarray]:
    """Per-batch SL, abandonment and mean wait of answered contacts."""
    sl, ab, asa = [], [], []
    by_hour: dict[int, list[Contact]] = {}
    for c in contacts:
        if c.arrival >= 3600:  # drop the empty-start warm-up hour
            by_hour.setdefault(int((c.arrival - 3600) // BATCH_S), []).append(c)
    for h in sorted(by_hour)[:-1]:  # the last batch may be cut short
        cs = by_hour[h]
        ans = [c.start - c.arrival for c in cs if c.start is not None]
        sl.append(sum(w <= target_s for w in ans) / len(cs))
        ab.append(sum(c.abandoned_at is not None for c in cs) / len(cs))
        asa.append(float(np.mean(ans)) if ans else 0.0)
    return {"sl": np.array(sl), "ab": np.array(ab), "asa": np.array(asa)}


def _close(sim: np.ndarray, model: float, floor: float) -> None:
    se = float(sim.std(ddof=1) / math.sqrt(len(sim)))
    assert abs(sim.mean() - model) <= 4 * se + floor, (sim.mean(), model, se)


@pytest.mark.parametrize(
    ("rate_h", "aht", "n", "seed"),
    [
        (180, 240, 15, 1),  # A = 12, occupancy 0.8
        (540, 180, 31, 2),  # A = 27, occupancy 0.87
    ],
)
def test_erlang_c(rate_h: float, aht: float, n: int, seed: int) -> None:
    sc = stationary(rate_h, aht, n, hours=int(HOURS * 180 / rate_h))  # ~36,000 calls
    trace, _ = run_policy(sc, "static", seed=seed)
    b = _batches(trace.contacts, 20.0)
    rate = rate_h / 3600
    _close(b["sl"], float(models.service_level(rate, aht, n, 20.0)), 0.005)
    _close(b["asa"], float(models.asa(rate, aht, n)), 0.5)
    assert b["ab"].sum() == 0


@pytest.mark.parametrize(
    ("rate_h", "aht", "n", "patience", "seed"),
    [
        (180, 240, 12, 120, 3),  # A = 12 on 12 agents: only abandonment keeps it stable
        (360, 240, 26, 300, 4),  # A = 24 on 26 agents
    ],
)
def test_erlang_a(rate_h: float, aht: float, n: int, patience: float, seed: int) -> None:
    sc = stationary(rate_h, aht, n, hours=int(HOURS * 180 / rate_h), patience_s=patience)
    trace, _ = run_policy(sc, "static", seed=seed)
    b = _batches(trace.contacts, 20.0)
    rate = rate_h / 3600
    _close(b["sl"], float(models.service_level(rate, aht, n, 20.0, patience)), 0.005)
    _close(b["ab"], float(models.abandon_ratio(rate, aht, n, patience)), 0.003)
    _close(b["asa"], float(models.asa(rate, aht, n, patience)), 0.5)


def test_chat_concurrency_without_slowdown() -> None:
    """k concurrent chats and no slowdown: the same as n*k independent servers."""
    rate_h, aht, n, k, patience = 240, 480, 9, 2, 300
    sc = stationary(
        rate_h,
        aht,
        n,
        hours=HOURS,
        channel="chat",
        concurrency=k,
        patience_s=patience,
        target_s=60.0,
    )
    trace, _ = run_policy(sc, "static", seed=5)
    b = _batches(trace.contacts, 60.0)
    rate = rate_h / 3600
    _close(b["sl"], float(models.service_level(rate, aht, n * k, 60.0, patience)), 0.005)
    _close(b["ab"], float(models.abandon_ratio(rate, aht, n * k, patience)), 0.003)
