"""The owned sites at run time, and what the daemon does with each: plan, command, sweep.

`Runtime` holds the core's per-site objects (`staffer.core.site.Site`: live state, moves
in flight, planning clock) and the `OverrideBook`, and turns their decisions into
effects through the `Emitter` (ordered: store writes, then publishes). It is the
shell's half of a site; the pure half is in `staffer.core`.

* ``plan(site, now)`` plans one site, publishes the plan (retained) and, in ``auto``
  mode, commands the moves not already in flight (same agent and target); in
  ``approve`` and ``shadow`` mode they become proposals (``approvals``, contract §9);
* ``command(...)`` is how the planner's and ``assign``'s moves leave the daemon (an
  approval's go out through ``approvals.decide``);
* ``sweep_all()`` expires overrides and proposals, times out moves in flight and ends
  cool-downs (rejected moves, contract §9/§10), each site on its own clock (``now``);
* ``restore(store)`` resumes overrides, locks, moves in flight, cool-downs, proposals,
  last plans, and sends approved commands a crash kept from the broker;
* ``prune_audit()`` drops audit rows older than ``[state] audit_retention_s``.

The caller (``staffer.app.Daemon``) serialises every call: one message or job at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from staffer.adapters import oplog
from staffer.adapters.emitter import Emitter
from staffer.adapters.metrics import Metrics
from staffer.adapters.store import StateStore
from staffer.adapters.store_proposals import PendingCommand
from staffer.approvals import ApproveMode
from staffer.codec import payloads
from staffer.codec.timefmt import format_ts
from staffer.core import freshness
from staffer.core.forecast import ForecastError, ScheduledForecast, load_forecast_csv
from staffer.core.overrides import OverrideBook
from staffer.core.planner import plan_site
from staffer.core.proposal import Proposal
from staffer.core.proposals import PLANNER
from staffer.core.site import Site
from staffer.core.types import Controls, Move, Plan
from staffer.settings import ConfigError, Settings

log = logging.getLogger("staffer.app")


class Runtime:
    """The daemon's owned sites and the effects of their decisions."""

    def __init__(self, settings: Settings, metrics: Metrics, emit: Emitter) -> None:
        self.settings = settings
        self.metrics = metrics
        self.emit = emit
        self.book = OverrideBook()
        self.approvals = ApproveMode(metrics, emit, self.book)
        self.sites: dict[str, Site] = {}
        self._parked: dict[str, Site] = {}  # sites a reload removed, as they were

    # -- configuration --------------------------------------------------------------------
    def configure(self, settings: Settings, owned: Iterable[str]) -> None:
        """(Re)build the owned-site table, keeping the live state of kept sites (and of
        removed ones, should they come back: their moves in flight are not re-issued).
        The mode gauge shows the effective mode (a supervisor's ``mode`` override wins).
        Raises ConfigError (before changing anything) on an unusable forecast file."""
        p, mine = settings.planner, set(owned)
        cfgs = [s for s in settings.sites if s.id in mine]
        schedules = {c.id: _read_forecast(c.forecast_file) for c in cfgs if c.forecast_file}
        old, self.sites = {**self._parked, **self.sites}, {}
        self.settings = settings
        for cfg in cfgs:
            site = old.pop(cfg.id, None) or Site.new(cfg, p)
            site.configure(cfg, p)
            site.state.schedule = schedules.get(cfg.id)
            self.sites[cfg.id] = site
            self.metrics.set_mode(cfg.id, self.controls(site, self.view_time(site)).mode)
            self.metrics.set_in_flight(cfg.id, len(site.flights))
        self._parked = old  # removed sites keep their moves in flight if they come back

    async def restore(self, store: StateStore) -> None:
        """Resume overrides, locks, in-flight moves, cool-downs, proposals and last plans
        from the store; queue the approved commands a crash kept from the broker."""
        self.book.restore(await store.load_overrides())
        for site_id, moves in (await store.load_in_flight()).items():
            for move in moves if site_id in self.sites else ():
                self.sites[site_id].flights.add(move)
        for site_id, cooldowns in (await store.load_cooldowns()).items():
            for cooldown in cooldowns if site_id in self.sites else ():
                self.sites[site_id].cooldowns.put(cooldown)
        for site_id, plan_json in (await store.load_plans()).items():
            if site_id in self.sites:
                self.sites[site_id].last_plan_json = plan_json.encode()
                self.sites[site_id].planned_mode = payloads.plan_mode(plan_json)
        for site_id, records in (await store.load_proposals()).items():
            if site_id in self.sites:
                self.approvals.restore(self.sites[site_id], records)
        for pending in await store.load_pending_commands():
            await self._resend(store, pending)
        for sid, site in self.sites.items():
            self.metrics.set_overrides_active(sid, self.book.count(sid, self.view_time(site)))
            self.metrics.set_mode(sid, self.controls(site, self.view_time(site)).mode)
            self.metrics.set_in_flight(sid, len(site.flights))
        log.info(
            "restored %d override(s), %d in-flight move(s)",
            len(self.book.to_records()),
            sum(len(s.flights) for s in self.sites.values()),
        )

    async def _resend(self, store: StateStore, pending: PendingCommand) -> None:
        """A command written with its moves and not acknowledged by the broker: sent now,
        under its command id, unless older than ``move_timeout_s`` (its move would have
        timed out in flight: sending it now could move an agent on hours-old advice)."""
        if pending.site not in self.sites:
            return
        age_s = time.time() - pending.written_at
        if age_s > self.settings.planner.move_timeout_s:
            log.warning(
                "site %s: command %s was never acknowledged and is %.0f s old: dropped",
                pending.site,
                pending.command_id,
                age_s,
            )
            await store.drop_pending_commands(pending.site, [pending.command_id])
            return
        log.info("site %s: sending unacknowledged command %s", pending.site, pending.command_id)
        await self.emit.send_command(pending.site, pending.command_id, pending.payload)

    # -- clocks ---------------------------------------------------------------------------
    def now(self, site: Site) -> float:
        """The site's clock: wall time, or in event mode its latest inbound ts (when any)."""
        return site.now(self.settings.planner.clock, time.time())

    def view_time(self, site: Site) -> float:
        """When to show a site's overrides: wall time, or its event clock (-inf before its
        first message after a restart: show everything restored)."""
        return time.time() if self.settings.planner.clock == "wall" else site.state.clock

    def controls(self, site: Site, now: float) -> Controls:
        """What the site's planner obeys at ``now``: overrides over the configured mode,
        and the cool-downs (rejected moves) as ``blocked_moves``."""
        controls = self.book.controls(site.id, now, self.settings.planner.mode)
        return dataclasses.replace(controls, blocked_moves=site.cooldowns.active(now))

    def freshness(self, site: Site, now: float) -> freshness.Freshness:
        """Each queue's data age at ``now`` and which are stale (contract §16)."""
        ids = [q.id for q in site.cfg.queues]
        return freshness.assess(site.state, ids, now, self.settings.planner.stale_after_s)

    def fold_metrics(self) -> None:
        """At scrape time: each queue's latest observation and its freshness on the site's
        clock (off the hot path)."""
        for site in self.sites.values():
            for qid in site.queue_ids:
                snap = site.state.latest(qid)
                if snap is not None:
                    self.metrics.observe_snapshot(site.id, qid, snap)
            self.metrics.observe_freshness(site.id, self.freshness(site, self.now(site)))

    # -- planning and output --------------------------------------------------------------
    async def plan(self, site: Site, now: float) -> Plan:
        """Plan ``site`` at ``now``; publish the plan and, in auto mode, its moves (in
        approve and shadow mode: proposals). Stale queues are held and marked
        (``core.freshness``, contract §16)."""
        controls = self.controls(site, now)
        fresh = self.freshness(site, now)
        t0 = time.perf_counter()
        plan = plan_site(
            site.cfg,
            self.settings.planner,
            site.state,
            freshness.hold(controls, fresh, site.state.roster),
            site.flights.by_agent,
            now,
            site.next_plan_id(format_ts(now)),
        )
        plan = freshness.mark(plan, fresh)
        took = time.perf_counter() - t0
        body = site.last_plan_json = payloads.encode_plan(plan)
        site.planned_mode = controls.mode
        if controls.mode == "auto":  # manual: the plan only (contract §3.3)
            # its moves' command carries the plan: one transaction, then both published
            await self.command(site, plan.moves, plan.plan_id, now, "auto", plan=body)
            await asyncio.sleep(0)  # the outbox starts that write now; what follows overlaps it
        else:
            await self.emit.plan(site.id, body, plan.as_of)
        self.metrics.observe_plan(plan, took)
        await self.approvals.after_plan(site, plan, controls.mode, now)
        self.metrics.set_in_flight(site.id, len(site.flights))
        return plan

    async def plan_all(self) -> None:
        """Wall clock: plan every site at the current time."""
        for site in list(self.sites.values()):
            await self.plan(site, time.time())

    async def command(
        self,
        site: Site,
        moves: Sequence[Move],
        plan_id: str | None,
        now: float,
        mode: str,
        decided_by: str = PLANNER,
        plan: bytes | None = None,
    ) -> None:
        """Command the moves that are real (an agent not already in the target queue) and
        not already in flight: the daemon never re-issues a move (contract §3.3). Each is
        audited with who decided it (``planner``, or the supervisor of an ``assign``), and
        counted once published (``Emitter.on_command``: not when its write failed).
        ``plan``: the encoded plan of these moves (as of ``now``), stored and published
        with their command, or alone when none is left to command."""
        fresh = site.fresh(moves)
        last = None if plan is None else (plan, now)
        if fresh:
            await self.emit.command(
                site.id, site.flights, fresh, plan_id, now, mode, decided_by, plan=last
            )
        elif last is not None:
            await self.emit.plan(site.id, *last)

    async def publish_overrides(self, site: Site, now: float) -> None:
        """The retained list of the site's active overrides, and its gauge."""
        active = self.book.active(site.id, now)
        self.metrics.set_overrides_active(site.id, len(active))
        await self.emit.overrides(site.id, active)

    async def settle_mode(self, site: Site, now: float) -> None:
        """After the overrides changed (a request, a cancel, an expiry): the mode gauge
        shows the effective mode; leaving approve/shadow mode withdraws proposals; a mode
        other than the last plan's is planned at once (the plan, and so the console, shows
        the mode in force, and the new mode acts now, not at the next cycle)."""
        mode = self.controls(site, now).mode
        self.metrics.set_mode(site.id, mode)
        await self.approvals.leave(site, mode, now)
        if site.planned_mode is not None and mode != site.planned_mode and math.isfinite(now):
            await self.plan(site, now)

    def open_proposals(self, site_id: str) -> list[Proposal]:
        """A site's open proposals now (for ``GET /status``; before an event-clock site's
        first timestamp since a restart: every restored one, as republished)."""
        site = self.sites[site_id]
        return site.proposals.open(self.view_time(site))

    async def republish(self) -> None:
        """After (re)connect: retained overrides, last plans and open proposals (empty
        lists too: a stale retained list of a previous run is replaced), in case the
        broker lost them; then the approved commands the broker has not acknowledged."""
        for site in self.sites.values():
            await self.publish_overrides(site, self.view_time(site))
            if site.last_plan_json is not None:
                await self.emit.republish_plan(site.id, site.last_plan_json)
            await self.approvals.republish(site, self.view_time(site), self.now(site))
        await self.emit.resend_unsent(self.settings.planner.move_timeout_s)

    # -- sweeps ---------------------------------------------------------------------------
    async def sweep_all(self) -> None:
        """Expire overrides and time out in-flight moves, each site on its own clock (the
        event clock: a quiet site never holds back another's expiries, and a site with no
        timestamp since a restart expires nothing: not its restored proposals, flights or
        cool-downs at wall time); ``controls`` ignores an expired override even before it
        is purged."""
        wall = self.settings.planner.clock == "wall"
        if wall:
            await self.expire_overrides(time.time(), None)
        for site in list(self.sites.values()):
            if wall:
                await self.sweep(site, time.time())
            elif math.isfinite(site.state.clock):  # not before its first timestamp
                await self.expire_overrides(site.state.clock, site.id)
                await self.sweep(site, site.state.clock)

    async def expire_overrides(self, now: float, site_id: str | None) -> None:
        """Purge, audit and republish the overrides (of one site, or all) expired at ``now``."""
        expired = self.book.expire(now, site_id)
        if expired:
            await self.emit.expired(expired, now)
            for sid in sorted({o.site for o in expired} & set(self.sites)):
                await self.publish_overrides(self.sites[sid], now)
                await self.settle_mode(self.sites[sid], now)
            log.info("%d override(s) expired", len(expired))

    async def sweep(self, site: Site, now: float) -> None:
        """Time out in-flight moves, expire proposals and end cool-downs of one site at
        ``now`` (its clock)."""
        timed_out = site.flights.expire(now)
        if timed_out:
            self.metrics.moves_timed_out(site.id, len(timed_out))
            oplog.move_timeouts(site.id, timed_out, now)
            await self.emit.forget_flights(site.id, [m.agent for m in timed_out])
            self.metrics.set_in_flight(site.id, len(site.flights))
        await self.approvals.sweep(site, now)
        cooled = site.cooldowns.expire(now)
        if cooled:
            await self.emit.forget_cooldowns(site.id, cooled)

    async def prune_audit(self) -> None:
        """Housekeeping: audit rows older than ``[state] audit_retention_s`` on each site's
        clock (wall, or its event clock once it has one) are deleted."""
        keep_s = self.settings.state.audit_retention_s
        for site in self.sites.values():
            now = self.view_time(site)
            if math.isfinite(now):
                await self.emit.prune_audit(now - keep_s, site.id)

    def health(self, connected: bool) -> oplog.Health:
        """The one-line health summary's figures (``oplog.HealthLog`` logs changes)."""
        sites = self.sites.items()
        return oplog.Health(
            connected=connected,
            sites=len(self.sites),
            modes=tuple(
                (sid, mode)
                for sid, s in sites
                if (mode := self.controls(s, self.now(s)).mode) != "auto"
            ),
            stale=tuple(
                f"{sid}/{q}"
                for sid, s in sites
                for q in sorted(self.freshness(s, self.now(s)).stale)
            ),
            in_flight=sum(len(s.flights) for s in self.sites.values()),
            proposals=sum(len(s.proposals) for s in self.sites.values()),
            overrides=sum(self.book.count(sid, self.view_time(s)) for sid, s in sites),
        )


def _read_forecast(path: Path) -> ScheduledForecast:
    """A site's scheduled forecast file; ConfigError (one line) when unusable."""
    try:
        return load_forecast_csv(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ForecastError) as err:
        raise ConfigError(f"sites.forecast_file: {path}: {err}") from None
