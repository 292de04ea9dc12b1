"""``plan_site``: forecast every queue, then reallocate staffed agents to cut weighted shortfall.

Objective (lower is better), per queue with weight w and n agents over the horizon:

* voice/chat: ``w * (max(0, sl_goal - SL(n)) + max(0, abandon(n) - max_abandon)
  + sl_goal * max(0, 1 - n * concurrency / traffic))``; the last term (the share of offered
  work beyond capacity) keeps the objective falling in overload, where the steady-state
  service level is flat at 0 and would give a drowning queue no reason to get agents,
* email: ``w * max(0, sl_goal - on_time(n))`` plus a steep penalty per agent below the
  deferred model's floor (``email_required_agents``), so email is only drawn down while its
  deadline stays safe,
* pins: a steeper penalty per agent outside [min, max],

Each queue's curve is evaluated once, vectorised, over the counts reachable this cycle
(``assigned ± moves budget``); ``moves.select_moves`` then runs the greedy allocation with
the guardrails. Pure and deterministic: ``now`` is passed in, ties break by agent id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from staffer import models
from staffer.core.forecast import QueueForecast, forecast_queue
from staffer.core.moves import Effect, build_roster, reason_text, select_moves
from staffer.core.state import SiteState
from staffer.core.types import Controls, InFlightMove, Move, Plan, QueuePlan
from staffer.settings import PlannerSettings, QueueSettings, SiteSettings

FLOOR_PENALTY = 10.0      # per agent below the email floor, times the site's largest weight
PIN_PENALTY = 100.0       # per agent outside a pin, times the site's largest weight
DEFAULT_MAX_ABANDON = 0.05


@dataclass(frozen=True, slots=True)
class Curves:
    """Per-queue metrics for n = base + k agents, k in [0, width) (arrays of shape (Q, W))."""

    base: np.ndarray
    sl: np.ndarray        # service level (voice/chat) or on-time ratio (email)
    asa: np.ndarray
    abandon: np.ndarray
    objective: np.ndarray


def effective_goals(site: SiteSettings, controls: Controls) -> dict[str, tuple[float, float]]:
    """Queue id -> (sl_target, target_s) after supervisors' temporary goal overrides."""
    goals = {q.id: (q.sl_target, q.target_s) for q in site.queues}
    for g in controls.goals:
        if g.queue in goals:
            sl, t = goals[g.queue]
            goals[g.queue] = (sl if g.sl_target is None else g.sl_target,
                              t if g.target_s is None else g.target_s)
    return goals


def effective_pins(site: SiteSettings, controls: Controls) -> dict[str, tuple[int, float]]:
    """Queue id -> (min, max) agents; several pins on one queue intersect."""
    pins = {q.id: (0, np.inf) for q in site.queues}
    for p in controls.pins:
        if p.queue in pins:
            lo, hi = pins[p.queue]
            pins[p.queue] = (max(lo, p.min or 0), min(hi, np.inf if p.max is None else p.max))
    return pins


def _flat(values: Sequence[float | None], shape: tuple[int, int]) -> np.ndarray:
    col = np.array([np.nan if v is None else v for v in values], dtype=float)[:, None]
    return np.broadcast_to(col, shape).ravel()


def _realtime(idx: list[int], qs: list[QueueSettings], fcs: list[QueueForecast],
              goals: list[tuple[float, float]], n: np.ndarray, with_patience: bool,
              out: tuple[np.ndarray, ...]) -> None:
    """Fill SL / ASA / abandon rows of voice and chat queues (one vectorised call each)."""
    if not idx:
        return
    shape = (len(idx), n.shape[1])
    rate = _flat([fcs[i].staffing_rate for i in idx], shape)
    aht = _flat([fcs[i].aht_s for i in idx], shape)
    tgt = _flat([goals[i][1] for i in idx], shape)
    conc = _flat([qs[i].concurrency for i in idx], shape)
    agents = np.maximum(n[idx], 0).astype(float).ravel()
    pat = _flat([fcs[i].patience_s for i in idx], shape) if with_patience else None
    sl, asa, ab = out
    sl[idx] = np.asarray(models.service_level(rate, aht, agents, tgt, patience=pat,
                                              concurrency=conc)).reshape(shape)
    asa[idx] = np.asarray(models.asa(rate, aht, agents, patience=pat,
                                     concurrency=conc)).reshape(shape)
    if pat is not None:
        ab[idx] = np.asarray(models.abandon_ratio(rate, aht, agents, pat,
                                                  concurrency=conc)).reshape(shape)


