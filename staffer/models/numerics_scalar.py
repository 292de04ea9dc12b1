"""Scalar twin of :mod:`staffer.models.numerics`: the same kernels in plain ``math``.

A numpy call on a one-element array costs ~1 us, and the vectorised kernels make a few
hundred of them; for the planner's many scalar calls the twins cost ~5-20 us. They
follow the vectorised code branch for branch (same regimes, same quadrature nodes), and
the tests check that both paths agree (tests/unit/models/test_properties.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import gammainc, gammaincc

from staffer.models.numerics import (
    DROP,
    LAG_S,
    LAG_W,
    LEG_W,
    LEG_W_TAU,
    LEG_X,
    LOG_SQRT_2PI,
    SERIES_SPAN,
    TAIL_SIGMAS,
    TAU_POWERS,
)

LAG = list(zip(LAG_S.tolist(), LAG_W.tolist(), strict=True))
LEG = list(zip(LEG_X.tolist(), LEG_W.tolist(), strict=True))
ScalarWeight = Callable[[float], float]  # h(t) of a quadrature


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


def laguerre_upper(p: float, x: float, h: ScalarWeight | None = None) -> float:
    """Scalar twin of numerics.laguerre_upper."""
    gap = x - p
    acc = 0.0
    for s, w in LAG:
        t = s / gap
        f = math.exp(p * (math.log1p(t) - t))
        acc += w * (f if h is None else f * h(t))
    return acc * x / gap


def laguerre_lower(p: float, x: float, h: ScalarWeight | None = None) -> float:
    """Scalar twin of numerics.laguerre_lower."""
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
    """Scalar twin of numerics.tail_cut."""
    return TAIL_SIGMAS * math.sqrt(max(p, 0.0) + 1.0) + 1.0


def slog(v: float | np.floating[Any]) -> float:
    """log with log(0) = -inf (math.log raises); scipy's floats are numpy floats."""
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


def logaddexp(a: float, b: float) -> float:
    """log(e**a + e**b) (numpy.logaddexp for two floats)."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a >= b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def two_prod(a: float, b: float) -> tuple[float, float]:
    """Error-free product (see erlang.two_prod)."""
    hi = a * b
    ca = 134217729.0 * a
    a_hi = ca - (ca - a)
    a_lo = a - a_hi
    cb = 134217729.0 * b
    b_hi = cb - (cb - b)
    b_lo = b - b_hi
    return hi, ((a_hi * b_hi - hi) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def expm1mx_terms(v: float) -> list[float]:
    """Scalar twin of numerics.expm1mx_terms: v**k / k!, k = 2..13, as a running product."""
    terms = []
    term = v
    for k in range(2, 14):
        term *= v / k
        terms.append(term)
    return terms


def saddle_tr_log(p: float, x: float) -> float:
    """Scalar twin of numerics.saddle_tr_log (its narrow branch on 48-node arrays)."""
    q = p + 1.0
    vstar = min(math.log(q / x), 0.0)
    psi_max = q * vstar - x * math.expm1(vstar)
    c = DROP / min(q, x)
    v = vstar - (c + math.sqrt(2.0 * c))
    for _ in range(8):
        f = psi_max - (q * v - x * math.expm1(v)) - DROP
        fp = -(q - x * math.exp(v))
        v -= f / fp
    if v > -SERIES_SPAN:
        qx = q - x
        top = qx * vstar - x * sum(expm1mx_terms(vstar))
        coef = [-top, qx * v, *[-x * t for t in expm1mx_terms(v)]]
        return x * math.exp(top) * (0.5 * v * v) * float(np.exp(coef @ TAU_POWERS) @ LEG_W_TAU)
    half = -0.5 * v
    acc = 0.0
    for node, w in LEG:
        t = v + half * (node + 1.0)
        acc -= w * math.exp(q * t - x * math.expm1(t) - psi_max) * t
    return x * math.exp(psi_max) * half * acc
