"""Public performance measures of real-time queues (voice and chat), vectorised.

Every function broadcasts its array arguments, returns a Python float for all-scalar
input, and never raises on edge values:

* NaN, negative rate/agents, non-positive aht or patience -> NaN;
* zero traffic (rate 0) -> nobody waits: P(wait) 0, service level 1, ASA 0,
  abandonment 0, occupancy 0, whatever the number of agents;
* patience None or inf -> Erlang C (M/M/N): agents <= traffic gives P(wait) 1,
  service level 0, ASA inf;
* finite patience -> Erlang A (M/M/N+M), stable for every agents >= 0; with 0 agents
  everyone abandons (P(wait) 1, abandonment 1, service level 0, ASA inf).

``agents`` may be non-integer (continuous extension through the incomplete gamma
function); chat queues use the slot model: N agents with concurrency k are N*k servers,
and ``aht`` is the handle time of one chat as observed under concurrency
(see :mod:`staffer.models.chat`).
"""

from __future__ import annotations

import math
from contextlib import suppress
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from staffer.models._numerics import Array, as_array, finish
from staffer.models._scalar import erlang_c_measures
from staffer.models._scalar_a import erlang_a_measures
from staffer.models.chat import servers_for
from staffer.models.erlang import erlang_c_metrics
from staffer.models.erlang_a import erlang_a_metrics


@dataclass(frozen=True, slots=True)
class _Inputs:
    rate: Array
    aht: Array
    servers: Array
    patience: Array
    target: Array
    scalar: bool
    shape: tuple[int, ...]
    valid: Array


def _inputs(rate, aht, agents, patience, concurrency, target=0.0) -> _Inputs:
    pat = np.inf if patience is None else patience
    raw = [as_array(v) for v in (rate, aht, agents, pat, concurrency, target)]
    scalar = all(r.ndim == 0 for r in raw)
    arrs = np.broadcast_arrays(*raw)
    shape = arrs[0].shape
    r, h, n, p, k, t = (np.ravel(v) for v in arrs)
    with np.errstate(invalid="ignore"):
        valid = (
            np.isfinite(r)
            & (r >= 0)
            & np.isfinite(h)
            & (h > 0)
            & (n >= 0)
            & (p > 0)
            & (k >= 1)
            & (t >= 0)
        )
    s = np.where(valid, servers_for(np.where(valid, n, 0.0), np.where(valid, k, 1.0)), 0.0)
    return _Inputs(r, h, s, p, t, scalar, shape, valid)


def _shaped(values: Array, inp: _Inputs) -> float | Array:
    return finish(values.reshape(inp.shape), inp.scalar)


def _evaluate(inp: _Inputs, what: str) -> Array:
    """One measure ('p_wait', 'service_level', 'asa', 'abandon', 'occupancy')."""
    out = np.full(inp.rate.shape, np.nan)
    v = inp.valid
    zero = v & (inp.rate == 0.0)
    out[zero] = {"service_level": 1.0}.get(what, 0.0)
    c_mask = v & ~zero & np.isinf(inp.patience)
    a_mask = v & ~zero & ~np.isinf(inp.patience)
    if c_mask.any():
        out[c_mask] = _erlang_c_measure(inp, c_mask, what)
    if a_mask.any():
        out[a_mask] = _erlang_a_measure(inp, a_mask, what)
    return out


def _erlang_c_measure(inp: _Inputs, m: Array, what: str) -> Array:
    lam, aht, n = inp.rate[m], inp.aht[m], inp.servers[m]
    if what == "abandon":
        return np.zeros_like(lam)
    if what == "occupancy":
        a = lam * aht
        stable = n > a
        return np.where(stable, a / np.where(stable, n, 1.0), np.where(n > 0, 1.0, 0.0))
    res = erlang_c_metrics(
        lam,
        aht,
        n,
        target=inp.target[m] if what == "service_level" else None,
        want_asa=what == "asa",
    )
    return res[what]