def _email(idx: list[int], fcs: list[QueueForecast], goals: list[tuple[float, float]],
           n: np.ndarray, out: tuple[np.ndarray, ...]) -> None:
    """Fill on-time ratio and a fluid wait estimate (backlog x aht / agents) for email."""
    if not idx:
        return
    shape = (len(idx), n.shape[1])
    backlog = _flat([fcs[i].backlog for i in idx], shape)
    rate = _flat([fcs[i].arrival_rate for i in idx], shape)
    aht = _flat([fcs[i].aht_s for i in idx], shape)
    tgt = _flat([goals[i][1] for i in idx], shape)
    oldest = _flat([fcs[i].oldest_age_s for i in idx], shape)
    agents = np.maximum(n[idx], 0).astype(float).ravel()
    sl, asa, _ = out
    sl[idx] = np.asarray(models.email_on_time_ratio(backlog, rate, aht, agents, tgt,
                                                    oldest)).reshape(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = np.where(agents > 0, backlog * aht / np.maximum(agents, 1.0),
                        np.where((backlog > 0) | (rate > 0), np.inf, 0.0))
    asa[idx] = wait.reshape(shape)


def required_agents(qs: list[QueueSettings], fcs: list[QueueForecast],
                    goals: list[tuple[float, float]]) -> np.ndarray:
    """Fewest agents meeting each queue's goal on its own (contract §3.4 ``required``)."""
    req = np.zeros(len(qs), dtype=np.int64)
    groups: dict[str, list[int]] = {"patience": [], "erlang_c": [], "email": []}
    for i, (q, f) in enumerate(zip(qs, fcs, strict=True)):
        key = "email" if q.channel == "email" else (
            "erlang_c" if f.patience_s is None else "patience")
        groups[key].append(i)
    for key, idx in groups.items():
        if not idx:
            continue
        arr = lambda vals: np.array(vals, dtype=float)  # noqa: E731
        aht = arr([fcs[i].aht_s for i in idx])
        tgt = arr([goals[i][1] for i in idx])
        if key == "email":
            r = models.email_required_agents(
                arr([fcs[i].backlog for i in idx]), arr([fcs[i].arrival_rate for i in idx]),
                aht, tgt, arr([fcs[i].oldest_age_s for i in idx]))
        else:
            pat = arr([fcs[i].patience_s or 0.0 for i in idx]) if key == "patience" else None
            cap = arr([qs[i].max_abandon if qs[i].max_abandon is not None
                       else DEFAULT_MAX_ABANDON for i in idx]) if pat is not None else None
            r = models.required_agents(
                arr([fcs[i].staffing_rate for i in idx]), aht, tgt,
                arr([goals[i][0] for i in idx]), patience=pat,
                concurrency=arr([qs[i].concurrency for i in idx]), max_abandon=cap)
        req[idx] = np.asarray(r, dtype=np.int64).reshape(len(idx))
    return req


def evaluate_curves(qs: list[QueueSettings], fcs: list[QueueForecast],
                    goals: list[tuple[float, float]], pins: list[tuple[int, float]],
                    floors: np.ndarray, assigned: np.ndarray, reach: int) -> Curves:
    """Metrics and objective of every queue for assigned - reach .. assigned + reach agents."""
    width = 2 * reach + 1
    base = assigned - reach
    n = base[:, None] + np.arange(width)[None, :]
    shape = n.shape
    sl, asa, ab = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    rt_p = [i for i, q in enumerate(qs) if q.channel != "email" and fcs[i].patience_s]
    rt_c = [i for i, q in enumerate(qs) if q.channel != "email" and not fcs[i].patience_s]
    em = [i for i, q in enumerate(qs) if q.channel == "email"]
    _realtime(rt_p, qs, fcs, goals, n, True, (sl, asa, ab))
    _realtime(rt_c, qs, fcs, goals, n, False, (sl, asa, ab))
    _email(em, fcs, goals, n, (sl, asa, ab))
    w = np.array([q.weight for q in qs])[:, None]
    top = float(w.max())
    goal = np.array([g[0] for g in goals])[:, None]
    cap = np.array([np.inf if q.channel == "email" or fcs[i].patience_s is None else
                    (q.max_abandon if q.max_abandon is not None else DEFAULT_MAX_ABANDON)
                    for i, q in enumerate(qs)])[:, None]
    is_email = np.array([q.channel == "email" for q in qs])[:, None]
    lo = np.array([p[0] for p in pins], dtype=float)[:, None]
    hi = np.array([p[1] for p in pins], dtype=float)[:, None]
    traffic = np.array([0.0 if q.channel == "email" else
                        fcs[i].staffing_rate * fcs[i].aht_s / q.concurrency
                        for i, q in enumerate(qs)])[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        overload = np.where(traffic > 0, np.maximum(1.0 - n / traffic, 0.0), 0.0)
    obj = w * (np.maximum(goal - sl, 0.0) + np.maximum(ab - cap, 0.0) + goal * overload)
    obj += np.where(is_email, FLOOR_PENALTY * top * np.maximum(floors[:, None] - n, 0), 0.0)
    obj += PIN_PENALTY * top * (np.maximum(lo - n, 0) + np.maximum(n - hi, 0))
    obj = np.where(n < 0, np.inf, obj)
    return Curves(base, sl, asa, ab, obj)


def _effect(q: QueueSettings, i: int, c: Curves, before: int, after: int,
            goals: list[tuple[float, float]], pins: list[tuple[int, float]],
            required: np.ndarray) -> Effect:
    kb, ka = before - int(c.base[i]), after - int(c.base[i])
    note = ""
    if q.channel != "email" and c.sl[i, kb] < 0.005 and before < required[i]:
        note = f", agents {before} -> {after} of {int(required[i])} needed"
    cap = q.max_abandon if q.max_abandon is not None else DEFAULT_MAX_ABANDON
    if q.channel != "email" and c.abandon[i, kb] > cap:
        note += f", abandon {c.abandon[i, kb]:.2f} -> {c.abandon[i, ka]:.2f}"
    lo, hi = pins[i]
    if before < lo:
        note += f" (pin min {lo})"
    elif before > hi:
        note += f" (pin max {int(hi)})"
    label = "on-time" if q.channel == "email" else "SL"
    return Effect(q.id, label, float(c.sl[i, kb]), float(c.sl[i, ka]), goals[i][0], note)


def plan_site(site: SiteSettings, planner: PlannerSettings, state: SiteState,
              controls: Controls, in_flight: Mapping[str, InFlightMove], now: float,
              plan_id: str) -> Plan:
    """Forecast each queue of ``site`` and decide targets and moves (see module docstring).

    ``controls.mode`` is the active mode: ``manual`` yields no moves but the targets the
    planner would choose; ``shadow`` and ``auto`` yield moves (the shell decides what to
    publish). The scheduled forecast, when loaded, is ``state.schedule``.
    """
    qs = list(site.queues)
    ids = [q.id for q in qs]
    fcs = [forecast_queue(q, planner, state.estimate(q.id), state.latest(q.id),
                          state.history(q.id) if state.schedule is not None else (), now,
                          state.schedule) for q in qs]
    goal_map, pin_map = effective_goals(site, controls), effective_pins(site, controls)
    goals, pins = [goal_map[i] for i in ids], [pin_map[i] for i in ids]
    required = required_agents(qs, fcs, goals)
    floors = np.where([q.channel == "email" for q in qs], required, 0)
    roster = build_roster(ids, state, controls, in_flight, now, planner.min_dwell_s)
    assigned = np.array([roster.assigned[i] for i in ids], dtype=np.int64)
    movable = len({a for lst in roster.candidates.values() for _, a, _ in lst})
    budget = min(planner.max_moves_per_cycle, movable)
    curves = evaluate_curves(qs, fcs, goals, pins, floors, assigned, budget)
    slack = curves.sl - np.array([g[0] for g in goals])[:, None]
    steps, target = select_moves(ids, curves.objective, slack, curves.base, assigned, roster,
                                 budget, planner.hysteresis)
    queues: dict[str, QueuePlan] = {}
    for i, (q, f) in enumerate(zip(qs, fcs, strict=True)):
        k = int(target[i] - curves.base[i])
        queues[q.id] = QueuePlan(
            channel=q.channel, forecast_arrival_rate=f.arrival_rate, forecast_aht_s=f.aht_s,
            assigned=int(assigned[i]), target=int(target[i]), required=int(required[i]),
            predicted_service_level=float(curves.sl[i, k]),
            predicted_asa_s=float(curves.asa[i, k]),
            predicted_abandon_ratio=float(curves.abandon[i, k]),
            sl_target=goals[i][0], target_s=goals[i][1])
    moves: tuple[Move, ...] = ()
    if controls.mode != "manual":
        moves = tuple(Move(
            agent=s.agent, from_queue=None if s.src is None else ids[s.src], to_queue=ids[s.dst],
            reason=reason_text(
                _effect(qs[s.dst], s.dst, curves, int(assigned[s.dst]), int(target[s.dst]),
                        goals, pins, required),
                None if s.src is None else _effect(qs[s.src], s.src, curves,
                                                   int(assigned[s.src]), int(target[s.src]),
                                                   goals, pins, required)),
            after_current_contact=s.status != "available") for s in steps)
    return Plan(plan_id=plan_id, site=site.id, as_of=now, mode=controls.mode, queues=queues,
                moves=moves)
