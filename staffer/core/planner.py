"""``plan_site``: forecast every queue, predict each one for every count it could get, then
move the agents whose moves pay their way.

1. Forecast (``forecast``, ``reforecast``): arrival rates over the planning steps and a
   look-ahead of hours, with their uncertainty; AHT, patience, backlog.
   The horizon ends at the site's close when that comes first (``planning_horizon``).
2. Roster (``roster``): who serves where now, who arrives or leaves when, who may move.
3. Real-time queues (``realtime``, ``transient``): service level, abandonment and ASA
   over the horizon for every count within the move budget, from the current queue.
4. Email (``email_plan``, ``email_buffer``): the fewest agents that keep every deadline
   over the look-ahead (``required``), on-time ratio and backlog per count.
5. Objective per queue and count (lower is better), weight w:

   * voice/chat: ``w * (E[max(0, goal - SL)] + E[max(0, abandon - cap)] + SLOPE * E[1 - SL]
     + goal * max(0, load - n) / sqrt(load))``, expectations over the forecast's three rate
     levels: the expected shortfall below goal; a small slope above it so the objective is
     never flat; the capacity deficit in square-root-staffing units keeps a drowning queue
     (SL flat at 0) attractive, even a very large one;
   * email: ``w * (max(0, goal - on_time) + DEBT * backlog beyond normal)`` plus a steep
     penalty per agent below the deadline floor;
   * pins: a steeper penalty per agent outside [min, max].

6. Allocation (``allocation``): augmenting paths and chains under the guardrails.

Pure and deterministic: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from staffer.core.allocation import NONE_SRC, Problem, Step, allocate
from staffer.core.email_plan import EmailCurves, ahead_edges, email_curves, realtime_need
from staffer.core.forecast import QueueForecast, forecast_queue
from staffer.core.moves import Effect, reason_text
from staffer.core.realtime import Curves, realtime_curves, residual_s, step_edges
from staffer.core.reforecast import GH_W
from staffer.core.roster import Roster, Rules, build_roster, site_close_s
from staffer.core.state import SiteState
from staffer.core.types import Controls, InFlightMove, Move, Plan, QueuePlan, QueueSnapshot
from staffer.models import DEFAULT_MAX_ABANDON
from staffer.settings import PlannerSettings, QueueSettings, SiteSettings

FLOOR_PENALTY = 10.0  # per agent below the email floor, times the site's largest weight
PIN_PENALTY = 100.0  # per agent outside a pin, times the site's largest weight
SLOPE = 0.05  # value of service level above the goal (never flat)
MIN_MOVE_GAIN = 0.015  # a move must cut the objective by more than this
SURPLUS_MARGIN = 0.05  # a release needs the donor's observed SL this far above its goal
RISE = 1.05  # no release while the next hour's forecast exceeds the horizon's by this
SUSTAIN_S = 1800.0  # a surplus must have been observed this long before a release
MIN_HORIZON_S = 300.0  # the horizon cut at the site's close is never shorter than this


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


@dataclass(frozen=True, slots=True)
class Cycle:
    """One planning cycle's inputs, per queue in the site's order."""

    qs: list[QueueSettings]
    fcs: list[QueueForecast]
    goals: list[tuple[float, float]]
    pins: list[tuple[int, float]]
    roster: Roster
    counts: np.ndarray  # assigned agents (in-flight counted at their target)
    reach: int  # count changes considered: -reach..reach
    planner: PlannerSettings
    state: SiteState
    ahead: np.ndarray  # look-ahead step edges, seconds from now
    now: float

    def where(self, email: bool) -> list[int]:
        return [i for i, q in enumerate(self.qs) if (q.channel == "email") == email]


@dataclass(frozen=True, slots=True)
class Outlook:
    """Per queue (all queues of the site, in order) and count change."""

    sl: np.ndarray  # service level (real-time: the median, reported), email on-time
    abandon: np.ndarray
    asa: np.ndarray
    J: np.ndarray
    required: np.ndarray
    donor_ok: np.ndarray
    surplus_ok: np.ndarray
    floor: np.ndarray  # email floor, 0 for real-time queues
    take_max: np.ndarray  # most agents a queue takes (real-time: until predicted at goal)


def _observed_surplus(state: SiteState, q: QueueSettings, level: float, now: float) -> bool:
    """Every snapshot of the last ``SUSTAIN_S`` together reached ``level`` (or did not
    report the service level): the surplus is sustained, not one quiet interval."""
    recent = [s for s in state.history(q.id) if s.ts > now - SUSTAIN_S]
    if not recent:
        return False
    offered = sum(s.offered for s in recent)
    if any(s.answered_within_target is None for s in recent) or offered == 0:
        return True
    return sum(s.answered_within_target or 0 for s in recent) / offered >= level


def _realtime_part(c: Cycle, ix: list[int], rt: Curves, out: dict[str, np.ndarray]) -> None:
    """Fill the real-time rows of the outlook arrays."""
    k = np.arange(-c.reach, c.reach + 1)
    for r, i in enumerate(ix):
        q, f, (goal, _) = c.qs[i], c.fcs[i], c.goals[i]
        cap = q.max_abandon if q.max_abandon is not None else DEFAULT_MAX_ABANDON
        if f.patience_s is None:
            cap = np.inf
        sl, ab = rt.sl_levels[r], rt.abandon_levels[r]  # (rate levels, counts)
        load = f.arrival_rate * f.aht_s / q.concurrency
        n = c.counts[i] + k
        deficit = np.maximum(load - n, 0.0) / np.sqrt(max(load, 1.0)) if load > 0 else 0.0 * n
        # the expected shortfall over the rate's uncertainty, not the shortfall of the mean
        per_level = np.maximum(goal - sl, 0.0) + np.maximum(ab - cap, 0.0) + SLOPE * (1.0 - sl)
        out["J"][i] = q.weight * (GH_W @ per_level + goal * deficit)
        out["sl"][i], out["abandon"][i], out["asa"][i] = rt.median[:, r]  # what a plan reports
        out["required"][i] = rt.required[r]
        out["donor_ok"][i] = not rt.short_now[r]
        meets = (rt.sl[r, c.reach :] >= goal - 1e-9) & (rt.abandon[r, c.reach :] <= cap)
        at_goal = np.flatnonzero(meets)  # k = 0, 1, ...
        out["take_max"][i] = at_goal[0] if at_goal.size else c.reach
        # release only with room even at the high rate level, nothing rising ahead, and a
        # surplus already seen for a while
        spare = c.reach >= 1 and rt.sl_levels[r, -1, c.reach - 1] >= goal
        rising = f.ahead_rates.size > 2 and f.ahead_rates[1:3].max() > RISE * f.arrival_rate
        seen = _observed_surplus(c.state, q, goal + SURPLUS_MARGIN, c.now)
        out["surplus_ok"][i] = spare and not f.shift and not rising and seen


def _email_part(ix: list[int], em: EmailCurves, out: dict[str, np.ndarray]) -> None:
    for r, i in enumerate(ix):
        out["J"][i] = em.J[r]
        out["sl"][i], out["asa"][i] = em.on_time[r], em.asa[r]
        out["required"][i] = out["floor"][i] = em.floor[r]
        out["donor_ok"][i] = True  # below its floor the penalty keeps email's agents
        out["surplus_ok"][i] = True


def _penalties(c: Cycle, out: dict[str, np.ndarray]) -> None:
    """Pins and the email floor: steep penalties per agent outside them."""
    top = max(q.weight for q in c.qs)
    n = c.counts[:, None] + np.arange(-c.reach, c.reach + 1)[None, :]
    lo = np.array([p[0] for p in c.pins], dtype=float)[:, None]
    hi = np.array([p[1] for p in c.pins], dtype=float)[:, None]
    J = out["J"] + PIN_PENALTY * top * (np.maximum(lo - n, 0) + np.maximum(n - hi, 0))
    email = np.array([q.channel == "email" for q in c.qs])[:, None]
    J = J + np.where(email, FLOOR_PENALTY * top * np.maximum(out["floor"][:, None] - n, 0), 0.0)
    out["J"] = np.where(n < 0, np.inf, J)
    out["donor_ok"] = out["donor_ok"] | (c.counts > hi[:, 0])  # above a pin max: must give


def build_outlook(c: Cycle) -> Outlook:
    """Predictions and objective of every queue for every count within reach."""
    nq, w = len(c.qs), 2 * c.reach + 1
    out: dict[str, np.ndarray] = {
        "sl": np.ones((nq, w)),
        "abandon": np.zeros((nq, w)),
        "asa": np.zeros((nq, w)),
        "J": np.zeros((nq, w)),
        "required": np.zeros(nq, dtype=np.int64),
        "donor_ok": np.ones(nq, bool),
        "surplus_ok": np.ones(nq, bool),
        "floor": np.zeros(nq, dtype=np.int64),
        "take_max": np.full(nq, float(c.reach)),
    }
    rt_ix, em_ix = c.where(email=False), c.where(email=True)
    if rt_ix:
        rt = realtime_curves(
            [c.qs[i] for i in rt_ix],
            [c.fcs[i] for i in rt_ix],
            [c.goals[i] for i in rt_ix],
            c.roster,
            c.reach,
            step_edges(c.planner.horizon_s),
            c.planner.switch_cost_s,
        )
        _realtime_part(c, rt_ix, rt, out)
    if em_ix:
        need = realtime_need(c.qs, c.fcs, out["required"], rt_ix)
        em = email_curves(c, em_ix, need)
        _email_part(em_ix, em, out)
    _penalties(c, out)
    return Outlook(**out)


def _pools(ids: Sequence[str], roster: Roster) -> dict[tuple[int, int], list[tuple[int, str]]]:
    index = {q: i for i, q in enumerate(ids)}
    return {
        (NONE_SRC if s is None else index[s], index[d]): lst
        for (s, d), lst in roster.candidates.items()
    }


def _effect(
    q: QueueSettings,
    i: int,
    o: Outlook,
    counts: np.ndarray,
    col: np.ndarray,
    reach: int,
    goal: float,
    pin: tuple[int, float],
) -> Effect:
    kb, ka = reach, int(col[i])
    before, after = int(counts[i]), int(counts[i]) + ka - reach
    note = ""
    required = int(o.required[i])
    if q.channel != "email" and o.sl[i, kb] < goal and before < required:
        note = f", agents {before} -> {after} of {required} needed"
    cap = q.max_abandon if q.max_abandon is not None else DEFAULT_MAX_ABANDON
    if q.channel != "email" and o.abandon[i, kb] > cap:
        note += f", abandon {o.abandon[i, kb]:.2f} -> {o.abandon[i, ka]:.2f}"
    if before < pin[0]:
        note += f" (pin min {pin[0]})"
    elif before > pin[1]:
        note += f" (pin max {int(pin[1])})"
    label = "on-time" if q.channel == "email" else "SL"
    return Effect(q.id, label, float(o.sl[i, kb]), float(o.sl[i, ka]), goal, note)


def _moves(
    qs: list[QueueSettings],
    steps: list[Step],
    o: Outlook,
    counts: np.ndarray,
    col: np.ndarray,
    reach: int,
    goals: list[tuple[float, float]],
    pins: list[tuple[int, float]],
) -> tuple[Move, ...]:
    def effect(i: int) -> Effect:
        return _effect(qs[i], i, o, counts, col, reach, goals[i][0], pins[i])

    return tuple(
        Move(
            agent=s.agent,
            from_queue=None if s.src is None else qs[s.src].id,
            to_queue=qs[s.dst].id,
            reason=reason_text(effect(s.dst), None if s.src is None else effect(s.src)),
            after_current_contact=s.rank != 0,
        )
        for s in steps
    )


def _latest_observed(latest: QueueSnapshot | None) -> tuple[float | None, int | None]:
    """The latest snapshot's observed service level and waiting, passed through for the
    console (None when the queue never reported)."""
    return (None, None) if latest is None else (latest.observed_service_level, latest.waiting)


def planning_horizon(planner: PlannerSettings, close_s: float) -> PlannerSettings:
    """The settings to plan with: the horizon ends at the site's close (``close_s`` from
    now, when the last staffed agent leaves) when that comes first. Past the close nobody
    serves, so a horizon reaching beyond it predicts every real-time queue short and
    pulls email agents it can never pay back; the email look-ahead stops there too."""
    if close_s >= planner.horizon_s:
        return planner
    return planner.model_copy(update={"horizon_s": max(close_s, MIN_HORIZON_S)})


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
    close_s = site_close_s(state, now)
    planner = planning_horizon(planner, close_s)
    goal_map, pin_map = effective_goals(site, controls), effective_pins(site, controls)
    goals, pins = [goal_map[i] for i in ids], [pin_map[i] for i in ids]
    edges = step_edges(planner.horizon_s)
    ahead = ahead_edges(
        planner.horizon_s,
        [g[1] for q, g in zip(qs, goals, strict=True) if q.channel == "email"],
        close_s,
    )
    fcs = [
        forecast_queue(
            q,
            planner,
            state.estimate(q.id),
            state.latest(q.id),
            state.history(q.id),
            now,
            state.schedule,
            edges,
            ahead,
        )
        for q in qs
    ]
    rules = Rules(
        now,
        planner.horizon_s,
        planner.min_dwell_s,
        planner.min_return_s,
        planner.min_remaining_s,
        planner.switch_cost_s,
    )
    residual = {q.id: residual_s(q, f.aht_s) for q, f in zip(qs, fcs, strict=True)}
    deferred = [q.id for q in qs if q.channel == "email"]
    roster = build_roster(ids, state, controls, in_flight, rules, residual, deferred, ahead)
    counts = np.array([roster.assigned[i] for i in ids], dtype=np.int64)
    reach = min(planner.max_moves_per_cycle, roster.movable)
    c = Cycle(qs, fcs, goals, pins, roster, counts, reach, planner, state, ahead, now)
    o = build_outlook(c)
    problem = Problem(
        o.J,
        reach,
        _pools(ids, roster),
        o.donor_ok,
        o.surplus_ok,
        o.floor,
        np.array([q.channel == "email" for q in qs]),
        np.array([p[0] for p in pins], dtype=float) - counts,  # changes short of a pin min
        o.take_max,
        reach,
        MIN_MOVE_GAIN,
        planner.hysteresis,
    )
    steps, col = allocate(problem)
    target = counts + col - reach
    observed = [_latest_observed(state.latest(i)) for i in ids]
    queues = {
        q.id: QueuePlan(
            channel=q.channel,
            forecast_arrival_rate=f.arrival_rate,
            forecast_aht_s=f.aht_s,
            assigned=int(counts[i]),
            target=int(target[i]),
            required=int(o.required[i]),
            predicted_service_level=float(o.sl[i, col[i]]),
            predicted_asa_s=float(o.asa[i, col[i]]),
            predicted_abandon_ratio=float(o.abandon[i, col[i]]),
            sl_target=goals[i][0],
            target_s=goals[i][1],
            observed_service_level=observed[i][0],
            waiting=observed[i][1],
        )
        for i, (q, f) in enumerate(zip(qs, fcs, strict=True))
    }
    moves = (
        () if controls.mode == "manual" else _moves(qs, steps, o, counts, col, reach, goals, pins)
    )
    return Plan(
        plan_id=plan_id, site=site.id, as_of=now, mode=controls.mode, queues=queues, moves=moves
    )
