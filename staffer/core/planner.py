"""``plan_site``: forecast every queue, then reallocate staffed agents to cut weighted shortfall.

Objective (lower is better), per queue with weight w and n agents over the horizon:

* voice/chat: ``w * (max(0, sl_goal - SL(n)) + max(0, abandon(n) - max_abandon)
  + sl_goal * max(0, load - n) / sqrt(load))`` with ``load`` the offered load in agents;
  the last term (the capacity deficit in square-root-staffing units, the scale on which
  service level moves per agent near the goal) keeps the objective falling in overload,
  where the steady-state service level is flat at 0 and would give a drowning queue no
  reason to get agents, and keeps one agent worth moving even in a queue of thousands,
* email: ``w * max(0, sl_goal - on_time(n))`` plus a steep penalty per agent below the
  deferred model's floor (``email_required_agents``), so email is only drawn down while its
  deadline stays safe,
* pins: a steeper penalty per agent outside [min, max].

All queues are evaluated in one vectorised sweep (one model call per metric) covering the
counts reachable this cycle (``assigned ± moves budget``) and the range that contains each
queue's ``required``; ``moves.select_moves`` then runs the greedy allocation with the
guardrails. Pure and deterministic: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from staffer import models
from staffer.core.forecast import QueueForecast, forecast_queue
from staffer.core.moves import Effect, build_roster, reason_text, select_moves
from staffer.core.state import SiteState
from staffer.core.types import Controls, InFlightMove, Move, Plan, QueuePlan
from staffer.settings import PlannerSettings, QueueSettings, SiteSettings

FLOOR_PENALTY = 10.0  # per agent below the email floor, times the site's largest weight
PIN_PENALTY = 100.0  # per agent outside a pin, times the site's largest weight
DEFAULT_MAX_ABANDON = models.DEFAULT_MAX_ABANDON  # one owner: staffer.models.staffing
MAX_AGENTS = 1_000_000  # search ceiling for unreachable goals
_ARITY = 16  # candidates per queue and round in the staffing search
MAX_SWEEP = 600  # at most this many counts per queue in the sweep's search range


@dataclass(frozen=True, slots=True)
class Params:
    """Per-queue model inputs as arrays, indexed by the queue's position in the site."""

    email: np.ndarray  # bool
    rate: np.ndarray  # staffing rate (voice/chat: arrivals + catch-up), email: arrivals
    aht: np.ndarray
    target_s: np.ndarray
    goal: np.ndarray  # sl_target
    patience: np.ndarray  # inf = Erlang C (and email)
    conc: np.ndarray
    cap: np.ndarray  # abandonment cap; inf without patience
    floor: np.ndarray  # Erlang C needs agents * concurrency > load
    load: np.ndarray  # offered load in agents: rate * aht / concurrency
    backlog: np.ndarray
    oldest: np.ndarray
    weight: np.ndarray


def build_params(
    qs: list[QueueSettings], fcs: list[QueueForecast], goals: list[tuple[float, float]]
) -> Params:
    arr = lambda vals: np.array(list(vals), dtype=float)  # noqa: E731
    email = np.array([q.channel == "email" for q in qs], dtype=bool)
    pat = arr(np.inf if f.patience_s is None else f.patience_s for f in fcs)
    cap = arr(q.max_abandon if q.max_abandon is not None else DEFAULT_MAX_ABANDON for q in qs)
    rate, aht, conc = (
        arr(f.staffing_rate for f in fcs),
        arr(f.aht_s for f in fcs),
        arr(q.concurrency for q in qs),
    )
    load = np.where(email, 0.0, rate * aht / conc)
    return Params(
        email=email,
        rate=rate,
        aht=aht,
        target_s=arr(g[1] for g in goals),
        goal=arr(g[0] for g in goals),
        patience=pat,
        conc=conc,
        cap=np.where(np.isfinite(pat), cap, np.inf),
        floor=np.where(np.isinf(pat) & ~email, np.floor(load) + 1.0, 0.0),
        load=load,
        backlog=arr(f.backlog for f in fcs),
        oldest=arr(f.oldest_age_s for f in fcs),
        weight=arr(q.weight for q in qs),
    )


