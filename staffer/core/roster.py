"""Who is where, who is on the way, who leaves when, and who may move where.

One pass over the agent roster (the planner's only O(agents) step) gives, per queue:

* ``assigned``: staffed agents in the queue now, an agent with a move in flight counted at
  its target (contract §3.4); an agent past its ``available_until`` (finishing a last
  contact after its shift) is left out of everything, capacity and load alike;
* the server timeline over the planning horizon: agents serving now (``present``), and
  changes (``events``): an agent leaves when its ``available_until`` falls due (contract
  §11: its capacity counts only until then), a moving agent leaves its queue when its
  current contact ends and joins the target ``switch_cost_s`` later (moved agents count
  from their expected switch time);
* ``busy``: agents busy with a contact (contacts in the system now);
* the movers per (from, to) pair: staffed, not locked, not in flight, past their minimum
  dwell, not leaving within ``min_remaining_s``, skilled for the target, and not going
  back to a queue they left less than ``min_return_s`` ago (no ping-pong), nor to a queue
  while the (agent, queue) pair cools down after a rejection (``Controls.blocked_moves``);
  best first: available, wrap_up, busy, then agent id;
* the look-ahead supply: agents still on shift at each look-ahead step, split by whether
  they can work each deferred queue (for the email buffer's projection).

``site_close_s`` is a separate, cheaper pass the planner makes before the forecasts: when the
last staffed agent leaves (the planning horizon ends there, ``planner.planning_horizon``).

A contact's expected remaining time comes from the caller (``residual_s`` per queue); an
accepted move (contract §10, when the bridge sends acknowledgements) is expected exactly
like any other in-flight move: it will happen after the current contact. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from staffer.core.state import UNKNOWN_SINCE, SiteState
from staffer.core.types import Controls, InFlightMove
from staffer.vocabulary import MOVABLE_FIRST

RANK = {s: i for i, s in enumerate(MOVABLE_FIRST)}
WRAP_UP_S = 30.0  # expected rest of an agent's wrap-up


@dataclass(frozen=True, slots=True)
class Rules:
    """The guardrails and timing the roster applies (from ``PlannerSettings``)."""

    now: float
    horizon_s: float
    min_dwell_s: float = 600.0
    min_return_s: float = 1800.0
    min_remaining_s: float = 900.0
    switch_cost_s: float = 60.0


Candidate = tuple[int, str]  # (rank, agent id): lower is moved first


@dataclass(slots=True)
class Roster:
    """The roster, counted per queue; see the module docstring."""

    assigned: dict[str, int]
    present: dict[str, int]
    busy: dict[str, int]
    events: dict[str, list[tuple[float, int]]]  # queue -> (seconds from now, +1 / -1)
    staffed: int = 0
    movable: int = 0
    candidates: dict[tuple[str | None, str], list[Candidate]] = field(default_factory=dict)
    # per queue, movers out of / into it by rank: counts, then their total contact time left
    movers_out: dict[str, list[float]] = field(default_factory=dict)
    movers_in: dict[str, list[float]] = field(default_factory=dict)
    supply: dict[str, np.ndarray] = field(default_factory=dict)  # deferred queue -> per step
    others: dict[str, np.ndarray] = field(default_factory=dict)  # agents without that skill
    close: dict[str, float] = field(default_factory=dict)  # when the last of them leaves


@dataclass(slots=True)
class _Pass:
    """Working state of one roster pass."""

    queues: frozenset[str]
    rules: Rules
    residual_s: Mapping[str, float]
    out: Roster
    leave: list[float] = field(default_factory=list)
    skills: list[frozenset[str]] = field(default_factory=list)


def _in_flight(
    p: _Pass, cur: str | None, target: str, left: float, until: float, busy: bool
) -> None:
    """An agent on its way: in its queue until its contact ends, at the target after."""
    r, q = p.out, p.queues
    if cur in q:
        r.present[cur] += 1
        r.busy[cur] += busy  # its contact is still in the system
        r.events[cur].append((min(left, until), -1))
    if target in q:
        r.assigned[target] += 1
        arrive = left + p.rules.switch_cost_s
        if arrive < until:
            r.events[target].append((arrive, 1))
            if until < p.rules.horizon_s:
                r.events[target].append((until, -1))
    elif cur in q:
        r.assigned[cur] += 1


def build_roster(
    queue_ids: Sequence[str],
    state: SiteState,
    controls: Controls,
    in_flight: Mapping[str, InFlightMove],
    rules: Rules,
    residual_s: Mapping[str, float],
    deferred: Sequence[str] = (),
    ahead_edges: np.ndarray | None = None,
) -> Roster:
    """Count the roster and list the movers (see the module docstring).

    ``residual_s``: expected remaining time of a busy agent's contact(s), per queue;
    ``deferred``: queues (email) whose look-ahead supply is wanted over ``ahead_edges``.
    One pass over the roster, kept tight on purpose (the planner's only O(agents) step).
    """
    q = frozenset(queue_ids)
    out = Roster(
        dict.fromkeys(queue_ids, 0),
        dict.fromkeys(queue_ids, 0),
        dict.fromkeys(queue_ids, 0),
        {k: [] for k in queue_ids},
        movers_out={k: [0.0] * 6 for k in queue_ids},
        movers_in={k: [0.0] * 6 for k in queue_ids},
    )
    p = _Pass(q, rules, residual_s, out)
    flying = {m.agent: m.to_queue for m in in_flight.values()}
    since, gone, locked = state.assignment_starts, state.left_queues, controls.locked_agents
    blocked = controls.blocked_moves  # (agent, queue) pairs cooling down after a rejection
    now, dwell_cut = rules.now, rules.now - rules.min_dwell_s
    back_cut = rules.now - rules.min_return_s
    for agent_id, a in state.roster.items():
        rank = RANK.get(a.status)
        if rank is None:  # break / offline: neither counted nor moved
            continue
        until = math.inf if a.available_until is None else a.available_until - now
        if until <= 0.0:  # past its available_until: neither capacity nor load (§11)
            continue
        out.staffed += 1
        cur = a.queue
        p.leave.append(until)
        p.skills.append(a.skills)
        left = residual_s.get(cur or "", 0.0) if rank == 2 else (WRAP_UP_S if rank == 1 else 0.0)
        target = flying.get(agent_id)
        if target is not None:
            _in_flight(p, cur, target, left, until, rank == 2)
            continue
        if cur in q:
            out.assigned[cur] += 1
            out.present[cur] += 1
            out.busy[cur] += rank == 2
            if until < rules.horizon_s:
                out.events[cur].append((until, -1))
            if since.get(agent_id, UNKNOWN_SINCE) > dwell_cut:
                continue  # still within its minimum dwell
        elif cur is not None:
            continue  # serving a queue this site does not manage: not ours to move
        if agent_id in locked or until < rules.min_remaining_s:
            continue  # locked, or about to leave: never moved
        was = gone.get(agent_id)
        if _list_mover(out, q, agent_id, cur, a.skills, rank, left, was, back_cut, blocked):
            out.movable += 1
            if cur is not None:
                _tally(out.movers_out[cur], rank, left)
    _supply(p, deferred, ahead_edges)
    return out


def site_close_s(state: SiteState, now: float) -> float:
    """When the last staffed agent leaves (its ``available_until``), seconds from ``now``;
    ``inf`` when one of them announced nobody (the close is not in sight) or nobody is
    staffed. Break and offline agents are not counted (the roster pass ignores them too)."""
    last = -math.inf
    for a in state.roster.values():
        if a.status not in RANK:
            continue
        if a.available_until is None:
            return math.inf
        last = max(last, a.available_until)
    return last - now if math.isfinite(last) else math.inf


def _list_mover(
    out: Roster,
    queues: frozenset[str],
    agent: str,
    cur: str | None,
    skills: frozenset[str],
    rank: int,
    left: float,
    was: Mapping[str, float] | None,
    back_cut: float,
    blocked: frozenset[tuple[str, str]],
) -> bool:
    """Enter a movable agent under every queue it may go to; False when there is none."""
    cands = out.candidates
    listed = False
    for d in skills:
        if d == cur or d not in queues or (was is not None and was.get(d, -math.inf) > back_cut):
            continue  # no skill, or back to a queue it left less than min_return_s ago
        if blocked and (agent, d) in blocked:
            continue  # cooling down after a rejection (contract §10, §9): never this pair
        lst = cands.get((cur, d))
        if lst is None:
            cands[(cur, d)] = [(rank, agent)]
        else:
            lst.append((rank, agent))
        tally = out.movers_in[d]  # (a tally inline: this is the hot loop)
        tally[rank] += 1
        tally[3 + rank] += left
        listed = True
    return listed


def _tally(stats: list[float], rank: int, left: float) -> None:
    stats[rank] += 1
    stats[3 + rank] += left


def typical_left(stats: list[float], n: int) -> float:
    """Mean contact time left of the first ``n`` movers (best rank first) of a tally."""
    took = total = 0.0
    for rank in range(3):
        k = min(stats[rank], n - took)
        if k > 0:
            total += k * stats[3 + rank] / stats[rank]
            took += k
    return total / took if took else 0.0


def _supply(p: _Pass, deferred: Sequence[str], edges: np.ndarray | None) -> None:
    """Agents on shift in each look-ahead step (the mean over the step, so a shift end
    inside a step counts for the part of it worked), with and without each deferred
    skill, and when the last agent with that skill leaves."""
    if edges is None or not deferred:
        return
    leave = np.array(p.leave, dtype=float)
    a, b = edges[:-1], edges[1:]
    frac = np.clip((np.minimum(leave[:, None], b[None, :]) - a[None, :]) / (b - a)[None, :], 0, 1)
    for e in deferred:
        has = np.array([e in s for s in p.skills], dtype=bool)
        p.out.supply[e] = frac[has].sum(axis=0)
        p.out.others[e] = frac[~has].sum(axis=0)
        p.out.close[e] = float(leave[has].max()) if has.any() else 0.0
