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

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from staffer.models._numerics import Array, as_array
from staffer.models.erlang import erlang_c_core
from staffer.models.erlang_a import erlang_a_metrics

DEFAULT_MAX_ABANDON = 0.05
_MAX_AGENTS = float(2**52)


def _finish_int(values: Array, shape: tuple[int, ...], scalar: bool) -> int | np.ndarray:
    out = values.astype(np.int64).reshape(shape)
    return int(out.reshape(-1)[0]) if scalar else out


def _meets_factory(
    rate: Array, aht: Array, k: Array, patience: Array, goal: Array, max_ab: Array, kind: str,
    target: Array,
) -> Callable[[Array, Array], Array]:
    """Return meets(idx, agents) -> bool array for the elements ``idx``."""

    def meets(idx: Array, agents: Array) -> Array:
        lam, h, kk, pat = rate[idx], aht[idx], k[idx], patience[idx]
        n = agents * kk
        load = lam * h
        ok = np.zeros(idx.shape, dtype=bool)
        c = np.isinf(pat)
        if c.any():
            hc, nc, ac = h[c], n[c], load[c]
            stable = nc > ac
            cw = erlang_c_core(ac, nc)
            gap = np.where(stable, nc - ac, 1.0) / hc
            if kind == "sl":
                t = target[idx][c]
                with np.errstate(over="ignore", invalid="ignore"):
                    sl = np.where(np.isinf(t), 1.0, (1.0 - cw) - cw * np.expm1(-gap * t))
                ok[c] = stable & (sl >= goal[idx][c])
            else:
                ok[c] = stable & (cw / gap <= goal[idx][c])
        e = ~c
        if e.any():
            res = erlang_a_metrics(
                lam[e], h[e], n[e], pat[e],
                target=target[idx][e] if kind == "sl" else None,
                want_asa=kind == "asa",
            )
            good = res["p_abandon"] <= max_ab[idx][e]
            if kind == "sl":
                good &= res["service_level"] >= goal[idx][e]
            else:
                good &= res["asa"] <= goal[idx][e]
            ok[e] = good
        return ok

    return meets


def _search(load_slots: Array, meets: Callable[[Array, Array], Array], floor: Array) -> Array:
    """Smallest integer N >= floor with meets(N), for every element (vectorised)."""
    m = load_slots.size
    idx_all = np.arange(m)
    guess = np.maximum(np.ceil(load_slots + 1.5 * np.sqrt(load_slots)), floor)
    step = np.maximum(np.ceil(0.5 * np.sqrt(load_slots)), 1.0)
    lo = floor - 1.0  # agents known to fail (floor - 1 fails or is -1)
    hi = np.full(m, np.nan)
    ok0 = meets(idx_all, guess)
    hi[ok0] = guess[ok0]
    lo[~ok0] = guess[~ok0]
    # gallop upwards for failures
    up = np.flatnonzero(~ok0)
    s = step[up]
    while up.size:
        cand = np.minimum(lo[up] + s, _MAX_AGENTS)
        ok = meets(up, cand)
        hi[up[ok]] = cand[ok]
        lo[up[~ok]] = cand[~ok]
        stuck = ~ok & (cand >= _MAX_AGENTS)
        hi[up[stuck]] = _MAX_AGENTS
        keep = ~ok & ~stuck
        up, s = up[keep], s[keep] * 2.0
    # gallop downwards for successes (towards floor)
    down = np.flatnonzero(ok0 & (hi > floor))
    s = step[down]
    while down.size:
        cand = np.maximum(hi[down] - s, floor)
        ok = meets(down, cand)
        hi[down[ok]] = cand[ok]
        lo[down[~ok]] = np.maximum(lo[down[~ok]], cand[~ok])
        keep = ok & (cand > floor)
        down, s = down[keep], s[keep] * 2.0
    # bisect
    act = np.flatnonzero(hi - lo > 1.0)
    while act.size:
        mid = np.floor(0.5 * (lo[act] + hi[act]))
        ok = meets(act, mid)
        hi[act[ok]] = mid[ok]
        lo[act[~ok]] = mid[~ok]
        act = act[hi[act] - lo[act] > 1.0]
    return hi


def _required(rate, aht, goal, target, patience, concurrency, max_abandon, kind: str):
    pat = np.inf if patience is None else patience
    mab = DEFAULT_MAX_ABANDON if max_abandon is None else max_abandon
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
        # Erlang C needs N k > A
        floor = np.where(np.isinf(p), np.floor(load) + 1.0, 0.0)
        meets_all = _meets_factory(r, h, k, p, g, mb, kind, t)

        def meets(idx: Array, agents: Array) -> Array:
            return meets_all(work[idx], agents)

        out[work] = _search(load[work], meets, floor[work])
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
