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
    points: np.ndarray  # (T, G, 5): x, then vals (both views of it)
    x: np.ndarray  # (T, G) mean number in system (inf where unstable)
    vals: np.ndarray  # (T, G, 4): arrival rate, service level, abandonment, ASA
    last: np.ndarray  # (T,) last column with a finite x
    patience: np.ndarray  # (T,)
    servers: np.ndarray  # (T,)
    mu_s: np.ndarray  # (T,) service capacity s / aht


KEY = 1 << 32
RHO_C_PAD = np.pad(RHO_C, (0, len(RHO_A) - len(RHO_C)), constant_values=-1)  # -1: no point
MAX_FLOAT = float(np.finfo(float).max)
NO_CONTACTS = np.array([1.0, 0.0, 0.0])  # service level, abandonment, ASA of an empty row


def _erlang_c(
    lam: np.ndarray, aht: np.ndarray, s: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, sl, ab, asa) of M/M/s at the given points."""
    r = erlang_c_measures(lam, aht, s, target=t, want_asa=True)
    x = np.where(s > lam * aht, lam * aht + lam * r["asa"], np.inf)
    return x, r["service_level"], np.zeros(lam.shape), r["asa"]


def _erlang_a(
    lam: np.ndarray, aht: np.ndarray, s: np.ndarray, pat: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, sl, ab, asa) of M/M/s+M at the given points."""
    r = erlang_a_measures(lam, aht, s, pat, target=t, want_asa=True)
    pab = r["p_abandon"]
    x = lam * aht * (1.0 - pab) + lam * pat * pab  # Little, both parts
    return x, r["service_level"], pab, r["asa"]


def _measures(
    lam: np.ndarray, aht: np.ndarray, s: np.ndarray, pat: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, sl, ab, asa) of the stationary queue at the given points (1-d, same shape):
    Erlang A where the patience is finite, Erlang C elsewhere."""
    a = np.isfinite(pat)
    if not a.any():
        return _erlang_c(lam, aht, s, t)
    if a.all():
        return _erlang_a(lam, aht, s, pat, t)
    x, sl, ab, asa = (np.empty(lam.shape) for _ in range(4))
    c = ~a
    x[a], sl[a], ab[a], asa[a] = _erlang_a(lam[a], aht[a], s[a], pat[a], t[a])
    x[c], sl[c], ab[c], asa[c] = _erlang_c(lam[c], aht[c], s[c], t[c])
    return x, sl, ab, asa


@dataclass(frozen=True, slots=True)
class Probes:
    """Extra stationary points to evaluate in the same model call (1-d arrays)."""

    rate: np.ndarray
    aht: np.ndarray
    servers: np.ndarray
    patience: np.ndarray
    target_s: np.ndarray


def build_table(
    rows: Rows, key: np.ndarray, probes: Probes | None = None
) -> tuple[Table, np.ndarray, np.ndarray]:
    """Stationary measures for every (group, server count) in ``key`` (group * KEY +
    servers of each row and step), and the service level and abandonment at the
    ``probes`` (one model call for all)."""
    flat = np.sort(key, axis=None)
    new = np.empty(flat.size, dtype=bool)
    new[:1] = True
    np.not_equal(flat[1:], flat[:-1], out=new[1:])
    keys = flat[new]
    grp, srv = keys // KEY, (keys % KEY).astype(float)
    first = np.zeros(int(rows.group.max()) + 1, dtype=np.int64)
    first[rows.group[::-1]] = np.arange(len(rows.group))[::-1]  # a row of each group
    row = first[grp]
    aht, pat, tgt = rows.aht[row], rows.patience[row], rows.target_s[row]
    g = len(RHO_A)
    rho = np.where(np.isfinite(pat)[:, None], RHO_A, RHO_C_PAD)
    cap = np.maximum(srv, EPS) / aht
    lam = rho * cap[:, None]
    pad = rho < 0
    shape = lam.shape
    cut = lam.size
    extra = 0 if probes is None else probes.rate.size
    pts = np.empty((5, cut + extra))  # rate, aht, servers, patience, target per point
    pts[0, :cut] = np.where(pad, 1.0, lam).ravel()
    pts[1:, :cut] = np.repeat((aht, srv, pat, tgt), g, axis=1)
    if probes is not None:
        pts[:, cut:] = (probes.rate, probes.aht, probes.servers, probes.patience, probes.target_s)
    x, sl, ab, asa = _measures(*pts)
    probe_sl, probe_ab = sl[cut:], ab[cut:]
    points = np.empty((*shape, 5))  # x, then vals
    grid = points[:, :, 0]
    x = np.where(pad, np.inf, x[:cut].reshape(shape))
    np.maximum.accumulate(x, axis=1, out=grid)  # monotone despite rounding
    points[:, :, 1] = np.where(pad, np.inf, lam)
    points[:, :, 2] = sl[:cut].reshape(shape)
    points[:, :, 3] = ab[:cut].reshape(shape)
    np.minimum(asa[:cut].reshape(shape), ASA_CAP, out=points[:, :, 4])
    last = np.add.reduce(np.isfinite(grid), axis=1) - 1
    table = Table(keys, points, grid, points[:, :, 1:], last, pat, srv, srv / aht)
    return table, probe_sl, probe_ab


def _segments(table: np.ndarray, last: np.ndarray) -> np.ndarray:
    """For every row of ``table`` (T, G, c: an ascending grid, then the values on it) and
    count ``pos`` (0..G) of grid points below a value, the segment ``_interp`` uses: row
    ``t * (G + 1) + pos`` holds the segment's left end and its change to the right end."""
    n, g, c = table.shape
    pos = np.arange(g + 1)
    left = np.minimum(np.maximum(pos - 1, 0), np.maximum(last - 1, 0)[:, None])
    right = np.maximum(np.minimum(left + 1, last[:, None]), 0)  # only beyond rows clip
    base = (np.arange(n) * g)[:, None]
    flat = table.reshape(n * g, c)
    a, b = flat[(base + left).ravel()], flat[(base + right).ravel()]
    seg = np.empty((a.shape[0], 2 * c))
    seg[:, :c] = a
    np.subtract(b, a, out=seg[:, c:])
    return seg


