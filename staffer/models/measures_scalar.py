"""Scalar twins of the public measures in :mod:`staffer.models.measures` (plain ``math``).

Same signatures, edge rules and branches as the vectorised functions; called by their
scalar fast path (:mod:`staffer.models.fast_path`) when every argument is a plain number.
"""

from __future__ import annotations

import math
from typing import Literal

from staffer.models.erlang_a_scalar import erlang_a_measures
from staffer.models.erlang_scalar import erlang_c_measures

Measure = Literal["p_wait", "service_level", "asa", "abandon", "occupancy"]


def valid_queue(rate: float, aht: float, patience: float, concurrency: float) -> bool:
    """Scalar twin of measures.valid_queues."""
    return (
        math.isfinite(rate)
        and rate >= 0
        and math.isfinite(aht)
        and aht > 0
        and patience > 0
        and concurrency >= 1
    )


def _measure(
    what: Measure,
    rate: float,
    aht: float,
    agents: float,
    patience: float | None,
    k: float,
    target: float = 0.0,
) -> float:
    """Scalar twin of measures._evaluate (same edge rules)."""
    r, h, n, kk, t = float(rate), float(aht), float(agents), float(k), float(target)
    p = math.inf if patience is None else float(patience)
    if not (valid_queue(r, h, p, kk) and n >= 0 and t >= 0):
        return math.nan
    if r == 0.0:
        return 1.0 if what == "service_level" else 0.0
    s = n * kk
    if math.isinf(p):
        if what == "abandon":
            return 0.0
        a = r * h
        if what == "occupancy":
            return a / s if s > a else (1.0 if s > 0 else 0.0)
        c, sl, wait = erlang_c_measures(
            r, h, s, t if what == "service_level" else None, what == "asa"
        )
        return {"p_wait": c, "service_level": sl, "asa": wait}[what]
    pw, pab, sl, wait = erlang_a_measures(
        r, h, s, p, t if what == "service_level" else None, what == "asa"
    )
    if what == "occupancy":
        return min(r * h * (1.0 - pab) / s, 1.0) if s > 0 else 0.0
    return {"p_wait": pw, "abandon": pab, "service_level": sl, "asa": wait}[what]


def p_wait(
    rate: float, aht: float, agents: float, patience: float | None = None, concurrency: float = 1
) -> float:
    """Scalar twin of measures.p_wait."""
    return _measure("p_wait", rate, aht, agents, patience, concurrency)


def service_level(
    rate: float,
    aht: float,
    agents: float,
    target: float,
    patience: float | None = None,
    concurrency: float = 1,
) -> float:
    """Scalar twin of measures.service_level."""
    return _measure("service_level", rate, aht, agents, patience, concurrency, target)


def asa(
    rate: float, aht: float, agents: float, patience: float | None = None, concurrency: float = 1
) -> float:
    """Scalar twin of measures.asa."""
    return _measure("asa", rate, aht, agents, patience, concurrency)


def abandon_ratio(
    rate: float, aht: float, agents: float, patience: float | None, concurrency: float = 1
) -> float:
    """Scalar twin of measures.abandon_ratio."""
    return _measure("abandon", rate, aht, agents, patience, concurrency)


def occupancy(
    rate: float, aht: float, agents: float, patience: float | None = None, concurrency: float = 1
) -> float:
    """Scalar twin of measures.occupancy."""
    return _measure("occupancy", rate, aht, agents, patience, concurrency)
