"""Email as a deadline-feasible buffer: how few agents email may keep right now.

Real-time queues may borrow email's agents exactly as long as every email, open or
expected, can still be started before its deadline and the backlog left when the agents'
shifts end stays under a cap. The check runs over a rolling look-ahead (hours) in a fluid
model (items are worked first in, first out, ``aht_s`` of agent time each):

* email keeps ``n`` agents until the end of the plan's horizon (``near_s``); after that it
  has at least the ``n`` it kept (while they are still on shift) and, where the projection
  says the site can give it more (``capacity``: email-capable agents left once the
  scheduled real-time needs are covered), that many;
* by every step boundary t, the items due by then (arrived before t - D', D' = the
  deadline shortened by the safety margin) must have been started: ``served(t) >= due(t)``.
  The open items' ages are spread evenly between 0 and the oldest (the model of
  ``staffer.models.email``); items already past D' only need to be started within the
  first step;
* at the close (when the last email-capable agent leaves, if within the look-ahead) the
  open items must be down to ``carry_cap`` by ``CLOSE_MARGIN_S`` before it.

``floor_agents`` returns the smallest such ``n`` (all of ``n_max`` when even that fails:
then email needs everyone it can get). Pure numpy; times in seconds from now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEADLINE_MARGIN = 0.25  # plan to start each item within 75 % of its deadline
CLOSE_MARGIN_S = 900.0  # be down to the carry cap this long before the close


@dataclass(frozen=True, slots=True)
class EmailOutlook:
    """One email queue over the look-ahead; arrays are per step between ``edges``.

    ``edges`` are step boundaries in seconds from now (``edges[0] == 0``, ``near_s`` one
    of them); ``arrivals`` expected new items per step; ``supply`` email-capable agents on
    shift per step; ``capacity`` agents the site can give email per step once the
    real-time needs are met (projection); ``close_s`` when the last email-capable agent
    leaves (``inf``: not within sight).
    """

    backlog: float
    oldest_age_s: float
    aht_s: float
    target_s: float
    edges: np.ndarray
    arrivals: np.ndarray
    supply: np.ndarray
    capacity: np.ndarray
    near_s: float
    close_s: float = math.inf
    carry_cap: float = 0.0


def _due(o: EmailOutlook, t: np.ndarray) -> np.ndarray:
    """Items that must have been started by ``t`` (seconds from now)."""
    d = o.target_s * (1.0 - DEADLINE_MARGIN)
    cut = t - d  # items that arrived before now + cut are due
    if o.backlog <= 0:
        old = np.zeros_like(t)
    elif o.oldest_age_s <= 0:
        old = np.where(cut >= 0, o.backlog, 0.0)
    else:  # ages uniform in [0, oldest]: those older than -cut are due
        with np.errstate(over="ignore"):
            old = o.backlog * np.clip((o.oldest_age_s + cut) / o.oldest_age_s, 0.0, 1.0)
    cum = np.concatenate(([0.0], np.cumsum(o.arrivals)))
    new = np.interp(np.maximum(cut, 0.0), o.edges, cum)
    return old + new


def served(o: EmailOutlook, n: np.ndarray) -> np.ndarray:
    """Items started by each edge (columns) when email keeps ``n`` agents (rows) now."""
    e = o.edges
    n = np.asarray(n, dtype=float)[:, None]
    later = np.maximum(np.minimum(n, o.supply), o.capacity)
    agents = np.where(e[1:] <= o.near_s + 1e-9, n, later)
    out = np.zeros((n.shape[0], e.size))
    np.cumsum(agents * (e[1:] - e[:-1]) / o.aht_s, axis=1, out=out[:, 1:])
    return out


def feasible(o: EmailOutlook, n: np.ndarray) -> np.ndarray:
    """For each candidate ``n``: are all deadlines and the carry cap met?"""
    if o.edges.size < 2:  # no time left: only what is already done counts
        return np.full(np.shape(n), o.backlog <= o.carry_cap, dtype=bool)
    s = served(o, n)
    check = o.edges > min(o.edges[1], o.near_s) - 1e-9  # from the first boundary on
    ok = np.asarray((s[:, check] >= _due(o, o.edges[check])[None, :] - 1e-9).all(axis=1))
    close = o.close_s - CLOSE_MARGIN_S
    if math.isfinite(o.close_s) and close <= o.edges[-1]:
        t = max(close, 0.0)
        j = int(np.clip(np.searchsorted(o.edges, t), 1, len(o.edges) - 1))
        frac = (t - o.edges[j - 1]) / max(o.edges[j] - o.edges[j - 1], 1e-9)
        at_close = s[:, j - 1] + frac * (s[:, j] - s[:, j - 1])
        arrived = np.interp(t, o.edges, np.concatenate(([0.0], np.cumsum(o.arrivals))))
        ok &= at_close >= o.backlog + float(arrived) - o.carry_cap - 1e-9
    return ok


def even_counts(lo: int, hi: int, num: int) -> list[int]:
    """``np.unique(np.linspace(lo, hi, num).round())`` as ints, the same values without
    the per-call overhead of three numpy functions on a handful of numbers."""
    if num == 1:
        return [lo]
    step = (hi - lo) / (num - 1)
    return sorted({round(i * step + lo) for i in range(num - 1)} | {hi})


TABLE_MAX = 512  # up to this many agents, feasible() runs once over every count


def floor_agents(o: EmailOutlook, n_max: int) -> int:
    """Fewest agents email may keep now (0..n_max); ``n_max`` when none suffices.

    Feasibility only grows with the count (``served`` does), so 16 evenly spread counts
    bracket the answer and a second round of up to 16 finds it. Up to ``TABLE_MAX``
    agents the rounds look the counts up in one vectorised pass over all of them (rows
    are independent, so the answers are the same; one numpy pass beats two or three).
    """
    if n_max <= 0:
        return 0
    table = feasible(o, np.arange(n_max + 1)).tolist() if n_max < TABLE_MAX else None
    lo, hi = -1, n_max  # lo fails (or is below 0), hi is the answer unless it fails too
    while hi - lo > 1:
        cand = even_counts(lo + 1, hi, min(hi - lo, 16))
        if table is not None:
            ok = [table[c] for c in cand]
        else:
            ok = feasible(o, np.array(cand, dtype=np.int64)).tolist()
        if True not in ok:
            lo = cand[-1]
            if lo >= hi:
                return n_max
            continue
        first = ok.index(True)
        hi = cand[first]
        lo = cand[first - 1] if first > 0 else lo
    return hi


ON_TIME_POINTS = 40  # items sampled (evenly through the queue) for the on-time ratio
_AT = (np.arange(ON_TIME_POINTS) + 0.5) / ON_TIME_POINTS  # their places, shares of the queue


def on_time(o: EmailOutlook, n: np.ndarray) -> np.ndarray:
    """Predicted share of the open and expected items started within the deadline.

    Items in queue order (the open ones oldest first, then the arrivals of the look-ahead)
    are sampled evenly; each starts when ``served`` reaches it. An item not started within
    the look-ahead counts as late only if its deadline has passed by then.
    """
    cum = np.concatenate(([0.0], np.cumsum(o.arrivals)))
    total = o.backlog + cum[-1]
    if total <= 0:
        return np.ones(np.shape(n))
    c = _AT * total
    from_backlog = c < o.backlog
    b = max(o.backlog, 1e-9)
    arrived = np.where(
        from_backlog,
        -o.oldest_age_s * (1.0 - c / b),
        np.interp(c - o.backlog, cum, o.edges),
    )
    s = served(o, n)  # (rows, edges), increasing along the edges
    pos = (s[:, :, None] < c[None, None, :]).sum(axis=1)  # first edge at or past each item
    reached = pos < s.shape[1]
    j = np.minimum(np.maximum(pos, 1), s.shape[1] - 1)
    r = np.arange(s.shape[0])[:, None]
    lo, hi = s[r, j - 1], s[r, j]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        frac = np.where(hi > lo, (c[None, :] - lo) / (hi - lo), 0.0)
    e = o.edges
    start = e[j - 1] + np.minimum(np.maximum(frac, 0.0), 1.0) * (e[j] - e[j - 1])  # clip
    start = np.where(pos == 0, e[0], start)
    late = np.where(
        reached, start - arrived[None, :] > o.target_s, o.edges[-1] - arrived[None, :] > o.target_s
    )
    ratio: np.ndarray = 1.0 - late.sum(axis=1) / late.shape[1]  # the mean
    return ratio