def _erlang_a_measure(inp: _Inputs, m: Array, what: str) -> Array:
    lam, aht, n, pat = inp.rate[m], inp.aht[m], inp.servers[m], inp.patience[m]
    res = erlang_a_metrics(
        lam,
        aht,
        n,
        pat,
        target=inp.target[m] if what == "service_level" else None,
        want_asa=what == "asa",
    )
    if what == "abandon":
        return res["p_abandon"]
    if what == "occupancy":
        carried = lam * aht * res["carried"]
        return np.where(n > 0, np.minimum(carried / np.where(n > 0, n, 1.0), 1.0), 0.0)
    return res[{"p_wait": "p_wait", "service_level": "service_level", "asa": "asa"}[what]]


SCALAR_TYPES = frozenset({int, float, np.float64, np.int64, np.float32, np.int32})


def is_scalar(*values: object) -> bool:
    """True when every value is a plain number (or None): the fast scalar path applies."""
    return all(v is None or type(v) in SCALAR_TYPES for v in values)


def _scalar(what: str, rate, aht, agents, patience, k, target=0.0) -> float:
    """Scalar twin of _evaluate (same edge rules), in plain math."""
    r, h, n, kk, t = float(rate), float(aht), float(agents), float(k), float(target)
    p = math.inf if patience is None else float(patience)
    if not (
        math.isfinite(r)
        and r >= 0
        and math.isfinite(h)
        and h > 0
        and n >= 0
        and p > 0
        and kk >= 1
        and t >= 0
    ):
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
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
) -> float | Array:
    """Probability that an arriving contact has to queue (Erlang C or Erlang A)."""
    if is_scalar(rate, aht, agents, patience, concurrency):
        with suppress(ArithmeticError, ValueError):  # never raise: vector path instead
            return _scalar("p_wait", rate, aht, agents, patience, concurrency)
    inp = _inputs(rate, aht, agents, patience, concurrency)
    return _shaped(_evaluate(inp, "p_wait"), inp)


def service_level(
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    target: ArrayLike,
    patience: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
) -> float | Array:
    """Fraction of ALL arrivals answered within ``target`` seconds (abandons are misses)."""
    if is_scalar(rate, aht, agents, target, patience, concurrency):
        with suppress(ArithmeticError, ValueError):  # never raise: vector path instead
            return _scalar("service_level", rate, aht, agents, patience, concurrency, target)
    inp = _inputs(rate, aht, agents, patience, concurrency, target)
    return _shaped(_evaluate(inp, "service_level"), inp)


def asa(
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
) -> float | Array:
    """Mean wait of answered contacts in seconds (including those answered at once)."""
    if is_scalar(rate, aht, agents, patience, concurrency):
        with suppress(ArithmeticError, ValueError):  # never raise: vector path instead
            return _scalar("asa", rate, aht, agents, patience, concurrency)
    inp = _inputs(rate, aht, agents, patience, concurrency)
    return _shaped(_evaluate(inp, "asa"), inp)


def abandon_ratio(
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike | None,
    concurrency: ArrayLike = 1,
) -> float | Array:
    """Fraction of arrivals that abandon (Erlang A); 0 when patience is None or inf."""
    if is_scalar(rate, aht, agents, patience, concurrency):
        with suppress(ArithmeticError, ValueError):  # never raise: vector path instead
            return _scalar("abandon", rate, aht, agents, patience, concurrency)
    inp = _inputs(rate, aht, agents, patience, concurrency)
    return _shaped(_evaluate(inp, "abandon"), inp)


def occupancy(
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
) -> float | Array:
    """Fraction of agent slot capacity busy: carried load / (agents * concurrency).

    Erlang C: traffic/servers, capped at 1 when unstable; Erlang A: the answered load.
    0 with zero agents or zero traffic.
    """
    if is_scalar(rate, aht, agents, patience, concurrency):
        with suppress(ArithmeticError, ValueError):  # never raise: vector path instead
            return _scalar("occupancy", rate, aht, agents, patience, concurrency)
    inp = _inputs(rate, aht, agents, patience, concurrency)
    return _shaped(_evaluate(inp, "occupancy"), inp)
