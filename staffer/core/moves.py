"""Who may move where, the greedy move selection, and the one-line reason of each move.

``build_roster`` turns the agent roster into per-queue counts and, for every (from, to)
queue pair, the agents that may make that move under the guardrails (staffed, skilled, not
locked, not in flight, past their minimum dwell), best first: available, then wrap_up,
then busy, then by agent id. ``select_moves`` moves one agent at a time to where the weighted
objective drops most (with a look-ahead so a queue that needs several agents before it
improves still gets them) while the move budget lasts; the set of moves is kept only when it
beats standing still by more than the hysteresis margin. Pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from staffer.core.state import SiteState
from staffer.core.types import MOVABLE_FIRST, Controls, InFlightMove

_RANK = {s: i for i, s in enumerate(MOVABLE_FIRST)}
TIE_EPS = 1e-9      # objective differences below this are ties
MIN_MOVE_GAIN = 1e-3  # a single move must cut the objective by more than this


@dataclass(slots=True)
class Roster:
    """Staffed agents per queue and the movable candidates per (from, to) pair.

    ``candidates[(from_queue, to_queue)]`` lists (rank, agent id, status) sorted *worst
    first*, so the best candidate is popped from the end. ``from_queue`` None = unassigned.
    """

    assigned: dict[str, int]
    staffed: int
    candidates: dict[tuple[str | None, str], list[tuple[int, str, str]]] = field(
        default_factory=dict)


def build_roster(queue_ids: Sequence[str], state: SiteState, controls: Controls,
                 in_flight: Mapping[str, InFlightMove], now: float,
                 min_dwell_s: float) -> Roster:
    """Count staffed agents per queue (in-flight agents at their target) and list movers."""
    queues = set(queue_ids)
    flying = {m.agent: m.to_queue for m in in_flight.values()}
    locked = controls.locked_agents
    assigned = dict.fromkeys(queue_ids, 0)
    cands: dict[tuple[str | None, str], list[tuple[int, str, str]]] = {}
    staffed = 0
    for agent_id, a in state.roster.items():
        rank = _RANK.get(a.status)
        if rank is None:  # break / offline: neither counted nor moved
            continue
        staffed += 1
        target = flying.get(agent_id)
        cur = target if target is not None and target in queues else a.queue
        if cur in queues:
            assigned[cur] += 1
        if target is not None or agent_id in locked:
            continue
        if cur is not None and (cur not in queues
                                or now - state.assigned_since(agent_id) < min_dwell_s):
            continue  # serving a queue we do not manage, or still within its dwell
        for skill in a.skills:
            if skill in queues and skill != cur:
                cands.setdefault((cur, skill), []).append((rank, agent_id, a.status))
    for lst in cands.values():
        lst.sort(reverse=True)
    return Roster(assigned, staffed, cands)


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
    avg = np.where(valid, (cur[:, None] - ahead) / ks[None, :], -np.inf)
    return avg.max(axis=1)


def _losses(J: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Objective increase of removing one agent from each queue (+inf at the window edge)."""
    q = J.shape[0]
    prev = np.where(col >= 1, J[np.arange(q), np.maximum(col - 1, 0)], np.inf)
    return prev - J[np.arange(q), col]


def _heads(lists: dict[tuple[int | None, int], list[tuple[int, str, str]]],
           moved: set[str]) -> dict[tuple[int | None, int], tuple[int, str, str]]:
    """Best remaining candidate of every (from, to) pair, dropping agents already moved."""
    heads = {}
    for key, lst in lists.items():
        while lst and lst[-1][1] in moved:
            lst.pop()
        if lst:
            heads[key] = lst[-1]
    return heads


def select_moves(queue_ids: Sequence[str], J: np.ndarray, slack: np.ndarray,
                 base: np.ndarray, counts: np.ndarray, roster: Roster, budget: int,
                 hysteresis: float) -> tuple[list[Step], np.ndarray]:
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
    lists = {(None if s is None else index[s], index[d]): list(lst)
             for (s, d), lst in roster.candidates.items()}
    start = counts.copy()
    counts = counts.copy()
    moved: set[str] = set()
    steps: list[Step] = []
    rows = np.arange(len(queue_ids))
    for left in range(budget, 0, -1):
        heads = _heads(lists, moved)
        if not heads:
            break
        col = counts - base
        gain = _gains(J, col, min(left, J.shape[1] - 1) or 1)
        loss = np.append(_losses(J, col), 0.0)  # row qn: the unassigned pool loses nothing
        after = np.append(np.where(col >= 1, slack[rows, np.maximum(col - 1, 0)], -np.inf),
                          np.inf)
        scored = [(float(gain[d] - loss[qn if s is None else s]), (s, d), h)
                  for (s, d), h in heads.items()]
        best = max(sc[0] for sc in scored)
        if not best > MIN_MOVE_GAIN:
            break
        _, key, _ = min((sc for sc in scored if sc[0] >= best - TIE_EPS), key=lambda sc: (
            sc[2][0], -after[qn if sc[1][0] is None else sc[1][0]], sc[2][1], sc[1][1],
            -1 if sc[1][0] is None else sc[1][0]))
        s, d = key
        _, agent, status = lists[key].pop()
        moved.add(agent)
        if s is not None:
            counts[s] -= 1
        counts[d] += 1
        steps.append(Step(agent, status, s, d))
    total = float(J[rows, start - base].sum() - J[rows, counts - base].sum())
    if not total > hysteresis:
        return [], start
    return steps, counts


@dataclass(frozen=True, slots=True)
class Effect:
    """A queue's headline metric before and after the plan, for a move's reason."""

    queue: str
    label: str            # "SL" or "on-time"
    before: float
    after: float
    goal: float
    note: str = ""        # e.g. ", abandon 0.09 -> 0.04" or " (pin min 5)"


def _fmt(e: Effect, with_goal: bool) -> str:
    goal = f" (target {e.goal:.2f})" if with_goal else ""
    return f"{e.queue} {e.label} {e.before:.2f} -> {e.after:.2f}{goal}{e.note}"


def reason_text(to: Effect, src: Effect | None) -> str:
    """One line: 'phone SL 0.52 -> 0.81 (target 0.80); email on-time 1.00 -> 0.98'."""
    tail = "from unassigned" if src is None else _fmt(src, with_goal=False)
    return f"{_fmt(to, with_goal=True)}; {tail}"
