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

from staffer.models._numerics import Array

_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)
_ITER = 8
_BETA_MAX = 40.0


def _ratio(beta: Array) -> Array:
    """R = Phi(beta) / phi(beta), without overflow for moderate beta."""
    return _SQRT_HALF_PI * erfcx(-beta / math.sqrt(2.0))


def halfin_whitt_guess(load: Array, aht: Array, goal: Array, target: Array, kind: str) -> Array:
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
    return load + beta * sq
