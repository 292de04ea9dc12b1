"""One served site at run time: live state, moves in flight, cool-downs, open proposals, the
planning clock.

Pure (no I/O, no clock reads): the shell passes wall time in. The event-clock rule
of contract §7 lives here: a site snapshot that moves the site clock to or past the
next grid time triggers a plan, and the next grid time then moves on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from staffer.core.clock import next_grid_time
from staffer.core.cooldowns import CooldownBook
from staffer.core.inflight import InFlightBook
from staffer.core.proposals import ProposalBook
from staffer.core.state import SiteState
from staffer.core.types import Move
from staffer.settings import PlannerSettings, SiteSettings


@dataclass(eq=False)
class Site:
    """Everything the daemon holds for one owned site."""

    cfg: SiteSettings
    state: SiteState
    flights: InFlightBook
    next_due: float | None = None  # event clock: the next grid time to plan at
    last_plan_json: bytes | None = None  # as published (retained), restored on restart
    planned_mode: str | None = None  # the mode of the last plan made (this run)
    plans: int = field(default=0)
    queue_ids: frozenset[str] = frozenset()
    cooldowns: CooldownBook = field(default_factory=CooldownBook)  # rejected moves (§9, §10)
    proposals: ProposalBook = field(init=False)  # approve and shadow mode (§9)

    def __post_init__(self) -> None:
        defaults = PlannerSettings()  # ``configure`` sets the configured TTL and cool-down
        self.proposals = ProposalBook(
            self.cfg.id,
            ttl_s=defaults.proposal_ttl_s,
            cooldown_s=defaults.reject_cooldown_s,
            cooldowns=self.cooldowns,  # one owner of cool-downs: rejections land here too
        )

    @classmethod
    def new(cls, cfg: SiteSettings, planner: PlannerSettings) -> Site:
        site = cls(
            cfg,
            SiteState(cfg.id, planner.smoothing_half_life_s, max_agents=cfg.max_agents),
            InFlightBook(planner.move_timeout_s),
        )
        site.configure(cfg, planner)
        return site

    def configure(self, cfg: SiteSettings, planner: PlannerSettings) -> None:
        """Apply a (re)loaded configuration; live state is kept."""
        self.cfg = cfg
        self.queue_ids = frozenset(q.id for q in cfg.queues)
        self.flights.timeout_s = planner.move_timeout_s
        self.flights.accepted_timeout_s = planner.accepted_timeout_s
        self.state.max_agents = cfg.max_agents
        self.proposals.ttl_s = planner.proposal_ttl_s  # for proposals opened from now on
        self.proposals.cooldown_s = planner.reject_cooldown_s

    @property
    def id(self) -> str:
        return self.cfg.id

    def fresh(self, moves: Iterable[Move]) -> list[Move]:
        """The moves that are real (the agent is not already in the target queue) and not
        in flight: the daemon never re-issues or re-proposes a move (contract §3.3)."""
        return [
            m
            for m in moves
            if m.from_queue != m.to_queue and not self.flights.is_in_flight(m.agent, m.to_queue)
        ]

    def now(self, clock: str, wall: float) -> float:
        """The site's clock: ``wall``, or in event mode the latest inbound ts (when any)."""
        if clock == "event" and math.isfinite(self.state.clock):
            return self.state.clock
        return wall

    def snapshot_triggers_plan(self, ts: float, interval_s: float) -> bool:
        """Event clock, called after applying a site snapshot with timestamp ``ts``.

        The first snapshot sets the grid (a snapshot exactly on a grid time plans at
        once); afterwards a plan is due when the clock reaches the next grid time.
        """
        if self.next_due is None:
            self.next_due = next_grid_time(math.nextafter(ts, -math.inf), interval_s)
        clock = max(self.state.clock, ts)
        if clock < self.next_due:
            return False
        self.next_due = next_grid_time(clock, interval_s)
        return True

    def next_plan_id(self, stamp: str) -> str:
        """``{site}-{compact clock time}-{n}``: unique within this process and readable."""
        self.plans += 1
        return f"{self.cfg.id}-{stamp.replace(':', '').replace('-', '')}-{self.plans}"
