"""Erlang B and Erlang C (M/M/N/N blocking, M/M/N delay), vectorised and exact.

Both follow from one quantity, the Poisson cdf/pmf ratio

    1/B(N, A) = sum_{k<=N} A**k/k! / (A**N/N!) = Q(N+1, A) / pois(N; A),

evaluated in log space by :func:`staffer.models.numerics.log_upper` (scipy near the
mode, Gauss-Laguerre in the tails, Loader's saddle-point pmf). Non-integer N gives the
standard continuous (Jagerman) extension of Erlang B through the incomplete gamma
function; Erlang C uses C = 1 / (1 + (1 - A/N) E) with E = 1/B - 1, which has no
cancellation.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from staffer.models import erlang_scalar
from staffer.models.fast_path import scalar_fast_path
from staffer.models.numerics import Array, Mask, as_array, finish, log_upper


def two_prod(a: Array, b: Array) -> tuple[Array, Array]:
    """Error-free product: a*b = hi + lo exactly (Dekker/Veltkamp splitting).

    Used for traffic = rate * aht so that the gap N - A, which Erlang C's ASA and
    service level divide by, keeps full relative accuracy close to N = A.
    """
    hi = a * b
    split = 134217729.0  # 2**27 + 1
    ca = split * a
    a_hi = ca - (ca - a)
    a_lo = a - a_hi
    cb = split * b
    b_hi = cb - (cb - b)
    b_lo = b - b_hi
    lo = ((a_hi * b_hi - hi) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return hi, lo


def _prep(traffic: ArrayLike, agents: ArrayLike) -> tuple[Array, Array, bool]:
    a = as_array(traffic)
    n = as_array(agents)
    scalar = a.ndim == 0 and n.ndim == 0
    a, n = np.broadcast_arrays(a, n)
    return np.atleast_1d(a), np.atleast_1d(n), scalar


def log_inv_b(traffic: Array, agents: Array) -> Array:
    """log(1/B(N, A)) for arrays with A > 0, N >= 0 (no validation)."""
    return log_upper(agents, traffic)


def log_e_ratio(traffic: Array, agents: Array) -> Array:
    """log E with E = 1/B(N, A) - 1 = sum_{k<N} A**k/k! / (A**N/N!), for A > 0, N > 0.

    E is the relative weight of the states with an idle server; it is -inf at N = 0.
    """
    a = traffic
    n = agents
    ge1 = n >= 1.0
    if ge1.all():  # the usual case: no masking
        e: Array = log_upper(n - 1.0, a) + np.log(n) - np.log(a)
        return e
    out = np.full(a.shape, -np.inf)
    if ge1.any():
        ng, ag = n[ge1], a[ge1]
        # Q(N, A)/pois(N; A) = upper(N-1, A) * N / A
        out[ge1] = log_upper(ng - 1.0, ag) + np.log(ng) - np.log(ag)
    frac = (n > 0.0) & ~ge1
    if frac.any():
        out[frac] = np.log(np.expm1(log_upper(n[frac], a[frac])))
    return out


def _valid(a: Array, n: Array) -> Mask:
    return np.isfinite(a) & (a >= 0.0) & (n >= 0.0) & ~np.isnan(n)


@scalar_fast_path(erlang_scalar.erlang_b)
def erlang_b(traffic: ArrayLike, agents: ArrayLike) -> float | Array:
    """Blocking probability of M/M/N/N with offered load ``traffic`` (Erlangs).

    B(0, A) = 1; B(N>0, 0) = 0; B(inf, A) = 0. NaN or negative inputs give NaN.

    >>> round(erlang_b(10.0, 12), 6)
    0.119739
    >>> erlang_b([1.0, 10.0], 0).tolist()
    [1.0, 1.0]
    """
    a, n, scalar = _prep(traffic, agents)
    out = np.full(a.shape, np.nan)
    ok = _valid(a, n)
    out[ok & (n == 0.0)] = 1.0
    out[ok & (n > 0.0) & ((a == 0.0) | np.isinf(n))] = 0.0
    reg = ok & (n > 0.0) & (a > 0.0) & np.isfinite(n)
    if reg.any():
        out[reg] = np.exp(-log_inv_b(a[reg], n[reg]))
    return finish(out, scalar)


def _log_q(a: Array, n: Array, gap: Array) -> Array:
    """log q with q = (1 - A/N) E = (N - A)/N * E, so that C = 1/(1+q), 1-C = q/(1+q).

    ``gap`` is N - A, passed separately so callers can form it without rounding.
    """
    return np.log(gap / n) + log_e_ratio(a, n)


def erlang_c_core(a: Array, n: Array) -> Array:
    """Erlang C for validated arrays (A >= 0, N >= 0); 1 where N <= A."""
    out = np.ones(a.shape)
    reg = (n > a) & (a > 0.0) & np.isfinite(n)
    out[(n > a) & ((a == 0.0) | np.isinf(n))] = 0.0
    if reg.any():
        ar, nr = a[reg], n[reg]
        out[reg] = np.exp(-np.logaddexp(0.0, _log_q(ar, nr, nr - ar)))
    return out


@scalar_fast_path(erlang_scalar.erlang_c)
def erlang_c(traffic: ArrayLike, agents: ArrayLike) -> float | Array:
    """Probability of waiting in M/M/N (Erlang C); 1.0 when agents <= traffic.

    C(A=0, N>0) = 0 and, literally following "agents <= traffic", C(0, 0) = 1.
    NaN or negative inputs give NaN.

    >>> round(erlang_c(10.0, 12), 6)
    0.449388
    >>> erlang_c(10.0, [8, 10])
    array([1., 1.])
    """
    a, n, scalar = _prep(traffic, agents)
    out = np.full(a.shape, np.nan)
    ok = _valid(a, n)
    if ok.any():
        out[ok] = erlang_c_core(a[ok], n[ok])
    return finish(out, scalar)


def erlang_c_measures(
    rate: Array,
    aht: Array,
    servers: Array,
    target: Array | None = None,
    want_asa: bool = False,
) -> dict[str, Array]:
    """P(wait), and optionally SL(target) and ASA, of M/M/N for validated 1-d arrays.

    rate > 0, aht > 0, servers >= 0. The gap N - A is formed from the exact product
    rate * aht (two_prod), so results keep full relative accuracy as N -> A+.
    SL = (1 - C) - C expm1(-(N - A) T / aht) (sum of non-negative terms) while the miss
    C e^{-(N-A)T/aht} exceeds 1/2, else 1 - miss (exact there, and monotone in N);
    ASA = C aht / (N - A). Unstable (N <= A): P(wait) 1, SL 0, ASA inf.
    """
    traffic, t_lo = two_prod(rate, aht)
    stable = servers > traffic
    gap_slots = np.where(stable, (servers - traffic) - t_lo, 1.0)
    c = np.ones(rate.shape)
    not_c = np.zeros(rate.shape)  # 1 - C, computed directly (no cancellation)
    if stable.any():
        lq = _log_q(traffic[stable], servers[stable], gap_slots[stable])
        log_den = np.logaddexp(0.0, lq)
        c[stable] = np.exp(-log_den)
        not_c[stable] = np.exp(lq - log_den)
    gap = gap_slots / aht  # N mu - lambda
    out = {"p_wait": c}
    if target is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            em1 = np.expm1(-gap * target)
            miss = c * (1.0 + em1)  # 1 - SL = C e^{-gap T}
            # SL = 1 - miss where miss < 1/2 (no cancellation there, and monotone in N
            # because rounding is monotone); else the sum of non-negative terms
            sl = np.where(miss < 0.5, 1.0 - miss, not_c - c * em1)
            sl = np.where(np.isinf(target), 1.0, sl)
        out["service_level"] = np.where(stable, np.clip(sl, 0.0, 1.0), 0.0)
    if want_asa:
        out["asa"] = np.where(stable, c / gap, np.inf)
    return out
