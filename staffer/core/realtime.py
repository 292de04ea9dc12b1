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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from staffer.core.forecast import QueueForecast
from staffer.core.reforecast import GH_W, rate_multipliers
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
    """Per real-time queue (rows) and count change (columns, reach = no change)."""

    sl: np.ndarray  # mean over the rate levels (Q, W)
    abandon: np.ndarray
    asa: np.ndarray
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


def _paths(roster: Roster, q: str, ks: np.ndarray, mids: np.ndarray, switch_s: float) -> np.ndarray:
    """Agents serving ``q`` in each step (columns), for each count change in ``ks`` (rows)."""
    base = np.full(mids.size, float(roster.present[q]))
    for t, d in roster.events[q]:
        base += d * (mids >= t)
    reach = int(np.abs(ks).max(initial=0))
    k = ks[:, None]
    t_in = typical_left(roster.movers_in[q], reach) + switch_s
    t_out = typical_left(roster.movers_out[q], reach)
    change = np.where(k > 0, k * (mids >= t_in)[None, :], k * (mids >= t_out)[None, :])
    paths: np.ndarray = np.maximum(base[None, :] + change, 0.0)
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
    n = (
        np.arange(int(sizes.sum()))
        - np.repeat(np.cumsum(sizes) - sizes, sizes)
        + np.repeat(lo, sizes)
    )
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
    ks = sparse_changes(reach)
    w, m = ks.size, len(GH_W)
    rate, servers, x0, aht, pat, tgt, group = [], [], [], [], [], [], []
    for j, (q, f) in enumerate(zip(qs, fcs, strict=True)):
        paths = _paths(roster, q.id, ks, mids, switch_s) * q.concurrency
        mult = rate_multipliers(spread(f, float(edges[-1]), noise_k(q.channel)))
        rate.append(np.repeat(mult, w)[:, None] * np.tile(f.step_rates, (m * w, 1)))
        servers.append(np.tile(paths, (m, 1)))
        n = m * w
        x0.append(np.full(n, _x0(q, f, roster)))
        aht.append(np.full(n, f.aht_s))
        pat.append(np.full(n, np.inf if f.patience_s is None else f.patience_s))
        tgt.append(np.full(n, goals[j][1]))
        group.append(np.full(n, j))
    g = _goals(qs, fcs, goals)
    lo, hi, probes = _probes(g)
    rows = Rows(
        np.concatenate(rate),
        np.concatenate(servers),
        np.concatenate(x0),
        np.concatenate(aht),
        np.concatenate(pat),
        np.concatenate(tgt),
        np.concatenate(group).astype(np.int64),
        dt,
    )
    pred, p_sl, p_ab = evaluate(rows, probes)
    full = np.arange(-reach, reach + 1)
    levels = [
        _widen(v.reshape(len(qs), m, w), ks, full)
        for v in (pred.service_level, pred.abandon, pred.asa_s)
    ]
    sl, ab, asa = (np.einsum("qmw,m->qw", v, GH_W) for v in levels)
    required = from_sweep(g, lo, hi, p_sl, p_ab)
    short = (sl[:, reach] < g.goal - 1e-9) | (ab[:, reach] > g.cap)
    return Curves(
        np.clip(sl, 0, 1),
        np.clip(ab, 0, 1),
        asa,
        np.clip(levels[0], 0, 1),
        np.clip(levels[1], 0, 1),
        required,
        short,
    )


def _widen(v: np.ndarray, ks: np.ndarray, full: np.ndarray) -> np.ndarray:
    """Values at the evaluated changes ``ks`` (last axis) interpolated to every change."""
    j = np.clip(np.searchsorted(ks, full, side="right") - 1, 0, max(ks.size - 2, 0))
    if ks.size == 1:
        return np.repeat(v, full.size, axis=-1)
    w = (full - ks[j]) / (ks[j + 1] - ks[j])
    a, b = v[..., j], v[..., j + 1]
    with np.errstate(invalid="ignore"):  # an infinite ASA stays infinite
        mixed = a + w * (b - a)
    out: np.ndarray = np.where(w <= 0.0, a, np.where(w >= 1.0, b, mixed))
    return out


def spread(f: QueueForecast, horizon_s: float, noise: float = 0.0) -> float:
    """Relative spread of the arrivals the horizon will see: the forecast's uncertainty and
    the Poisson variation of the count itself (what the realised service level feels),
    the latter ``1 + noise`` times wider in variance (the channel's extra noise)."""
    expected = f.arrival_rate * horizon_s
    return float(np.sqrt(f.rel_sd**2 + (1.0 + noise) / max(expected, 1.0)))


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
