"""Numerical building blocks shared by the queueing models (pure, vectorised).

The Poisson / gamma kernel x**a e**-x / Gamma(a+1) is evaluated in log space with
Loader's saddle-point form (``-stirlerr(a) - bd0(a, x) - log(2 pi a)/2``), which keeps
full relative accuracy where a naive ``lgamma`` closed form loses ~1e-11 at 1e4.
Scalar twin: :mod:`staffer.models.numerics_scalar`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammainc, gammaincc, gammaln

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]
Weight = Callable[[Array], Array]  # h(t) of a quadrature, elementwise

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

# Stirling series coefficients for stirlerr(n) = lgamma(n+1) - (n+1/2)log n + n - log sqrt(2 pi)
_S0 = 1.0 / 12.0
_S1 = 1.0 / 360.0
_S2 = 1.0 / 1260.0
_S3 = 1.0 / 1680.0
_S4 = 1.0 / 1188.0
_S5 = 691.0 / 360360.0
_ODD = [np.float64(2 * j + 1) for j in range(29)]  # bd0's series divisors (floats: cheaper)


def as_array(x: ArrayLike) -> Array:
    """Float64 ndarray view of ``x`` (no copy when already float64)."""
    return np.asarray(x, dtype=np.float64)


def broadcast_flat(*values: ArrayLike) -> tuple[list[Array], bool, tuple[int, ...]]:
    """The values broadcast to one shape and flattened, whether all were scalars, the shape."""
    raw = [as_array(v) for v in values]
    scalar = all(r.ndim == 0 for r in raw)
    arrs = np.broadcast_arrays(*raw)
    return [np.ravel(a) for a in arrs], scalar, arrs[0].shape


def pair(a: ArrayLike, b: ArrayLike) -> tuple[Array, Array]:
    """``a`` and ``b`` as float64 arrays broadcast together (as given when shapes agree)."""
    a, b = as_array(a), as_array(b)
    if a.shape != b.shape:
        a, b = np.broadcast_arrays(a, b)
    return a, b


def finish(values: Array, scalar: bool) -> float | Array:
    """Return a Python float for scalar inputs, the array otherwise."""
    if scalar:
        return float(values.reshape(-1)[0]) if values.size else float("nan")
    return values


def stirlerr(n: Array) -> Array:
    """Stirling error lgamma(n+1) - (n+1/2) log n + n - log sqrt(2 pi), for n > 0.

    Series for n > 15 (error < 1e-17 relative to lgamma's size); for small n the
    direct formula, whose terms are small so cancellation stays below ~1e-15.
    """
    n = as_array(n)
    out = np.empty_like(n)
    big = n > 15.0
    nb = n[big]
    nn = nb * nb
    out[big] = (_S0 - (_S1 - (_S2 - (_S3 - (_S4 - _S5 / nn) / nn) / nn) / nn) / nn) / nb
    ns = n[~big]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[~big] = gammaln(ns + 1.0) - (ns + 0.5) * np.log(ns) + ns - LOG_SQRT_2PI
    return out


def bd0(x: Array, m: Array) -> Array:
    """Loader's deviance x log(x/m) + m - x >= 0, accurate also when x ~ m (x >= 0, m > 0).

    For |v| < 1/2 with v = (x-m)/(x+m) (x/m in [1/3, 3]) the atanh series
    (x-m) v + 2x sum_{j>=1} v**(2j+1)/(2j+1) (no cancellation), with as many terms as the
    largest |v| needs (at most 28); outside, the direct formula loses at most a factor ~3
    to cancellation, i.e. an absolute error of a few ulps of bd0 itself. The terms past
    an element's own need are below half an ulp of its sum (relative <= 1e-18.5), so
    they leave it unchanged: an element's value does not depend on its batch.
    """
    x, m = pair(x, m)
    out = np.empty(x.shape)
    d = x - m
    s = x + m
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v = d / s
        near = np.abs(d) < 0.5 * s
        vn = v[near]
        if vn.size:
            terms = _series_terms(np.abs(vn))
            out[near] = d[near] * vn + _atanh_series(x[near], vn, terms)
        far = ~near
        out[far] = _bd0_direct(x[far], m[far])
    return out


def _bd0_direct(x: Array, m: Array) -> Array:
    """x log(x/m) + m - x as it stands (the masking skipped where nothing needs it)."""
    pos = x > 0
    all_pos = bool(pos.all())
    xp = x if all_pos else np.where(pos, x, 1.0)
    ratio = xp / m
    # x/m overflows only for subnormal m: then log x - log m (exact enough there)
    fine = np.isfinite(ratio) & (ratio > 0)
    log_r = np.log(ratio) if fine.all() else np.where(fine, np.log(ratio), np.log(xp) - np.log(m))
    out: Array = (x * log_r if all_pos else np.where(pos, x * log_r, 0.0)) + m - x
    return out


def _series_terms(abs_v: Array) -> int:
    """Terms of the atanh series that the largest of ``abs_v`` needs (0 for none)."""
    if not abs_v.size:
        return 0
    vmax = float(np.max(abs_v))
    terms = 3 if vmax > 1e-9 else 1
    if vmax > 1e-3:
        terms = min(28, int(18.5 / (-2.0 * math.log10(vmax))) + 1)
    return terms


def _atanh_series(x: Array, v: Array, terms: int) -> Array:
    """2x sum_{j=1..terms} v**(2j+1)/(2j+1), term by term (in place, no temporaries)."""
    ej = 2.0 * x * v
    v2 = v * v
    acc = np.zeros_like(v)
    term = np.empty_like(v)
    for j in range(1, terms + 1):
        np.multiply(ej, v2, out=ej)
        np.divide(ej, _ODD[j], out=term)
        np.add(acc, term, out=acc)
    return acc


def log_pois(a: Array, x: Array) -> Array:
    """log(x**a e**-x / Gamma(a+1)) for real a >= 0, x >= 0 (log of the Poisson pmf).

    a = 0 gives -x; x = 0 gives 0 for a = 0 and -inf for a > 0.
    """
    a, x = pair(a, x)
    zero_a = a <= 0.0
    zero_x = (x <= 0.0) & ~zero_a
    ok = ~(zero_a | zero_x)
    if not ok.all():
        out = np.empty(a.shape)
        out[ok] = log_pois(a[ok], x[ok])
        out[zero_a] = -x[zero_a]
        out[zero_x] = -np.inf
        return out
    lp: Array = -stirlerr(a) - bd0(a, x) - LOG_SQRT_2PI - 0.5 * np.log(a)
    return lp


# ---------------------------------------------------------------------------
# Scaled incomplete gamma integrals
#
#   lower(p, x) = x**-p e**x  int_0^x w**p e**-w dw   = P(p+1, x) / pois(p; x)
#   upper(p, x) = x**-p e**x  int_x^inf w**p e**-w dw = Q(p+1, x) / pois(p; x)
#
# In the tail beyond 4.5 standard deviations from the gamma mode these are computed by
# 16-node Gauss-Laguerre quadrature after the substitution w = x -+ s / beta (the
# integrand is then e**-s times a smooth, slowly varying factor; measured error
# ~1e-14). Between the tails scipy's regularized gammainc / gammaincc are used: there
# both P and Q exceed ~3e-6 and scipy is accurate to ~5e-14 relative (measured against
# mpmath), whereas in the far tails scipy loses accuracy (2.6e-3 at P ~ 1e-49).
# ---------------------------------------------------------------------------

LAG_S, LAG_W = np.polynomial.laguerre.laggauss(16)
TAIL_SIGMAS = 4.5


def tail_cut(p: Array) -> Array:
    """Distance from the gamma(p+1) mode beyond which a tail counts as 'far'."""
    return TAIL_SIGMAS * np.sqrt(np.maximum(p, 0.0) + 1.0) + 1.0


def laguerre_upper(p: Array, x: Array, h: Weight | None = None) -> Array:
    """x**-p e**x int_x^inf h(r/x) w**p e**-w dw with w = x + r, for x > p (p >= 0).

    ``h`` receives t = r/x >= 0 (default 1). Accurate when x - p >~ 4.5 sqrt(p).
    """
    gap = (x - p)[..., None]  # beta * x, formed without dividing by a tiny x
    t = LAG_S / gap
    f = np.log1p(t)  # exp(p (log1p(t) - t)) in place
    f -= t
    f *= p[..., None]
    np.exp(f, out=f)
    if h is not None:
        f = f * h(t)
    return (f @ LAG_W) * x / gap[..., 0]


def laguerre_lower(p: Array, x: Array, h: Weight | None = None) -> Array:
    """x**-p e**x int_0^x h(r/x) w**p e**-w dw with w = x - r, for x < p.

    ``h`` receives t = r/x in [0, 1) (default 1). Accurate when p - x >~ 4.5 sqrt(p).
    """
    gap = (p - x)[..., None]
    t = LAG_S / gap
    inside = t < 1.0
    all_in = bool(inside.all())  # the usual case: skip the masking
    tc = t if all_in else np.where(inside, t, 0.0)
    f = _lower_kernel(p, tc)
    if not all_in:
        f[~inside] = 0.0
    if h is not None:
        f = f * (h(tc) if all_in else np.where(inside, h(tc), 0.0))
    return (f @ LAG_W) * x / gap[..., 0]


def _lower_kernel(p: Array, tc: Array) -> Array:
    """exp(p (log1p(-tc) + tc)) in place (same operations, fewer temporaries)."""
    f = np.negative(tc)
    np.log1p(f, out=f)
    f += tc
    f *= p[..., None]
    return np.exp(f, out=f)


def laguerre_lower_sums(p: Array, x: Array, hs: Sequence[Weight]) -> Array:
    """Several laguerre_lower integrals sharing one evaluation of the kernel.

    Returns shape (len(p), len(hs)); column i uses weight ``hs[i](t)``.
    """
    gap = (p - x)[..., None]
    p = p[..., None]
    t = LAG_S / gap
    inside = t < 1.0
    tc = np.where(inside, t, 0.0)
    f = np.where(inside, np.exp(p * (np.log1p(-tc) + tc)), 0.0)
    cols = [(f * np.where(inside, h(tc), 0.0)) @ LAG_W for h in hs]
    return np.stack(cols, axis=-1) * (x[..., None] / gap)


def log_lower(p: ArrayLike, x: ArrayLike) -> Array:
    """log of lower(p, x) = log(P(p+1, x) / pois(p; x)), for p >= 0, x > 0."""
    p, x = np.broadcast_arrays(as_array(p), as_array(x))
    out = np.empty(p.shape)
    cut = tail_cut(p)
    low = x < p - cut  # far lower tail: Laguerre directly
    high = x > p + cut  # P ~ 1: 1/pois minus the (tiny) upper tail
    mid = ~(low | high)
    if low.any():
        with np.errstate(divide="ignore"):
            out[low] = np.log(laguerre_lower(p[low], x[low]))
    if high.any():
        ph, xh = p[high], x[high]
        lp = log_pois(ph, xh)
        out[high] = -lp
        # the tail correction pois * upper <= pois / beta matters only above ~1e-17
        fix = lp - np.log1p(-ph / xh) > -39.0
        if fix.any():
            corr = np.exp(lp[fix]) * laguerre_upper(ph[fix], xh[fix])
            out[np.flatnonzero(high)[fix]] += np.log1p(-corr)
    if mid.any():
        pm, xm = p[mid], x[mid]
        with np.errstate(divide="ignore"):
            out[mid] = np.log(gammainc(pm + 1.0, xm)) - log_pois(pm, xm)
    return out


def log_upper(p: ArrayLike, x: ArrayLike) -> Array:
    """log of upper(p, x) = log(Q(p+1, x) / pois(p; x)), for p >= 0, x > 0."""
    p, x = pair(p, x)
    cut = tail_cut(p)
    high = x > p + cut
    low = x < p - cut
    if not high.any():
        return _log_upper_pois(p, x, low)
    out = np.empty(p.shape)
    out[high] = np.log(laguerre_upper(p[high], x[high]))
    rest = ~high
    if rest.any():
        out[rest] = _log_upper_pois(p[rest], x[rest], low[rest])
    return out


def _log_upper_pois(p: Array, x: Array, low: Mask) -> Array:
    """log_upper off its far upper tail: -log pois plus the tiny lower-tail correction
    where x is far below p (``low``), scipy's Q / pois between the tails."""
    lp = log_pois(p, x)  # one call for both parts (bd0's values do not depend on the batch)
    out = np.empty(p.shape)
    if low.any():
        pl, xl, lpl = p[low], x[low], lp[low]
        res = -lpl
        fix = lpl - np.log(pl / xl - 1.0) > -39.0
        if fix.any():
            corr = np.exp(lpl[fix]) * laguerre_lower(pl[fix], xl[fix])
            res[fix] += np.log1p(-corr)
        out[low] = res
    mid = ~low
    if mid.any():
        out[mid] = np.log(gammaincc(p[mid] + 1.0, x[mid])) - lp[mid]
    return out


LEG_X, LEG_W = np.polynomial.legendre.leggauss(48)
DROP = 46.0  # integrand below e**-46 of its peak is ignored (relative 1e-20)
# On a narrow interval [lo, 0] (lo > -SERIES_SPAN, i.e. p >~ 2000) the exponent at the node
# lo tau is a polynomial in tau: (p+1-x) lo tau - x (e**(lo tau) - 1 - lo tau), the last
# factor by its Taylor series to k = 13 (truncation < 2e-18 relative).
SERIES_SPAN = 0.25
LEG_TAU = (1.0 - LEG_X) / 2.0  # the node lo + (-lo/2)(X + 1) is lo tau
TAU_POWERS = LEG_TAU[None, :] ** np.arange(14)[:, None]  # tau**k, k = 0..13 (14 x 48)
LEG_W_TAU = LEG_W * LEG_TAU
_EXP_DIV = np.arange(1.0, 14.0, dtype=np.float64)  # 1, 2, ..., 13


def expm1mx_terms(v: ArrayLike) -> Array:
    """The Taylor terms v**k / k!, k = 2..13, of e**v - 1 - v (last axis), |v| < 1/4."""
    ratios = as_array(v)[..., None] / _EXP_DIV
    return np.cumprod(ratios, axis=-1, dtype=np.float64)[..., 1:]


def saddle_tr_log(p: Array, x: Array) -> Array:
    """Tr(p, x, log(x/w)) = x**-p e**x int_0^x log(x/w) w**p e**-w dw, between the tails.

    In w = x e**v (v <= 0) the integrand is x (-v) e**psi(v), psi(v) = (p+1) v - x expm1(v),
    a near-Gaussian bump of width 1/sqrt(p+1); Gauss-Legendre on the interval where psi
    lies within e**-46 of its maximum (found by Newton), with that maximum scaled out.
    On narrow intervals (large p) psi is a difference of two numbers ~ x |v| much larger
    than itself, so there it is formed as (p+1-x) v - x (e**v - 1 - v) with the last
    factor from its series (otherwise 1e-12 is lost at p = 1e8).
    """
    q = p + 1.0
    vstar = np.minimum(np.log(q / x), 0.0)
    psi_max = q * vstar - x * np.expm1(vstar)
    # initial point far enough left, then Newton on psi_max - psi(v) = DROP (convex)
    c = DROP / np.minimum(q, x)
    d = c + np.sqrt(2.0 * c)
    v = vstar - d
    for _ in range(8):
        f = psi_max - (q * v - x * np.expm1(v)) - DROP
        fp = -(q - x * np.exp(v))
        v = v - f / fp
    narrow = v > -SERIES_SPAN
    if narrow.all():
        return _narrow_tr_log(q, x, vstar, v)
    wide = ~narrow
    out = np.empty_like(q)
    out[wide] = _wide_tr_log(q[wide], x[wide], psi_max[wide], v[wide])
    if narrow.any():
        out[narrow] = _narrow_tr_log(q[narrow], x[narrow], vstar[narrow], v[narrow])
    return out


def _wide_tr_log(q: Array, x: Array, psi_max: Array, lo: Array) -> Array:
    """saddle_tr_log on [lo, 0] with psi formed directly (fine while x |v| is small)."""
    half = -0.5 * lo
    nodes = lo[..., None] + half[..., None] * (LEG_X + 1.0)
    psi = q[..., None] * nodes - x[..., None] * np.expm1(nodes) - psi_max[..., None]
    out: Array = x * np.exp(psi_max) * half * ((np.exp(psi) * -nodes) @ LEG_W)
    return out


def _narrow_tr_log(q: Array, x: Array, vstar: Array, lo: Array) -> Array:
    """saddle_tr_log on a narrow [lo, 0]: psi(lo tau) - psi(vstar) as one polynomial in tau.

    The weight -v = -lo tau and the interval's half-width -lo/2 leave lo**2 / 2 outside.
    """
    qx = q - x
    top = qx * vstar - x * expm1mx_terms(vstar).sum(axis=-1)  # psi at the peak
    coef = np.empty((*q.shape, 14))
    coef[..., 0] = -top
    coef[..., 1] = qx * lo
    coef[..., 2:] = -x[..., None] * expm1mx_terms(lo)
    out: Array = x * np.exp(top) * (0.5 * lo * lo) * (np.exp(coef @ TAU_POWERS) @ LEG_W_TAU)
    return out
