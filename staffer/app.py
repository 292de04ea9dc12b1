"""The daemon: the one place to read to see the whole data path.

    MQTT in -> codec.decode -> SiteState.apply_* -> (clock) -> plan_site -> Emitter
                                                   (ordered: store writes, then publishes)

* Inbound: queue and site snapshots, agent states and supervisor requests of the
  sites this replica owns (`core.sharding`). Anything bad is counted
  (``staffer_messages_total{outcome="invalid"}``), logged at a bounded rate and dropped.
* Planning: on the ``interval_s`` grid counted from midnight UTC. ``clock = "wall"``:
  a scheduler job; ``clock = "event"``: a site snapshot that moves the site clock to
  or past the next grid time plans right after it is applied (``as_of`` = its ts).
  A supervisor's ``replan`` plans at once.
* Output: every plan is published retained; in ``auto`` mode its moves go out as a
  command, except moves already in flight (same agent and target). In-flight moves
  end when the agent's state shows the new queue or after ``move_timeout_s``.
* Overrides: each request gets exactly one reply, persisted before replying;
  ``assign`` commands the move even in shadow mode and locks the agent.
* State survives restarts through the store: overrides, locks, in-flight moves,
  last plans, the command id counter.
* Signals: SIGTERM/SIGINT drain and exit; SIGHUP reloads the configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path

from staffer import __version__
from staffer.adapters.emitter import Emitter
from staffer.adapters.http import HttpServer
from staffer.adapters.log import RateLimitedLog, setup_logging
from staffer.adapters.metrics import Metrics
from staffer.adapters.mqtt import Inbound, MqttPort
from staffer.adapters.scheduler import Scheduler
from staffer.adapters.store import StateStore
from staffer.codec import payloads
from staffer.codec.timefmt import format_ts
from staffer.codec.topics import Route, Topics
from staffer.core.forecast import ForecastError, ScheduledForecast, load_forecast_csv
from staffer.core.overrides import OverrideBook
from staffer.core.planner import plan_site
from staffer.core.sharding import owned_sites, resolve_shard_index
from staffer.core.site import Site
from staffer.core.state import Applied
from staffer.core.types import MalformedRequest, OverrideRequest, Plan
from staffer.settings import ConfigError, Settings

log = logging.getLogger("staffer.app")

SWEEP_EVERY_S = 1.0
HOUSEKEEPING_EVERY_S = 60.0
DRAIN_TIMEOUT_S = 5.0
KINDS = ("queue_metrics", "site_metrics", "agent_state", "override")
MAX_ROUTES_CACHED = 16384  # topic -> Route of valid inbound topics (cleared when full)

Ready = Callable[["Daemon"], object] | asyncio.Event


class Daemon:
    """The staffer daemon; ``await Daemon(settings).run(stop)`` or ``run_daemon``."""

    def __init__(self, settings: Settings, *, reload: Callable[[], Settings] | None = None) -> None:
        self.settings = settings
        self._reload_fn = reload
        count = settings.cluster.shard_count
        try:
            self.shard_index = resolve_shard_index(
                settings.cluster.shard_index, socket.gethostname()
            )
        except ValueError as err:
            raise ConfigError(f"cluster.shard_index: {err}") from None
        if self.shard_index >= count:
            raise ConfigError(f"cluster.shard_index: {self.shard_index} >= shard_count {count}")
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.metrics = Metrics(__version__)
        self.book = OverrideBook()
        self.scheduler = Scheduler()
        self.store: StateStore | None = None  # opened in run()
        self.sites: dict[str, Site] = {}
        self._configure_sites(settings)
        self.mqtt = MqttPort(
            settings.mqtt,
            client_id=settings.mqtt.client_id + (f"-{self.shard_index}" if count > 1 else ""),
            status_topic=self.topics.status(),
            offline_payload=payloads.encode_status(False),
            online_payload=payloads.encode_status(
                True,
                __version__,
                sites=list(self.sites),
                shard_index=self.shard_index,
                shard_count=count,
            ),
            subscriptions=self._subscriptions(),
            on_state=self._on_mqtt_state,
            coalescible=self._is_snapshot_topic,
            on_coalesced=self.metrics.coalesced.inc,
        )
        self.emit = Emitter(self.topics, self.mqtt)
        self.http = (
            HttpServer(
                settings.http.host,
                settings.http.port,
                exposition=self.exposition,
                readiness=self.readiness,
            )
            if settings.http.enabled
            else None
        )
        self.connected = asyncio.Event()
        self._busy = asyncio.Lock()  # one message or job at a time: no interleaved state
        self._bad = RateLimitedLog(log)
        self._ok = dict.fromkeys(KINDS, 0)  # valid messages, folded into metrics at scrape
        self._routes: dict[str, Route] = {}  # the same few topics arrive again and again
        self._bg: set[asyncio.Task[None]] = set()
        self._connects = 0
        self._last_health = ""

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, ready: Ready | None = None) -> None:
        """Serve until ``stop`` is set, then drain: output flushed, offline published."""
        self.store = await StateStore.open_async(self.settings.state.path)  # StoreError first
        log.info(
            "serving %d site(s) as shard %d of %d",
            len(self.sites),
            self.shard_index,
            self.settings.cluster.shard_count,
        )
        await self._restore(self.store)
        if self.http is not None:
            await self.http.start()
        self.emit.start(self.store)
        self.scheduler.start()
        self._schedule_jobs()
        mqtt_task = asyncio.create_task(self.mqtt.run(self.handle), name="staffer-mqtt")
        waiter = asyncio.create_task(self._signal_ready(ready))
        try:
            await stop.wait()
        finally:
            waiter.cancel()
            self.scheduler.shutdown()
            with contextlib.suppress(TimeoutError):  # let the current message finish...
                await asyncio.wait_for(self._busy.acquire(), DRAIN_TIMEOUT_S)
            await self.emit.drain(DRAIN_TIMEOUT_S)  # ...and its writes and publishes
            await self.emit.stop()
            mqtt_task.cancel()  # publishes the retained offline status
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(mqtt_task, DRAIN_TIMEOUT_S)
            await self.store.aclose()
            if self.http is not None:
                await self.http.stop()
            log.info("stopped")

    @property
    def http_port(self) -> int | None:
        return None if self.http is None else self.http.port

    def readiness(self) -> str | None:
        """None when ready (connected with config loaded), else why not."""
        return None if self.mqtt.connected else "not connected to the MQTT broker"

    def exposition(self) -> bytes:
        """/metrics. Per-message figures are folded in here, off the hot path."""
        for kind, n in self._ok.items():
            if n:
                self.metrics.messages.labels(kind, "ok").inc(n)
                self._ok[kind] = 0
        for site in self.sites.values():
            for qid in site.queue_ids:
                snap = site.state.latest(qid)
                if snap is not None:
                    self.metrics.observe_snapshot(site.id, qid, snap)
        return self.metrics.exposition()

    async def _signal_ready(self, ready: Ready | None) -> None:
        await self.connected.wait()
        if isinstance(ready, asyncio.Event):
            ready.set()
        elif ready is not None:
            ready(self)

    def _on_mqtt_state(self, up: bool) -> None:
        self.metrics.set_connected(up)
        if not up:
            self.connected.clear()
            return
        if self._connects:
            self.metrics.reconnected()
        self._connects += 1
        self.connected.set()
        self._background(self._republish())

    async def _republish(self) -> None:
        """After (re)connect: retained overrides and last plans, in case the broker lost them."""
        async with self._busy:
            for site in self.sites.values():
                await self._publish_overrides(site, self._view_time(site))
                if site.last_plan_json is not None:
                    await self.emit.republish_plan(site.id, site.last_plan_json)

    def _background(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    def _view_time(self, site: Site) -> float:
        """When to show a site's overrides: wall time, or its event clock (-inf before its
        first message after a restart: show everything restored)."""
        return time.time() if self.settings.planner.clock == "wall" else site.state.clock

    # -- configuration --------------------------------------------------------------------
    def _configure_sites(self, settings: Settings) -> None:
        """(Re)build the owned-site table, keeping the live state of kept sites.
        Raises ConfigError (before changing anything) on an unusable forecast file."""
        p = settings.planner
        owned = set(
            owned_sites(
                [s.id for s in settings.sites], self.shard_index, settings.cluster.shard_count
            )
        )
        cfgs = [s for s in settings.sites if s.id in owned]
        schedules = {c.id: _read_forecast(c.forecast_file) for c in cfgs if c.forecast_file}
        old, self.sites = self.sites, {}
        for cfg in cfgs:
            site = old.get(cfg.id) or Site.new(cfg, p)
            site.configure(cfg, p)
            site.state.schedule = schedules.get(cfg.id)
            self.sites[cfg.id] = site
            self.metrics.set_mode(cfg.id, p.mode)
            self.metrics.set_in_flight(cfg.id, len(site.flights))

    def _subscriptions(self) -> list[tuple[str, int]]:
        """Snapshot filters (``.../metrics``) at QoS 0: periodic and superseded by the next
        one, and QoS 0 spares a PUBACK per message; agent states and requests at QoS 1."""
        return [
            (t, 0 if t.endswith("/metrics") else 1) for t in self.topics.subscriptions(self.sites)
        ]

    def _schedule_jobs(self) -> None:
        p = self.settings.planner
        if p.clock == "wall":
            self.scheduler.grid("plan", p.interval_s, self._plan_all)
        else:
            self.scheduler.remove("plan")
        self.scheduler.every("sweep", SWEEP_EVERY_S, self._sweep_all)
        self.scheduler.every("housekeeping", HOUSEKEEPING_EVERY_S, self._housekeeping)

    async def _restore(self, store: StateStore) -> None:
        """Resume overrides, locks, in-flight moves and last plans from the store."""
        self.book.restore(await store.load_overrides())
        for site_id, moves in (await store.load_in_flight()).items():
            for move in moves if site_id in self.sites else ():
                self.sites[site_id].flights.add(move)
        for site_id, plan_json in (await store.load_plans()).items():
            if site_id in self.sites:
                self.sites[site_id].last_plan_json = plan_json.encode()
        for sid, site in self.sites.items():
            self.metrics.set_overrides_active(sid, self.book.count(sid, self._view_time(site)))
            self.metrics.set_in_flight(sid, len(site.flights))
        log.info(
            "restored %d override(s), %d in-flight move(s)",
            len(self.book.to_records()),
            sum(len(s.flights) for s in self.sites.values()),
        )

    def request_reload(self) -> None:
        """SIGHUP handler (signal handlers cannot await)."""
        self._background(self.reload())

    async def reload(self) -> None:
        """Apply a new configuration without dropping state (a bad one: keep the old)."""
        if self._reload_fn is None:
            return
        async with self._busy:
            try:
                new = self._reload_fn()
                kept = new.model_copy(
                    update={
                        k: getattr(self.settings, k) for k in ("mqtt", "http", "state", "cluster")
                    }
                )
                self._configure_sites(kept)
            except ConfigError as err:
                log.error("reload failed, keeping the running configuration: %s", err)
                return
            if kept != new:
                log.warning("[mqtt], [http], [state] and [cluster] changes need a restart")
            self.settings = kept
            setup_logging(new.log.level, new.log.format)
            self._schedule_jobs()
            await self.mqtt.set_subscriptions(self._subscriptions())
        log.info("configuration reloaded")

    # -- inbound --------------------------------------------------------------------------
    def _is_snapshot_topic(self, topic: str) -> bool:
        """Queue and site snapshots: under overload only the latest per topic matters."""
        route = self._routes.get(topic) or self.topics.parse(topic)
        return route is not None and route.kind in ("queue_metrics", "site_metrics")

    async def handle(self, msg: Inbound) -> None:
        """Route one inbound message; never raises for bad input."""
        route = self._routes.get(msg.topic)
        if route is None:
            route = self.topics.parse(msg.topic)
            if route is None:
                return self._invalid("unknown", "bad_topic", msg.topic)
            if len(self._routes) >= MAX_ROUTES_CACHED:
                self._routes.clear()
            self._routes[msg.topic] = route
        site = self.sites.get(route.site)
        if site is None:
            return self._invalid(route.kind, "unknown_site", msg.topic)
        async with self._busy:
            try:
                if msg.oversized:
                    self._invalid(route.kind, "too_large", msg.topic)
                    if route.kind == "override":
                        await self._override(
                            site,
                            route,
                            msg,
                            MalformedRequest(
                                None, "too_large", "payload exceeds mqtt.max_payload_bytes"
                            ),
                        )
                elif route.kind == "site_metrics":
                    await self._site_snapshot(site, msg)
                elif route.kind == "queue_metrics":
                    self._queue_snapshot(site, route, msg)
                elif route.kind == "agent_state":
                    await self._agent_state(site, route, msg)
                else:
                    request = payloads.decode_override_request_or_error(msg.payload)
                    if isinstance(request, MalformedRequest):
                        self._invalid("override", request.reason, msg.topic)
                    await self._override(site, route, msg, request)
            except payloads.PayloadError as err:
                self._invalid(route.kind, err.reason, msg.topic)
        return None

    def _invalid(self, kind: str, reason: str, topic: str) -> None:
        self.metrics.message(kind, ok=False, reason=reason)
        self._bad.warning(
            f"{kind}:{reason}", f"dropped invalid {kind} message: {reason}", topic=topic[:200]
        )

    async def _site_snapshot(self, site: Site, msg: Inbound) -> None:
        ts, queues = payloads.decode_site_snapshot(msg.payload)
        for qid, snap in queues.items():
            if qid in site.queue_ids:  # other queues of the bridge are not ours to plan
                site.state.apply_snapshot(qid, snap)
        self._ok["site_metrics"] += 1
        p = self.settings.planner
        if p.clock == "event":
            await self._sweep(site, site.state.clock)
            if site.snapshot_triggers_plan(ts, p.interval_s):
                await self.plan(site, ts)

    def _queue_snapshot(self, site: Site, route: Route, msg: Inbound) -> None:
        qid = route.queue or ""
        if qid not in site.queue_ids:
            return self._invalid("queue_metrics", "unknown_queue", msg.topic)
        site.state.apply_snapshot(qid, payloads.decode_queue_snapshot(msg.payload))
        self._ok["queue_metrics"] += 1
        return None

    async def _agent_state(self, site: Site, route: Route, msg: Inbound) -> None:
        agent = payloads.decode_agent_state(route.agent or "", msg.payload)
        if site.state.apply_agent(agent) is Applied.FULL:
            return self._invalid("agent_state", "roster_full", msg.topic)
        self._ok["agent_state"] += 1
        done = site.flights.confirm(site.state.roster[agent.agent])
        if done is not None:
            await self.emit.forget_flights(site.id, [done.agent])
            self.metrics.set_in_flight(site.id, len(site.flights))

    async def _override(
        self, site: Site, route: Route, msg: Inbound, request: OverrideRequest | MalformedRequest
    ) -> None:
        sid, sup = site.id, route.supervisor or ""
        now = site.now(self.settings.planner.clock, time.time())
        outcome = self.book.handle(
            sid,
            sup,
            request,
            now,
            site.queue_ids,
            self.settings.planner.override_ttl_s,
            site.state.roster,
        )
        if isinstance(request, OverrideRequest):
            self._ok["override"] += 1
        reply = outcome.reply
        self.metrics.override_request(
            sid,
            "duplicate"
            if outcome.duplicate
            else "accepted"
            if reply.ok
            else reply.code or "invalid",
        )
        if outcome.mode is not None:
            self.metrics.set_mode(sid, outcome.mode)
        await self.emit.reply(sid, sup, outcome, msg)  # persisted, then replied
        if outcome.changed:
            await self._publish_overrides(site, now)
        move = outcome.move  # none when already there or already on its way (contract §3.3)
        if (
            move is not None
            and move.from_queue != move.to_queue
            and not site.flights.is_in_flight(move.agent, move.to_queue)
        ):
            await self.emit.command(sid, site.flights, [move], None, now, "assign")
            self.metrics.count_moves(sid, [move])
        if outcome.replan:
            await self.plan(site, now)

    # -- planning and output --------------------------------------------------------------
    async def plan(self, site: Site, now: float) -> Plan:
        """Plan ``site`` at ``now``; publish the plan and, in auto mode, its moves."""
        controls = self.book.controls(site.id, now, self.settings.planner.mode)
        t0 = time.perf_counter()
        plan = plan_site(
            site.cfg,
            self.settings.planner,
            site.state,
            controls,
            site.flights.by_agent,
            now,
            site.next_plan_id(format_ts(now)),
        )
        self.metrics.observe_plan(plan, time.perf_counter() - t0)
        site.last_plan_json = payloads.encode_plan(plan)
        await self.emit.plan(site.id, site.last_plan_json, plan.as_of)
        fresh = [m for m in plan.moves if not site.flights.is_in_flight(m.agent, m.to_queue)]
        if controls.mode == "auto" and fresh:
            await self.emit.command(site.id, site.flights, fresh, plan.plan_id, now, "auto")
            self.metrics.count_moves(site.id, fresh)
        self.metrics.set_in_flight(site.id, len(site.flights))
        return plan

    async def _publish_overrides(self, site: Site, now: float) -> None:
        active = self.book.active(site.id, now)
        self.metrics.set_overrides_active(site.id, len(active))
        await self.emit.overrides(site.id, active)

    # -- periodic jobs --------------------------------------------------------------------
    async def _plan_all(self) -> None:
        async with self._busy:
            for site in list(self.sites.values()):
                await self.plan(site, time.time())

    async def _sweep_all(self) -> None:
        """Expire overrides (all sites) and time out in-flight moves (each site's clock).
        Event clock: overrides expire at the earliest site clock (never early for a site);
        ``controls`` ignores an expired override even before it is purged."""
        clock = self.settings.planner.clock
        async with self._busy:
            clocks = [s.state.clock for s in self.sites.values() if math.isfinite(s.state.clock)]
            now = time.time() if clock == "wall" else min(clocks, default=-math.inf)
            expired = self.book.expire(now) if math.isfinite(now) else []
            if expired:
                await self.emit.expired(expired, now)
                for sid in sorted({o.site for o in expired} & set(self.sites)):
                    await self._publish_overrides(self.sites[sid], now)
                log.info("%d override(s) expired", len(expired))
            for site in list(self.sites.values()):
                await self._sweep(site, site.now(clock, time.time()))

    async def _sweep(self, site: Site, now: float) -> None:
        """Time out in-flight moves of one site at ``now`` (its clock)."""
        timed_out = site.flights.expire(now)
        if timed_out:
            self.metrics.moves_timed_out(site.id, len(timed_out))
            await self.emit.forget_flights(site.id, [m.agent for m in timed_out])
            self.metrics.set_in_flight(site.id, len(site.flights))

    async def _housekeeping(self) -> None:
        """A one-line health summary, logged only when it changes."""
        overrides = sum(
            self.book.count(sid, self._view_time(site)) for sid, site in self.sites.items()
        )
        summary = (
            f"health: mqtt={'up' if self.mqtt.connected else 'down'} "
            f"sites={len(self.sites)} overrides={overrides} "
            f"in_flight={sum(len(s.flights) for s in self.sites.values())} "
            f"output_queue={len(self.emit.outbox)}"
        )
        if summary != self._last_health:
            self._last_health = summary
            log.info(summary)


def _read_forecast(path: Path) -> ScheduledForecast:
    """A site's scheduled forecast file; ConfigError (one line) when unusable."""
    try:
        return load_forecast_csv(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ForecastError) as err:
        raise ConfigError(f"sites.forecast_file: {path}: {err}") from None


async def run_daemon(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    ready: Ready | None = None,
    handle_signals: bool = False,
    reload: Callable[[], Settings] | None = None,
) -> None:
    """Run the daemon until ``stop`` is set (or SIGTERM/SIGINT with ``handle_signals``).

    ``ready`` (an Event, or a callable receiving the Daemon) is signalled once the
    daemon is connected and subscribed. SIGHUP calls ``reload`` and applies the result.
    """
    stop = stop or asyncio.Event()
    daemon = Daemon(settings, reload=reload)
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        loop.add_signal_handler(signal.SIGHUP, daemon.request_reload)
        installed.append(signal.SIGHUP)
    try:
        await daemon.run(stop, ready)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
