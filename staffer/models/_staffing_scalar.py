"""Scalar twin of the staffing search in :mod:`staffer.models.staffing` (plain math)."""

from __future__ import annotations

import math

from staffer.models._scalar import (
    REC_MAX,
    REC_MIN_TRAFFIC,
    erlang_c_measures,
    inv_b_rec,
    two_prod,
)
from staffer.models._scalar_a import erlang_a_measures

_MAX_AGENTS = float(2**52)
_ROUNDS = 8


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
    kind: str,
):
    """Return ev(N) -> (ok, margin) exactly as _Goal does for one element."""
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
    rate: float, aht: float, k: float, goal: float, target: float, kind: str
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


def search_scalar(  # noqa: C901  # TODO(issue 12/16): split
    rate: float,
    aht: float,
    k: float,
    patience: float,
    goal: float,
    max_ab: float,
    target: float,
    kind: str,
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
    lo, hi = floor - 1.0, math.inf
    cur = max(math.ceil(load + math.sqrt(load)), floor)
    step = 1.0
    for _ in range(_ROUNDS):
        ok_c, m_c = ev(cur)
        p = cur - 1.0
        ok_p, m_p = ev(p) if p >= floor else (False, math.nan)
        if ok_c:
            hi = min(hi, cur)
        else:
            lo = max(lo, cur)
        if p >= floor:
            if ok_p:
                hi = min(hi, p)
            else:
                lo = max(lo, p)
        if hi - lo <= 1.0:
            return int(hi)
        slope = m_c - m_p
        if math.isfinite(slope) and slope > 0 and math.isfinite(m_c):
            nxt = math.ceil(cur - m_c / slope)
            step = 1.0
        else:
            nxt = cur - step if ok_c else cur + step
            step *= 2.0
        nxt = min(max(nxt, lo + 1.0), _MAX_AGENTS if math.isinf(hi) else hi)
        if nxt == cur and not ok_c:
            nxt = cur + 1.0
        cur = min(nxt, _MAX_AGENTS)
    # gallop to a finite upper end, then bisect
    s = 1.0
    while math.isinf(hi):
        cand = min(max(lo, floor - 1.0) + s, _MAX_AGENTS)
        ok, _ = ev(cand)
        if ok or cand >= _MAX_AGENTS:
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
