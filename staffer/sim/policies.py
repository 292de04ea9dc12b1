"""Staffing policies the simulator compares on identical contacts.

* ``static``: the schedule never changes.
* ``threshold``: what a human real-time analyst does: when a real-time queue has
  ``pull_waiting`` or more contacts waiting, pull one skilled agent from the email pool;
  give borrowed agents back one at a time once the queue has been quiet for a while.
* ``staffer``: the daemon's real core (``Site``: ``SiteState`` and ``InFlightBook``, and
  ``plan_site``) in-process, fed the same snapshots and agent states a bridge would
  publish, on the planner's cadence.

A policy is called every ``period_s`` of simulated time and returns moves, which the
engine applies after each agent's current contact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from staffer.codec.timefmt import format_ts
from staffer.core.forecast import load_forecast_csv
from staffer.core.planner import plan_site
from staffer.core.site import Site
from staffer.core.state import SiteState
from staffer.core.types import AgentState, Controls, InFlightMove, Move, Plan, QueueSnapshot
from staffer.settings import PlannerSettings, SiteSettings
from staffer.sim.engine import Engine
from staffer.sim.scenario import Scenario
from staffer.vocabulary import POLICIES  # one owner: staffer.vocabulary


class Policy(Protocol):
    name: str
    period_s: float

    def decide(self, engine: Engine) -> list[Move]: ...


class StaticPolicy:
    """Never moves anyone."""

    name = "static"

    def __init__(self, scenario: Scenario) -> None:
        self.period_s = scenario.report_interval_s

    def decide(self, engine: Engine) -> list[Move]:
        return []


class ThresholdPolicy:
    """A human analyst's rule of thumb: pull from email on long queues, release when quiet."""

    name = "threshold"

    def __init__(self, scenario: Scenario) -> None:
        self.p = scenario.threshold
        self.period_s = self.p.check_s
        self.realtime = [
            q.id for q in scenario.site.queues if q.channel != "email" and q.id != self.p.pool
        ]
        self.borrowed: dict[str, str] = {}  # agent -> real-time queue it was pulled to
        self.quiet_since: dict[str, float] = {}

    def decide(self, engine: Engine) -> list[Move]:
        now = engine.now
        moves: list[Move] = []
        taken: set[str] = set()
        pool = self.p.pool
        # drop agents no longer where we put them (e.g. shift ended)
        for aid, q in list(self.borrowed.items()):
            if engine.agents[aid].queue != q and engine.agents[aid].pending != q:
                del self.borrowed[aid]
        for q in self.realtime:
            waiting = engine.n_waiting[q]
            if waiting >= self.p.pull_waiting:
                self.quiet_since.pop(q, None)
                if len(self.borrowed) >= self.p.max_borrowed:
                    continue
                cands = [
                    a
                    for a in engine.by_queue.get(pool, [])
                    if a.online and a.pending is None and q in a.skills and a.id not in taken
                ]
                if cands:
                    a = min(cands, key=lambda a: (a.active, a.id))
                    moves.append(Move(a.id, pool, q, f"{q}: {waiting} waiting"))
                    self.borrowed[a.id] = q
                    taken.add(a.id)
            elif waiting <= self.p.release_waiting:
                since = self.quiet_since.setdefault(q, now)
                mine = [
                    aid
                    for aid, bq in self.borrowed.items()
                    if bq == q and engine.agents[aid].queue == q
                ]
                if mine and now - since >= self.p.release_after_s:
                    aid = sorted(mine)[-1]
                    moves.append(Move(aid, q, pool, f"{q} quiet"))
                    del self.borrowed[aid]
                    self.quiet_since[q] = now
            else:
                self.quiet_since.pop(q, None)
        return moves


PlanFn = Callable[
    [SiteSettings, PlannerSettings, SiteState, Controls, Mapping[str, InFlightMove], float, str],
    Plan,
]


class StafferPolicy:
    """The daemon's planning core, in-process, mode auto, driven as the daemon drives it.

    One ``staffer.core.site.Site`` (live state, the in-flight book, plan ids), fed what a
    bridge publishes: every agent state (each confirming its in-flight move, as the
    daemon's agent-state handler does), then the site snapshot, after which moves that
    timed out leave the book and the planner runs at the snapshot's time. Fresh moves
    enter the book as the daemon's emitter puts them there. ``plan_fn`` is
    ``plan_site`` unless a benchmark swaps in another planner with the same signature.
    """

    name = "staffer"

    def __init__(self, scenario: Scenario, plan_fn: PlanFn | None = None) -> None:
        self.sc = scenario
        self.planner = scenario.planner
        self.period_s = scenario.planner.interval_s
        self.site = Site.new(scenario.site, self.planner)
        self.site.state.schedule = load_forecast_csv(scenario.forecast_csv())
        self.plan_fn: PlanFn = plan_site if plan_fn is None else plan_fn
        self.plans: list[Plan] = []

    def observe(self, agents: list[AgentState], snaps: dict[str, QueueSnapshot]) -> None:
        """Feed what a bridge would publish: agent states first, then the site snapshot."""
        site = self.site
        for a in agents:
            site.state.apply_agent(a)
            site.flights.confirm(site.state.roster[a.agent])
        for q, s in snaps.items():
            if q in site.queue_ids:
                site.state.apply_snapshot(q, s)
        site.flights.expire(site.state.clock)

    def plan(self, now_ts: float) -> Plan:
        """Run the planner once; its fresh moves are in flight from now on."""
        site = self.site
        plan = self.plan_fn(
            site.cfg,
            self.planner,
            site.state,
            Controls(mode="auto"),
            site.flights.by_agent,
            now_ts,
            site.next_plan_id(format_ts(now_ts)),
        )
        fresh = [m for m in plan.moves if not site.flights.is_in_flight(m.agent, m.to_queue)]
        for m in fresh:
            site.flights.add(InFlightMove(m.agent, m.to_queue, plan.plan_id, now_ts))
        self.plans.append(plan)
        return replace(plan, moves=tuple(fresh))

    def decide(self, engine: Engine) -> list[Move]:
        self.observe(engine.agent_states(), engine.take_snapshots())
        return list(self.plan(self.sc.start_ts + engine.now).moves)

    def predictions(self) -> list[tuple[float, dict[str, float]]]:
        """Each plan's predicted service level per queue (seconds from the day's start)."""
        t0 = self.sc.start_ts
        return [
            (
                p.as_of - t0,
                {
                    q: v.predicted_service_level
                    for q, v in p.queues.items()
                    if v.predicted_service_level is not None
                },
            )
            for p in self.plans
        ]


def make_policy(name: str, scenario: Scenario) -> Policy:
    """Build a policy by name (``static``, ``threshold``, ``staffer``)."""
    if name == "static":
        return StaticPolicy(scenario)
    if name == "threshold":
        return ThresholdPolicy(scenario)
    if name == "staffer":
        return StafferPolicy(scenario)
    raise ValueError(f"unknown policy {name!r} (choose from {', '.join(POLICIES)})")


def decision_times(period_s: float, end_s: float) -> list[float]:
    """Times (seconds from the day's start) at which a policy is consulted."""
    n = math.ceil(end_s / period_s - 1e-9)
    return [min((i + 1) * period_s, end_s) for i in range(n)]
