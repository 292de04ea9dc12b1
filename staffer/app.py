"""The daemon: the one place to read to see the whole data path.

    MqttPort -> Daemon.handle -> Router (routing.ROUTES: one handler per message kind)
             -> codec.decode -> Site.state.apply_* -> (clock) -> Runtime.plan -> plan_site
             -> Emitter (ordered: store writes, then publishes) -> MqttPort

``Daemon`` wires the pieces and owns the lifecycle (start, drain, signals, reload); the
per-kind handlers are in `staffer.routing`, the per-site planning, commands and sweeps
in `staffer.runtime`, the ordered effects in `staffer.adapters.emitter`.

* Inbound: queue and site snapshots, agent states, move acks and supervisor requests
  of the sites this replica owns (`core.sharding`). Anything bad is counted
  (``staffer_messages_total{outcome="invalid"}``), logged at a bounded rate and dropped.
* Planning: on the ``interval_s`` grid counted from midnight UTC. ``clock = "wall"``:
  a scheduler job; ``clock = "event"``: a site snapshot that moves the site clock to
  or past the next grid time plans right after it is applied (``as_of`` = its ts).
  A supervisor's ``replan`` plans at once.
* Output: every plan is published retained; in ``auto`` mode its moves go out as a
  command, except moves already in flight (same agent and target). In-flight moves
  end when the agent's state shows the new queue or after ``move_timeout_s``.
* Approve mode (contract §9, ``staffer.approvals``): in ``approve`` (and, read-only,
  ``shadow``) mode the moves become proposals on the retained ``proposals`` topic; a
  supervisor's ``approve`` commands them (one transaction before the reply), ``reject``
  cools the pair down; proposals expire after ``proposal_ttl_s`` or are withdrawn.
* Move acks (contract §10): ``accepted`` keeps a move in flight up to ``accepted_timeout_s``,
  ``rejected`` ends it and cools that agent and queue down for ``reject_cooldown_s`` (the
  planner gets the pairs as ``Controls.blocked_moves``), ``done`` ends it.
* Overrides: each request gets exactly one reply, persisted before replying;
  ``assign`` commands the move even in shadow mode and locks the agent.
* State survives restarts through the store: overrides, locks, in-flight moves,
  cool-downs, proposals, approved commands not yet sent, last plans, the command id
  counter. Every commanded move is an audit row; housekeeping prunes rows older than
  ``[state] audit_retention_s``.
* Operators: ``GET /status`` (``staffer.status``); the ``staffer.ops`` log lines
  (``adapters.oplog``): commands, accepted requests, move timeouts and rejections, and a
  health summary whenever it changes.
* Signals: SIGTERM/SIGINT stop taking messages (unsubscribe), handle every message
  already received, drain the output and exit; SIGHUP reloads the configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Iterable, Sequence

from staffer import __version__, console, status, warmup
from staffer.adapters import oplog
from staffer.adapters.emitter import Emitter
from staffer.adapters.http import HttpServer
from staffer.adapters.log import setup_logging
from staffer.adapters.metrics import Metrics
from staffer.adapters.mqtt import AiomqttPort
from staffer.adapters.port import Inbound, MqttPort, PortFactory, Session, Subscription
from staffer.adapters.scheduler import Scheduler
from staffer.adapters.store import StateStore
from staffer.adapters.store_health import StoreHealth
from staffer.codec import payloads
from staffer.codec.topics import Topics
from staffer.core.overrides import OverrideBook
from staffer.core.sharding import owned_sites, resolve_shard_index
from staffer.core.site import Site
from staffer.core.types import Move
from staffer.routing import Router
from staffer.runtime import Runtime
from staffer.settings import ConfigError, Settings

log = logging.getLogger("staffer.app")

SWEEP_EVERY_S = 1.0
HOUSEKEEPING_EVERY_S = 60.0
DRAIN_TIMEOUT_S = 5.0
QUIESCE_TIMEOUT_S = 20.0  # + drain + offline: within systemd's/Kubernetes' 30 s stop grace
# the GIL's switch interval while serving (CPython's default: 5 ms). Every store write hops
# to the store's thread and back; while the loop's thread is busy (a plan, a burst of
# snapshots) the store's thread waited for the GIL up to the whole interval at each hop
# (the command's write started up to 9 ms late, issue 17); 0.5 ms bounds that wait
GIL_SWITCH_S = 0.0005
RESTART_ONLY = ("mqtt", "http", "state", "cluster")  # sections a reload cannot change

Ready = Callable[["Daemon"], object] | asyncio.Event


class Daemon:
    """The staffer daemon; ``await Daemon(settings).run(stop)`` or ``run_daemon``.

    ``port_factory`` builds the MQTT port (default: the real `AiomqttPort`; unit tests
    pass `staffer.adapters.mqtt_fake.MemoryMqtt`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        reload: Callable[[], Settings] | None = None,
        port_factory: PortFactory = AiomqttPort,
    ) -> None:
        self.settings = settings
        self._reload_fn = reload
        self.shard_index = _shard_index(settings)
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.metrics = Metrics(__version__)
        self.scheduler = Scheduler()
        self.store: StateStore | None = None  # opened in run()
        owned = self._owned(settings)
        self.mqtt: MqttPort = port_factory(settings.mqtt, self._session(owned))
        health = StoreHealth(self.metrics.set_storage_ok)
        self.emit = Emitter(self.topics, self.mqtt, health=health, on_command=self._commanded)
        self.runtime = Runtime(settings, self.metrics, self.emit)
        self.runtime.configure(settings, owned)
        self.router = Router(self.topics, self.runtime, self.metrics)
        self.http = (
            HttpServer(
                settings.http.host,
                settings.http.port,
                exposition=self.exposition,
                readiness=self.readiness,
                console_config=lambda: console.page_config(self.settings),
                status=lambda: status.status(self.runtime, __version__, self.mqtt.connected),
                rejected=lambda reason: self.metrics.http_refused.labels(reason).inc(),
            )
            if settings.http.enabled
            else None
        )
        self.connected = asyncio.Event()
        self._busy = asyncio.Lock()  # one message or job at a time: no interleaved state
        self._queued = 0  # jobs waiting for ``_busy`` (``_locked``)
        self._bg: set[asyncio.Task[None]] = set()
        self._connects = 0
        self.health_log = oplog.HealthLog()

    @property
    def sites(self) -> dict[str, Site]:
        """The owned sites (``core.site.Site``), by id."""
        return self.runtime.sites

    @property
    def book(self) -> OverrideBook:
        """The supervisors' overrides of every owned site."""
        return self.runtime.book

    # -- the data path --------------------------------------------------------------------
    async def handle(self, msg: Inbound) -> None:
        """MQTT in -> route -> (one at a time) decode, apply, plan when due, emit.

        A queue snapshot only changes live state (no effects, nothing awaited): while no
        job holds or waits for the turn it is applied at once (``Router.apply_now``)."""
        target = self.router.resolve(msg)  # None: not ours (counted invalid)
        if target is None:
            return
        if not self._busy.locked() and not self._queued and self.router.apply_now(*target, msg):
            return
        await self._locked(functools.partial(self.router.dispatch, *target, msg))

    def handle_now(self, topic: str, payload: bytes) -> bool:
        """The port's shortcut (``Session.apply_now``) for a plain message that ``handle``
        would apply at once too: applied here, without a queue, a task or an ``await``;
        False (anything else) sends it the usual way, to ``handle``."""
        if self._busy.locked() or self._queued:
            return False
        target = self.router.resolve_now(topic)
        return target is not None and self.router.apply_now(*target, Inbound(topic, payload))

    async def _locked(self, job: Callable[[], Coroutine[None, None, None]]) -> None:
        """Run ``job`` when it is its turn (one message or job at a time)."""
        self._queued += 1
        try:
            await self._busy.acquire()
        finally:
            self._queued -= 1
        try:
            await job()
        finally:
            self._busy.release()

    def _schedule_jobs(self) -> None:
        p, rt = self.settings.planner, self.runtime
        if p.clock == "wall":
            self.scheduler.grid("plan", p.interval_s, lambda: self._locked(rt.plan_all))
        else:
            self.scheduler.remove("plan")
        self.scheduler.every("sweep", SWEEP_EVERY_S, lambda: self._locked(self._sweep))
        self.scheduler.every("housekeeping", HOUSEKEEPING_EVERY_S, self._housekeeping)

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, ready: Ready | None = None) -> None:
        """Serve until ``stop`` is set, then drain: output flushed, offline published."""
        self.store = await StateStore.open_async(self.settings.state.path)  # StoreError first
        switch_s = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_s, GIL_SWITCH_S))  # restored when stopped
        log.info(
            "serving %d site(s) as shard %d of %d",
            len(self.sites),
            self.shard_index,
            self.settings.cluster.shard_count,
        )
        await self.runtime.restore(self.store)
        warmup.warm_up(self.settings)  # the first real plan without first-call costs
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
            await self.mqtt.quiesce(QUIESCE_TIMEOUT_S)  # answer what was received, take no more
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
            sys.setswitchinterval(switch_s)
            log.info("stopped")

    @property
    def http_port(self) -> int | None:
        return None if self.http is None else self.http.port

    def readiness(self) -> str | None:
        """None when ready (connected, config loaded, state writes working), else why not."""
        if not self.mqtt.connected:
            return "not connected to the MQTT broker"
        return self.emit.health.reason()

    def _commanded(self, site: str, moves: Sequence[Move]) -> None:
        self.metrics.count_moves(site, moves)  # published: the write before it worked

    def exposition(self) -> bytes:
        """/metrics. Per-message figures are folded in here, off the hot path."""
        self.router.fold_counts()
        self.runtime.fold_metrics()
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
        self._background(self._locked(self.runtime.republish))

    def _background(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    async def _housekeeping(self) -> None:
        """Audit retention."""
        await self._locked(self.runtime.prune_audit)

    async def _sweep(self) -> None:
        """Expiries and timeouts, then the one-line health summary if it changed."""
        await self.runtime.sweep_all()
        self.health_log.update(self.runtime.health(self.mqtt.connected))

    # -- configuration --------------------------------------------------------------------
    def _owned(self, settings: Settings) -> list[str]:
        """The ids of the sites this replica serves (``core.sharding``), in config order."""
        ids = [s.id for s in settings.sites]
        return owned_sites(ids, self.shard_index, settings.cluster.shard_count)

    def _session(self, sites: list[str]) -> Session:
        """Our side of the broker connection: presence, subscriptions, callbacks."""
        count = self.settings.cluster.shard_count
        return Session(
            client_id=self.settings.mqtt.client_id + (f"-{self.shard_index}" if count > 1 else ""),
            status_topic=self.topics.status(),
            offline_payload=payloads.encode_status(False),
            online_payload=payloads.encode_status(
                True, __version__, sites=sites, shard_index=self.shard_index, shard_count=count
            ),
            subscriptions=self._subscriptions(sites),
            apply_now=self.handle_now,
            on_state=self._on_mqtt_state,
            coalescible=lambda topic: self.router.is_snapshot(topic),
            on_coalesced=self.metrics.coalesced.inc,
            on_takeover=self.metrics.takeovers.inc,
        )

    def _subscriptions(self, sites: Iterable[str]) -> list[Subscription]:
        """Snapshot filters (``.../metrics``) at QoS 0: periodic and superseded by the next
        one, and QoS 0 spares a PUBACK per message; agent states and requests at QoS 1."""
        return [(t, 0 if t.endswith("/metrics") else 1) for t in self.topics.subscriptions(sites)]

    def request_reload(self) -> None:
        """SIGHUP handler (signal handlers cannot await)."""
        self._background(self.reload())

    async def reload(self) -> None:
        """Apply a new configuration without dropping state (a bad one: keep the old)."""
        if self._reload_fn is None:
            return
        await self._locked(self._reload)

    async def _reload(self) -> None:
        assert self._reload_fn is not None
        try:
            new = self._reload_fn()
            kept = new.model_copy(update={k: getattr(self.settings, k) for k in RESTART_ONLY})
            self.runtime.configure(kept, self._owned(kept))
        except ConfigError as err:
            log.error("reload failed, keeping the running configuration: %s", err)
            return
        if kept != new:
            log.warning("[mqtt], [http], [state] and [cluster] changes need a restart")
        self.settings = kept
        setup_logging(new.log.level, new.log.format)
        self._schedule_jobs()
        await self.mqtt.reconfigure(self._session(list(self.sites)))  # subscriptions, presence
        log.info("configuration reloaded")


def _shard_index(settings: Settings) -> int:
    """This replica's shard (``[cluster]``); ConfigError when unusable."""
    count = settings.cluster.shard_count
    try:
        index = resolve_shard_index(settings.cluster.shard_index, socket.gethostname())
    except ValueError as err:
        raise ConfigError(f"cluster.shard_index: {err}") from None
    if index >= count:
        raise ConfigError(f"cluster.shard_index: {index} >= shard_count {count}")
    return index


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
    installed: list[signal.Signals] = []
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
