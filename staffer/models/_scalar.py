"""Fast scalar paths: the same formulas as the vectorised kernels, in plain ``math``.

A numpy call on a one-element array costs ~1 us, and the vectorised kernels make a few
hundred of them; for the planner's many scalar calls these mirrors cost ~5-20 us.
They follow :mod:`staffer.models._numerics` and :mod:`staffer.models.erlang` branch
for branch (same regimes, same quadrature nodes), and the test-suite checks that
scalar and vectorised results agree to 1e-13.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammainc, gammaincc

from staffer.models._numerics import (
    _DROP,
    _LAG_S,
    _LAG_W,
    _LEG_TAU_POW,
    _LEG_W,
    _LEG_X,
    LOG_SQRT_2PI,
    SERIES_SPAN,
    TAIL_SIGMAS,
    expm1mx_terms,
)

LAG = list(zip(_LAG_S.tolist(), _LAG_W.tolist(), strict=True))
LEG = list(zip(_LEG_X.tolist(), _LEG_W.tolist(), strict=True))


def stirlerr(n: float) -> float:
    """lgamma(n+1) - (n+1/2) log n + n - log sqrt(2 pi), n > 0."""
    if n > 15.0:
        nn = n * n
        return (
            1 / 12
            - (1 / 360 - (1 / 1260 - (1 / 1680 - (1 / 1188 - (691 / 360360) / nn) / nn) / nn) / nn)
            / nn
        ) / n
    return math.lgamma(n + 1.0) - (n + 0.5) * math.log(n) + n - LOG_SQRT_2PI


def bd0(x: float, m: float) -> float:
    """x log(x/m) + m - x (Loader), as in the vectorised version."""
    d = x - m
    s = x + m
    if abs(d) < 0.5 * s:
        v = d / s
        v2 = v * v
        ej = 2.0 * x * v
        acc = 0.0
        j = 1
        while j <= 28:
            ej *= v2
            term = ej / (2 * j + 1)
            acc += term
            if abs(term) <= 1e-18 * abs(acc):
                break
            j += 1
        return d * v + acc
    if x <= 0:
        return m
    ratio = x / m
    log_r = math.log(ratio) if math.isfinite(ratio) and ratio > 0 else math.log(x) - math.log(m)
    return x * log_r + m - x


def log_pois(a: float, x: float) -> float:
    """log(x**a e**-x / Gamma(a+1)), a >= 0, x >= 0."""
    if a <= 0.0:
        return -x
    if x <= 0.0:
        return -math.inf
    return -stirlerr(a) - bd0(a, x) - LOG_SQRT_2PI - 0.5 * math.log(a)


def laguerre_upper(p: float, x: float, h=None) -> float:
    """Scalar twin of _numerics.laguerre_upper."""
    gap = x - p
    acc = 0.0
    for s, w in LAG:
        t = s / gap
        f = math.exp(p * (math.log1p(t) - t))
        acc += w * (f if h is None else f * h(t))
    return acc * x / gap


def laguerre_lower(p: float, x: float, h=None) -> float:
    """Scalar twin of _numerics.laguerre_lower."""
    gap = p - x
    acc = 0.0
    for s, w in LAG:
        t = s / gap
        if t >= 1.0:
            break  # nodes increase: the rest lie outside [0, x]
        f = math.exp(p * (math.log1p(-t) + t))
        acc += w * (f if h is None else f * h(t))
    return acc * x / gap


def tail_cut(p: float) -> float:
    return TAIL_SIGMAS * math.sqrt(max(p, 0.0) + 1.0) + 1.0


def slog(v: float) -> float:
    """log with log(0) = -inf (math.log raises)."""
    return math.log(v) if v > 0.0 else -math.inf


def log_lower(p: float, x: float) -> float:
    """log(P(p+1, x) / pois(p; x))."""
    cut = tail_cut(p)
    if x < p - cut:
        return slog(laguerre_lower(p, x))
    if x > p + cut:
        lp = log_pois(p, x)
        return -lp + math.log1p(-math.exp(lp) * laguerre_upper(p, x))
    return slog(gammainc(p + 1.0, x)) - log_pois(p, x)


def log_upper(p: float, x: float) -> float:
    """log(Q(p+1, x) / pois(p; x))."""
    cut = tail_cut(p)
    if x > p + cut:
        return slog(laguerre_upper(p, x))
    if x < p - cut:
        lp = log_pois(p, x)
        return -lp + math.log1p(-math.exp(lp) * laguerre_lower(p, x))
    return slog(gammaincc(p + 1.0, x)) - log_pois(p, x)


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


def logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a >= b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def two_prod(a: float, b: float) -> tuple[float, float]:
    """Error-free product (see _numerics.two_prod)."""
    hi = a * b
    ca = 134217729.0 * a
    a_hi = ca - (ca - a)
    a_lo = a - a_hi
    cb = 134217729.0 * b
    b_hi = cb - (cb - b)
    b_lo = b - b_hi
    return hi, ((a_hi * b_hi - hi) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def erlang_b(a: float, n: float) -> float:
    """Erlang B for valid scalars (edges as in erlang.erlang_b)."""
    if n == 0.0:
        return 1.0
    if a == 0.0 or math.isinf(n):
        return 0.0
    if _small(a, n):
        return 1.0 / inv_b_rec(a, int(n))
    return math.exp(-log_upper(n, a))


def erlang_c(a: float, n: float) -> float:
    """Erlang C for valid scalars."""
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
    """(P(wait), SL(target) or nan, ASA or nan) for rate > 0 (twin of erlang_c_metrics).

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
            miss = c * (1.0 + em1)  # as erlang_c_metrics: 1 - miss when miss < 1/2
            if miss < 0.5:
                raw = 1.0 - miss
            else:
                raw = (q - em1) / (1.0 + q) if math.isnan(not_c) else not_c - c * em1
            sl = min(max(raw, 0.0), 1.0)
    return c, sl, (c / gap if want_asa else math.nan)


def saddle_integral(p: float, x: float, h) -> float:
    """Scalar twin of _numerics.saddle_integral (the series branch on 48-node arrays)."""
    q = p + 1.0
    vstar = min(math.log(q / x), 0.0)
    psi_max = q * vstar - x * math.expm1(vstar)
    c = _DROP / min(q, x)
    v = vstar - (c + math.sqrt(2.0 * c))
    for _ in range(8):
        f = psi_max - (q * v - x * math.expm1(v)) - _DROP
        fp = -(q - x * math.exp(v))
        v -= f / fp
    half = -0.5 * v
    if v > SERIES_SPAN * -1.0:
        qx = q - x
        psi_max = qx * vstar - x * float(expm1mx_terms(vstar).sum())
        nodes = v + half * (_LEG_X + 1.0)
        psi = qx * nodes - x * (_LEG_TAU_POW @ expm1mx_terms(v)) - psi_max
        return x * math.exp(psi_max) * half * float((np.exp(psi) * h(nodes)) @ _LEG_W)
    acc = 0.0
    for node, w in LEG:
        t = v + half * (node + 1.0)
        acc += w * math.exp(q * t - x * math.expm1(t) - psi_max) * h(t)
    return x * math.exp(psi_max) * half * acc
