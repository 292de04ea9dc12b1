"""Erlang A (M/M/n+M): Poisson arrivals, n exponential servers, exponential patience.

Scalar twin: :mod:`staffer.models.erlang_a_scalar`.

Notation: lambda arrival rate, mu = 1/aht, theta = 1/patience, A = lambda/mu,
a = n mu / theta, x = lambda / theta. With the weight of state n set to 1:

* E = sum_{k<n} pi_k / pi_n = 1/B(n, A) - 1            (idle-server states)
* G = sum_{j>=0} prod_{i<=j} x/(a+i) = 1 + lower(a, x)  (states with all servers busy)
  where lower(p, x) = x**-p e**x int_0^x w**p e**-w dw = P(p+1, x) / pois(p; x).

Then (PASTA; Garnett, Mandelbaum & Reiman 2002; Mandelbaum & Zeltyn):

* P(wait) = G / (E + G)
* P(abandon | wait) = (x + (x - a) lower) / (x G)   [= 1 - 1/rho + 1/(rho G), rho = A/n]
* P(answered, W <= T) = (E + (a/x) Tr(a, x, 1{w >= x u})) / (E + G), u = e**-theta T,
  because a customer finding j waiting is answered within T with probability
  a/(a+j+1) P(Beta(j+1, a+1) <= 1-u) (order statistics of exponential clocks);
* E[W; answered] = (a / theta) (1/x) Tr(a, x, log(x/w)) / (E + G),

with Tr(p, x, h) = x**-p e**x int_0^x h(w) w**p e**-w dw. See docs/models.md.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

from staffer.models.erlang import log_e_ratio
from staffer.models.numerics import (
    Array,
    laguerre_lower,
    laguerre_lower_sums,
    laguerre_upper,
    log_lower,
    log_pois,
    log_upper,
    saddle_tr_log,
    tail_cut,
)


def _log_minus_digamma(z: Array) -> Array:
    """log(z) - digamma(z) for z >= 1 without cancellation (asymptotic for z >= 20)."""
    out = np.empty_like(z)
    big = z >= 20.0
    zb = z[big]
    r = 1.0 / (zb * zb)
    out[big] = 0.5 / zb + r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r / 132))))
    zs = z[~big]
    out[~big] = np.log(zs) - digamma(zs)
    return out


def log_tr_log(a: Array, x: Array) -> Array:
    """log Tr(a, x, log(x/w)) for a > 0, x > 0 (regime-split, all terms positive)."""
    out = np.empty_like(a)
    cut = tail_cut(a)
    low = x < a - cut
    high = x > a + cut
    mid = ~(low | high)
    if low.any():
        out[low] = np.log(laguerre_lower(a[low], x[low], h=lambda t: -np.log1p(-t)))
    if high.any():
        ah, xh = a[high], x[high]
        lp = log_pois(ah, xh)
        mean_log = np.log1p((xh - ah - 1.0) / (ah + 1.0)) + _log_minus_digamma(ah + 1.0)
        out[high] = -lp + np.log(mean_log + np.exp(lp) * laguerre_upper(ah, xh, h=np.log1p))
    if mid.any():
        out[mid] = np.log(saddle_tr_log(a[mid], x[mid]))
    return out


def _abandon_given_wait(a: Array, x: Array, log_lw: Array) -> Array:
    """P(abandon | wait) = (x + (x - a) lw) / (x (1 + lw)), lw = lower(a, x).

    Used outside the overstaffed tail (there it cancels; erlang_a_measures uses a
    Laguerre ratio instead). For x >= a it is evaluated with 1/lw so that a huge lw
    (heavy overload) cannot overflow.
    """
    out = np.empty_like(a)
    over = x >= a
    if over.any():
        ao, xo = a[over], x[over]
        il = np.exp(-log_lw[over])
        out[over] = (xo * il + (xo - ao)) / (xo * (il + 1.0))
    near = ~over
    if near.any():
        an, xn = a[near], x[near]
        lw = np.exp(log_lw[near])
        out[near] = (xn + (xn - an) * lw) / (xn * (1.0 + lw))
    return np.clip(out, 0.0, 1.0)


def _log_tr_window(a: Array, x: Array, tt: Array, log_lw: Array) -> Array:
    """log Tr(a, x, 1{w >= x u}), u = e**-tt: the gamma mass between x u and x.

    With shift = a log u + x (1 - u) (so that Tr(a, x u, .) scales to Tr(a, x, .)):
    when x u <= a most mass lies below x u's complement and
        Tr = lower(a, x) (1 - e**(shift + log lower(a, x u) - log lower(a, x)));
    when x u > a the window is an upper-tail difference
        Tr = e**shift upper(a, x u) (1 - upper(a, x) / (e**shift upper(a, x u))).
    Both use expm1 so short targets (u -> 1) keep full relative accuracy.
    """
    out = np.full_like(a, -np.inf)
    xu = x * np.exp(-tt)
    shift = -a * tt - x * np.expm1(-tt)
    inf_t = np.isinf(tt) | (xu <= 0.0)
    out[inf_t] = log_lw[inf_t]
    low = ~inf_t & (xu <= a)
    high = ~inf_t & (xu > a)
    with np.errstate(divide="ignore"):
        if low.any():
            lr = shift[low] + log_lower(a[low], xu[low]) - log_lw[low]
            out[low] = log_lw[low] + np.log(-np.expm1(np.minimum(lr, 0.0)))
        if high.any():
            ah = a[high]
            lu_xu = shift[high] + log_upper(ah, xu[high])
            lr = log_upper(ah, x[high]) - lu_xu
            out[high] = lu_xu + np.log(-np.expm1(np.minimum(lr, 0.0)))
    return out


def erlang_a_measures(
    rate: Array,
    aht: Array,
    servers: Array,
    patience: Array,
    target: Array | None = None,
    want_asa: bool = False,
) -> dict[str, Array]:
    """P(wait), P(abandon), optional SL(target) and ASA for M/M/n+M.

    Inputs are validated 1-d arrays of equal shape with rate > 0, aht > 0, servers >= 0,
    0 < patience < inf. Returned keys: ``p_wait``, ``p_abandon``, ``carried`` (fraction
    of arrivals answered), and ``service_level`` / ``asa`` when requested.
    """
    theta = 1.0 / patience
    traffic = rate * aht
    x = rate / theta
    a = servers * patience / aht
    log_e = log_e_ratio(traffic, servers)  # -inf at n = 0
    far = x < a - tail_cut(a)  # overstaffed tail: one Laguerre pass gives lw and K/I
    log_lw = np.empty_like(a)
    p_ab_w = np.empty_like(a)
    if far.any():
        sums = laguerre_lower_sums(
            a[far] - 1.0, x[far], (lambda t: 1.0 - t, lambda t: t, lambda t: np.ones_like(t))
        )
        log_lw[far] = np.log(sums[:, 0])  # lower(a, x) = Tr(a-1, x, w/x)
        p_ab_w[far] = np.clip(sums[:, 1] / sums[:, 2], 0.0, 1.0)
    near = ~far
    if near.any():
        log_lw[near] = log_lower(a[near], x[near])
        p_ab_w[near] = _abandon_given_wait(a[near], x[near], log_lw[near])
    log_g = np.logaddexp(0.0, log_lw)
    log_norm = np.logaddexp(log_e, log_g)  # log(E + G)
    p_wait = np.exp(log_g - log_norm)
    out = {"p_wait": p_wait, "p_abandon": p_wait * p_ab_w}
    out["carried"] = 1.0 - out["p_abandon"]
    pos = a > 0.0
    if target is not None:
        sl = np.zeros_like(a)
        if pos.any():
            log_part = np.log(a[pos] / x[pos]) + _log_tr_window(
                a[pos], x[pos], target[pos] * theta[pos], log_lw[pos]
            )
            sl[pos] = np.exp(np.logaddexp(log_e[pos], log_part) - log_norm[pos])
        out["service_level"] = np.clip(sl, 0.0, 1.0)
    if want_asa:
        asa = np.full_like(a, np.inf)
        if pos.any():
            ap, xp = a[pos], x[pos]
            # ASA = (1/theta) Tr_log / (x E / a + lower(a, x))
            log_den = np.logaddexp(log_e[pos] + np.log(xp / ap), log_lw[pos])
            asa[pos] = patience[pos] * np.exp(log_tr_log(ap, xp) - log_den)
        out["asa"] = asa
    return out
