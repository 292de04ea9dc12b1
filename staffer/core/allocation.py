"""Who moves where: augmenting paths over the queues, each move paying its way.

The planner hands over, per queue, the objective ``J[q, k]`` (lower is better) with the
queue's count changed by ``k - reach`` agents (the curves already charge a moved agent's
transit: it leaves when its contact ends and serves only ``switch_cost_s`` after that), and
the movers per (from, to) pair. With a separable objective over counts and moves along the
arcs of a graph of queues, this is a convex-cost flow whenever the curves are convex;
successive augmentation along the best path is then optimal, and this module runs it
greedily, one agent (or one chain of two) at a time:

* a direct move i -> j is worth ``gain[j] - loss[i]``; a chain i -> m -> k (an agent of i
  replaces one of m, who goes to k) is worth ``gain[k] - loss[i]`` and makes two moves, so
  a queue no agent of i can serve still gets help through a queue both can;
* ``gain`` looks ahead over the next agents (the best average drop), so a queue that needs
  several before its service level moves still gets them, in the same cycle (a surge's
  whole onset batch, within the move budget);
* every move must be worth more than ``min_gain``: tiny gains move nobody;
* a queue predicted short (``donor_ok`` false) never gives an agent, except to a queue
  below a supervisor's pin minimum; a real-time queue takes agents only up to the count
  predicted to meet its goal (``take_max``: no moves to hedge a queue already at goal); a
  deferred queue at or above its floor (``release``) takes agents only from queues with a
  sustained surplus
  (``surplus_ok``): agents go back to email when the real-time queue can spare them;
* the whole set must beat standing still by more than ``hysteresis``, else nothing moves.

Ties go to the direct move, then to the better agent (available, wrap_up, busy; agent id),
then to the lower queue indices. Pure and deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from staffer.core.roster import Candidate

NONE_SRC = -1  # source index of an agent without a queue


@dataclass(frozen=True, slots=True)
class Step:
    """One chosen move (queue indices; ``src`` None = from no queue)."""

    agent: str
    rank: int
    src: int | None
    dst: int


@dataclass(frozen=True, slots=True)
class Problem:
    """Everything the allocation needs; arrays are per queue (``J`` per queue and k)."""

    J: np.ndarray  # (Q, 2 * reach + 1); column reach = the count now
    reach: int
    pools: dict[tuple[int, int], list[Candidate]]  # (src or NONE_SRC, dst) -> movers
    donor_ok: np.ndarray  # bool (Q,)
    surplus_ok: np.ndarray  # bool (Q,)
    floor: np.ndarray  # (Q,) int: a deferred queue below it is not a release
    deferred: np.ndarray  # bool (Q,)
    pin_need: np.ndarray  # (Q,): a count change below this leaves a queue under a pin minimum
    take_max: np.ndarray  # (Q,): most agents a queue takes (count change; inf: no cap)
    budget: int
    min_gain: float
    hysteresis: float


def gain_table(J: np.ndarray) -> np.ndarray:
    """G[q, c, l]: queue q's best average objective drop per added agent over the next
    1..l+1 agents from column c (-inf where no agent can be added)."""
    w = J.shape[1]
    ks = np.arange(1, w)
    idx = np.arange(w)[:, None] + ks[None, :]  # (c, k)
    ok = idx < w
    with np.errstate(invalid="ignore"):
        drop = (J[:, :, None] - J[:, np.minimum(idx, w - 1)]) / ks[None, None, :]
    drop = np.where(ok[None, :, :], drop, -np.inf)
    return np.maximum.accumulate(drop, axis=2)  # best over 1..l+1


def loss_table(J: np.ndarray) -> np.ndarray:
    """L[q, c]: objective increase of one agent fewer at column c (+inf at c = 0)."""
    with np.errstate(invalid="ignore"):
        drop = J[:, :-1] - J[:, 1:]
    first = np.full((J.shape[0], 1), np.inf)
    return np.concatenate((first, np.nan_to_num(drop, nan=np.inf)), axis=1)


class _Pools:
    """The movers still free, per (src, dst); an agent leaves every list once moved.

    ``avail[s, d]`` says whether a free mover goes from s (row q: no queue) to d; it is
    updated for the mover's source only, when a mover is taken.
    """

    def __init__(self, pools: dict[tuple[int, int], list[Candidate]], q: int) -> None:
        self.lists = {k: sorted(v) for k, v in pools.items() if v}
        self.moved: set[str] = set()
        self.q = q
        self.avail = np.zeros((q + 1, q), dtype=bool)
        self.by_src: dict[int, list[int]] = {}
        for s, d in self.lists:
            self.avail[self._row(s), d] = True
            self.by_src.setdefault(s, []).append(d)

    def _row(self, src: int) -> int:
        return self.q if src == NONE_SRC else src

    def head(self, src: int, dst: int) -> Candidate | None:
        lst = self.lists.get((src, dst))
        while lst and lst[0][1] in self.moved:
            lst.pop(0)
        return lst[0] if lst else None

    def take(self, src: int, dst: int) -> Candidate:
        c = self.head(src, dst)
        assert c is not None
        self.moved.add(c[1])
        for d in self.by_src.get(src, ()):
            self.avail[self._row(src), d] = self.head(src, d) is not None
        return c


@dataclass(frozen=True, slots=True)
class _Tables:
    gain: np.ndarray  # (Q, W, W - 1)
    loss: np.ndarray  # (Q, W)
    src_ok: np.ndarray  # (Q + 1,): may give (the no-queue row always may)
    surplus: np.ndarray  # (Q + 1,)


def _values(
    p: Problem, t: _Tables, col: np.ndarray, left: int, a: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(direct, chain): the worth of each move i -> j and of the best chain i -> m -> j."""
    q = p.J.shape[0]
    rows = np.arange(q)
    ahead = min(left, p.J.shape[1] - 1) - 1
    gain = t.gain[rows, col, ahead] if ahead >= 0 else np.full(q, -np.inf)
    loss = np.zeros(q + 1)  # the no-queue row (last) loses nothing
    loss[:q] = t.loss[rows, col]
    k = col - p.reach
    pinned = k < p.pin_need  # a pin's minimum is not a suggestion
    release = p.deferred & (k >= p.floor)  # a deferred queue above its floor
    may = (t.src_ok[:, None] & (t.surplus[:, None] | ~release)) | pinned
    may &= (k < p.take_max) | pinned
    value = np.where(may, gain - loss[:, None], -np.inf)
    value[rows, rows] = -np.inf
    direct = np.where(a, value, -np.inf)
    if left < 2:
        return direct, np.full_like(direct, -np.inf)
    reach2 = a @ (a[:q] & p.donor_ok[:, None])  # the middle gives one, gets one
    return direct, np.where(reach2, value - p.min_gain, -np.inf)


