"""Service level over the next minutes from the current queue: a transient predictor.

A steady-state model answers "what if this went on forever"; the plan needs "what happens
to the contacts arriving in the next half hour, starting from the queue we have now, with
agents arriving and leaving at known times". This module uses the pointwise-stationary
fluid approximation (PSFFA, Wang, Kulkarni & ... and Massey's line of work): the state is
the mean number of contacts in the system ``x``; at every instant the queue is taken to
look like the stationary M/M/s(+M) queue whose mean number in system is ``x``, i.e. the one
with arrival rate ``lam_eff(x)``. Contacts leave at that queue's throughput, so

    dx/dt = lam(t) - lam_eff(x, s(t)),

and a contact arriving at ``t`` is answered within the target with that queue's service
level. ``x(0)`` is what is in the system now (contacts in service plus waiting), so a
backlog drains over the first minutes instead of being averaged into an inflated rate.
Erlang A where patience is known (abandonment drains a backlog too), Erlang C otherwise;
chat queues are slots (agents x concurrency) with the per-chat handle time.

The stationary measures come from ``staffer.models`` on a small table per queue: for every
server count on any path, arrival rates at fixed utilisations (``RHO``); between them the
functions are interpolated. Each step integrates the ODE exactly for the secant slope
(``x`` relaxes exponentially towards the equilibrium of the step's rate), so no step
overshoots. Results are arrival-weighted means over the horizon. Pure numpy, no state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from staffer.models.erlang import erlang_c_measures
from staffer.models.erlang_a import erlang_a_measures

# utilisations of the table's rates (lam = rho * s / aht); Erlang C stops short of 1
RHO_C = np.array([0.02, 0.45, 0.68, 0.82, 0.9, 0.95, 0.97])
RHO_A = np.array([0.02, 0.45, 0.7, 0.85, 0.95, 1.05, 1.2, 1.5, 2.2, 4.0, 8.0])
EPS = 1e-12
ASA_CAP = 1e9  # waits beyond this are "never answered" (reported as inf)


@dataclass(frozen=True, slots=True)
class Rows:
    """One case per row: a queue under one staffing path and one arrival-rate path.

    ``rate`` and ``servers`` have shape (rows, steps): arrivals per second and servers
    (slots: agents x concurrency) during each step of length ``dt[step]``. ``x0`` is the
    number of contacts in the system at the start. ``aht``, ``patience`` (inf: Erlang C)
    and ``target_s`` are per row; rows of one queue share them, and ``group`` says which
    queue a row belongs to (rows of a group share one table of stationary measures).
    """

    rate: np.ndarray
    servers: np.ndarray
    x0: np.ndarray
    aht: np.ndarray
    patience: np.ndarray
    target_s: np.ndarray
    group: np.ndarray
    dt: np.ndarray


@dataclass(frozen=True, slots=True)
class Prediction:
    """Arrival-weighted means over the horizon, per row."""

    service_level: np.ndarray
    abandon: np.ndarray
    asa_s: np.ndarray


@dataclass(frozen=True, slots=True)
class Table:
    """Stationary measures at (server count, utilisation) points, one row per pair
    (group, servers); columns follow the utilisation grid of the row's model."""

    key: np.ndarray  # sorted group * KEY + servers
    x: np.ndarray  # (T, G) mean number in system (inf where unstable)
    vals: np.ndarray  # (T, G, 4): arrival rate, service level, abandonment, ASA
    last: np.ndarray  # (T,) last column with a finite x
    patience: np.ndarray  # (T,)
    target: np.ndarray  # (T,)
    servers: np.ndarray  # (T,)
    mu_s: np.ndarray  # (T,) service capacity s / aht


KEY = 1 << 32


