"""Scalar twin of :mod:`staffer.models.erlang_a` (plain ``math``, same branches)."""

from __future__ import annotations

import math

from scipy.special import digamma

from staffer.models.erlang_scalar import log_e_ratio
from staffer.models.numerics_scalar import (
    laguerre_lower,
    laguerre_upper,
    log_lower,
    log_pois,
    log_upper,
    logaddexp,
    saddle_tr_log,
    slog,
    tail_cut,
)


def _log_minus_digamma(z: float) -> float:
    if z >= 20.0:
        r = 1.0 / (z * z)
        return 0.5 / z + r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r / 132))))
    return math.log(z) - float(digamma(z))


def log_tr_log(a: float, x: float) -> float:
    cut = tail_cut(a)
    if x < a - cut:
        return slog(laguerre_lower(a, x, h=lambda t: -math.log1p(-t)))
    if x > a + cut:
        lp = log_pois(a, x)
        mean_log = math.log1p((x - a - 1.0) / (a + 1.0)) + _log_minus_digamma(a + 1.0)
        return -lp + slog(mean_log + math.exp(lp) * laguerre_upper(a, x, h=math.log1p))
    return slog(saddle_tr_log(a, x))


def _abandon_given_wait(a: float, x: float, log_lw: float) -> float:
    """Closed form of P(abandon | wait) outside the overstaffed tail."""
    if x >= a:
        il = math.exp(-log_lw)
        out = (x * il + (x - a)) / (x * (il + 1.0))
    else:
        lw = math.exp(log_lw)
        out = (x + (x - a) * lw) / (x * (1.0 + lw))
    return min(max(out, 0.0), 1.0)


def _log1m(y: float) -> float:
    """log(-expm1(min(y, 0))) with log(0) = -inf."""
    y = min(y, 0.0)
    return -math.inf if y == 0.0 else math.log(-math.expm1(y))


def _log_tr_window(a: float, x: float, tt: float, log_lw: float) -> float:
    xu = x * math.exp(-tt) if not math.isinf(tt) else 0.0
    if xu <= 0.0:
        return log_lw
    shift = -a * tt - x * math.expm1(-tt)
    if xu <= a:
        lr = shift + log_lower(a, xu) - log_lw
        return log_lw + _log1m(lr)
    lu_xu = shift + log_upper(a, xu)
    return lu_xu + _log1m(log_upper(a, x) - lu_xu)


def erlang_a_measures(
    rate: float, aht: float, n: float, patience: float, target: float | None, want_asa: bool
) -> tuple[float, float, float, float]:
    """(P(wait), P(abandon), SL or nan, ASA or nan) for rate > 0, 0 < patience < inf."""
    theta = 1.0 / patience
    traffic = rate * aht
    x = rate / theta
    a = n * patience / aht
    log_e = log_e_ratio(traffic, n)
    if x < a - tail_cut(a):  # as the vectorised code: lw and K/I from the p = a-1 pass
        s_w = laguerre_lower(a - 1.0, x, h=lambda t: 1.0 - t)
        s_t = laguerre_lower(a - 1.0, x, h=lambda t: t)
        s_1 = laguerre_lower(a - 1.0, x)
        log_lw = slog(s_w)
        ab_w = min(max(s_t / s_1, 0.0), 1.0)
    else:
        log_lw = log_lower(a, x)
        ab_w = _abandon_given_wait(a, x, log_lw)
    log_g = logaddexp(0.0, log_lw)
    log_norm = logaddexp(log_e, log_g)
    p_wait = math.exp(log_g - log_norm)
    p_ab = p_wait * ab_w
    sl = math.nan
    if target is not None:
        if a > 0.0:
            log_part = math.log(a / x) + _log_tr_window(a, x, target * theta, log_lw)
            sl = min(max(math.exp(logaddexp(log_e, log_part) - log_norm), 0.0), 1.0)
        else:
            sl = 0.0
    asa = math.nan
    if want_asa:
        if a > 0.0:
            log_den = logaddexp(log_e + math.log(x / a), log_lw)
            asa = patience * math.exp(log_tr_log(a, x) - log_den)
        else:
            asa = math.inf
    return p_wait, p_ab, sl, asa
