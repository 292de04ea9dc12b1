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

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from staffer.models import measures_scalar
from staffer.models.chat import servers_for
from staffer.models.erlang import erlang_c_measures
from staffer.models.erlang_a import erlang_a_measures
from staffer.models.fast_path import scalar_fast_path
from staffer.models.measures_scalar import Measure
from staffer.models.numerics import Array, Mask, broadcast_flat, finish


@dataclass(frozen=True, slots=True)
class _Inputs:
    rate: Array
    aht: Array
    servers: Array
    patience: Array
    target: Array
    scalar: bool
    shape: tuple[int, ...]
    valid: Mask


def _inputs(
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike | None,
    concurrency: ArrayLike,
    target: ArrayLike = 0.0,
) -> _Inputs:
    pat = np.inf if patience is None else patience
    (r, h, n, p, k, t), scalar, shape = broadcast_flat(rate, aht, agents, pat, concurrency, target)
    with np.errstate(invalid="ignore"):
        valid = valid_queues(r, h, p, k) & (n >= 0) & (t >= 0)
    s = np.where(valid, servers_for(np.where(valid, n, 0.0), np.where(valid, k, 1.0)), 0.0)
    return _Inputs(r, h, s, p, t, scalar, shape, valid)


def valid_queues(rate: Array, aht: Array, patience: Array, concurrency: Array) -> Mask:
    """Where a queue's inputs are meaningful (finite rate >= 0, finite aht > 0, ...)."""
    with np.errstate(invalid="ignore"):
        ok: Mask = (
            np.isfinite(rate)
            & (rate >= 0)
            & np.isfinite(aht)
            & (aht > 0)
            & (patience > 0)
            & (concurrency >= 1)
        )
    return ok


def _vectorised(
    what: Measure,
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike | None,
    concurrency: ArrayLike,
    target: ArrayLike = 0.0,
) -> float | Array:
    """One measure for broadcast inputs, shaped like them (a float for scalars)."""
    inp = _inputs(rate, aht, agents, patience, concurrency, target)
    return finish(_evaluate(inp, what).reshape(inp.shape), inp.scalar)


def _evaluate(inp: _Inputs, what: Measure) -> Array:
    """One measure of every element (NaN where the input is invalid)."""
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


def _erlang_c_measure(inp: _Inputs, m: Mask, what: Measure) -> Array:
    lam, aht, n = inp.rate[m], inp.aht[m], inp.servers[m]
    if what == "abandon":
        return np.zeros_like(lam)
    if what == "occupancy":
        a = lam * aht
        stable = n > a
        return np.where(stable, a / np.where(stable, n, 1.0), np.where(n > 0, 1.0, 0.0))
    res = erlang_c_measures(
        lam,
        aht,
        n,
        target=inp.target[m] if what == "service_level" else None,
        want_asa=what == "asa",
    )
    return res[what]


def _erlang_a_measure(inp: _Inputs, m: Mask, what: Measure) -> Array:
    lam, aht, n, pat = inp.rate[m], inp.aht[m], inp.servers[m], inp.patience[m]
    res = erlang_a_measures(
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
    return res[what]


@scalar_fast_path(measures_scalar.p_wait)
def p_wait(
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
) -> float | Array:
    """Probability that an arriving contact has to queue (Erlang C or Erlang A).

    100 calls an hour of 240 s on 8 agents, without and with a mean patience of 120 s:

    >>> round(p_wait(100 / 3600, 240.0, 8), 4), round(p_wait(100 / 3600, 240.0, 8, 120.0), 4)
    (0.5327, 0.3066)
    """
    return _vectorised("p_wait", rate, aht, agents, patience, concurrency)


@scalar_fast_path(measures_scalar.service_level)
def service_level(
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    target: ArrayLike,
    patience: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
) -> float | Array:
    """Fraction of ALL arrivals answered within ``target`` seconds (abandons are misses).

    >>> round(service_level(100 / 3600, 240.0, 8, 20.0), 4)
    0.5233
    >>> service_level(100 / 3600, 240.0, [7, 8, 9], 20.0).round(4)  # arrays broadcast
    array([0.1625, 0.5233, 0.7421])
    >>> round(service_level(0.05, 600.0, 12, 30.0, concurrency=3), 4)  # chat: 36 slots
    0.843
    >>> service_level(100 / 3600, 240.0, 6, 20.0)  # 6 agents for 6.67 Erlangs: unstable
    0.0
    """
    return _vectorised("service_level", rate, aht, agents, patience, concurrency, target)


@scalar_fast_path(measures_scalar.asa)
def asa(
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
) -> float | Array:
    """Mean wait of answered contacts in seconds (including those answered at once).

    >>> round(asa(100 / 3600, 240.0, 8), 2), asa(100 / 3600, 240.0, 6)
    (95.88, inf)
    """
    return _vectorised("asa", rate, aht, agents, patience, concurrency)


@scalar_fast_path(measures_scalar.abandon_ratio)
def abandon_ratio(
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike | None,
    concurrency: ArrayLike = 1,
) -> float | Array:
    """Fraction of arrivals that abandon (Erlang A); 0 when patience is None or inf.

    >>> round(abandon_ratio(100 / 3600, 240.0, 8, 120.0), 4), abandon_ratio(0.1, 240.0, 8, None)
    (0.0968, 0.0)
    """
    return _vectorised("abandon", rate, aht, agents, patience, concurrency)


@scalar_fast_path(measures_scalar.occupancy)
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

    >>> round(occupancy(100 / 3600, 240.0, 8), 4), round(occupancy(100 / 3600, 240.0, 8, 120.0), 4)
    (0.8333, 0.7527)
    """
    return _vectorised("occupancy", rate, aht, agents, patience, concurrency)