def _measures(
    lam: np.ndarray, aht: np.ndarray, s: np.ndarray, pat: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, sl, ab, asa) of the stationary queue at the given points (1-d, same shape)."""
    x = np.full(lam.shape, np.inf)
    sl, ab, asa = np.zeros(lam.shape), np.zeros(lam.shape), np.full(lam.shape, np.inf)
    a = np.isfinite(pat)
    if a.any():
        r = erlang_a_measures(lam[a], aht[a], s[a], pat[a], target=t[a], want_asa=True)
        pab = r["p_abandon"]
        x[a] = lam[a] * aht[a] * (1.0 - pab) + lam[a] * pat[a] * pab  # Little, both parts
        sl[a], ab[a], asa[a] = r["service_level"], pab, r["asa"]
    c = ~a
    if c.any():
        r = erlang_c_measures(lam[c], aht[c], s[c], target=t[c], want_asa=True)
        stable = s[c] > lam[c] * aht[c]
        x[c] = np.where(stable, lam[c] * aht[c] + lam[c] * r["asa"], np.inf)
        sl[c], asa[c] = r["service_level"], r["asa"]
    return x, sl, ab, asa


@dataclass(frozen=True, slots=True)
class Probes:
    """Extra stationary points to evaluate in the same model call (1-d arrays)."""

    rate: np.ndarray
    aht: np.ndarray
    servers: np.ndarray
    patience: np.ndarray
    target_s: np.ndarray


def build_table(rows: Rows, probes: Probes | None = None) -> tuple[Table, np.ndarray, np.ndarray]:
    """Stationary measures for every (group, server count) that any row's path visits,
    and the service level and abandonment at the ``probes`` (one model call for all)."""
    keys = np.unique(rows.group[:, None].astype(np.int64) * KEY + rows.servers.astype(np.int64))
    grp, srv = keys // KEY, (keys % KEY).astype(float)
    first = np.zeros(int(rows.group.max()) + 1, dtype=np.int64)
    first[rows.group[::-1]] = np.arange(len(rows.group))[::-1]  # a row of each group
    aht, pat, tgt = (v[first[grp]] for v in (rows.aht, rows.patience, rows.target_s))
    erlang_a = np.isfinite(pat)
    g = len(RHO_A)
    rho = np.where(
        erlang_a[:, None], RHO_A[None, :], np.pad(RHO_C, (0, g - len(RHO_C)), constant_values=-1)
    )
    cap = np.maximum(srv, EPS) / aht
    lam = rho * cap[:, None]
    pad = rho < 0
    shape = lam.shape
    pts = [np.where(pad, 1.0, lam).ravel(), *(np.repeat(v, g) for v in (aht, srv, pat, tgt))]
    extra = 0
    if probes is not None:
        extra = probes.rate.size
        more = (probes.rate, probes.aht, probes.servers, probes.patience, probes.target_s)
        pts = [
            np.concatenate((a, np.asarray(b, dtype=float))) for a, b in zip(pts, more, strict=True)
        ]
    x, sl, ab, asa = _measures(*pts)
    cut = x.size - extra
    probe_sl, probe_ab = sl[cut:], ab[cut:]
    x, sl, ab, asa = (v[:cut].reshape(shape) for v in (x, sl, ab, asa))
    x = np.maximum.accumulate(np.where(pad, np.inf, x), axis=1)  # monotone despite rounding
    lam = np.where(pad, np.inf, lam)
    vals = np.stack((lam, sl, ab, np.minimum(asa, ASA_CAP)), axis=2)
    last = np.isfinite(x).sum(axis=1) - 1
    table = Table(keys, x, vals, last, pat, tgt, srv, srv / aht)
    return table, probe_sl, probe_ab


def _interp(
    grid: np.ndarray, vals: np.ndarray, last: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: ``vals`` (R, G, k) interpolated where ``grid`` (R, G, ascending) meets
    ``v``, and whether ``v`` lies past the row's last finite grid point."""
    r = np.arange(len(v))
    pos = (grid < v[:, None]).sum(axis=1)
    beyond = pos > last
    left = np.minimum(np.maximum(pos - 1, 0), np.maximum(last - 1, 0))
    right = np.minimum(left + 1, last)
    lo, hi = grid[r, left], grid[r, right]
    w = np.where(hi > lo, np.minimum(np.maximum((v - lo) / (hi - lo), 0.0), 1.0), 0.0)
    a, b = vals[r, left], vals[r, right]
    return a + w[:, None] * (b - a), beyond  # columns up to ``last`` are finite


