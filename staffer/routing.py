"""Inbound routing: topic -> `Route` -> the handler of its kind (one table, `ROUTES`).

Each inbound message kind (``staffer.vocabulary.MessageKind``) has one `RouteSpec` in
`ROUTES`: the async handler that decodes the payload, applies it to the site and asks
the `Runtime` for effects. The `Router` resolves a topic (cached), drops what is not
ours (unknown topic or site), counts every outcome and never lets bad input escape:

* a `PayloadError` from a decoder is counted ``invalid`` with its reason code and
  logged at a bounded rate;
* a ``ts`` more than ``[mqtt] max_clock_skew_s`` ahead of the host's clock is
  ``future_ts`` (contract §16; the rule is ``codec.timefmt.future_ts_detail``, shared
  with the bridge kit), in both clocks, before anything is applied;
* a payload over ``[mqtt] max_payload_bytes`` arrives empty with ``oversized`` set; it
  is counted ``too_large`` and reaches only handlers that must answer anyway
  (``answers_oversized``: supervisor requests get exactly one reply, contract §4).

To add a route kind: a word in ``MessageKind``, its topic in ``codec.topics``
(builder, subscription filter, ``parse``), a decoder in ``codec``, a handler here and
its entry in `ROUTES` (a unit test checks that every kind has one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from staffer.adapters.log import RateLimitedLog
from staffer.adapters.metrics import Metrics
from staffer.adapters.port import Inbound
from staffer.codec import payloads
from staffer.codec.proposals import SELECTION_FIELDS
from staffer.codec.timefmt import FUTURE_TS, future_ts_detail
from staffer.codec.topics import Route, Topics
from staffer.core.acks import settle_ack
from staffer.core.site import Site
from staffer.core.state import Applied
from staffer.core.types import MalformedRequest, OverrideReply, OverrideRequest
from staffer.runtime import Runtime
from staffer.vocabulary import MESSAGE_KINDS, MessageKind

log = logging.getLogger("staffer.app")

MAX_ROUTES_CACHED = 16384  # topic -> Route of valid inbound topics (cleared when full)

RouteHandler = Callable[["Router", Site, Route, Inbound], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """How one message kind is handled."""

    handle: RouteHandler
    snapshot: bool = False  # superseded by the next one: may be coalesced under overload
    answers_oversized: bool = False  # called even for an oversized (empty) payload


class Router:
    """Resolves inbound topics and dispatches messages to `ROUTES` (see module doc)."""

    def __init__(self, topics: Topics, runtime: Runtime, metrics: Metrics) -> None:
        self.topics = topics
        self.runtime = runtime
        self.metrics = metrics
        self._routes: dict[str, Route] = {}  # the same few topics arrive again and again
        self._ok = dict.fromkeys(MESSAGE_KINDS, 0)  # valid messages, folded in at scrape
        self._bad = RateLimitedLog(log)

    def route(self, topic: str) -> Route | None:
        """The route of an inbound topic (cached), or None when it is not one of ours."""
        route = self._routes.get(topic)
        if route is None:
            route = self.topics.parse(topic)
            if route is None:
                return None
            if len(self._routes) >= MAX_ROUTES_CACHED:
                self._routes.clear()
            self._routes[topic] = route
        return route

    def is_snapshot(self, topic: str) -> bool:
        """Queue and site snapshots: under overload only the latest per topic matters."""
        route = self.route(topic)
        return route is not None and ROUTES[route.kind].snapshot

    def resolve(self, msg: Inbound) -> tuple[Site, Route] | None:
        """The owned site and route of a message; None (counted invalid) when neither."""
        route = self.route(msg.topic)
        if route is None:
            self.invalid("unknown", "bad_topic", msg.topic)
            return None
        site = self.runtime.sites.get(route.site)
        if site is None:
            self.invalid(route.kind, "unknown_site", msg.topic)
            return None
        return site, route

    async def dispatch(self, site: Site, route: Route, msg: Inbound) -> None:
        """Run the kind's handler; never raises for bad input."""
        spec = ROUTES[route.kind]
        if msg.oversized:
            self.invalid(route.kind, "too_large", msg.topic)
            if not spec.answers_oversized:
                return
        try:
            await spec.handle(self, site, route, msg)
        except payloads.PayloadError as err:
            self.invalid(route.kind, err.reason, msg.topic)

    def not_future(self, ts: float) -> None:
        """PayloadError ``future_ts`` for a ``ts`` too far ahead of the host's clock."""
        max_skew_s = self.runtime.settings.mqtt.max_clock_skew_s
        detail = future_ts_detail(ts, time.time(), max_skew_s)
        if detail is not None:
            raise payloads.PayloadError(FUTURE_TS, detail)

    # -- counting -------------------------------------------------------------------------
    def ok(self, kind: MessageKind) -> None:
        self._ok[kind] += 1

    def invalid(self, kind: str, reason: str, topic: str) -> None:
        self.metrics.message(kind, ok=False, reason=reason)
        self._bad.warning(
            f"{kind}:{reason}", f"dropped invalid {kind} message: {reason}", topic=topic[:200]
        )

    def fold_counts(self) -> None:
        """Add the valid-message counts to ``staffer_messages_total`` (at scrape time)."""
        for kind, n in self._ok.items():
            if n:
                self.metrics.messages.labels(kind, "ok").inc(n)
                self._ok[kind] = 0


# -- handlers -----------------------------------------------------------------------------


