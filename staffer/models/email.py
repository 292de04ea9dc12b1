"""Deferred contacts (email): a deterministic fluid model with a response deadline.

Assumptions (see docs/models.md): items are worked first-in-first-out by N agents, each
item takes ``aht`` seconds of agent time, so the backlog drains at N/aht items per
second; new items arrive at the constant rate ``rate``; the current backlog's ages are
spread uniformly between 0 and ``oldest_age_s`` (items arrived evenly). An item is on
time when answered within ``target_s`` of its arrival.

With w(s) = backlog + (rate - N/aht) s items queued at time s (floored at 0), an item
arriving at s waits w(s) aht / N; a backlog item with q items ahead has age
o (1 - q/B) and is answered at q aht / N.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from staffer.models.numerics import Array, broadcast_flat, finish


def email_required_agents(
    backlog: ArrayLike,
    rate: ArrayLike,
    aht: ArrayLike,
    target_s: ArrayLike,
    oldest_age_s: ArrayLike = 0.0,
    horizon_s: ArrayLike | None = None,
) -> int | np.ndarray:
    """Fewest agents so the backlog and the arrivals over the horizon meet the deadline.

    N >= backlog * aht / target_s clears the backlog before its newest item is due
    (older items are served first and, with evenly spread ages, are then on time too
    unless already overdue - those are lost whatever N is). Arrivals over a finite
    horizon H need N >= (backlog + rate H) aht / (target_s + H); ``horizon_s=None``
    means a sustained rate (H -> inf), i.e. N >= rate * aht as well. Invalid input -> -1.
    ``oldest_age_s`` is accepted for symmetry with :func:`email_on_time_ratio`; under the
    model it cannot change the requirement (documented in docs/models.md).

    200 emails waiting, 60 more an hour, 300 s each, answered within 4 hours:

    >>> email_required_agents(200, 60 / 3600, 300.0, 4 * 3600)
    5
    """
    hor = np.inf if horizon_s is None else horizon_s
    (b, r, h, d, o, hz), scalar, shape = broadcast_flat(
        backlog, rate, aht, target_s, oldest_age_s, hor
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = (
            (b >= 0)
            & np.isfinite(b)
            & (r >= 0)
            & np.isfinite(r)
            & (h > 0)
            & np.isfinite(h)
            & (d > 0)
            & (o >= 0)
            & (hz >= 0)
        )
        need_backlog = b * h / d
        sustained = np.where(
            np.isinf(hz),
            r * h,
            (b + r * np.where(np.isinf(hz), 0, hz)) * h / (d + np.where(np.isinf(hz), 0, hz)),
        )
        need = np.maximum(need_backlog, sustained)
        n = np.ceil(need * (1.0 - 1e-12))
    out = np.where(valid & np.isfinite(n), np.maximum(n, 0.0), -1.0).astype(np.int64)
    out = out.reshape(shape)
    return int(out.reshape(-1)[0]) if scalar else out


def email_on_time_ratio(
    backlog: ArrayLike,
    rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    target_s: ArrayLike,
    oldest_age_s: ArrayLike = 0.0,
    horizon_s: ArrayLike | None = None,
) -> float | Array:
    """Predicted fraction of (backlog + arrivals over the horizon) answered on time.

    ``horizon_s=None`` uses ``target_s``. Nothing to answer gives 1.0; no agents gives 0.0
    (when there is something to answer); invalid input gives NaN.

    >>> round(email_on_time_ratio(200, 60 / 3600, 300.0, 3, 4 * 3600), 4)
    0.3273
    >>> email_on_time_ratio(200, 60 / 3600, 300.0, 5, 4 * 3600)
    1.0
    """
    hor = target_s if horizon_s is None else horizon_s
    (b, r, h, n, d, o, hz), scalar, shape = broadcast_flat(
        backlog, rate, aht, agents, target_s, oldest_age_s, hor
    )
    out = np.full(b.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        valid = (
            (b >= 0)
            & np.isfinite(b)
            & (r >= 0)
            & np.isfinite(r)
            & (h > 0)
            & np.isfinite(h)
            & (n >= 0)
            & (d > 0)
            & (o >= 0)
            & np.isfinite(o)
            & (hz >= 0)
            & np.isfinite(hz)
        )
        total = b + r * hz
        out[valid & (total == 0)] = 1.0
        out[valid & (total > 0) & (n == 0)] = 0.0
        m = valid & (total > 0) & (n > 0)
        b, r, h, n, d, o, hz = (v[m] for v in (b, r, h, n, d, o, hz))
        # backlog: q (aht/N - o/B) <= d - o, q in [0, B]
        c = h / n - np.where(b > 0, o / np.where(b > 0, b, 1.0), 0.0)
        slack = d - o
        lim = slack / np.where(c != 0, c, 1.0)
        on_b = np.where(
            c > 0,
            np.clip(lim, 0.0, b),
            np.where(
                c < 0,
                np.where(slack >= 0, b, np.clip(b - lim, 0.0, b)),
                np.where(slack >= 0, b, 0.0),
            ),
        )
        # arrivals: w(s) = B + (r - N/h) s items ahead, on time iff w(s) h/N <= d
        cap = n / h
        slope = r - cap
        room = d * cap - b  # items that can still be ahead at arrival
        s_cross = room / np.where(slope != 0, slope, 1.0)
        good_len = np.where(
            slope > 0,
            np.clip(s_cross, 0.0, hz),
            np.where(slope < 0, hz - np.clip(s_cross, 0.0, hz), np.where(room >= 0, hz, 0.0)),
        )
        out[m] = np.clip((on_b + r * good_len) / (b + r * hz), 0.0, 1.0)
    return finish(out.reshape(shape), scalar)