def _beyond(tb: Table, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(n, 4) at ``x`` past the table rows ``t``: every server busy, Erlang A shedding the
    excess by abandonment."""
    pat, cap, end = tb.patience[t], tb.mu_s[t], tb.last[t]
    erl_a = np.isfinite(pat)
    x_end, top = tb.x[t, end], tb.vals[t, end]
    lam = np.where(erl_a, top[:, 0] + (x - x_end) / np.where(erl_a, pat, 1.0), cap)
    queued = np.maximum(x - tb.servers[t], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        shed = np.where(erl_a & (lam > 0), np.clip(1.0 - cap / lam, 0.0, 1.0), 0.0)
        # the wait of a contact joining ``queued`` others (Erlang A: those ahead abandon too)
        fluid = np.where(cap > 0, queued / np.maximum(cap, EPS), np.inf)
        wait = np.where(erl_a, pat * np.log1p(queued / np.maximum(cap * pat, EPS)), fluid)
    return np.column_stack(
        (np.maximum(lam, 0.0), np.zeros(t.size), shed, np.maximum(wait, top[:, 3]))
    )


def _equilibrium(tb: Table, ti: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Stationary mean number in system at arrival rate ``lam`` (inf when unstable)."""
    x, beyond = _interp(tb.vals[ti][:, :, 0], tb.x[ti][:, :, None], tb.last[ti], lam)
    x = x[:, 0]
    if beyond.any():  # Erlang A past the table: each extra arrival waits out its patience
        b = np.flatnonzero(beyond)
        t, end = ti[b], tb.last[ti[b]]
        pat = tb.patience[t]
        with np.errstate(invalid="ignore"):  # inf * 0 where Erlang C (replaced below)
            over = tb.x[t, end] + (lam[b] - tb.vals[t, end, 0]) * pat
        x[b] = np.where(np.isfinite(pat), over, np.inf)
    return x


def predict(rows: Rows) -> Prediction:
    """Arrival-weighted service level, abandonment and ASA of each row over its horizon."""
    return evaluate(rows)[0]


def evaluate(rows: Rows, probes: Probes | None = None) -> tuple[Prediction, np.ndarray, np.ndarray]:
    """``predict`` plus the stationary service level and abandonment at ``probes``.

    Each step relaxes ``x`` exponentially towards the step's equilibrium with the secant
    rate of the throughput (exact for a linear throughput, never overshooting); the
    measures over a step are the mean of those at its two ends (trapezoid).
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # inf arithmetic
        return _evaluate(rows, probes)


def _evaluate(rows: Rows, probes: Probes | None) -> tuple[Prediction, np.ndarray, np.ndarray]:
    tb, probe_sl, probe_ab = build_table(rows, probes)
    n_rows, steps = rows.rate.shape
    key = rows.group[:, None].astype(np.int64) * KEY + rows.servers.astype(np.int64)
    tix = np.searchsorted(tb.key, key)
    eq = _equilibrium(tb, tix.ravel(), rows.rate.ravel()).reshape(n_rows, steps)
    grid, vals, last = tb.x[tix], tb.vals[tix], tb.last[tix]  # per row and step
    x = rows.x0.astype(float).copy()
    acc = np.zeros((n_rows, 3))
    weight = np.zeros(n_rows)

    def state(k: int, at: np.ndarray) -> np.ndarray:
        out, beyond = _interp(grid[:, k], vals[:, k], last[:, k], at)
        if beyond.any():
            b = np.flatnonzero(beyond)
            out[b] = _beyond(tb, tix[b, k], at[b])
        return out

    now = state(0, x)
    for k in range(steps):
        lam, dt = rows.rate[:, k], float(rows.dt[k])
        x = _relax(x, eq[:, k], lam, dt, now[:, 0])
        after = state(min(k + 1, steps - 1), x)
        arrivals = lam * dt
        acc += arrivals[:, None] * 0.5 * np.minimum(now[:, 1:] + after[:, 1:], 2 * ASA_CAP)
        weight += arrivals
        now = after
    none = weight <= 0
    w = np.where(none, 1.0, weight)[:, None]
    mean = np.where(none[:, None], np.array([1.0, 0.0, 0.0]), acc / w)
    mean[:, 2] = np.where(np.isfinite(mean[:, 2]) & (mean[:, 2] < ASA_CAP), mean[:, 2], np.inf)
    return Prediction(mean[:, 0], mean[:, 1], mean[:, 2]), probe_sl, probe_ab


def _relax(
    x: np.ndarray, eq: np.ndarray, lam: np.ndarray, dt: float, out_now: np.ndarray
) -> np.ndarray:
    """``x`` after ``dt``: towards the equilibrium ``eq`` at the secant rate of the
    throughput ``out_now`` (at ``x``); without equilibrium (Erlang C overloaded) the
    queue builds up at the excess of arrivals over throughput."""
    gap = x - eq
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        rate = np.where(np.abs(gap) > 1e-9, (out_now - lam) / gap, 0.0)
        relaxed = eq + gap * np.exp(-np.maximum(np.nan_to_num(rate), 0.0) * dt)
    growing = x + (lam - out_now) * dt
    out: np.ndarray = np.maximum(np.where(np.isfinite(eq), relaxed, growing), 0.0)
    return out
