"""Real-time queues' predicted service level for every count the planner may choose.

For each voice/chat queue and each change ``k`` in [-reach, reach] of its agents, one
staffing path over the planning steps: the agents serving now, the roster's known changes
(in-flight agents arriving at their expected switch time, agents leaving at their
``available_until``), and the k agents themselves: added ones arrive ``switch_cost_s``
after a typical mover's contact ends, removed ones leave when a typical donor's contact
ends. Each path runs through the transient predictor at three arrival-rate levels (the
forecast's uncertainty, the count's Poisson variation widened per channel by the realised
service level's extra noise, Gauss-Hermite weights), starting from the contacts in the
system now. ``required`` (steady state at the forecast rate) comes from the same model call.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from staffer.core.forecast import QueueForecast
from staffer.core.reforecast import GH_MEDIAN, GH_W, rate_multipliers
from staffer.core.required import Goals, from_sweep, search_range
from staffer.core.roster import Roster, typical_left
from staffer.core.transient import Probes, Rows, evaluate
from staffer.models import DEFAULT_MAX_ABANDON
from staffer.settings import QueueSettings

DENSE = 2  # count changes evaluated one by one; beyond, a few out to the edge
CHAT_EXTRA_SLOT = 0.125  # a busy chat agent's open chats end later: +1/8 AHT per extra slot
# Extra variance of the realised service level, in units of the arrival count's Poisson
# variance (``spread``): a chat's slot is held for a variable time and a busy agent slows
# down, so 30-minute chat service levels scatter far more (sd ~0.11 over seeds) than the
# arrival count explains; voice's scatter is the count's. Planning chat at the mean would
# miss its goal about half the time.
CHAT_NOISE_K = 2.0
VOICE_NOISE_K = 0.0


@dataclass(frozen=True, slots=True)
class Curves:
    """Per real-time queue (rows) and count change (columns, reach = no change).

    The planner plans on the means over the rate levels; a plan reports the medians (the
    level at the rate's median: every measure is monotone in the rate, so it is the
    measure's median too), the point forecast with the least expected absolute error."""

    sl: np.ndarray  # mean over the rate levels (Q, W)
    abandon: np.ndarray
    median: np.ndarray  # (3, Q, W): service level, abandonment, ASA at the median rate
    sl_levels: np.ndarray  # at each rate level (Q, M, W), weights ``GH_W``
    abandon_levels: np.ndarray
    required: np.ndarray  # (Q,)
    short_now: np.ndarray  # bool (Q,): predicted below goal (or over the abandonment cap) now


def noise_k(channel: str) -> float:
    """The realised service level's extra noise of ``channel`` (``CHAT_NOISE_K``)."""
    return CHAT_NOISE_K if channel == "chat" else VOICE_NOISE_K


def residual_s(q: QueueSettings, aht: float) -> float:
    """Expected time until a busy agent of ``q`` is free of its contact(s)."""
    return aht * (1.0 + CHAT_EXTRA_SLOT * (q.concurrency - 1))


def step_edges(horizon_s: float) -> np.ndarray:
    """Planning steps: short first (a backlog drains, movers arrive), longer later."""
    frac = np.array([0.0, 0.06, 0.16, 0.32, 0.53, 0.76, 1.0])
    return frac * horizon_s


def sparse_changes(reach: int) -> np.ndarray:
    """The count changes evaluated: every one within ``DENSE`` of now, then about doubling
    out to the edge (the curves are smooth there; ``_widen`` interpolates)."""
    near = np.arange(-min(DENSE, reach), min(DENSE, reach) + 1)
    if reach <= DENSE:
        return near
    far = np.unique(np.round(np.geomspace(DENSE + 1, reach, 3)).astype(np.int64))
    return np.unique(np.concatenate((near, far, -far)))


@functools.cache
def _changes(reach: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``sparse_changes(reach)`` and, for every change in -reach..reach, the evaluated ones
    either side of it (indices) and its weight between them; cached (they depend on
    ``reach`` only), read-only."""
    ks = sparse_changes(reach)
    full = np.arange(-reach, reach + 1)
    if ks.size == 1:  # every change is the one evaluated
        left = right = np.zeros(full.size, dtype=np.int64)
        w = np.zeros(full.size)
    else:
        left = np.clip(np.searchsorted(ks, full, side="right") - 1, 0, ks.size - 2)
        right = left + 1
        w = (full - ks[left]) / (ks[right] - ks[left])
    for v in (ks, left, right, w):
        v.flags.writeable = False
    return ks, left, right, w


def _paths(
    roster: Roster, qs: Sequence[QueueSettings], ks: np.ndarray, mids: np.ndarray, switch_s: float
) -> np.ndarray:
    """Slots serving each queue of ``qs`` in each step (last axis), for each count change in
    ``ks`` (middle axis)."""
    reach = int(np.abs(ks).max(initial=0))
    base = np.empty((len(qs), mids.size))
    t_in, t_out = np.empty((len(qs), 1, 1)), np.empty((len(qs), 1, 1))
    for i, q in enumerate(qs):
        base[i] = float(roster.present[q.id])
        for t, d in roster.events[q.id]:
            base[i] += d * (mids >= t)
        t_in[i] = typical_left(roster.movers_in[q.id], reach) + switch_s
        t_out[i] = typical_left(roster.movers_out[q.id], reach)
    k = ks[:, None]
    change = k * np.where(k > 0, mids >= t_in, mids >= t_out)
    conc = np.array([q.concurrency for q in qs])[:, None, None]
    paths: np.ndarray = np.maximum(base[:, None, :] + change, 0.0) * conc
    return paths


def _probes(g: Goals) -> tuple[np.ndarray, np.ndarray, Probes]:
    """Steady-state points that bracket ``required``: square-root staffing with beta 0..2.5
    (what service-level goals usually need); ``from_sweep`` searches on when it misses."""
    lo, hi = search_range(g)
    slots = g.load * g.conc
    lo = np.maximum(lo, np.floor((slots - 1.0) / g.conc).astype(np.int64))
    hi = np.minimum(hi, np.ceil((slots + 2.5 * np.sqrt(slots) + 3.0) / g.conc).astype(np.int64))
    sizes = np.maximum(hi - lo + 1, 0)
    idx = np.repeat(np.arange(len(lo)), sizes)
    n = np.arange(int(sizes.sum())) + np.repeat(lo - (np.cumsum(sizes) - sizes), sizes)
    return (
        lo,
        hi,
        Probes(g.rate[idx], g.aht[idx], n * g.conc[idx], g.patience[idx], g.target_s[idx]),
    )


def _x0(q: QueueSettings, f: QueueForecast, roster: Roster) -> float:
    """Contacts in the system now: in service plus waiting."""
    slots = roster.present[q.id] * q.concurrency
    if q.channel == "voice":
        return float(roster.busy[q.id] + f.waiting)
    if f.waiting > 0:  # a chat waits only while every slot is taken
        return float(slots + f.waiting)
    return float(min(f.arrival_rate * f.aht_s, slots))


def realtime_curves(
    qs: Sequence[QueueSettings],
    fcs: Sequence[QueueForecast],
    goals: Sequence[tuple[float, float]],
    roster: Roster,
    reach: int,
    edges: np.ndarray,
    switch_s: float,
) -> Curves:
    """Predictions for every queue of ``qs`` (voice/chat) and count change, and required."""
    mids, dt = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    ks, left, right, weight = _changes(reach)
    nq, w, m, steps = len(qs), ks.size, len(GH_W), mids.size
    horizon = float(edges[-1])
    mult = np.array(
        [
            rate_multipliers(spread(f, horizon, noise_k(q.channel)))
            for q, f in zip(qs, fcs, strict=True)
        ]
    )
    step_rates = np.array([f.step_rates for f in fcs])
    # rows: queue, then rate level, then count change
    rate = mult[:, :, None, None] * step_rates[:, None, None, :]
    servers = _paths(roster, qs, ks, mids, switch_s)[:, None]
    per_queue = [
        (_x0(q, f, roster), f.aht_s, np.inf if f.patience_s is None else f.patience_s, g[1])
        for q, f, g in zip(qs, fcs, goals, strict=True)
    ]
    x0, aht, pat, tgt = np.repeat(np.array(per_queue, dtype=float).T, m * w, axis=1)
    g = _goals(qs, fcs, goals)
    lo, hi, probes = _probes(g)
    rows = Rows(
        rate.repeat(w, axis=2).reshape(-1, steps),
        servers.repeat(m, axis=1).reshape(-1, steps),
        x0,
        aht,
        pat,
        tgt,
        np.repeat(np.arange(nq), m * w),
        dt,
    )
    pred, p_sl, p_ab = evaluate(rows, probes)
    levels = _widen(
        np.stack((pred.service_level, pred.abandon, pred.asa_s)).reshape(3, nq, m, w),
        left,
        right,
        weight,
    )
    sl, ab = np.einsum("lqmw,m->lqw", levels[:2], GH_W)
    required = from_sweep(g, lo, hi, p_sl, p_ab)
    short = (sl[:, reach] < g.goal - 1e-9) | (ab[:, reach] > g.cap)
    sl, ab = np.clip((sl, ab), 0, 1)
    sl_levels, ab_levels = np.clip(levels[:2], 0, 1)
    median = np.stack((sl_levels, ab_levels, levels[2]))[:, :, GH_MEDIAN]
    return Curves(sl, ab, median, sl_levels, ab_levels, required, short)


def _widen(v: np.ndarray, left: np.ndarray, right: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Values at the evaluated changes (last axis) interpolated to every change: weight
    ``w`` between the evaluated ones at indices ``left`` and ``right`` (``_changes``)."""
    a, b = v[..., left], v[..., right]
    with np.errstate(invalid="ignore"):  # an infinite ASA stays infinite
        mixed = a + w * (b - a)
    out: np.ndarray = np.where(w <= 0.0, a, np.where(w >= 1.0, b, mixed))
    return out


def spread(f: QueueForecast, horizon_s: float, noise: float = 0.0) -> float:
    """Relative spread of the arrivals the horizon will see: the forecast's uncertainty and
    the Poisson variation of the count itself (what the realised service level feels),
    the latter ``1 + noise`` times wider in variance (the channel's extra noise)."""
    expected = f.arrival_rate * horizon_s
    return math.sqrt(f.rel_sd**2 + (1.0 + noise) / max(expected, 1.0))


def arr(values: Iterable[float]) -> np.ndarray:
    """A float array of ``values``."""
    return np.array(list(values), dtype=float)


def _goals(
    qs: Sequence[QueueSettings], fcs: Sequence[QueueForecast], goals: Sequence[tuple[float, float]]
) -> Goals:
    pat = arr(np.inf if f.patience_s is None else f.patience_s for f in fcs)
    cap = arr(q.max_abandon if q.max_abandon is not None else DEFAULT_MAX_ABANDON for q in qs)
    return Goals(
        rate=arr(f.arrival_rate for f in fcs),
        aht=arr(f.aht_s for f in fcs),
        goal=arr(g[0] for g in goals),
        target_s=arr(g[1] for g in goals),
        patience=pat,
        conc=arr(q.concurrency for q in qs),
        cap=np.where(np.isfinite(pat), cap, np.inf),
    )
