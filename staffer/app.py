"""The daemon: the one place to read to see the whole data path.

    MQTT in -> codec.decode -> SiteState.apply_* -> (clock) -> plan_site -> publish
                                                      \\-> metrics, store (plans, moves, audit)

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
import functools
import logging
import math
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from staffer import __version__
from staffer.adapters.http import HttpServer
from staffer.adapters.log import RateLimitedLog, setup_logging
from staffer.adapters.metrics import Metrics
from staffer.adapters.mqtt import Inbound, MqttPort
from staffer.adapters.outbox import Outbox
from staffer.adapters.scheduler import Scheduler
from staffer.adapters.store import StateStore
from staffer.codec import payloads
from staffer.codec.timefmt import format_ts
from staffer.codec.topics import Route, Topics
from staffer.core.forecast import ForecastError, ScheduledForecast, load_forecast_csv
from staffer.core.overrides import Outcome, OverrideBook
from staffer.core.planner import plan_site
from staffer.core.sharding import owned_sites, resolve_shard_index
from staffer.core.site import Site
from staffer.core.types import InFlightMove, MalformedRequest, Move, Plan
from staffer.settings import ConfigError, Settings

log = logging.getLogger("staffer.app")

SWEEP_EVERY_S = 1.0
HOUSEKEEPING_EVERY_S = 60.0
DRAIN_TIMEOUT_S = 5.0
PLAN_JOB = "plan"
PENDING_ID = "pending"  # command id of a move whose command is still in the outbox

Ready = Callable[["Daemon"], object] | asyncio.Event


class Daemon:
    """The staffer daemon; ``await Daemon(settings).run(stop)`` or ``run_daemon``."""

    def __init__(self, settings: Settings, *,
                 reload: Callable[[], Settings] | None = None) -> None:
        self.settings = settings
        self._reload_fn = reload
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.metrics = Metrics(__version__)
        self.store: StateStore | None = None  # opened in run()
        self._last_health = ""
        self._connects = 0
        self._bg: set[asyncio.Task[None]] = set()
        self.book = OverrideBook()
        self.scheduler = Scheduler()
        self.outbox = Outbox()
        self._batches: dict[str, dict[Any, Any]] = {}
        self.sites: dict[str, Site] = {}
        count = settings.cluster.shard_count
        try:
            self.shard_index = resolve_shard_index(settings.cluster.shard_index,
                                                   socket.gethostname())
        except ValueError as err:
            raise ConfigError(f"cluster.shard_index: {err}") from None
        if self.shard_index >= count:
            raise ConfigError(f"cluster.shard_index: {self.shard_index} >= shard_count {count}")
        self._configure_sites(settings)
        client_id = settings.mqtt.client_id + (f"-{self.shard_index}" if count > 1 else "")
        self.mqtt = MqttPort(
            settings.mqtt, client_id=client_id, status_topic=self.topics.status(),
            online_payload=payloads.encode_status(
                True, __version__, sites=list(self.sites), shard_index=self.shard_index,
                shard_count=count),
            offline_payload=payloads.encode_status(False),
            subscriptions=self._subscriptions(),
            on_state=self._on_mqtt_state)
        self.http: HttpServer | None = None
        if settings.http.enabled:
            self.http = HttpServer(settings.http.host, settings.http.port,
                                   exposition=self.exposition, readiness=self.readiness)
        self.connected = asyncio.Event()
        self._busy = asyncio.Lock()  # one message or job at a time: no interleaved state
        self._bad = RateLimitedLog(log)
        self._ok = dict.fromkeys(("queue_metrics", "site_metrics", "agent_state", "override"), 0)

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def http_port(self) -> int | None:
        return None if self.http is None else self.http.port

    def exposition(self) -> bytes:
        """/metrics: per-message figures are folded in here, not on the hot path
        (valid-message counts, observed waiting and service level per queue)."""
        for kind, n in self._ok.items():
            if n:
                self.metrics.messages.labels(kind, "ok").inc(n)
                self._ok[kind] = 0
        for site in self.sites.values():
            for q in site.cfg.queues:
                snap = site.state.latest(q.id)
                if snap is not None:
                    self.metrics.observe_snapshot(site.id, q.id, snap)
        return self.metrics.exposition()

    def readiness(self) -> str | None:
        """None when ready (connected with config loaded), else why not."""
        if not self.mqtt.connected:
            return "not connected to the MQTT broker"
        return None

    @property
    def _store(self) -> StateStore:
        if self.store is None:
            raise RuntimeError("state store not open")
        return self.store

    def _view_time(self, site: Site) -> float:
        """The time at which to show a site's overrides: wall time, or its event clock
        (-inf before its first message after a restart: show everything restored)."""
        return time.time() if self.settings.planner.clock == "wall" else site.state.clock

    def _on_mqtt_state(self, up: bool) -> None:
        self.metrics.set_connected(up)
        if up:
            if self._connects:
                self.metrics.reconnected()
            self._connects += 1
            self.connected.set()
            self._background(self._republish())
        else:
            self.connected.clear()

    async def _republish(self) -> None:
        """After (re)connect: retained overrides and last plans, in case the broker lost them."""
        async with self._busy:
            for site in list(self.sites.values()):
                await self._publish_overrides(site, self._view_time(site))
                if site.last_plan_json is not None:
                    await self._out(self.mqtt.publish, self.topics.plan(site.id),
                                    site.last_plan_json, retain=True)

    async def run(self, stop: asyncio.Event, ready: Ready | None = None) -> None:
        """Serve until ``stop`` is set, then drain: store flushed, offline published."""
        self.store = await StateStore.open_async(self.settings.state.path)  # StoreError first
        log.info("serving %d site(s) as shard %d of %d", len(self.sites), self.shard_index,
                 self.settings.cluster.shard_count)
        await self._restore()
        if self.http is not None:
            await self.http.start()
        self.outbox.start()
        self.scheduler.start()
        self._schedule_jobs()
        mqtt_task = asyncio.create_task(self.mqtt.run(self.handle), name="staffer-mqtt")
        waiter = asyncio.create_task(self._signal_ready(ready))
        try:
            await stop.wait()
        finally:
            waiter.cancel()
            self.scheduler.shutdown()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._busy.acquire(), DRAIN_TIMEOUT_S)  # finish the
            await self.outbox.drain(DRAIN_TIMEOUT_S)            # current message and its output
            await self.outbox.stop()
            mqtt_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(mqtt_task, DRAIN_TIMEOUT_S)
            if self.store is not None:
                await self.store.aclose()
            if self.http is not None:
                await self.http.stop()
            log.info("stopped")

    async def _signal_ready(self, ready: Ready | None) -> None:
        await self.connected.wait()
        if isinstance(ready, asyncio.Event):
            ready.set()
        elif ready is not None:
            ready(self)

    def _configure_sites(self, settings: Settings) -> None:
        """(Re)build the owned-site table, keeping the live state of kept sites."""
        ids = owned_sites([s.id for s in settings.sites], self.shard_index,
                          settings.cluster.shard_count)
        p = settings.planner
        cfgs = {sid: settings.site(sid) for sid in ids}
        schedules = {sid: _read_forecast(c.forecast_file) for sid, c in cfgs.items()
                     if c is not None and c.forecast_file is not None}
        old, self.sites = self.sites, {}
        for sid, cfg in cfgs.items():
            assert cfg is not None
            site = old.get(sid) or Site.new(cfg, p)
            site.configure(cfg, p)
            site.state.schedule = schedules.get(sid)
            self.sites[sid] = site
            self.metrics.set_mode(sid, p.mode)
            self.metrics.set_in_flight(sid, len(site.flights))

    def _subscriptions(self) -> list[tuple[str, int]]:
        """Filters for the owned sites. Snapshots (``.../metrics``) at QoS 0: they are
        periodic and superseded by the next one, and QoS 0 spares one PUBACK per message
        at 10,000/s; agent states and supervisor requests at QoS 1."""
        return [(t, 0 if t.endswith("/metrics") else 1)
                for t in self.topics.subscriptions(self.sites)]

    def _schedule_jobs(self) -> None:
        p = self.settings.planner
        if p.clock == "wall":
            self.scheduler.grid(PLAN_JOB, p.interval_s, self._plan_all)
        else:
            self.scheduler.remove(PLAN_JOB)
        self.scheduler.every("sweep", SWEEP_EVERY_S, self._sweep_all)
        self.scheduler.every("housekeeping", HOUSEKEEPING_EVERY_S, self._housekeeping)

    async def _restore(self) -> None:
        """Resume overrides, locks, in-flight moves, last plans from the store."""
        store = self._store
        self.book.restore(await store.load_overrides())
        for site_id, moves in (await store.load_in_flight()).items():
            if site_id in self.sites:
                for move in moves:
                    self.sites[site_id].flights.add(move)
        for site_id, plan_json in (await store.load_plans()).items():
            if site_id in self.sites:
                self.sites[site_id].last_plan_json = plan_json.encode()
        for sid in self.sites:
            self.metrics.set_overrides_active(sid, self.book.count(sid, self._view_time(
                self.sites[sid])))
            self.metrics.set_in_flight(sid, len(self.sites[sid].flights))
        log.info("restored %d override(s), %d in-flight move(s)", len(self.book.to_records()),
                 sum(len(s.flights) for s in self.sites.values()))

    def request_reload(self) -> None:
        """Schedule ``reload`` (signal handlers cannot await)."""
        self._background(self.reload())

    def _background(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    async def reload(self) -> None:
        """SIGHUP: apply a new configuration without dropping state (bad -> keep old)."""
        if self._reload_fn is None:
            return
        try:
            new = self._reload_fn()
        except ConfigError as err:
            log.error("reload failed, keeping the running configuration: %s", err)
            return
        async with self._busy:
            if new.mqtt != self.settings.mqtt or new.http != self.settings.http or \
                    new.state != self.settings.state:
                log.warning("[mqtt], [http] and [state] changes take effect after a restart")
            self.settings = new.model_copy(update={"mqtt": self.settings.mqtt,
                                                   "http": self.settings.http,
                                                   "state": self.settings.state})
            setup_logging(new.log.level, new.log.format)
            self._configure_sites(self.settings)
            self._schedule_jobs()
            await self.mqtt.set_subscriptions(self._subscriptions())
        log.info("configuration reloaded")

    # -- inbound --------------------------------------------------------------------------
    async def handle(self, msg: Inbound) -> None:
        """Route one inbound message; never raises for bad input."""
        route = self.topics.parse(msg.topic)
        if route is None:
            return self._invalid("unknown", "bad_topic", msg.topic)
        site = self.sites.get(route.site)
        if site is None:
            return self._invalid(route.kind, "unknown_site", msg.topic)
        async with self._busy:
            if msg.oversized:
                self._invalid(route.kind, "too_large", msg.topic)
                if route.kind == "override":
                    await self._override(site, route, msg, MalformedRequest(
                        None, "too_large", "payload exceeds mqtt.max_payload_bytes"))
                return None
            try:
                if route.kind == "site_metrics":
                    await self._site_snapshot(site, msg)
                elif route.kind == "queue_metrics":
                    self._queue_snapshot(site, route, msg)
                elif route.kind == "agent_state":
                    await self._agent_state(site, route, msg)
                else:
                    await self._override(site, route, msg,
                                         payloads.decode_override_request_or_error(msg.payload))
            except payloads.PayloadError as err:
                self._invalid(route.kind, err.reason, msg.topic)
        return None

    def _invalid(self, kind: str, reason: str, topic: str) -> None:
        self.metrics.message(kind, ok=False, reason=reason)
        self._bad.warning(f"{kind}:{reason}", f"dropped invalid {kind} message: {reason}",
                          topic=topic[:200])

    async def _site_snapshot(self, site: Site, msg: Inbound) -> None:
        ts, queues = payloads.decode_site_snapshot(msg.payload)
        for qid, snap in queues.items():
            if qid in site.queue_ids:
                site.state.apply_snapshot(qid, snap)
        self._ok["site_metrics"] += 1
        p = self.settings.planner
        if p.clock != "event":
            return
        await self._sweep(site, site.state.clock)
        if site.snapshot_triggers_plan(ts, p.interval_s):
            await self.plan(site, ts)

    def _queue_snapshot(self, site: Site, route: Route, msg: Inbound) -> None:
        qid = route.queue or ""
        if qid not in site.queue_ids:
            return self._invalid("queue_metrics", "unknown_queue", msg.topic)
        snap = payloads.decode_queue_snapshot(msg.payload)
        site.state.apply_snapshot(qid, snap)
        self._ok["queue_metrics"] += 1
        return None

    async def _agent_state(self, site: Site, route: Route, msg: Inbound) -> None:
        agent = payloads.decode_agent_state(route.agent or "", msg.payload)
        site.state.apply_agent(agent)
        self._ok["agent_state"] += 1
        done = site.flights.confirm(site.state.roster[agent.agent])
        if done is not None:
            await self._forget_flights(site.id, [done.agent])
            self.metrics.set_in_flight(site.id, len(site.flights))

    async def _override(self, site: Site, route: Route, msg: Inbound,
                        request: object) -> None:
        sid, sup = site.id, route.supervisor or ""
        now = site.now(self.settings.planner.clock, time.time())
        outcome: Outcome = self.book.handle(
            sid, sup, request, now, site.queue_ids,  # type: ignore[arg-type]
            self.settings.planner.override_ttl_s, site.state.roster)
        if not isinstance(request, MalformedRequest):
            self._ok["override"] += 1
        elif not msg.oversized:
            self._invalid("override", request.reason, msg.topic)
        reply = outcome.reply
        self.metrics.override_request(sid, "duplicate" if outcome.duplicate else
                                      "accepted" if reply.ok else reply.code or "invalid")
        if outcome.mode is not None:
            self.metrics.set_mode(sid, outcome.mode)
        # persisted before the reply (contract §7): the outbox runs jobs in order
        await self._out(self._store.record_outcome, outcome)
        await self._out(self.mqtt.respond, self.topics.override_reply(sid, sup),
                        payloads.encode_reply(outcome.reply), msg)
        if outcome.changed:
            await self._publish_overrides(site, now)
        if outcome.move is not None:
            await self._command(site, [outcome.move], None, now, mode="assign")
        if outcome.replan:
            await self.plan(site, now)

    # -- planning and output --------------------------------------------------------------
    async def plan(self, site: Site, now: float) -> Plan:
        """Plan ``site`` at ``now``; publish the plan and, in auto mode, its moves."""
        sid = site.id
        controls = self.book.controls(sid, now, self.settings.planner.mode)
        plan_id = site.next_plan_id(format_ts(now))
        t0 = time.perf_counter()
        plan = plan_site(site.cfg, self.settings.planner, site.state, controls,
                         site.flights.by_agent, now, plan_id)
        self.metrics.observe_plan(plan, time.perf_counter() - t0)
        body = payloads.encode_plan(plan)
        site.last_plan_json = body
        await self._coalesced("plans", sid, (body, plan.as_of))
        await self._out(self.mqtt.publish, self.topics.plan(sid), body, retain=True)
        if controls.mode == "auto":
            fresh = [m for m in plan.moves if not site.flights.is_in_flight(m.agent, m.to_queue)]
            if fresh:
                await self._command(site, fresh, plan.plan_id, now, mode="auto")
        return plan

    async def _command(self, site: Site, moves: list[Move], plan_id: str | None, now: float,
                       mode: str) -> None:
        """The moves are in flight at once (so no later plan re-issues them); the outbox
        then takes a command id, persists the flights and only then publishes."""
        sid = site.id
        pending = [InFlightMove(m.agent, m.to_queue, PENDING_ID, now) for m in moves]
        for f in pending:
            site.flights.add(f)
        self.metrics.count_moves(sid, moves)
        self.metrics.set_in_flight(sid, len(site.flights))

        async def send() -> None:
            command_id = await self._store.next_command_id(sid)
            flights = [InFlightMove(m.agent, m.to_queue, command_id, now) for m in moves]
            for old, new in zip(pending, flights, strict=True):
                if site.flights.by_agent.get(old.agent) is old:  # not confirmed or replaced
                    site.flights.add(new)
            await self._store.add_in_flight(sid, flights)
            await self.mqtt.publish(self.topics.commands(sid), payloads.encode_command(
                command_id, plan_id, sid, now, mode, moves))

        await self.outbox.put(send)

    async def _publish_overrides(self, site: Site, now: float) -> None:
        active = self.book.active(site.id, now)
        self.metrics.set_overrides_active(site.id, len(active))
        await self._out(self.mqtt.publish, self.topics.overrides(site.id),
                        payloads.encode_overrides(active), retain=True)

    async def _out(self, fn: Callable[..., Awaitable[object]], *args: Any, **kw: Any) -> None:
        """Queue ``fn(*args, **kw)`` on the ordered outbox."""
        await self.outbox.put(functools.partial(fn, *args, **kw))

    async def _forget_flights(self, site_id: str, agents: list[str]) -> None:
        for agent in agents:
            await self._coalesced("forget", (site_id, agent), None)

    async def _coalesced(self, kind: str, key: Any, value: Any) -> None:
        """Writes that need not be one transaction each (last plans, ended flights):
        gathered while a flush job waits in the outbox, then written together."""
        batch = self._batches.setdefault(kind, {})
        first = not batch
        batch[key] = value
        if first:
            await self.outbox.put(functools.partial(self._flush, kind))

    async def _flush(self, kind: str) -> None:
        batch = self._batches.pop(kind, {})
        if kind == "plans":
            for site_id, (body, as_of) in batch.items():
                await self._store.save_plan(site_id, body, as_of)
            return
        by_site: dict[str, list[str]] = {}
        for site_id, agent in batch:
            by_site.setdefault(site_id, []).append(agent)
        for site_id, agents in by_site.items():
            await self._store.remove_in_flight(site_id, agents)

    # -- periodic jobs --------------------------------------------------------------------
    async def _plan_all(self) -> None:
        async with self._busy:
            for site in list(self.sites.values()):
                await self.plan(site, time.time())

    async def _sweep_all(self) -> None:
        """Expire overrides (all sites) and time out in-flight moves (each site's clock).

        Event clock: overrides expire at the earliest site clock (never early for any
        site); ``controls`` ignores an expired override even before it is purged.
        """
        clock = self.settings.planner.clock
        async with self._busy:
            if clock == "wall":
                now = time.time()
            else:
                clocks = [s.state.clock for s in self.sites.values()
                          if math.isfinite(s.state.clock)]
                now = min(clocks) if clocks else -math.inf
            expired = self.book.expire(now) if math.isfinite(now) else []
            if expired:
                await self._out(self._store.record_expired, expired, now)
                for sid in sorted({o.site for o in expired}):
                    if sid in self.sites:
                        await self._publish_overrides(self.sites[sid], now)
                log.info("%d override(s) expired", len(expired))
            for site in list(self.sites.values()):
                await self._sweep(site, site.now(clock, time.time()))

    async def _sweep(self, site: Site, now: float) -> None:
        """Time out in-flight moves of one site at ``now`` (its clock)."""
        timed_out = site.flights.expire(now)
        if timed_out:
            await self._forget_flights(site.id, [m.agent for m in timed_out])
            self.metrics.set_in_flight(site.id, len(site.flights))

    async def _housekeeping(self) -> None:
        """A one-line health summary, logged only when it changes."""
        overrides = sum(self.book.count(sid, self._view_time(site))
                        for sid, site in self.sites.items())
        summary = (f"health: mqtt={'up' if self.mqtt.connected else 'down'} "
                   f"sites={len(self.sites)} overrides={overrides} "
                   f"in_flight={sum(len(s.flights) for s in self.sites.values())}")
        if summary != self._last_health:
            self._last_health = summary
            log.info(summary)


def _read_forecast(path: Path) -> ScheduledForecast:
    """A site's scheduled forecast file; ConfigError (one line) when unusable."""
    try:
        return load_forecast_csv(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ForecastError) as err:
        raise ConfigError(f"sites.forecast_file: {path}: {err}") from None


async def run_daemon(settings: Settings, *, stop: asyncio.Event | None = None,
                     ready: Ready | None = None, handle_signals: bool = False,
                     reload: Callable[[], Settings] | None = None) -> None:
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