async def site_snapshot(router: Router, site: Site, route: Route, msg: Inbound) -> None:
    """All queues of a site in one snapshot; in event mode it may trigger the plan."""
    ts, queues = payloads.decode_site_snapshot(msg.payload)
    router.not_future(ts)
    for qid, snap in queues.items():
        if qid in site.queue_ids:  # other queues of the bridge are not ours to plan
            site.state.apply_snapshot(qid, snap)
    router.ok("site_metrics")
    rt, p = router.runtime, router.runtime.settings.planner
    if p.clock == "event":
        await rt.sweep(site, site.state.clock)
        if site.snapshot_triggers_plan(ts, p.interval_s):
            await rt.plan(site, ts)


async def queue_snapshot(router: Router, site: Site, route: Route, msg: Inbound) -> None:
    """One queue's snapshot (a configured queue of the site)."""
    qid = route.queue or ""
    if qid not in site.queue_ids:
        return router.invalid("queue_metrics", "unknown_queue", msg.topic)
    snapshot = payloads.decode_queue_snapshot(msg.payload)
    router.not_future(snapshot.ts)
    site.state.apply_snapshot(qid, snapshot)
    router.ok("queue_metrics")
    return None


async def agent_state(router: Router, site: Site, route: Route, msg: Inbound) -> None:
    """An agent's state; a state showing the target queue ends that agent's move."""
    agent = payloads.decode_agent_state(route.agent or "", msg.payload)
    router.not_future(agent.ts)
    if site.state.apply_agent(agent) is Applied.FULL:
        return router.invalid("agent_state", "roster_full", msg.topic)
    router.ok("agent_state")
    done = site.flights.confirm(site.state.roster[agent.agent])
    if done is not None:
        await router.runtime.emit.forget_flights(site.id, [done.agent])
        router.metrics.set_in_flight(site.id, len(site.flights))
    return None


async def move_ack(router: Router, site: Site, route: Route, msg: Inbound) -> None:
    """A bridge's ack of a move (contract §10): an ack of no command the daemon issued for
    that agent and target is ``unknown_command``; a rejection cools the pair down."""
    ack = payloads.decode_move_ack(route.agent or "", msg.payload)
    router.not_future(ack.ts)
    rt = router.runtime
    now = rt.now(site)
    cooldown_s = rt.settings.planner.reject_cooldown_s
    effect = settle_ack(site.id, site.flights, site.cooldowns, ack, now, cooldown_s)
    if not effect.known:
        return router.invalid("move_ack", "unknown_command", msg.topic)
    router.ok("move_ack")
    router.metrics.move_ack(site.id, ack.status)
    if ack.status == "rejected":
        log.warning(
            "site %s: the bridge rejected moving %s to %s (command %s): %s",
            site.id,
            ack.agent,
            ack.to_queue,
            ack.command_id,
            ack.reason or "no reason given",
        )
    if effect.changes:
        await rt.emit.move_ack(site.id, effect)
        router.metrics.set_in_flight(site.id, len(site.flights))
    return None


async def override_request(router: Router, site: Site, route: Route, msg: Inbound) -> None:
    """A supervisor request: exactly one reply (persisted first), then its effects;
    ``approve`` and ``reject`` (contract §9) are approve mode's (``staffer.approvals``)."""
    request: OverrideRequest | MalformedRequest
    if msg.oversized:
        request = MalformedRequest(None, "too_large", "payload exceeds mqtt.max_payload_bytes")
    else:
        request = payloads.decode_override_request_or_error(msg.payload)
        if isinstance(request, MalformedRequest):
            router.invalid("override", request.reason, msg.topic)
        else:
            router.ok("override")
    rt, sid, sup = router.runtime, site.id, route.supervisor or ""
    now = rt.now(site)
    if isinstance(request, OverrideRequest) and request.action in SELECTION_FIELDS:
        controls = rt.controls(site, now)
        reply, duplicate = await rt.approvals.decide(site, sup, request, now, controls, msg)
        return _count_request(router, sid, reply, duplicate)
    p = rt.settings.planner
    outcome = rt.book.handle(
        sid, sup, request, now, site.queue_ids, p.override_ttl_s, site.state.roster
    )
    _count_request(router, sid, outcome.reply, outcome.duplicate)
    if outcome.mode is not None:
        router.metrics.set_mode(sid, outcome.mode)
    await rt.emit.reply(sid, sup, outcome, msg)  # persisted, then replied
    if outcome.changed:
        await rt.publish_overrides(site, now)
        await rt.settle_mode(site, now)  # leaving approve/shadow withdraws proposals
    if outcome.move is not None:  # none when already there; in flight: not re-issued
        await rt.command(site, [outcome.move], None, now, "assign", decided_by=sup)
    if outcome.replan:
        await rt.plan(site, now)
    return None


def _count_request(router: Router, site: str, reply: OverrideReply, duplicate: bool) -> None:
    result = "duplicate" if duplicate else "accepted" if reply.ok else reply.code
    router.metrics.override_request(site, result or "invalid")


ROUTES: dict[MessageKind, RouteSpec] = {
    "queue_metrics": RouteSpec(queue_snapshot, snapshot=True),
    "site_metrics": RouteSpec(site_snapshot, snapshot=True),
    "agent_state": RouteSpec(agent_state),
    "move_ack": RouteSpec(move_ack),
    "override": RouteSpec(override_request, answers_oversized=True),
}