def _via(p: Problem, a: np.ndarray, s: int, d: int) -> int:
    """The middle queue of the chain s -> m -> d (the lowest index that works)."""
    q = p.J.shape[0]
    for m in range(q):
        if m not in (s, d) and a[s, m] and a[m, d] and p.donor_ok[m]:
            return m
    raise AssertionError("no middle queue for a chain")


def _best(direct: np.ndarray, chain: np.ndarray, pools: _Pools) -> tuple[float, int, int, bool]:
    """(value, src row, dst, is_chain) of the best move; ties as the module docstring says."""
    top_direct, top_chain = float(direct.max(initial=-np.inf)), float(chain.max(initial=-np.inf))
    best = max(top_direct, top_chain)
    if not math.isfinite(best):
        return best, -1, -1, False
    q = direct.shape[1]
    options = []
    for is_chain, m, top in ((False, direct, top_direct), (True, chain, top_chain)):
        if top < best - 1e-9:
            continue  # none of its moves ties the best
        src, dst = np.nonzero(m >= best - 1e-9)
        for s, d in zip(src.tolist(), dst.tolist(), strict=True):
            c = pools.head(NONE_SRC if s == q else s, d)
            options.append((is_chain, c if c is not None else (9, ""), s, d))
    is_chain, _, s, d = min(options)
    return best, s, d, is_chain


def allocate(p: Problem) -> tuple[list[Step], np.ndarray]:
    """The moves and the resulting column per queue (see the module docstring)."""
    q = p.J.shape[0]
    pools = _Pools(p.pools, q)
    tables = _Tables(
        gain_table(p.J),
        loss_table(p.J),
        np.append(p.donor_ok, True),
        np.append(p.surplus_ok, True),
    )
    col = np.full(q, p.reach, dtype=np.int64)
    steps: list[Step] = []
    while len(steps) < p.budget:
        direct, chain = _values(p, tables, col, p.budget - len(steps), pools.avail)
        value, s, d, is_chain = _best(direct, chain, pools)
        if not value > p.min_gain:  # a chain's value already paid for its second move
            break
        if is_chain:
            m = _via(p, pools.avail, s, d)
            hops = [(s, m), (m, d)]
        else:
            hops = [(s, d)]
        for a, b in hops:
            src = NONE_SRC if a == q else a
            rank, agent = pools.take(src, b)
            steps.append(Step(agent, rank, None if src == NONE_SRC else src, b))
            if src != NONE_SRC:
                col[src] -= 1
            col[b] += 1
    rows = np.arange(q)
    total = float(p.J[rows, p.reach].sum() - p.J[rows, col].sum())
    if not total > p.hysteresis:
        return [], np.full(q, p.reach, dtype=np.int64)
    return steps, col
