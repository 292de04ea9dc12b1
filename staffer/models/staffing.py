"""Staffing: the smallest integer number of agents that meets a queue's goal(s).

Goals are monotone in the number of agents (service level rises, ASA and abandonment
fall), so a vectorised bracket-and-bisect finds the exact smallest N for every element
at once: start from square-root staffing N0 = (A + beta sqrt(A)) / k, gallop to a
bracket [lo fails, hi meets], then bisect all brackets together until hi = lo + 1.

Without patience (Erlang C) a stable queue is required too (N k > A). With patience
(Erlang A) the abandonment cap ``max_abandon`` (default 0.05) is always enforced,
because letting callers hang up can otherwise "meet" a service-level goal.
Zero traffic needs 0 agents; invalid input (NaN, negative, aht <= 0) gives -1.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from staffer.models._numerics import Array, as_array
from staffer.models._staffing_scalar import search_scalar
from staffer.models.erlang import erlang_c_metrics
from staffer.models.erlang_a import erlang_a_metrics
from staffer.models.metrics import is_scalar

DEFAULT_MAX_ABANDON = 0.05
_MAX_AGENTS = float(2**52)


def _finish_int(values: Array, shape: tuple[int, ...], scalar: bool) -> int | np.ndarray:
    out = values.astype(np.int64).reshape(shape)
    return int(out.reshape(-1)[0]) if scalar else out


class _Goal:
    """Evaluates the staffing goal for chosen elements at chosen agent counts.

    ``__call__(idx, agents)`` returns (ok, margin): ``ok`` is the exact test used for
    the answer (same comparisons as the public measures); ``margin`` is a smooth,
    increasing guide in log space (log(1-sl) - log(1-SL), log(cap) - log(abandon),
    log(asa_target) - log(ASA), the minimum when several goals apply) used only to
    propose the next candidate.
    """

    def __init__(self, rate: Array, aht: Array, k: Array, patience: Array, goal: Array,
                 max_ab: Array, target: Array, kind: str) -> None:
        self.rate, self.aht, self.k, self.patience = rate, aht, k, patience
        self.goal, self.max_ab, self.target, self.kind = goal, max_ab, target, kind

    def __call__(self, idx: Array, agents: Array) -> tuple[Array, Array]:
        lam, h, pat = self.rate[idx], self.aht[idx], self.patience[idx]
        n = agents * self.k[idx]
        goal, target = self.goal[idx], self.target[idx]
        ok = np.zeros(idx.shape, dtype=bool)
        margin = np.zeros(idx.shape)
        c = np.isinf(pat)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if c.any():
                ok[c], margin[c] = self._erlang_c(lam[c], h[c], n[c], goal[c], target[c])
            e = ~c
            if e.any():
                ok[e], margin[e] = self._erlang_a(
                    lam[e], h[e], n[e], pat[e], goal[e], target[e], self.max_ab[idx][e]
                )
        return ok, margin

    def _erlang_c(self, lam, h, n, goal, target):
        if self.kind == "sl":
            res = erlang_c_metrics(lam, h, n, target=target)
            sl = res["service_level"]
            stable = n > lam * h
            gap = np.where(stable, n - lam * h, 0.0) / h
            log_miss = np.where(stable, np.log(res["p_wait"]) - gap * target, 0.0)
            return stable & (sl >= goal), np.log1p(-goal) - log_miss
        res = erlang_c_metrics(lam, h, n, want_asa=True)
        return res["asa"] <= goal, np.log(goal) - np.log(res["asa"])

    def _erlang_a(self, lam, h, n, pat, goal, target, max_ab):
        res = erlang_a_metrics(
            lam, h, n, pat, target=target if self.kind == "sl" else None,
            want_asa=self.kind == "asa",
        )
        ab = res["p_abandon"]
        ok = ab <= max_ab
        margin = np.log(max_ab) - np.log(ab)
        if self.kind == "sl":
            sl = res["service_level"]
            ok &= sl >= goal
            margin = np.minimum(margin, np.log1p(-goal) - np.log1p(-sl))
        else:
            ok &= res["asa"] <= goal
            margin = np.minimum(margin, np.log(goal) - np.log(res["asa"]))
        return ok, margin


_SECANT_ROUNDS = 8


def _search(guess: Array, goal: _Goal, idx_map: Array, floor: Array) -> Array:
    """Smallest integer N >= floor meeting the goal, for every element (vectorised).

    Rounds evaluate the pair (cur - 1, cur); a pair (fail, meet) is the answer because
    the goals are monotone in N. Otherwise the next candidate comes from the secant of
    the log-margins through the pair (near-exact after one or two rounds), or from
    galloping when the margin is flat or infinite; a bisection of the known bracket
    finishes anything left after a few rounds.
    """
    m = guess.size
    lo = floor - 1.0  # largest N known to fail (floor - 1 is below the feasible range)
    hi = np.full(m, np.inf)  # smallest N known to meet
    cur = np.maximum(guess, floor)
    step = np.ones(m)
    act = np.arange(m)
    for _ in range(_SECANT_ROUNDS):
        if not act.size:
            break
        c = cur[act]
        p = c - 1.0
        has_p = p >= floor[act]
        both_idx = np.concatenate([act, act[has_p]])
        both_n = np.concatenate([c, p[has_p]])
        ok_all, mg_all = goal(idx_map[both_idx], both_n)
        ok_c, mg_c = ok_all[: act.size], mg_all[: act.size]
        ok_p = np.zeros(act.size, dtype=bool)
        mg_p = np.full(act.size, np.nan)
        ok_p[has_p], mg_p[has_p] = ok_all[act.size:], mg_all[act.size:]
        # bracket update
        hi[act] = np.where(ok_c, np.minimum(hi[act], c), hi[act])
        hi[act] = np.where(has_p & ok_p, np.minimum(hi[act], p), hi[act])
        lo[act] = np.where(~ok_c, np.maximum(lo[act], c), lo[act])
        lo[act] = np.where(has_p & ~ok_p, np.maximum(lo[act], p), lo[act])
        # next candidates
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            slope = mg_c - mg_p
            good = np.isfinite(slope) & (slope > 0) & np.isfinite(mg_c)
            sec = np.ceil(c - mg_c / np.where(good, slope, 1.0))
        st = step[act]
        gal = np.where(ok_c, c - st, c + st)
        nxt = np.where(good & np.isfinite(sec), sec, gal)
        step[act] = np.where(good, 1.0, st * 2.0)
        lo_a, hi_a = lo[act], hi[act]
        nxt = np.minimum(np.maximum(nxt, lo_a + 1.0), np.where(np.isinf(hi_a), _MAX_AGENTS, hi_a))
        nxt = np.where((nxt == c) & ~ok_c, c + 1.0, nxt)
        cur[act] = np.minimum(nxt, _MAX_AGENTS)
        act = act[hi[act] - lo[act] > 1.0]
    _bisect(goal, idx_map, act, lo, hi, floor)
    return hi


def _bisect(goal: _Goal, idx_map: Array, act: Array, lo: Array, hi: Array,
            floor: Array) -> None:
    """Gallop to a finite hi, then bisect [lo, hi] in place for elements ``act``."""
    up = act[np.isinf(hi[act])]
    s = np.ones(up.size)
    while up.size:
        cand = np.minimum(np.maximum(lo[up], floor[up] - 1.0) + s, _MAX_AGENTS)
        ok, _ = goal(idx_map[up], cand)
        stuck = cand >= _MAX_AGENTS
        hi[up] = np.where(ok | stuck, cand, hi[up])
        lo[up] = np.where(ok | stuck, lo[up], cand)
        keep = ~ok & ~stuck
        up, s = up[keep], s[keep] * 2.0
    act = act[hi[act] - lo[act] > 1.0]
    while act.size:
        mid = np.floor(0.5 * (lo[act] + hi[act]))
        ok, _ = goal(idx_map[act], mid)
        hi[act] = np.where(ok, mid, hi[act])
        lo[act] = np.where(ok, lo[act], mid)
        act = act[hi[act] - lo[act] > 1.0]


def _required_scalar(rate, aht, goal, target, patience, k, max_ab, kind: str) -> int:
    r, h, g, t, p, kk, mb = (float(v) for v in (rate, aht, goal, target, patience, k, max_ab))
    if not (math.isfinite(r) and r >= 0 and math.isfinite(h) and h > 0 and p > 0 and kk >= 1
            and not math.isnan(g) and t >= 0 and not math.isnan(mb)):
        return -1
    if r == 0.0:
        return 0
    g = min(max(g, 0.0), 1.0) if kind == "sl" else max(g, 0.0)
    return search_scalar(r, h, kk, p, g, min(max(mb, 0.0), 1.0), t, kind)


def _required(rate, aht, goal, target, patience, concurrency, max_abandon, kind: str):
    pat = np.inf if patience is None else patience
    mab = DEFAULT_MAX_ABANDON if max_abandon is None else max_abandon
    if is_scalar(rate, aht, goal, target, pat, concurrency, mab):
        return _required_scalar(rate, aht, goal, target, pat, concurrency, mab, kind)
    raw = [as_array(v) for v in (rate, aht, goal, target, pat, concurrency, mab)]
    scalar = all(r.ndim == 0 for r in raw)
    arrs = np.broadcast_arrays(*raw)
    shape = arrs[0].shape
    r, h, g, t, p, k, mb = (np.ravel(v).astype(np.float64) for v in arrs)
    with np.errstate(invalid="ignore"):
        valid = (
            np.isfinite(r) & (r >= 0) & np.isfinite(h) & (h > 0) & (p > 0) & (k >= 1)
            & ~np.isnan(g) & (t >= 0) & ~np.isnan(mb)
        )
    out = np.full(r.shape, -1.0)
    out[valid & (r == 0.0)] = 0.0
    work = np.flatnonzero(valid & (r > 0.0))
    if work.size:
        # clip goals into their meaningful ranges
        g = np.clip(g, 0.0, 1.0) if kind == "sl" else np.maximum(g, 0.0)
        mb = np.clip(mb, 0.0, 1.0)
        load = r * h / k
        # Erlang C needs N k > A; Erlang A: carried load <= N k gives abandon >= 1 - Nk/A
        floor = np.where(
            np.isinf(p), np.floor(load) + 1.0, np.maximum(np.ceil(load * (1.0 - mb)) - 1.0, 0.0)
        )
        w = work
        guess = np.maximum(np.ceil(load[w] + np.sqrt(load[w])), floor[w])
        goal = _Goal(r, h, k, p, g, mb, t, kind)
        out[w] = _search(guess, goal, w, floor[w])
    return _finish_int(out, shape, scalar)


def required_agents(
    rate: ArrayLike, aht: ArrayLike, target: ArrayLike, sl: ArrayLike,
    patience: ArrayLike | None = None, concurrency: ArrayLike = 1,
    max_abandon: ArrayLike | None = None,
) -> int | np.ndarray:
    """Smallest integer N with service_level(N) >= sl (and abandonment <= cap with patience)."""
    return _required(rate, aht, sl, target, patience, concurrency, max_abandon, "sl")


def required_agents_asa(
    rate: ArrayLike, aht: ArrayLike, asa_target: ArrayLike,
    patience: ArrayLike | None = None, concurrency: ArrayLike = 1,
    max_abandon: ArrayLike | None = None,
) -> int | np.ndarray:
    """Smallest integer N with asa(N) <= asa_target (and abandonment <= cap with patience)."""
    return _required(rate, aht, asa_target, 0.0, patience, concurrency, max_abandon, "asa")
