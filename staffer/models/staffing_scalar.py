"""Scalar twin of :mod:`staffer.models.staffing` (plain ``math``): the same search.

For one queue the search starts from A + sqrt(A) without the QED start (numpy calls on
scalars would cost more than the rounds they save); for Erlang C with at most 64 servers
it instead walks N upwards with the exact 1/B recursion (see ``_small_erlang_c``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from staffer.models.erlang_a_scalar import erlang_a_measures
from staffer.models.erlang_scalar import REC_MAX, REC_MIN_TRAFFIC, erlang_c_measures, inv_b_rec
from staffer.models.measures_scalar import valid_queue
from staffer.models.numerics_scalar import two_prod
from staffer.models.staffing_goals import (
    DEFAULT_MAX_ABANDON,
    MAX_AGENTS,
    SL_GOAL_MAX,
    SL_GOAL_MAX_PATIENCE,
    GoalKind,
)

_ROUNDS = 8
Evaluate = Callable[[float], tuple[bool, float]]  # agents -> (meets the goal, log-margin)


def _log(v: float) -> float:
    return math.log(v) if v > 0.0 else -math.inf


def _goal(
    rate: float,
    aht: float,
    k: float,
    patience: float,
    goal: float,
    max_ab: float,
    target: float,
    kind: GoalKind,
) -> Evaluate:
    """Return ev(N) -> (ok, margin) exactly as staffing._Goal does for one element."""
    erlang_c = math.isinf(patience)

    def ev(agents: float) -> tuple[bool, float]:
        n = agents * k
        if erlang_c:
            if kind == "sl":
                c, sl, _ = erlang_c_measures(rate, aht, n, target, False)
                if not n > rate * aht:
                    return False, _log1p_neg(goal)
                log_miss = _log(c) - (n - rate * aht) / aht * target
                return sl >= goal, _log1p_neg(goal) - log_miss
            _, _, wait = erlang_c_measures(rate, aht, n, None, True)
            return wait <= goal, _log(goal) - _log(wait)
        _, ab, sl, wait = erlang_a_measures(
            rate, aht, n, patience, target if kind == "sl" else None, kind == "asa"
        )
        ok = ab <= max_ab
        margin = _log(max_ab) - _log(ab)
        if kind == "sl":
            ok = ok and sl >= goal
            margin = min(margin, _log1p_neg(goal) - _log1p_neg(sl))
        else:
            ok = ok and wait <= goal
            margin = min(margin, _log(goal) - _log(wait))
        return ok, margin

    return ev


def _log1p_neg(v: float) -> float:
    return math.log1p(-v) if v < 1.0 else -math.inf


def _meets_small(
    n: float,
    r_prev: float,
    traffic: float,
    t_lo: float,
    aht: float,
    goal: float,
    target: float,
    sl_kind: bool,
) -> bool:
    """Goal test at n servers given R_{n-1} (small integer n): erlang_c_measures inlined.

    Same operations in the same order as erlang_c_measures' small-n branch, so the result
    is bit-for-bit the public functions' verdict.
    """
    if not n > traffic:
        return (goal <= 0.0) if sl_kind else goal == math.inf
    gap_slots = (n - traffic) - t_lo
    q = gap_slots / traffic * r_prev
    c = 1.0 / (1.0 + q)
    gap = gap_slots / aht
    if not sl_kind:
        return c / gap <= goal
    if math.isinf(target):
        return goal <= 1.0
    em1 = math.expm1(-gap * target)
    miss = c * (1.0 + em1)
    raw = 1.0 - miss if miss < 0.5 else (q - em1) / (1.0 + q)
    return min(max(raw, 0.0), 1.0) >= goal


def _small_erlang_c(
    rate: float, aht: float, k: float, goal: float, target: float, kind: GoalKind
) -> int | None:
    """Walk N upwards with the 1/B recursion while N k <= 64 (Erlang C, small loads).

    Uses exactly the arithmetic of the public scalar measures (the same recursion, the same
    erlang_c_measures operations, inlined in _meets_small), so its answer is the public
    functions' smallest meeting N. Returns None when the answer lies beyond 64 servers.
    """
    traffic, t_lo = two_prod(rate, aht)
    kk = int(k)
    if kk != k or traffic < REC_MIN_TRAFFIC:
        return None
    floor = math.floor(traffic / k) + 1
    # start a little above the stability floor (the answer is rarely below A + 0.3 sqrt(A));
    # if the start already meets, step down (recomputing R) until the first failure
    agents = max(floor, math.floor(traffic / k + 0.3 * math.sqrt(traffic / k)))
    servers = agents * kk
    if servers > REC_MAX:
        return None
    sl_kind = kind == "sl"
    r_prev = inv_b_rec(traffic, servers - 1)  # R_{servers-1}
    if agents > floor:
        if _meets_small(float(servers), r_prev, traffic, t_lo, aht, goal, target, sl_kind):
            while agents > floor:
                s = (agents - 1) * kk
                if not _meets_small(
                    float(s), inv_b_rec(traffic, s - 1), traffic, t_lo, aht, goal, target, sl_kind
                ):
                    break
                agents -= 1
            return agents
        for s in range(servers, servers + kk):  # the start fails: walk on from the next N
            r_prev = 1.0 + s / traffic * r_prev
        servers += kk
        agents += 1
    while servers <= REC_MAX:
        if servers > traffic and _meets_small(
            float(servers), r_prev, traffic, t_lo, aht, goal, target, sl_kind
        ):
            return agents
        for s in range(servers, servers + kk):  # advance R to R_{servers+k-1}
            r_prev = 1.0 + s / traffic * r_prev
        servers += kk
        agents += 1
    return None


def search_scalar(
    rate: float,
    aht: float,
    k: float,
    patience: float,
    goal: float,
    max_ab: float,
    target: float,
    kind: GoalKind,
) -> int:
    """Smallest integer N meeting the goal; rate > 0, validated inputs."""
    if math.isinf(patience) and rate * aht / k < 0.75 * REC_MAX:
        small = _small_erlang_c(rate, aht, k, goal, target, kind)
        if small is not None:
            return small
    load = rate * aht / k
    if math.isinf(patience):
        floor = math.floor(load) + 1.0
    else:
        floor = max(math.ceil(load * (1.0 - max_ab)) - 1.0, 0.0)
    ev = _goal(rate, aht, k, patience, goal, max_ab, target, kind)
    start = max(math.ceil(load + math.sqrt(load)), floor)
    lo, hi = _secant_rounds(ev, start, floor)
    return _gallop_and_bisect(ev, lo, hi, floor)


def _secant_rounds(ev: Evaluate, cur: float, floor: float) -> tuple[float, float]:
    """Bracket (lo fails, hi meets) after up to 8 rounds of pairs (cur - 1, cur).

    The next candidate is the secant of the log-margins through the pair, else a
    galloping step; returns as soon as hi - lo <= 1 (hi is then the answer).
    """
    lo, hi = floor - 1.0, math.inf
    step = 1.0
    for _ in range(_ROUNDS):
        ok_c, m_c = ev(cur)
        p = cur - 1.0
        ok_p, m_p = ev(p) if p >= floor else (False, math.nan)
        lo, hi = (lo, min(hi, cur)) if ok_c else (max(lo, cur), hi)
        if p >= floor:
            lo, hi = (lo, min(hi, p)) if ok_p else (max(lo, p), hi)
        if hi - lo <= 1.0:
            break
        slope = m_c - m_p
        if math.isfinite(slope) and slope > 0 and math.isfinite(m_c):
            nxt = float(math.ceil(cur - m_c / slope))
            step = 1.0
        else:
            nxt = cur - step if ok_c else cur + step
            step *= 2.0
        nxt = min(max(nxt, lo + 1.0), MAX_AGENTS if math.isinf(hi) else hi)
        if nxt == cur and not ok_c:
            nxt = cur + 1.0
        cur = min(nxt, MAX_AGENTS)
    return lo, hi


def _gallop_and_bisect(ev: Evaluate, lo: float, hi: float, floor: float) -> int:
    """Gallop to a finite upper end, then bisect [lo, hi] down to the answer hi."""
    s = 1.0
    while math.isinf(hi):
        cand = min(max(lo, floor - 1.0) + s, MAX_AGENTS)
        ok, _ = ev(cand)
        if ok or cand >= MAX_AGENTS:
            hi = cand
        else:
            lo = cand
        s *= 2.0
    while hi - lo > 1.0:
        mid = math.floor(0.5 * (lo + hi))
        ok, _ = ev(mid)
        if ok:
            hi = mid
        else:
            lo = mid
    return int(hi)


def _required(
    rate: float,
    aht: float,
    goal: float,
    target: float,
    patience: float | None,
    k: float,
    max_abandon: float | None,
    kind: GoalKind,
) -> int:
    """Validate and clip as staffing._required does, then search."""
    r, h, g, t, kk = float(rate), float(aht), float(goal), float(target), float(k)
    p = math.inf if patience is None else float(patience)
    mb = DEFAULT_MAX_ABANDON if max_abandon is None else float(max_abandon)
    if not (valid_queue(r, h, p, kk) and not math.isnan(g) and t >= 0 and not math.isnan(mb)):
        return -1
    if r == 0.0:
        return 0
    cap_sl = SL_GOAL_MAX if math.isinf(p) else SL_GOAL_MAX_PATIENCE
    g = min(max(g, 0.0), cap_sl) if kind == "sl" else max(g, 0.0)
    return search_scalar(r, h, kk, p, g, min(max(mb, 0.0), 1.0), t, kind)


def required_agents(
    rate: float,
    aht: float,
    target: float,
    sl: float,
    patience: float | None = None,
    concurrency: float = 1,
    max_abandon: float | None = None,
) -> int:
    """Scalar twin of staffing.required_agents."""
    return _required(rate, aht, sl, target, patience, concurrency, max_abandon, "sl")


def required_agents_asa(
    rate: float,
    aht: float,
    asa_target: float,
    patience: float | None = None,
    concurrency: float = 1,
    max_abandon: float | None = None,
) -> int:
    """Scalar twin of staffing.required_agents_asa."""
    return _required(rate, aht, asa_target, 0.0, patience, concurrency, max_abandon, "asa")
