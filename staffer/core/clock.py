"""Planning times: whole multiples of ``interval_s`` counted from midnight UTC.

Pure (no clock is read here): the caller passes ``t`` in POSIX seconds. With an
interval of 300 s plans fall due at 08:05:00, 08:10:00, ... every day; intervals
that do not divide a day restart their grid at each midnight UTC.
"""

from __future__ import annotations

import math

DAY_S = 86400.0


def next_grid_time(t: float, interval_s: float) -> float:
    """The first grid time strictly after ``t``.

    >>> next_grid_time(1_700_000_000.0, 300)   # 22:13:20 UTC -> 22:15:00
    1700000100.0
    >>> next_grid_time(1_700_000_100.0, 300)   # exactly on the grid -> the next one
    1700000400.0
    """
    if not interval_s > 0 or not math.isfinite(interval_s):
        raise ValueError(f"interval_s must be a positive finite number, got {interval_s!r}")
    if not math.isfinite(t):
        raise ValueError(f"t must be finite, got {t!r}")
    midnight = math.floor(t / DAY_S) * DAY_S
    offset = t - midnight
    k = math.floor(offset / interval_s) + 1
    candidate = midnight + k * interval_s
    # float rounding near a grid point: make sure the result is strictly after t
    while candidate <= t:
        k += 1
        candidate = midnight + k * interval_s
    next_midnight = midnight + DAY_S
    return min(candidate, next_midnight)
