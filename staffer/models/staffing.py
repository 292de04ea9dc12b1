"""Staffing: the smallest integer number of agents that meets a queue's goal(s).

Goals are monotone in the number of agents (service level rises, ASA and abandonment
fall), so the smallest N is certified by a pair "N - 1 fails, N meets". A vectorised
search evaluates such pairs for all unresolved queues at once, starting from square-root
staffing (Halfin-Whitt for Erlang C, the QED approximations for Erlang A; see _guess) and
moving by secants of log-margins, chords of the bracket, galloping and finally bisection.
Scalar twin: :mod:`staffer.models.staffing_scalar`; goal defaults: ``staffing_goals``.

Without patience (Erlang C) a stable queue is required too (N k > A). With patience
(Erlang A) the abandonment cap ``max_abandon`` (default 0.05) is always enforced,
because letting callers hang up can otherwise "meet" a service-level goal.
Zero traffic needs 0 agents; invalid input (NaN, negative, aht <= 0) gives -1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from staffer.models import staffing_scalar
from staffer.models.erlang import erlang_c_measures
from staffer.models.erlang_a import erlang_a_measures
from staffer.models.fast_path import scalar_fast_path
from staffer.models.measures import valid_queues
from staffer.models.numerics import Array, Mask, broadcast_flat
from staffer.models.staffing_goals import (
    DEFAULT_MAX_ABANDON,
    MAX_AGENTS,
    SL_GOAL_MAX,
    SL_GOAL_MAX_PATIENCE,
    GoalKind,
)
from staffer.models.staffing_guess import erlang_a_guess, halfin_whitt_guess

Index = NDArray[np.intp]
IntArray = NDArray[np.int64]


class _Goal:
    """Evaluates the staffing goal for chosen elements at chosen agent counts.

    ``__call__(idx, agents)`` returns (ok, margin): ``ok`` is the exact test used for
    the answer (same comparisons as the public measures); ``margin`` is a smooth,
    increasing guide in log space (log(1-sl) - log(1-SL), log(cap) - log(abandon),
    log(asa_target) - log(ASA), the minimum when several goals apply) used only to
    propose the next candidate.
    """

    def __init__(
        self,
        rate: Array,
        aht: Array,
        k: Array,
        patience: Array,
        goal: Array,
        max_ab: Array,
        target: Array,
        kind: GoalKind,
    ) -> None:
        self.rate, self.aht, self.k, self.patience = rate, aht, k, patience
        self.goal, self.max_ab, self.target, self.kind = goal, max_ab, target, kind

    def __call__(self, idx: Index, agents: Array) -> tuple[Mask, Array]:
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

    def _erlang_c(
        self, lam: Array, h: Array, n: Array, goal: Array, target: Array
    ) -> tuple[Mask, Array]:
        if self.kind == "sl":
            res = erlang_c_measures(lam, h, n, target=target)
            sl = res["service_level"]
            stable = n > lam * h
            gap = np.where(stable, n - lam * h, 0.0) / h
            log_miss = np.where(stable, np.log(res["p_wait"]) - gap * target, 0.0)
            return stable & (sl >= goal), np.log1p(-goal) - log_miss
        res = erlang_c_measures(lam, h, n, want_asa=True)
        return res["asa"] <= goal, np.log(goal) - np.log(res["asa"])

    def _erlang_a(
        self,
        lam: Array,
        h: Array,
        n: Array,
        pat: Array,
        goal: Array,
        target: Array,
        max_ab: Array,
    ) -> tuple[Mask, Array]:
        res = erlang_a_measures(
            lam,
            h,
            n,
            pat,
            target=target if self.kind == "sl" else None,
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


def _search(guess: Array, goal: _Goal, idx_map: Index, floor: Array) -> Array:
    """Smallest integer N >= floor meeting the goal, for every element (vectorised).

    Rounds evaluate the pair (cur - 1, cur); a pair (fail, meet) is the answer because
    the goals are monotone in N. The next candidate is the secant of the log-margins
    through the pair when the current point is the bracket end nearer to the root, else
    the chord (regula falsi) between the bracket's ends when both margins are known, else
    a galloping step; a bisection of the bracket finishes anything left after 8 rounds.
    """
    m = guess.size
    lo = floor - 1.0  # largest N known to fail (floor - 1 is below the feasible range)
    hi = np.full(m, np.inf)  # smallest N known to meet
    m_lo = np.full(m, np.nan)
    m_hi = np.full(m, np.nan)
    cur = np.maximum(guess, floor)
    step = np.ones(m)
    act = np.arange(m)
    for _ in range(_SECANT_ROUNDS):
        if not act.size:
            break
        c = cur[act]
        p = c - 1.0
        has_p = p >= floor[act]
        e_all = np.concatenate([act, act[has_p]])
        n_all = np.concatenate([c, p[has_p]])
        ok_all, mg_all = goal(idx_map[e_all], n_all)
        _update_bracket(e_all, n_all, ok_all, mg_all, lo, hi, m_lo, m_hi)
        ok_c, mg_c = ok_all[: act.size], mg_all[: act.size]
        mg_p = np.full(act.size, np.nan)
        mg_p[has_p] = mg_all[act.size : act.size + int(has_p.sum())]
        lo_a, hi_a = lo[act], hi[act]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            slope = mg_c - mg_p
            good = np.isfinite(slope) & (slope > 0) & np.isfinite(mg_c)
            sec = np.ceil(c - mg_c / np.where(good, slope, 1.0))
            good &= np.isfinite(sec) & (sec > lo_a) & (sec <= hi_a)
            ml, mh = m_lo[act], m_hi[act]
            chord_ok = np.isfinite(ml) & np.isfinite(mh) & (mh > ml)
            chord = np.ceil(lo_a + (hi_a - lo_a) * (-ml) / np.where(chord_ok, mh - ml, 1.0))
            # trust the local secant when the current point is the bracket end nearer
            # to the root (smallest |margin|); otherwise the chord between both ends
            near_m = np.fmin(np.abs(ml), np.abs(mh))
            local = good & ~(np.abs(mg_c) > near_m)
        st = step[act]
        gal = np.where(ok_c, c - st, c + st)
        nxt = np.where(local, sec, np.where(chord_ok, chord, np.where(good, sec, gal)))
        step[act] = np.where(good | chord_ok, 1.0, st * 2.0)
        nxt = np.minimum(np.maximum(nxt, lo_a + 1.0), np.where(np.isinf(hi_a), MAX_AGENTS, hi_a))
        cur[act] = np.minimum(nxt, MAX_AGENTS)
        act = act[hi[act] - lo[act] > 1.0]
    _bisect(goal, idx_map, act, lo, hi, floor)
    return hi


def _update_bracket(
    e: Index, n: Array, ok: Mask, mg: Array, lo: Array, hi: Array, m_lo: Array, m_hi: Array
) -> None:
    """Fold evaluated points into each element's bracket (and the margins at its ends).

    An element may appear twice (the pair); ufunc.at handles repeated indices exactly.
    """
    fail = ~ok
    if fail.any():
        ef, nf, mf = e[fail], n[fail], mg[fail]
        np.maximum.at(lo, ef, nf)
        hit = nf == lo[ef]
        m_lo[ef[hit]] = mf[hit]
    if ok.any():
        eo, no, mo = e[ok], n[ok], mg[ok]
        np.minimum.at(hi, eo, no)
        hit = no == hi[eo]
        m_hi[eo[hit]] = mo[hit]


def _bisect(goal: _Goal, idx_map: Index, act: Index, lo: Array, hi: Array, floor: Array) -> None:
    """Gallop to a finite hi, then bisect [lo, hi] in place for elements ``act``."""
    up = act[np.isinf(hi[act])]
    s = np.ones(up.size)
    while up.size:
        cand = np.minimum(np.maximum(lo[up], floor[up] - 1.0) + s, MAX_AGENTS)
        ok, _ = goal(idx_map[up], cand)
        stuck = cand >= MAX_AGENTS
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


def _required(
    rate: ArrayLike,
    aht: ArrayLike,
    goal: ArrayLike,
    target: ArrayLike,
    patience: ArrayLike | None,
    concurrency: ArrayLike,
    max_abandon: ArrayLike | None,
    kind: GoalKind,
) -> int | IntArray:
    """Validate, clip the goals into their ranges and search every valid queue."""
    pat = np.inf if patience is None else patience
    mab = DEFAULT_MAX_ABANDON if max_abandon is None else max_abandon
    (r, h, g, t, p, k, mb), scalar, shape = broadcast_flat(
        rate, aht, goal, target, pat, concurrency, mab
    )
    with np.errstate(invalid="ignore"):
        valid = valid_queues(r, h, p, k) & ~np.isnan(g) & (t >= 0) & ~np.isnan(mb)
    out = np.full(r.shape, -1.0)
    out[valid & (r == 0.0)] = 0.0
    work = np.flatnonzero(valid & (r > 0.0))
    if work.size:
        cap_sl = np.where(np.isinf(p), SL_GOAL_MAX, SL_GOAL_MAX_PATIENCE)
        g = np.clip(g, 0.0, cap_sl) if kind == "sl" else np.maximum(g, 0.0)
        out[work] = _search_queues(_Goal(r, h, k, p, g, np.clip(mb, 0.0, 1.0), t, kind), work)
    ints = out.astype(np.int64).reshape(shape)
    return int(ints.reshape(-1)[0]) if scalar else ints


def _search_queues(goal: _Goal, w: Index) -> Array:
    """The search for elements ``w`` of validated, clipped goals, from the QED starts."""
    load = goal.rate * goal.aht / goal.k
    p, h, g, t, mb = goal.patience, goal.aht, goal.goal, goal.target, goal.max_ab
    # Erlang C needs N k > A; Erlang A: carried load <= N k gives abandon >= 1 - Nk/A
    floor = np.where(
        np.isinf(p), np.floor(load) + 1.0, np.maximum(np.ceil(load * (1.0 - mb)) - 1.0, 0.0)
    )
    hw = halfin_whitt_guess(load[w], h[w], g[w], t[w], goal.kind)
    ea = ~np.isinf(p[w])
    if ea.any():
        we = w[ea]
        beta_c = (hw[ea] - load[we]) / np.sqrt(load[we])
        hw[ea] = erlang_a_guess(load[we], h[we], p[we], g[we], t[we], mb[we], beta_c, goal.kind)
    guess = np.maximum(np.ceil(np.minimum(hw, MAX_AGENTS)), floor[w])
    return _search(guess, goal, w, floor[w])


@scalar_fast_path(staffing_scalar.required_agents)
def required_agents(
    rate: ArrayLike,
    aht: ArrayLike,
    target: ArrayLike,
    sl: ArrayLike,
    patience: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
    max_abandon: ArrayLike | None = None,
) -> int | IntArray:
    """Smallest integer N with service_level(N) >= sl (and abandonment <= cap with patience).

    80 % of 100 calls an hour (240 s) answered within 20 s; at 20,000 Erlangs with 60 s of
    patience the 5 % abandonment cap decides, not the service level:

    >>> required_agents(100 / 3600, 240.0, 20.0, 0.8)
    10
    >>> required_agents([100 / 3600, 200 / 3600], 240.0, 20.0, 0.8)
    array([10, 17])
    >>> required_agents(20000 / 240, 240.0, 20.0, 0.8, patience=60.0)
    19001
    >>> required_agents(20000 / 240, 240.0, 20.0, 0.8, patience=60.0, max_abandon=1.0)
    16001
    >>> required_agents(0.0, 240.0, 20.0, 0.8), required_agents(-1.0, 240.0, 20.0, 0.8)
    (0, -1)
    """
    return _required(rate, aht, sl, target, patience, concurrency, max_abandon, "sl")


@scalar_fast_path(staffing_scalar.required_agents_asa)
def required_agents_asa(
    rate: ArrayLike,
    aht: ArrayLike,
    asa_target: ArrayLike,
    patience: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
    max_abandon: ArrayLike | None = None,
) -> int | IntArray:
    """Smallest integer N with asa(N) <= asa_target (and abandonment <= cap with patience).

    >>> required_agents_asa(100 / 3600, 240.0, 15.0)
    10
    """
    return _required(rate, aht, asa_target, 0.0, patience, concurrency, max_abandon, "asa")