def metrics_at(p: Params, i: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Service level (email: on-time ratio) and abandonment of queues ``i`` at ``n`` agents."""
    sl, ab = np.empty(i.shape), np.zeros(i.shape)
    e = p.email[i]
    rt, em = i[~e], i[e]
    if rt.size:
        nn = n[~e].astype(float)
        sl[~e] = models.service_level(
            p.rate[rt],
            p.aht[rt],
            nn,
            p.target_s[rt],
            patience=p.patience[rt],
            concurrency=p.conc[rt],
        )
        if np.isfinite(p.patience[rt]).any():
            ab[~e] = models.abandon_ratio(
                p.rate[rt], p.aht[rt], nn, p.patience[rt], concurrency=p.conc[rt]
            )
    if em.size:
        sl[e] = models.email_on_time_ratio(
            p.backlog[em], p.rate[em], p.aht[em], n[e].astype(float), p.target_s[em], p.oldest[em]
        )
    return sl, ab


def _meets(p: Params, i: np.ndarray, n: np.ndarray, sl: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """The queue's goal on its own: SL >= goal, abandonment <= cap, Erlang C stable."""
    return (n >= 0) & (n >= p.floor[i]) & (sl >= p.goal[i]) & (ab <= p.cap[i])


@dataclass(frozen=True, slots=True)
class Curves:
    """Per-queue metrics for n = base + k agents, k in [0, width) (arrays of shape (Q, W))."""

    base: np.ndarray
    sl: np.ndarray  # service level (voice/chat) or on-time ratio (email)
    abandon: np.ndarray
    objective: np.ndarray


def search_range(p: Params) -> tuple[np.ndarray, np.ndarray]:
    """Per queue, agent counts [lo, hi] that almost surely contain ``required`` (voice/chat).

    ``lo`` is a rigorous lower bound: Erlang C needs agents > load; with patience the
    carried load a(1 - abandon) cannot exceed the agents, so the abandonment cap needs
    n >= a(1 - cap). ``hi`` is square-root staffing with a generous margin (4 sqrt(a) + 5
    slots); a goal beyond it is found by a search. Email and idle queues: empty (lo > hi).
    """
    slots = p.load * p.conc
    lo = np.where(np.isinf(p.patience), p.floor, np.floor(p.load * (1.0 - np.minimum(p.cap, 1.0))))
    hi = np.minimum(np.ceil(p.load + (4.0 * np.sqrt(slots) + 5.0) / p.conc) + 1.0, MAX_AGENTS)
    live = ~p.email & (p.rate > 0)
    return np.where(live, lo, 1.0).astype(np.int64), np.where(live, hi, 0.0).astype(np.int64)


def evaluate(
    p: Params, pins: list[tuple[int, float]], floors: np.ndarray, assigned: np.ndarray, reach: int
) -> tuple[Curves, np.ndarray]:
    """Curves for assigned ± reach agents, and ``required`` per queue, from ONE sweep.

    Every queue's window and search range are evaluated in a single vectorised call per
    metric: the models' per-call cost dominates, not the number of points. Returns the
    curves and the required agents.
    """
    q, width = len(assigned), 2 * reach + 1
    base = assigned - reach
    bound, g_hi = search_range(p)
    g_lo = np.maximum(bound, g_hi - MAX_SWEEP)  # very wide ranges: the search goes below
    sizes = np.maximum(g_hi - g_lo + 1, 0)
    start = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    # two segments in one sweep: every queue's window, then every queue's search range
    n = base[:, None] + np.arange(width)[None, :]
    grid_rows = np.repeat(np.arange(q), sizes)
    grid_n = np.arange(int(sizes.sum())) - np.repeat(start, sizes) + np.repeat(g_lo, sizes)
    rows = np.concatenate((np.repeat(np.arange(q), width), grid_rows))
    flat_sl, flat_ab = metrics_at(p, rows, np.concatenate((np.maximum(n, 0).ravel(), grid_n)))
    sl, ab = flat_sl[: q * width].reshape(q, width), flat_ab[: q * width].reshape(q, width)
    w, goal = p.weight[:, None], p.goal[:, None]
    top = float(p.weight.max())
    pin_lo = np.array([pn[0] for pn in pins], dtype=float)[:, None]
    pin_hi = np.array([pn[1] for pn in pins], dtype=float)[:, None]
    load = p.load[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        overload = np.where(
            load > 0, np.maximum(load - n, 0.0) / np.sqrt(np.maximum(load, 1.0)), 0.0
        )
    obj = w * (np.maximum(goal - sl, 0.0) + np.maximum(ab - p.cap[:, None], 0.0) + goal * overload)
    obj += np.where(p.email[:, None], FLOOR_PENALTY * top * np.maximum(floors[:, None] - n, 0), 0.0)
    obj += PIN_PENALTY * top * (np.maximum(pin_lo - n, 0) + np.maximum(n - pin_hi, 0))
    obj = np.where(n < 0, np.inf, obj)
    # required: the first count of the search range meeting the goal
    meets = _meets(p, grid_rows, grid_n, flat_sl[q * width :], flat_ab[q * width :])
    required = np.where(p.email, floors, 0).astype(np.int64)
    unmet, fails = [], []
    for i in np.flatnonzero(~p.email & (p.rate > 0)):
        hit = meets[start[i] : start[i] + sizes[i]]
        if hit.any() and (hit.argmax() > 0 or g_lo[i] == bound[i]):
            required[i] = g_lo[i] + int(hit.argmax())
        else:  # above the range, below a range cut by MAX_SWEEP, or no range (MAX_AGENTS)
            unmet.append(i)
            fails.append(g_hi[i] if sizes[i] and not hit.any() else bound[i] - 1)
    if unmet:
        required[unmet] = search_up(p, np.array(unmet), np.array(fails, dtype=float))
    return Curves(base, sl, ab, obj), required


def email_floors(p: Params) -> np.ndarray:
    """Email queues: the deadline-safe floor; other queues 0.

    ``models.email_required_agents`` over a horizon of one deadline (``target_s``): the
    backlog and the next ``target_s`` of arrivals all answered on time. A sustained-rate
    floor (no horizon) would forbid ever running email below its arrival load, which is
    exactly the deferral that makes email the buffer for real-time surges; the floor is
    recomputed every cycle, so a growing backlog raises it again.
    """
    out = np.zeros(len(p.rate), dtype=np.int64)
    em = np.flatnonzero(p.email)
    if em.size:
        out[em] = np.maximum(
            np.asarray(
                models.email_required_agents(
                    p.backlog[em],
                    p.rate[em],
                    p.aht[em],
                    p.target_s[em],
                    p.oldest[em],
                    horizon_s=p.target_s[em],
                )
            ),
            0,
        )
    return out


def search_up(p: Params, idx: np.ndarray, fails: np.ndarray) -> np.ndarray:
    """Smallest count meeting the goal above ``fails`` (known to fail) for queues ``idx``.

    Gallops up (doubling steps) to a count that meets, then narrows the bracket 16-fold
    per round; each round is one vectorised model call for all open brackets. Goals no
    count can meet stop at MAX_AGENTS.
    """
    lo = fails.copy()
    hi = np.full(idx.size, np.nan)
    step = np.maximum(np.ceil(np.sqrt(p.load[idx] * p.conc[idx])), 1.0)
    up = np.arange(idx.size)
    while up.size:
        cand = np.minimum(lo[up] + step[up], MAX_AGENTS)
        ok = _meets(p, idx[up], cand, *metrics_at(p, idx[up], cand)) | (cand >= MAX_AGENTS)
        hi[up[ok]] = cand[ok]
        lo[up[~ok]] = cand[~ok]
        step[up] *= 2.0
        up = up[~ok]
    act = np.flatnonzero(hi - lo > 1)
    frac = np.arange(1, _ARITY) / _ARITY
    while act.size:
        span = (hi[act] - lo[act])[:, None]
        cand = np.unique(
            np.column_stack(
                [
                    np.repeat(act, _ARITY - 1),
                    np.clip(
                        lo[act, None] + np.ceil(span * frac), lo[act, None] + 1, hi[act, None] - 1
                    ).ravel(),
                ]
            ),
            axis=0,
        )
        who, n = cand[:, 0].astype(np.int64), cand[:, 1]
        ok = _meets(p, idx[who], n, *metrics_at(p, idx[who], n))
        for j in act:
            mine = who == j
            good = n[mine & ok]
            if good.size:
                hi[j] = good.min()
            bad = n[mine & ~ok & (n < hi[j])]
            if bad.size:
                lo[j] = max(lo[j], bad.max())
        act = act[hi[act] - lo[act] > 1]
    return hi.astype(np.int64)


def effective_goals(site: SiteSettings, controls: Controls) -> dict[str, tuple[float, float]]:
    """Queue id -> (sl_target, target_s) after supervisors' temporary goal overrides."""
    goals = {q.id: (q.sl_target, q.target_s) for q in site.queues}
    for g in controls.goals:
        if g.queue in goals:
            sl, t = goals[g.queue]
            goals[g.queue] = (
                sl if g.sl_target is None else g.sl_target,
                t if g.target_s is None else g.target_s,
            )
    return goals


def effective_pins(site: SiteSettings, controls: Controls) -> dict[str, tuple[int, float]]:
    """Queue id -> (min, max) agents; several pins on one queue intersect."""
    pins: dict[str, tuple[int, float]] = {q.id: (0, np.inf) for q in site.queues}
    for pn in controls.pins:
        if pn.queue in pins:
            lo, hi = pins[pn.queue]
            pins[pn.queue] = (max(lo, pn.min or 0), min(hi, np.inf if pn.max is None else pn.max))
    return pins


def predicted_asa(p: Params, n: np.ndarray) -> np.ndarray:
    """ASA at ``n`` agents: the models for voice/chat; email a fluid wait backlog*aht/n."""
    out = np.zeros(len(n))
    rt = np.flatnonzero(~p.email)
    if rt.size:
        out[rt] = models.asa(
            p.rate[rt],
            p.aht[rt],
            n[rt].astype(float),
            patience=p.patience[rt],
            concurrency=p.conc[rt],
        )
    for i in np.flatnonzero(p.email):
        busy = p.backlog[i] > 0 or p.rate[i] > 0
        out[i] = p.backlog[i] * p.aht[i] / n[i] if n[i] > 0 else (np.inf if busy else 0.0)
    return out


def _effect(
    q: QueueSettings,
    i: int,
    c: Curves,
    before: int,
    after: int,
    goal: float,
    pin: tuple[int, float],
    required: int,
) -> Effect:
    kb, ka = before - int(c.base[i]), after - int(c.base[i])
    note = ""
    if q.channel != "email" and c.sl[i, kb] < 0.005 and before < required:
        note = f", agents {before} -> {after} of {required} needed"
    cap = q.max_abandon if q.max_abandon is not None else DEFAULT_MAX_ABANDON
    if q.channel != "email" and c.abandon[i, kb] > cap:
        note += f", abandon {c.abandon[i, kb]:.2f} -> {c.abandon[i, ka]:.2f}"
    if before < pin[0]:
        note += f" (pin min {pin[0]})"
    elif before > pin[1]:
        note += f" (pin max {int(pin[1])})"
    label = "on-time" if q.channel == "email" else "SL"
    return Effect(q.id, label, float(c.sl[i, kb]), float(c.sl[i, ka]), goal, note)


def plan_site(
    site: SiteSettings,
    planner: PlannerSettings,
    state: SiteState,
    controls: Controls,
    in_flight: Mapping[str, InFlightMove],
    now: float,
    plan_id: str,
) -> Plan:
    """Forecast each queue of ``site`` and decide targets and moves (see module docstring).

    ``controls.mode`` is the active mode: ``manual`` yields no moves but the targets the
    planner would choose; ``shadow`` and ``auto`` yield moves (the shell decides what to
    publish). The scheduled forecast, when loaded, is ``state.schedule``.
    """
    qs = list(site.queues)
    ids = [q.id for q in qs]
    fcs = [
        forecast_queue(
            q,
            planner,
            state.estimate(q.id),
            state.latest(q.id),
            state.history(q.id) if state.schedule is not None else (),
            now,
            state.schedule,
        )
        for q in qs
    ]
    goal_map, pin_map = effective_goals(site, controls), effective_pins(site, controls)
    goals, pins = [goal_map[i] for i in ids], [pin_map[i] for i in ids]
    p = build_params(qs, fcs, goals)
    floors = email_floors(p)
    roster = build_roster(ids, state, controls, in_flight, now, planner.min_dwell_s)
    assigned = np.array([roster.assigned[i] for i in ids], dtype=np.int64)
    budget = min(planner.max_moves_per_cycle, roster.movable)
    curves, required = evaluate(p, pins, floors, assigned, budget)
    steps, target = select_moves(
        ids,
        curves.objective,
        curves.sl - p.goal[:, None],
        curves.base,
        assigned,
        roster,
        budget,
        planner.hysteresis,
    )
    asa = predicted_asa(p, target)
    queues: dict[str, QueuePlan] = {}
    for i, (q, f) in enumerate(zip(qs, fcs, strict=True)):
        k = int(target[i] - curves.base[i])
        latest = state.latest(q.id)  # observed figures, passed through for the console
        queues[q.id] = QueuePlan(
            channel=q.channel,
            forecast_arrival_rate=f.arrival_rate,
            forecast_aht_s=f.aht_s,
            assigned=int(assigned[i]),
            target=int(target[i]),
            required=int(required[i]),
            predicted_service_level=float(curves.sl[i, k]),
            predicted_asa_s=float(asa[i]),
            predicted_abandon_ratio=float(curves.abandon[i, k]),
            sl_target=goals[i][0],
            target_s=goals[i][1],
            observed_service_level=None if latest is None else latest.observed_service_level,
            waiting=None if latest is None else latest.waiting,
        )
    moves: tuple[Move, ...] = ()
    if controls.mode != "manual":

        def effect(i: int) -> Effect:
            return _effect(
                qs[i],
                i,
                curves,
                int(assigned[i]),
                int(target[i]),
                goals[i][0],
                pins[i],
                int(required[i]),
            )

        moves = tuple(
            Move(
                agent=s.agent,
                from_queue=None if s.src is None else ids[s.src],
                to_queue=ids[s.dst],
                reason=reason_text(effect(s.dst), None if s.src is None else effect(s.src)),
                after_current_contact=s.status != "available",
            )
            for s in steps
        )
    return Plan(
        plan_id=plan_id, site=site.id, as_of=now, mode=controls.mode, queues=queues, moves=moves
    )
