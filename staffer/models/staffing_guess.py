"""Starting points for the staffing search: Halfin-Whitt square-root staffing.

With N = A + beta sqrt(A) servers, Halfin & Whitt (1981) give
C ~ 1 / (1 + beta Phi(beta) / phi(beta)). The service-level goal
C exp(-beta sqrt(A) T / aht) <= 1 - sl and the ASA goal C aht / (beta sqrt(A)) <= goal
are then increasing in beta and solved by a few safeguarded Newton steps. Only a guess:
the search verifies every answer exactly, so accuracy here only saves evaluations.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx

from staffer.models.numerics import Array
from staffer.models.staffing_goals import GoalKind

_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)
_ITER = 8
_BETA_MAX = 40.0
_ILLINOIS = 6


def _ratio(beta: Array) -> Array:
    """R = Phi(beta) / phi(beta), without overflow for moderate beta."""
    ratio: Array = _SQRT_HALF_PI * erfcx(-beta / math.sqrt(2.0))
    return ratio


def halfin_whitt_guess(
    load: Array, aht: Array, goal: Array, target: Array, kind: GoalKind
) -> Array:
    """Real-valued servers A + beta sqrt(A) meeting the goal under Halfin-Whitt."""
    sq = np.sqrt(load)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "sl":
            rhs = -np.log1p(-np.minimum(goal, 1.0 - 1e-16))
            c = sq * target / aht
        else:
            rhs = -np.log(np.maximum(goal, 1e-300) * sq / aht)
            c = np.zeros_like(load)
        beta = np.full(load.shape, 1.0)
        for _ in range(_ITER):
            r = _ratio(beta)
            one = 1.0 + beta * r
            g = np.log(one) + c * beta - rhs
            dg = (r + beta * (1.0 + beta * r)) / one + c
            if kind == "asa":
                g = g + np.log(beta)
                dg = dg + 1.0 / beta
            beta = np.clip(beta - g / dg, 1e-3, _BETA_MAX)
        beta = np.where(np.isfinite(beta), beta, 1.0)
    servers: Array = load + beta * sq
    return servers


def _hazard(z: Array) -> Array:
    """Normal hazard phi(z) / (1 - Phi(z)), overflow-free."""
    hazard: Array = math.sqrt(2.0 / math.pi) / erfcx(z / math.sqrt(2.0))
    return hazard


def erlang_a_guess(
    load: Array,
    aht: Array,
    patience: Array,
    goal: Array,
    target: Array,
    max_ab: Array,
    beta_c: Array,
    kind: GoalKind = "sl",
) -> Array:
    """Real-valued servers meeting SL (or ASA) and the cap under the QED approximations.

    Both goals are monotone in beta. The smallest beta meeting them lies between the
    fluid bound (N = A (1 - cap), beta = -cap sqrt(A)) and, usually, the Erlang C guess
    ``beta_c`` (patience only helps). The larger of the two log excesses is increasing
    the wrong way in beta and smooth apart from one kink, so 6 Illinois (regula falsi)
    steps on it, and a final interpolation, place the root as well as 13 bisections
    did, in 8-9 evaluations instead of 14.

    The approximations (Garnett, Mandelbaum & Reiman 2002; derived from the exact formulas
    of erlang_a by Gaussian approximation of the gamma/Poisson masses), with r = theta/mu,
    beta_hat = beta / sqrt(r) and h the normal hazard:
    P(wait) ~ 1 / (1 + sqrt(r) h(beta_hat) / h(-beta)),
    P(abandon) ~ P(wait) (sqrt(r) h(beta_hat) - beta) / sqrt(A),
    1 - SL ~ P(wait) Phi(-beta_hat - delta) / Phi(-beta_hat), delta = mu T sqrt(A r),
    ASA ~ P(wait) aht (h(beta_hat) - beta_hat) / sqrt(A r).
    """
    r = aht / patience
    delta = target / aht * np.sqrt(load * r)
    sq = np.sqrt(load)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "sl":
            log_goal = np.log1p(-np.minimum(goal, 1.0 - 1e-16))
        else:
            log_goal = np.log(np.maximum(goal, 1e-300) / aht)
        log_cap = np.log(np.maximum(max_ab, 1e-300))

        # the per-element constants of the approximations, hoisted out of the iteration
        sr = np.sqrt(r)
        s2 = sr * math.sqrt(2.0)
        d2 = delta / math.sqrt(2.0)
        l_asa0 = 0.5 * np.log(load * r)
        want_sl = kind == "sl"

        def excess(beta: Array) -> Array:
            """max(goal excess, cap excess) in log space: <= 0 meets, increasing -> falling."""
            u = beta / s2
            ex_u = erfcx(u)
            hb = math.sqrt(2.0 / math.pi) / ex_u
            log_pw = -np.log1p(sr * hb / _hazard(-beta))
            ab = np.maximum(sr * hb - beta, 1e-300) / sq
            if want_sl:
                ud = u + d2
                l_goal = log_pw + (-(ud * ud - u * u) + np.log(erfcx(ud) / ex_u))
            else:
                l_goal = log_pw + np.log(np.maximum(hb - beta / sr, 1e-300)) - l_asa0
            worse: Array = np.maximum(l_goal - log_goal, log_pw + np.log(ab) - log_cap)
            return worse

        lo = -max_ab * sq - 1.0
        hi = np.maximum(beta_c, lo + 1.0) + 1.0
        f_hi = excess(hi)
        far = ~(f_hi <= 0.0)
        if far.any():
            hi = np.where(far, _BETA_MAX, hi)
            f_hi = np.where(far, excess(hi), f_hi)
        f_lo = excess(lo)
        side = np.zeros(lo.shape)
        for _ in range(_ILLINOIS):
            # regula falsi with the Illinois fix; bisection where it is undefined
            mid = hi - f_hi * (hi - lo) / (f_hi - f_lo)
            usable = np.isfinite(mid) & (mid > lo) & (mid < hi)
            mid = np.where(usable, mid, 0.5 * (lo + hi))
            f_mid = excess(mid)
            good = f_mid <= 0.0
            # the end kept twice in a row gets its value halved
            f_lo = np.where(good & (side < 0), 0.5 * f_lo, f_lo)
            f_hi = np.where(~good & (side > 0), 0.5 * f_hi, f_hi)
            hi = np.where(good, mid, hi)
            f_hi = np.where(good, f_mid, f_hi)
            lo = np.where(good, lo, mid)
            f_lo = np.where(good, f_lo, f_mid)
            side = np.where(good, -1.0, 1.0)
        est = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        est = np.where(np.isfinite(est) & (est >= lo) & (est <= hi), est, 0.5 * (lo + hi))
    return load + est * sq
