"""TEMPORARY stand-in for staffer.models until it lands (tests only; crude but monotone)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def _c(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    b = stats.poisson.pmf(n, a) / np.maximum(stats.poisson.cdf(n, a), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = b / (1 - (a / np.maximum(n, 1e-9)) * (1 - b))
    return np.where(n > a, np.clip(c, 0, 1), 1.0)


def _prep(rate, aht, agents, concurrency):  # type: ignore[no-untyped-def]
    rate, aht, agents, conc = np.broadcast_arrays(*(np.asarray(x, float) for x in (
        rate, aht, agents, concurrency)))
    return rate * aht, agents * conc, aht / conc, rate


def service_level(rate, aht, agents, target, patience=None, concurrency=1):  # type: ignore[no-untyped-def]
    a, n, s, _ = _prep(rate, aht, agents, concurrency)
    c = _c(a, n)
    with np.errstate(over="ignore", invalid="ignore"):
        sl = 1 - c * np.exp(-(n - a) * np.asarray(target, float) / np.maximum(s * 1.0, 1e-9)
                            * (1 / np.maximum(np.asarray(aht, float) / s, 1)))
    return np.where(a <= 0, 1.0, np.where(n > a, np.clip(sl, 0, 1), 0.0))


def asa(rate, aht, agents, patience=None, concurrency=1):  # type: ignore[no-untyped-def]
    a, n, _, _ = _prep(rate, aht, agents, concurrency)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = _c(a, n) * np.asarray(aht, float) / np.maximum(n - a, 1e-9)
    return np.where(a <= 0, 0.0, np.where(n > a, w, np.inf))


def abandon_ratio(rate, aht, agents, patience, concurrency=1):  # type: ignore[no-untyped-def]
    a, n, _, _ = _prep(rate, aht, agents, concurrency)
    w = np.minimum(asa(rate, aht, agents, None, concurrency), 1e9)
    p = np.asarray(patience, float)
    return np.where(a <= 0, 0.0, _c(a, n) * w / (w + p))


def required_agents(rate, aht, target, sl, patience=None, concurrency=1, max_abandon=None):  # type: ignore[no-untyped-def]
    rate, aht, target, sl, conc = np.broadcast_arrays(*(np.asarray(x, float) for x in (
        rate, aht, target, sl, concurrency)))
    out = np.zeros(rate.shape, dtype=np.int64)
    for i in np.ndindex(rate.shape):
        n = 0
        while service_level(rate[i], aht[i], n, target[i], None, conc[i]) < sl[i]:
            n += 1
        out[i] = n
    return out


def email_on_time_ratio(backlog, rate, aht, agents, target_s, oldest_age_s=0.0):  # type: ignore[no-untyped-def]
    backlog, rate, aht, agents, t, old = np.broadcast_arrays(*(np.asarray(x, float) for x in (
        backlog, rate, aht, agents, target_s, oldest_age_s)))
    mu = agents / aht
    left = np.maximum(t - old, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        done = np.where(backlog > 0, np.minimum(1.0, mu * left / backlog), 1.0)
    return np.where(mu >= rate, done, np.where(rate > 0, mu / np.maximum(rate, 1e-12), 1.0) * done)


def email_required_agents(backlog, rate, aht, target_s, oldest_age_s=0.0, horizon_s=None):  # type: ignore[no-untyped-def]
    backlog, rate, aht, t, old = np.broadcast_arrays(*(np.asarray(x, float) for x in (
        backlog, rate, aht, target_s, oldest_age_s)))
    left = np.maximum(t - old, 60.0)
    return np.ceil(backlog * aht / left + rate * aht - 1e-9).astype(np.int64)


NAMES = ("service_level", "asa", "abandon_ratio", "required_agents", "email_on_time_ratio",
         "email_required_agents")
