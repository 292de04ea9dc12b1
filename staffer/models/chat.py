"""Chat queues: the slot model of concurrent service.

An agent with concurrency k works up to k chats at once. The slot model treats each
agent as k independent servers ("slots"): N agents form an M/M/(N k) queue (Erlang C,
or Erlang A with patience), and ``aht`` is the handle time of one chat *as observed
while agents work at that concurrency* (wall time from accept to close). This is exact
for the system in which a chat's duration does not depend on how many other chats the
agent is handling at the moment, and it is what a contact center measures as chat AHT.
If a per-chat handle time measured at concurrency 1 is all that is known, scale it with
:func:`effective_aht` first (a documented, optional refinement).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from staffer.models.numerics import Array, as_array


def servers_for(agents: ArrayLike, concurrency: ArrayLike) -> Array:
    """Number of servers (slots) offered by ``agents`` agents at ``concurrency``.

    >>> float(servers_for(10, 3))
    30.0
    """
    return as_array(agents) * as_array(concurrency)


def effective_aht(
    aht_single: ArrayLike, concurrency: ArrayLike, slowdown: ArrayLike = 0.0
) -> float | Array:
    """Per-chat handle time at concurrency k from the handle time at concurrency 1.

    aht_k = aht_1 * (1 + slowdown * (k - 1)): each extra parallel chat stretches every
    chat by ``slowdown`` (0 = no interference, 1 = agent time fully shared). Returns a
    float for scalar input.

    >>> effective_aht(300.0, 3, slowdown=0.25)
    450.0
    """
    out = as_array(aht_single) * (1.0 + as_array(slowdown) * (as_array(concurrency) - 1.0))
    return float(out) if np.ndim(out) == 0 else out