def _interp(
    seg: np.ndarray, grid: np.ndarray, off: np.ndarray, last: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per case: the values of ``_segments`` interpolated where its grid meets ``v``
    (``grid`` the case's rows, ``off`` its table row * (G + 1)), and whether ``v`` lies
    past the row's ``last`` finite grid point (the values there are meaningless)."""
    pos = np.add.reduce(grid < v[:, None], axis=1)
    s = seg.take(off + pos, axis=0)
    c = s.shape[1] // 2
    lo, width = s[:, 0], s[:, c]
    w = np.where(width > 0, np.minimum(np.maximum((v - lo) / width, 0.0), 1.0), 0.0)
    return s[:, 1:c] + w[:, None] * s[:, c + 1 :], pos > last


@dataclass(frozen=True, slots=True)
class _EdgeA:
    """``_Edge``'s Erlang A part."""

    erl_a: np.ndarray
    cap: np.ndarray  # service capacity s / aht
    pat: np.ndarray
    pat1: np.ndarray  # patience where Erlang A, else 1
    cap_pat_eps: np.ndarray  # max(cap * patience, EPS)
    x_end: np.ndarray
    lam_end: np.ndarray


@dataclass(frozen=True, slots=True)
class _Edge:
    """Per (state, row): the table row's last finite point, which ``_beyond`` extends;
    arrays (n_states, rows). ``a`` is None when every row is Erlang C."""

    servers: np.ndarray
    cap_eps: np.ndarray  # max(s / aht, EPS)
    cap_pos: np.ndarray  # s / aht > 0
    asa_end: np.ndarray
    out: np.ndarray  # (n_states, rows, 4) buffers, constant columns filled
    a: _EdgeA | None


def _edge(tb: Table, ti: np.ndarray) -> _Edge:
    """``_Edge`` of the table rows ``ti`` (n_states, rows)."""
    top = tb.points[np.arange(tb.last.size), tb.last]
    pat, cap = tb.patience, tb.mu_s
    erl_a = np.isfinite(pat)
    out = np.zeros((*ti.shape, 4))
    out[..., 0] = np.maximum(cap, 0.0)[ti]  # every server busy (Erlang A: by ``_beyond``)
    a = None
    if erl_a.any():
        a = _EdgeA(
            erl_a=erl_a[ti],
            cap=cap[ti],
            pat=pat[ti],
            pat1=np.where(erl_a, pat, 1.0)[ti],
            cap_pat_eps=np.maximum(cap * pat, EPS)[ti],
            x_end=top[ti, 0],
            lam_end=top[ti, 1],
        )
    return _Edge(
        servers=tb.servers[ti],
        cap_eps=np.maximum(cap, EPS)[ti],
        cap_pos=(cap > 0)[ti],
        asa_end=top[ti, 4],
        out=out,
        a=a,
    )


def _beyond(e: _Edge, j: int, x: np.ndarray) -> np.ndarray:
    """(n, 4) of state ``j`` at ``x`` past the rows' last finite point: every server busy,
    Erlang A shedding the excess by abandonment."""
    out: np.ndarray = e.out[j]
    queued = np.maximum(x - e.servers[j], 0.0)
    # the wait of a contact joining ``queued`` others (Erlang A: those ahead abandon too)
    wait = np.where(e.cap_pos[j], queued / e.cap_eps[j], np.inf)
    if e.a is not None:
        erl_a, cap, pat = e.a.erl_a[j], e.a.cap[j], e.a.pat[j]
        lam = np.where(erl_a, e.a.lam_end[j] + (x - e.a.x_end[j]) / e.a.pat1[j], cap)
        np.maximum(lam, 0.0, out=out[:, 0])
        shed = np.minimum(np.maximum(1.0 - cap / lam, 0.0), 1.0)
        out[:, 2] = np.where(erl_a & (lam > 0), shed, 0.0)
        wait = np.where(erl_a, pat * np.log1p(queued / e.a.cap_pat_eps[j]), wait)
    np.maximum(wait, e.asa_end[j], out=out[:, 3])
    return out


def _equilibrium(tb: Table, ti: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Stationary mean number in system at arrival rate ``lam`` (inf when unstable)."""
    grid = tb.vals[:, :, 0]
    seg = _segments(tb.points[:, :, 1::-1], tb.last)  # x on the arrival-rate grid
    last = tb.last[ti]
    x, beyond = _interp(seg, grid[ti], ti * (grid.shape[1] + 1), last, lam)
    x = x[:, 0]
    if beyond.any():  # Erlang A past the table: each extra arrival waits out its patience
        b = np.flatnonzero(beyond)
        t, end = ti[b], last[b]
        pat = tb.patience[t]
        over = tb.x[t, end] + (lam[b] - tb.vals[t, end, 0]) * pat  # inf * 0 where Erlang C
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
    """``evaluate`` (floating-point errors ignored by the caller)."""
    n_rows, steps = rows.rate.shape
    key = rows.group[:, None].astype(np.int64) * KEY + rows.servers.astype(np.int64)
    tb, probe_sl, probe_ab = build_table(rows, key, probes)
    tix = np.searchsorted(tb.key, key)
    eq = _equilibrium(tb, tix.ravel(), rows.rate.ravel()).reshape(n_rows, steps)
    finite = np.isfinite(eq)
    # the state at the start of each step and at the end: table rows per state and row
    ti = tix.T[np.minimum(np.arange(steps + 1), steps - 1)]
    seg, g = _segments(tb.points, tb.last), tb.x.shape[1]
    grid, off, last, edge = tb.x[ti], ti * (g + 1), tb.last[ti], _edge(tb, ti)
    states = np.empty((steps + 1, n_rows, 4))  # arrival rate, sl, abandonment, ASA

    def state(j: int, at: np.ndarray) -> None:
        out, beyond = _interp(seg, grid[j], off[j], last[j], at)
        if beyond.any():
            np.copyto(out, _beyond(edge, j, at), where=beyond[:, None])
        states[j] = out

    dt = rows.dt.astype(float)
    x = rows.x0.astype(float)
    state(0, x)
    for k in range(steps):
        x = _relax(x, eq[:, k], finite[:, k], rows.rate[:, k], float(dt[k]), states[k, :, 0])
        state(k + 1, x)
    arrivals = rows.rate * dt
    terms = np.empty((steps, n_rows, 4))  # per step: arrival-weighted measures, arrivals
    np.minimum(states[:-1, :, 1:] + states[1:, :, 1:], 2 * ASA_CAP, out=terms[:, :, :3])
    terms[:, :, :3] *= (arrivals * 0.5).T[:, :, None]
    terms[:, :, 3] = arrivals.T
    acc = np.zeros((n_rows, 4))
    for term in terms:  # step by step, as the horizon runs
        acc += term
    weight = acc[:, 3]
    none = weight <= 0
    w = np.where(none, 1.0, weight)[:, None]
    mean = np.where(none[:, None], NO_CONTACTS, acc[:, :3] / w)
    # the weighted mean of capped waits may round just below the cap: still "never"
    answered = np.isfinite(mean[:, 2]) & (mean[:, 2] < ASA_CAP * (1.0 - 1e-9))
    mean[:, 2] = np.where(answered, mean[:, 2], np.inf)
    return Prediction(mean[:, 0], mean[:, 1], mean[:, 2]), probe_sl, probe_ab


def _relax(
    x: np.ndarray,
    eq: np.ndarray,
    finite: np.ndarray,
    lam: np.ndarray,
    dt: float,
    out_now: np.ndarray,
) -> np.ndarray:
    """``x`` after ``dt``: towards the equilibrium ``eq`` (where ``finite``) at the secant
    rate of the throughput ``out_now`` (at ``x``); without equilibrium (Erlang C
    overloaded) the queue builds up at the excess of arrivals over throughput."""
    gap = x - eq
    rate = np.where(np.abs(gap) > 1e-9, (out_now - lam) / gap, 0.0)
    # nan -> 0, inf -> the largest float (as nan_to_num), negative -> 0
    relaxed = eq + gap * np.exp(np.minimum(np.fmax(rate, 0.0), MAX_FLOAT) * -dt)
    growing = x + (lam - out_now) * dt
    out: np.ndarray = np.maximum(np.where(finite, relaxed, growing), 0.0)
    return out
