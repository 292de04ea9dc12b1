"""Who may move where, the greedy move selection, and the one-line reason of each move.

``build_roster`` turns the agent roster into per-queue counts and, for every (from, to)
queue pair, the agents that may make that move under the guardrails (staffed, skilled, not
locked, not in flight, past their minimum dwell), preferring available, then wrap_up, then
busy agents, then the lowest agent id. ``select_moves`` moves one agent at a time to where
the weighted objective drops most (with a look-ahead so a queue that needs several agents
before it improves still gets them) while the move budget lasts; the set of moves is kept
only when it beats standing still by more than the hysteresis margin. Pure, deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from staffer.core.state import UNKNOWN_SINCE, SiteState
from staffer.core.types import MOVABLE_FIRST, Controls, InFlightMove

_RANK = {s: i for i, s in enumerate(MOVABLE_FIRST)}
TIE_EPS = 1e-9  # objective differences below this are ties
MIN_MOVE_GAIN = 1e-3  # a single move must cut the objective by more than this


@dataclass(slots=True)
class Roster:
    """Staffed agents per queue and the movable candidates per (from, to) pair.

    ``candidates[(from_queue, to_queue)]`` lists (rank, agent id), unordered (a cycle
    makes few moves, so the best is found by ``min`` when needed rather than by sorting
    every list); ``from_queue`` None = unassigned. ``movable`` counts distinct agents
    that could move at all.
    """

    assigned: dict[str, int]
    staffed: int
    movable: int
    candidates: dict[tuple[str | None, str], list[tuple[int, str]]] = field(default_factory=dict)


def build_roster(  # noqa: C901  # TODO(issue 12/16): split
    queue_ids: Sequence[str],
    state: SiteState,
    controls: Controls,
    in_flight: Mapping[str, InFlightMove],
    now: float,
    min_dwell_s: float,
) -> Roster:
    """Count staffed agents per queue (in-flight agents at their target) and list movers.

    One pass over the roster (the planner's only O(agents) step), kept tight on purpose.
    """
    queues = set(queue_ids)
    flying = {m.agent: m.to_queue for m in in_flight.values()}
    locked = controls.locked_agents
    blocked = controls.blocked_moves  # (agent, queue) pairs cooling down after a rejection
    since = state.assignment_starts
    cutoff = now - min_dwell_s
    rank_of = _RANK
    assigned = dict.fromkeys(queue_ids, 0)
    cands: dict[tuple[str | None, str], list[tuple[int, str]]] = {}
    staffed = movable = 0
    for agent_id, a in state.roster.items():
        rank = rank_of.get(a.status)
        if rank is None:  # break / offline: neither counted nor moved
            continue
        staffed += 1
        cur = a.queue
        target = flying.get(agent_id) if flying else None
        if target is not None:  # counts at its target, never moved again
            if target in queues:
                assigned[target] += 1
            elif cur in queues:
                assigned[cur] += 1
            continue
        if cur in queues:
            assigned[cur] += 1
            if since.get(agent_id, UNKNOWN_SINCE) > cutoff:
                continue  # still within its minimum dwell
        elif cur is not None:
            continue  # serving a queue this site does not manage: not ours to move
        if agent_id in locked:
            continue
        entry = (rank, agent_id)
        listed = False
        for skill in a.skills:
            if skill != cur and skill in queues and not (blocked and (agent_id, skill) in blocked):
                key = (cur, skill)
                lst = cands.get(key)
                if lst is None:
                    cands[key] = [entry]
                else:
                    lst.append(entry)
                listed = True
        movable += listed
    return Roster(assigned, staffed, movable, cands)


@dataclass(frozen=True, slots=True)
class Step:
    """One chosen move: agent, queues (indices into the queue list; None = unassigned)."""

    agent: str
    status: str
    src: int | None
    dst: int


def _gains(J: np.ndarray, col: np.ndarray, lookahead: int) -> np.ndarray:
    """Best average objective drop per added agent over the next 1..lookahead agents."""
    q, w = J.shape
    ks = np.arange(1, lookahead + 1)
    idx = col[:, None] + ks[None, :]
    valid = idx < w
    ahead = J[np.arange(q)[:, None], np.minimum(idx, w - 1)]
    cur = J[np.arange(q), np.minimum(col, w - 1)]
    with np.errstate(invalid="ignore"):
        avg = np.where(valid, (cur[:, None] - ahead) / ks[None, :], -np.inf)
    return avg.max(axis=1)


def _losses(J: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Objective increase of removing one agent from each queue (+inf at the window edge)."""
    q = J.shape[0]
    prev = np.where(col >= 1, J[np.arange(q), np.maximum(col - 1, 0)], np.inf)
    return prev - J[np.arange(q), col]


def select_moves(
    queue_ids: Sequence[str],
    J: np.ndarray,
    slack: np.ndarray,
    base: np.ndarray,
    counts: np.ndarray,
    roster: Roster,
    budget: int,
    hysteresis: float,
) -> tuple[list[Step], np.ndarray]:
    """Greedy marginal-gain allocation; returns the moves and the resulting counts.

    ``J[i, k]`` is queue i's weighted objective with ``base[i] + k`` agents (+inf where
    impossible), ``slack[i, k]`` its metric minus goal (donor tie-break: most slack first);
    ``counts`` the agents each queue has now. Each move must cut the objective by more than
    MIN_MOVE_GAIN (receiver's look-ahead gain minus donor's loss), and the whole set of moves
    by more than ``hysteresis``, else no move is made: near-equal plans do not cause churn.
    Ties go to the better agent (available, wrap_up, busy), then slack, then agent id.
    """
    qn = len(queue_ids)
    index = {q: i for i, q in enumerate(queue_ids)}
    keys = sorted(
        roster.candidates, key=lambda k: (index[k[1]], -1 if k[0] is None else index[k[0]])
    )
    lists = [list(roster.candidates[k]) for k in keys]  # consumed below: copies
    src = np.array([qn if k[0] is None else index[k[0]] for k in keys], dtype=np.int64)
    dst = np.array([index[k[1]] for k in keys], dtype=np.int64)
    heads = [min(lst) if lst else None for lst in lists]  # best remaining (rank, id) per pair
    alive = np.array([h is not None for h in heads], dtype=bool)
    start = counts.copy()
    counts = counts.copy()
    steps: list[Step] = []
    rows = np.arange(qn)
    for left in range(budget, 0, -1):
        if not alive.any():
            break
        col = counts - base
        gain = _gains(J, col, min(left, J.shape[1] - 1) or 1)
        loss = np.append(_losses(J, col), 0.0)  # row qn: the unassigned pool loses nothing
        delta = np.where(alive, gain[dst] - loss[src], -np.inf)
        best = float(delta.max())
        if not best > MIN_MOVE_GAIN:
            break
        after = np.append(np.where(col >= 1, slack[rows, np.maximum(col - 1, 0)], -np.inf), np.inf)
        tied = np.flatnonzero(delta >= best - TIE_EPS).tolist()
        pick = min(
            tied,
            key=lambda p: (
                heads[p][0],
                -after[src[p]],
                heads[p][1],  # type: ignore[index]
                dst[p],
                src[p],
            ),
        )
        entry = heads[pick]
        rank, agent = entry  # type: ignore[misc]
        for p in np.flatnonzero(src == src[pick]):  # the agent leaves its queue's lists
            lst = lists[p]
            if entry in lst:
                lst.remove(entry)
                if heads[p] == entry:
                    heads[p] = min(lst) if lst else None
                    alive[p] = heads[p] is not None
        s, d = int(src[pick]), int(dst[pick])
        if s < qn:
            counts[s] -= 1
        counts[d] += 1
        steps.append(Step(agent, MOVABLE_FIRST[rank], s if s < qn else None, d))
    total = float(J[rows, start - base].sum() - J[rows, counts - base].sum())
    if not total > hysteresis:
        return [], start
    return steps, counts


@dataclass(frozen=True, slots=True)
class Effect:
    """A queue's headline metric before and after the plan, for a move's reason."""

    queue: str
    label: str  # "SL" or "on-time"
    before: float
    after: float
    goal: float
    note: str = ""  # e.g. ", abandon 0.09 -> 0.04" or " (pin min 5)"


def _fmt(e: Effect, with_goal: bool) -> str:
    goal = f" (target {e.goal:.2f})" if with_goal else ""
    return f"{e.queue} {e.label} {e.before:.2f} -> {e.after:.2f}{goal}{e.note}"


def reason_text(to: Effect, src: Effect | None) -> str:
    """One line: 'phone SL 0.52 -> 0.81 (target 0.80); email on-time 1.00 -> 0.98'."""
    tail = "from unassigned" if src is None else _fmt(src, with_goal=False)
    return f"{_fmt(to, with_goal=True)}; {tail}"
