"""The planner's view of email: floor, on-time ratio and backlog value per count.

Builds each email queue's ``EmailOutlook`` for the look-ahead: expected arrivals, the
email-capable agents on shift per step and when the last one leaves (roster), and the
capacity the site can give email once the real-time queues' scheduled needs are covered
(square-root staffing at their look-ahead rates, with each queue's current quality margin
``beta = (required - load) / sqrt(load)``). Then, per count within reach: the deadline
floor (``email_buffer.floor_agents``), the predicted on-time ratio and the objective's
backlog term: ``DEBT`` per near-horizon of arrivals the backlog stays above
``NORMAL_BACKLOG_S`` of arrivals, so idle real-time capacity comes back to email; and
``CLOSE_SOFT`` per agent below the floor of a look-ahead that runs on to the close (when
that is beyond the deadline look-ahead but within ``CLOSE_VIEW_S``), so the backlog the
close needs cleared is paid back while real-time queues have slack, not all at once when
the close enters the deadline look-ahead (a soft term, small beside a real-time queue's
shortfall below its goal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from staffer.core.email_buffer import EmailOutlook, even_counts, floor_agents, on_time
from staffer.core.forecast import QueueForecast
from staffer.core.roster import Roster
from staffer.settings import QueueSettings

if TYPE_CHECKING:
    from staffer.core.planner import Cycle

LOOKAHEAD_MIN_S, LOOKAHEAD_MAX_S = 4 * 3600.0, 6 * 3600.0
LOOKAHEAD_STEP_S = 1800.0
NORMAL_BACKLOG_S = 900.0  # a backlog of this many seconds of arrivals is normal
DEBT = 0.15  # objective per near-horizon of arrivals in excess backlog
CARRY_S = 1800.0  # at the close, at most this many seconds of arrivals may stay open
BETA_BOUNDS = (0.5, 3.0)
CLOSE_VIEW_S = 12 * 3600.0  # the look-ahead reaches the close when it is this near
CLOSE_SOFT = 0.01  # objective per agent email keeps below the floor that sees the close


@dataclass(frozen=True, slots=True)
class EmailCurves:
    """Per email queue (rows) and count change (columns)."""

    J: np.ndarray
    on_time: np.ndarray
    asa: np.ndarray
    floor: np.ndarray


def ahead_span(email_targets: Sequence[float]) -> float:
    """The deadline look-ahead: 1.25 deadlines, 4-6 h."""
    return min(max(1.25 * max(email_targets, default=0.0), LOOKAHEAD_MIN_S), LOOKAHEAD_MAX_S)


def ahead_edges(
    horizon_s: float, email_targets: Sequence[float], close_s: float = np.inf
) -> np.ndarray:
    """Look-ahead steps: the planning horizon, then half hours to 1.25 deadlines (4-6 h),
    or on to the close when that is within ``CLOSE_VIEW_S`` (and ``CLOSE_SOFT`` is on)."""
    span = ahead_span(email_targets)
    if CLOSE_SOFT > 0 and close_s <= CLOSE_VIEW_S:
        span = max(span, close_s)
    n = int(np.ceil(max(span - horizon_s, 0.0) / LOOKAHEAD_STEP_S))
    return np.concatenate(([0.0, horizon_s], horizon_s + LOOKAHEAD_STEP_S * np.arange(1, n + 1)))


def realtime_need(
    qs: Sequence[QueueSettings],
    fcs: Sequence[QueueForecast],
    required: np.ndarray,
    rt_ix: Sequence[int],
) -> np.ndarray:
    """Agents the real-time queues need in each look-ahead step (square-root staffing)."""
    total = np.zeros(0)
    for i in rt_ix:
        q, f = qs[i], fcs[i]
        a = f.ahead_rates * f.aht_s / q.concurrency
        a_now = f.arrival_rate * f.aht_s / q.concurrency
        beta = (required[i] - a_now) / np.sqrt(a_now) if a_now > 0 else BETA_BOUNDS[1]
        need = a + float(np.clip(beta, *BETA_BOUNDS)) * np.sqrt(a)
        total = need if total.size == 0 else total + need
    return total


def _outlook(
    q: QueueSettings,
    f: QueueForecast,
    target_s: float,
    roster: Roster,
    need: np.ndarray,
    horizon_s: float,
    ahead: np.ndarray,
) -> EmailOutlook:
    supply, others = roster.supply[q.id], roster.others[q.id]
    rt_need = need if need.size else np.zeros_like(supply)
    capacity = np.clip(supply - np.maximum(rt_need - others, 0.0), 0.0, supply)
    close = roster.close[q.id]
    steps = min(max(int(np.searchsorted(ahead, close)), 1), ahead.size - 1)  # after the close:
    edges = np.minimum(ahead[: steps + 1], max(close, ahead[1]))  # is tomorrow's
    # the last step ends at the close: its agents, counted over the full step, all worked
    # until then
    stretch = np.ones(steps)
    stretch[-1] = (ahead[steps] - ahead[steps - 1]) / max(edges[-1] - edges[-2], 1e-9)
    supply, capacity = supply[:steps] * stretch, capacity[:steps] * stretch
    return EmailOutlook(
        backlog=float(f.backlog),
        oldest_age_s=f.oldest_age_s,
        aht_s=f.aht_s,
        target_s=target_s,
        edges=edges,
        arrivals=f.ahead_rates[:steps] * np.diff(edges),
        supply=supply,
        capacity=capacity,
        near_s=min(horizon_s, float(edges[-1])),
        close_s=close,
        carry_cap=f.arrival_rate * CARRY_S,
    )


def email_curves(c: Cycle, em_ix: Sequence[int], need: np.ndarray) -> EmailCurves:
    """Floor, on-time ratio, ASA and objective of each email queue per count change;
    ``need``: the real-time queues' agents per look-ahead step (``realtime_need``)."""
    k = np.arange(-c.reach, c.reach + 1)
    horizon_s = c.planner.horizon_s
    span = ahead_span([c.goals[i][1] for i in em_ix])
    hard = c.ahead[: max(int(np.searchsorted(c.ahead, span + 1e-6)), 2)]
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    ks = np.array(even_counts(-c.reach, c.reach, 5), dtype=float)  # smooth in the count
    for i in em_ix:
        q, f, (goal, target_s) = c.qs[i], c.fcs[i], c.goals[i]
        o = _outlook(q, f, target_s, c.roster, need, horizon_s, hard)
        n = np.maximum(c.counts[i] + k, 0)
        floor = floor_agents(o, int(o.supply[0]))
        soft = 0.0
        if hard.size < c.ahead.size:  # the look-ahead runs on to the close
            full = _outlook(q, f, target_s, c.roster, need, horizon_s, c.ahead)
            soft = CLOSE_SOFT * np.maximum(floor_agents(full, int(full.supply[0])) - n, 0)
        ok = np.interp(k, ks, on_time(o, np.maximum(c.counts[i] + ks, 0)))
        rate = f.arrival_rate
        excess = f.backlog - rate * NORMAL_BACKLOG_S
        debt = np.maximum(excess - (n / f.aht_s - rate) * horizon_s, 0.0)
        J = q.weight * (
            np.maximum(goal - ok, 0.0) + DEBT * debt / max(rate * horizon_s, 1.0) + soft
        )
        busy = f.backlog > 0 or rate > 0
        asa = np.where(n > 0, f.backlog * f.aht_s / np.maximum(n, 1), np.inf if busy else 0.0)
        rows.append((J, ok, asa, floor))
    return EmailCurves(
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows]),
        np.array([r[3] for r in rows], dtype=np.int64),
    )
