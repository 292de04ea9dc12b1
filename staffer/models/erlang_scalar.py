"""Scalar twin of :mod:`staffer.models.erlang`: Erlang B and C in plain ``math``.

Same formulas and branches as the vectorised code, plus, for small integer server counts
(at most 64), the exact recursion R_k = 1 + (k/A) R_{k-1} for 1/B (sums of positive terms,
~N ulps, a few us in plain Python); the vectorised code uses the incomplete-gamma route
for all N, and the two agree to a few ulps.
"""

from __future__ import annotations

import math

from staffer.models.numerics_scalar import log_upper, logaddexp, slog, two_prod

REC_MAX = 64  # integer server counts up to this use the exact recursion below
REC_MIN_TRAFFIC = 0.01  # R_n ~ n!/a**n stays far from overflow (< 1e217)


def inv_b_rec(a: float, n: int) -> float:
    """R_n = 1/B(n, a) by the recursion R_k = 1 + (k/a) R_{k-1}, R_0 = 1.

    Sums of positive terms only (no cancellation, ~n ulps); O(n), used for n <= 64.
    """
    r = 1.0
    for k in range(1, n + 1):
        r = 1.0 + k / a * r
    return r


def _small(a: float, n: float) -> bool:
    return 1.0 <= n <= REC_MAX and a >= REC_MIN_TRAFFIC and n == int(n)


def log_e_ratio(a: float, n: float) -> float:
    """log(1/B(n, a) - 1); -inf at n = 0. E_n = (n/a) R_{n-1} for small integer n."""
    if _small(a, n):
        return math.log(n / a) + math.log(inv_b_rec(a, int(n) - 1))
    if n >= 1.0:
        return log_upper(n - 1.0, a) + math.log(n) - math.log(a)
    if n > 0.0:
        return slog(math.expm1(log_upper(n, a)))
    return -math.inf


def erlang_b(traffic: float, agents: float) -> float:
    """Scalar twin of erlang.erlang_b."""
    a, n = float(traffic), float(agents)
    if not (math.isfinite(a) and a >= 0.0 and n >= 0.0):
        return math.nan
    if n == 0.0:
        return 1.0
    if a == 0.0 or math.isinf(n):
        return 0.0
    if _small(a, n):
        return 1.0 / inv_b_rec(a, int(n))
    return math.exp(-log_upper(n, a))


def erlang_c(traffic: float, agents: float) -> float:
    """Scalar twin of erlang.erlang_c."""
    a, n = float(traffic), float(agents)
    if not (math.isfinite(a) and a >= 0.0 and n >= 0.0):
        return math.nan
    if n <= a:
        return 1.0
    if a == 0.0 or math.isinf(n):
        return 0.0
    if _small(a, n):
        return 1.0 / (1.0 + (n - a) / a * inv_b_rec(a, int(n) - 1))
    lq = math.log((n - a) / n) + log_e_ratio(a, n)
    return math.exp(-logaddexp(0.0, lq))


def erlang_c_measures(
    rate: float,
    aht: float,
    n: float,
    target: float | None,
    want_asa: bool,
    r_prev: float | None = None,
) -> tuple[float, float, float]:
    """(P(wait), SL(target) or nan, ASA or nan) for rate > 0 (twin of erlang.erlang_c_measures).

    For small integer n (<= 64 servers) plain arithmetic on E_n = (n/A) R_{n-1}; the caller
    may pass ``r_prev`` = R_{n-1} = 1/B(n-1, A) when it already has it (staffing walk).
    """
    traffic, t_lo = two_prod(rate, aht)
    if not n > traffic:
        return 1.0, 0.0, math.inf
    gap_slots = (n - traffic) - t_lo
    gap = gap_slots / aht
    if _small(traffic, n):
        if r_prev is None:
            r_prev = inv_b_rec(traffic, int(n) - 1)
        q = gap_slots / traffic * r_prev  # (N - A)/N * E_N with E_N = (N/A) R_{N-1}
        c = 1.0 / (1.0 + q)
        not_c = math.nan  # SL below as (q - expm1(-gap T)) / (1 + q): one rounding
    else:
        lq = math.log(gap_slots / n) + log_e_ratio(traffic, n)
        den = logaddexp(0.0, lq)
        c = math.exp(-den)
        not_c = math.exp(lq - den)
    sl = math.nan
    if target is not None:
        if math.isinf(target):
            sl = 1.0
        else:
            em1 = math.expm1(-gap * target)
            miss = c * (1.0 + em1)  # as erlang.erlang_c_measures: 1 - miss when miss < 1/2
            if miss < 0.5:
                raw = 1.0 - miss
            else:
                raw = (q - em1) / (1.0 + q) if math.isnan(not_c) else not_c - c * em1
            sl = min(max(raw, 0.0), 1.0)
    return c, sl, (c / gap if want_asa else math.nan)
