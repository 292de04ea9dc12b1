"""Staffing policies the simulator compares on identical contacts.

* ``static``: the schedule never changes.
* ``threshold``: what a human real-time analyst does: when a real-time queue has
  ``pull_waiting`` or more contacts waiting, pull one skilled agent from the email pool;
  give borrowed agents back one at a time once the queue has been quiet for a while.
* ``staffer``: the daemon's real core (``SiteState`` + ``plan_site``) in-process, fed the
  same snapshots and agent states a bridge would publish, on the planner's cadence.

A policy is called every ``period_s`` of simulated time and returns moves, which the
engine applies after each agent's current contact.
"""

from __future__ import annotations

import itertools
import math
from typing import Protocol

from staffer.core.types import AgentState, Controls, InFlightMove, Move, Plan, QueueSnapshot
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


class StafferPolicy:
    """The daemon's planning core, in-process, mode auto."""

    name = "staffer"

    def __init__(self, scenario: Scenario) -> None:
        from staffer.core.state import SiteState

        self.sc = scenario
        self.site = scenario.site
        self.planner = scenario.planner
        self.period_s = scenario.planner.interval_s
        self.state = SiteState(self.site.id, half_life_s=self.planner.smoothing_half_life_s)
        if hasattr(self.state, "schedule"):
            from staffer.core.forecast import load_forecast_csv

            self.state.schedule = load_forecast_csv(scenario.forecast_csv())
        self.in_flight: dict[str, InFlightMove] = {}
        self._ids = itertools.count(1)
        self.plans: list[Plan] = []

    def observe(self, agents: list[AgentState], snaps: dict[str, QueueSnapshot]) -> None:
        """Feed what a bridge would publish: agent states first, then the site snapshot."""
        for a in agents:
            self.state.apply_agent(a)
        for q, s in snaps.items():
            self.state.apply_snapshot(q, s)
        roster = self.state.roster
        for aid, f in list(self.in_flight.items()):
            cur = roster.get(aid)
            now = max(s.ts for s in snaps.values()) if snaps else f.issued_at
            if (
                cur is not None and cur.queue == f.to_queue
            ) or now - f.issued_at >= self.planner.move_timeout_s:
                del self.in_flight[aid]

    def plan(self, now_ts: float) -> Plan:
        """Run the real planner once and record the moves as in flight."""
        from staffer.core.planner import plan_site

        n = next(self._ids)
        plan = plan_site(
            self.site,
            self.planner,
            self.state,
            Controls(mode="auto"),
            dict(self.in_flight),
            now_ts,
            f"sim-{n}",
        )
        for m in plan.moves:
            self.in_flight[m.agent] = InFlightMove(m.agent, m.to_queue, f"sim-{n}", now_ts)
        self.plans.append(plan)
        return plan

    def decide(self, engine: Engine) -> list[Move]:
        self.observe(engine.agent_states(), engine.take_snapshots())
        return list(self.plan(self.sc.start_ts + engine.now).moves)


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
