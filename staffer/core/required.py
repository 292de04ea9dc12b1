"""``required``: the fewest agents that meet a real-time queue's goal on its own.

The contract's ``required`` is a steady-state figure at the forecast rate: service level
at least the goal, abandonment at most the cap (with patience) and, for Erlang C, agents x
concurrency above the load (the criterion of ``models.required_agents``). The counts in a
range that almost surely contains the answer (``search_range``) are evaluated together
with the transient predictor's table (one model call for both); an answer outside it (a
goal such as SL 1.0) is found by a galloping, then 16-ary, vectorised search
(``search_up``). Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from staffer import models

MAX_AGENTS = 1_000_000  # search ceiling for unreachable goals
MAX_SWEEP = 600  # at most this many counts per queue in the search range
_ARITY = 16


@dataclass(frozen=True, slots=True)
class Goals:
    """Per real-time queue: forecast rate and AHT, goal, target, patience (inf = Erlang C),
    concurrency and abandonment cap (inf without patience)."""

    rate: np.ndarray
    aht: np.ndarray
    goal: np.ndarray
    target_s: np.ndarray
    patience: np.ndarray
    conc: np.ndarray
    cap: np.ndarray

    @property
    def load(self) -> np.ndarray:
        """Offered load in agents."""
        load: np.ndarray = self.rate * self.aht / self.conc
        return load

    @property
    def floor(self) -> np.ndarray:
        """Erlang C needs agents * concurrency > load * concurrency."""
        return np.where(np.isinf(self.patience), np.floor(self.load) + 1.0, 0.0)


def search_range(g: Goals) -> tuple[np.ndarray, np.ndarray]:
    """Per queue, agent counts [lo, hi] that almost surely contain ``required``.

    ``lo`` is a rigorous lower bound (Erlang C: agents > load; with patience the carried
    load a(1 - abandon) cannot exceed the agents, so the cap needs n >= a(1 - cap)); ``hi``
    is square-root staffing with a generous margin (4 sqrt(a) + 5 slots), cut to MAX_SWEEP
    counts below it. Idle queues: empty (lo > hi).
    """
    slots = g.load * g.conc
    lo = np.where(np.isinf(g.patience), g.floor, np.floor(g.load * (1.0 - np.minimum(g.cap, 1.0))))
    hi = np.minimum(np.ceil(g.load + (4.0 * np.sqrt(slots) + 5.0) / g.conc) + 1.0, MAX_AGENTS)
    lo = np.maximum(lo, hi - MAX_SWEEP)
    live = g.rate > 0
    return np.where(live, lo, 1.0).astype(np.int64), np.where(live, hi, 0.0).astype(np.int64)


def meets(g: Goals, i: np.ndarray, n: np.ndarray, sl: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Queue ``i`` at ``n`` agents meets its goal on its own."""
    ok: np.ndarray = (n >= 0) & (n >= g.floor[i]) & (sl >= g.goal[i]) & (ab <= g.cap[i])
    return ok


def _metrics(g: Goals, i: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sl = np.asarray(
        models.service_level(
            g.rate[i],
            g.aht[i],
            n.astype(float),
            g.target_s[i],
            patience=g.patience[i],
            concurrency=g.conc[i],
        ),
        dtype=float,
    )
    ab = np.zeros(i.shape)
    pat = np.isfinite(g.patience[i])
    if pat.any():
        ab[pat] = models.abandon_ratio(
            g.rate[i][pat],
            g.aht[i][pat],
            n[pat].astype(float),
            g.patience[i][pat],
            concurrency=g.conc[i][pat],
        )
    return sl, ab


def from_sweep(
    g: Goals, lo: np.ndarray, hi: np.ndarray, sl: np.ndarray, ab: np.ndarray
) -> np.ndarray:
    """``required`` per queue from the sweep of [lo, hi] (concatenated per queue)."""
    sizes = np.maximum(hi - lo + 1, 0)
    start = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    rows = np.repeat(np.arange(len(lo)), sizes)
    n = np.arange(int(sizes.sum())) - np.repeat(start, sizes) + np.repeat(lo, sizes)
    ok = meets(g, rows, n, sl, ab)
    required = np.zeros(len(lo), dtype=np.int64)
    unmet, fails = [], []
    for i in np.flatnonzero(g.rate > 0):
        hit = ok[start[i] : start[i] + sizes[i]]
        if hit.any() and (hit.argmax() > 0 or lo[i] <= _rigorous(g, int(i))):
            required[i] = lo[i] + int(hit.argmax())
        else:  # above the range, below a range cut by MAX_SWEEP, or no range at all
            unmet.append(i)
            fails.append(hi[i] if sizes[i] and not hit.any() else _rigorous(g, int(i)) - 1)
    if unmet:
        required[unmet] = search_up(g, np.array(unmet), np.array(fails, dtype=float))
    return required


def _rigorous(g: Goals, i: int) -> int:
    """The rigorous lower bound of queue ``i`` (before the MAX_SWEEP cut)."""
    if np.isinf(g.patience[i]):
        return int(g.floor[i])
    return int(np.floor(g.load[i] * (1.0 - min(float(g.cap[i]), 1.0))))


def search_up(g: Goals, idx: np.ndarray, fails: np.ndarray) -> np.ndarray:
    """Smallest count meeting the goal above ``fails`` (known to fail) for queues ``idx``.

    Gallops up (doubling steps) to a count that meets, then narrows the bracket 16-fold
    per round; each round is one vectorised model call for all open brackets. Goals no
    count can meet stop at MAX_AGENTS.
    """
    lo = fails.copy()
    hi = np.full(idx.size, np.nan)
    step = np.maximum(np.ceil(np.sqrt(g.load[idx] * g.conc[idx])), 1.0)
    up = np.arange(idx.size)
    while up.size:
        cand = np.minimum(lo[up] + step[up], MAX_AGENTS)
        ok = meets(g, idx[up], cand, *_metrics(g, idx[up], cand)) | (cand >= MAX_AGENTS)
        hi[up[ok]] = cand[ok]
        lo[up[~ok]] = cand[~ok]
        step[up] *= 2.0
        up = up[~ok]
    act = np.flatnonzero(hi - lo > 1)
    frac = np.arange(1, _ARITY) / _ARITY
    while act.size:
        span = (hi[act] - lo[act])[:, None]
        cand = np.unique(
            np.column_stack(
                [
                    np.repeat(act, _ARITY - 1),
                    np.clip(
                        lo[act, None] + np.ceil(span * frac), lo[act, None] + 1, hi[act, None] - 1
                    ).ravel(),
                ]
            ),
            axis=0,
        )
        who, n = cand[:, 0].astype(np.int64), cand[:, 1]
        ok = meets(g, idx[who], n, *_metrics(g, idx[who], n))
        for j in act:
            mine = who == j
            good = n[mine & ok]
            if good.size:
                hi[j] = good.min()
            bad = n[mine & ~ok & (n < hi[j])]
            if bad.size:
                lo[j] = max(lo[j], bad.max())
        act = act[hi[act] - lo[act] > 1]
    return hi.astype(np.int64)
