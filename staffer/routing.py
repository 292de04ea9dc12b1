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

import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from staffer.adapters import oplog
from staffer.adapters.log import RateLimitedLog
from staffer.adapters.metrics import UNKNOWN_KIND, Metrics
from staffer.adapters.port import Inbound
from staffer.codec import payloads
from staffer.codec.proposals import SELECTION_FIELDS
from staffer.codec.timefmt import FUTURE_TS, future_ts_detail
from staffer.codec.topics import Route, Topics, response_topic_refusal
from staffer.core.acks import settle_ack, switched
from staffer.core.site import Site
from staffer.core.state import Applied
from staffer.core.types import MalformedRequest, OverrideReply, OverrideRequest
from staffer.runtime import Runtime
from staffer.vocabulary import MESSAGE_KINDS, STORAGE, MessageKind

log = logging.getLogger("staffer.app")

MAX_ROUTES_CACHED = 16384  # topic -> Route of valid inbound topics (cleared when full)

RouteHandler = Callable[["Router", Site, Route, Inbound], Awaitable[None]]
ApplyNow = Callable[["Router", Site, Route, Inbound], None]


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """How one message kind is handled."""

    handle: RouteHandler
    snapshot: bool = False  # superseded by the next one: may be coalesced under overload
    answers_oversized: bool = False  # called even for an oversized (empty) payload
    now: ApplyNow | None = None  # the same handling, synchronous: state only, no effects


class Router:
    """Resolves inbound topics and dispatches messages to `ROUTES` (see module doc)."""

    def __init__(self, topics: Topics, runtime: Runtime, metrics: Metrics) -> None:
        self.topics = topics
        self.runtime = runtime
        self.metrics = metrics
        self._routes: dict[str, Route] = {}  # the same few topics arrive again and again
        self._ok = dict.fromkeys(MESSAGE_KINDS, 0)  # valid messages, folded in at scrape
        self._bad = RateLimitedLog(log)
        self._cleared: set[str] = set()  # request topics whose retained copy we deleted

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
            self.invalid(UNKNOWN_KIND, "bad_topic", msg.topic)
            return None
        site = self.runtime.sites.get(route.site)
        if site is None:
            self.invalid(route.kind, "unknown_site", msg.topic)
            return None
        return site, route

    def resolve_now(self, topic: str) -> tuple[Site, Route] | None:
        """The owned site and route of a topic whose kind has a synchronous handler
        (``RouteSpec.now``); None for anything else, left to `resolve` (which counts it)."""
        route = self.route(topic)
        if route is None or ROUTES[route.kind].now is None:
            return None
        site = self.runtime.sites.get(route.site)
        return None if site is None else (site, route)

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

    # -- retained requests the daemon cleared (their empty echo is no request) ------------
    def cleared(self, topic: str) -> None:
        if len(self._cleared) >= MAX_ROUTES_CACHED:
            self._cleared.clear()
        self._cleared.add(topic)

    def was_cleared(self, topic: str) -> bool:
        if topic in self._cleared:
            self._cleared.discard(topic)
            return True
        return False

    def apply_now(self, site: Site, route: Route, msg: Inbound) -> bool:
        """Handle a message of a kind with a synchronous handler (``RouteSpec.now``: live
        state only, no effects) at once, as ``dispatch`` would; False for other kinds."""
        spec = ROUTES[route.kind]
        if spec.now is None:
            return False
        if msg.oversized:
            self.invalid(route.kind, "too_large", msg.topic)
            return True
        try:
            spec.now(self, site, route, msg)
        except payloads.PayloadError as err:
            self.invalid(route.kind, err.reason, msg.topic)
        return True

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


def queue_snapshot_now(router: Router, site: Site, route: Route, msg: Inbound) -> None:
    """One queue's snapshot (a configured queue of the site): live state only."""
    qid = route.queue or ""
    if qid not in site.queue_ids:
        return router.invalid("queue_metrics", "unknown_queue", msg.topic)
    snapshot = payloads.decode_queue_snapshot(msg.payload)
    router.not_future(snapshot.ts)
    site.state.apply_snapshot(qid, snapshot)
    router.ok("queue_metrics")
    return None


async def queue_snapshot(router: Router, site: Site, route: Route, msg: Inbound) -> None:
    queue_snapshot_now(router, site, route, msg)


async def agent_state(router: Router, site: Site, route: Route, msg: Inbound) -> None:
    """An agent's state; a state showing the target queue ends that agent's move. An
    empty payload is the bridge clearing a retained state (the MQTT idiom): nothing to
    apply, and not an error."""
    if not msg.payload and not msg.oversized:
        return router.ok("agent_state")
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
    switched(site.state, ack)  # ``done``: the agent is in the new queue now
    router.metrics.move_ack(site.id, ack.status)
    if ack.status == "rejected":
        oplog.move_rejected(site.id, ack.agent, ack.to_queue, ack.command_id, ack.reason)
    if effect.changes:
        await rt.emit.move_ack(site.id, effect)
        router.metrics.set_in_flight(site.id, len(site.flights))
    return None


async def override_request(router: Router, site: Site, route: Route, msg: Inbound) -> None:
    """A supervisor request: exactly one reply (persisted first), then its effects;
    ``approve`` and ``reject`` (contract §9) are approve mode's (``staffer.approvals``).
    Refused unread (docs/reliability.md, Security): a response topic outside the
    requester's reply topic, a retained copy; in event mode, a request before the site's
    first timestamp is ``unavailable`` (never stamped with wall time)."""
    rt, sid, sup = router.runtime, site.id, route.supervisor or ""
    request, msg = _read_request(router, msg, router.topics.override_reply(sid, sup))
    if request is None:
        return None
    if isinstance(request, MalformedRequest) and request.reason == "retained":
        await rt.emit.clear_retained(msg.topic)  # so no later start sees it again
        router.cleared(msg.topic)
    p = rt.settings.planner
    now = site.state.clock if p.clock == "event" else rt.now(site)
    selects = isinstance(request, OverrideRequest) and request.action in SELECTION_FIELDS
    if isinstance(request, OverrideRequest) and selects and math.isfinite(now):
        controls = rt.controls(site, now)
        reply, duplicate = await rt.approvals.decide(site, sup, request, now, controls, msg)
        return _count_request(router, sid, reply, duplicate, request, sup)
    outcome = rt.book.handle(
        sid, sup, request, now, site.queue_ids, p.override_ttl_s, site.state.roster
    )
    if not await rt.emit.reply(sid, sup, outcome, msg):  # persisted, then replied
        rt.book.revert(sid, sup, request.id, outcome)  # not on disk: answered storage
        return router.metrics.override_request(sid, STORAGE)
    _count_request(router, sid, outcome.reply, outcome.duplicate, request, sup)
    if outcome.changed:
        await rt.publish_overrides(site, now)
        await rt.settle_mode(site, now)  # the gauge, proposals withdrawn, a replan
    if outcome.move is not None:  # none when already there; in flight: not re-issued
        await rt.command(site, [outcome.move], None, now, "assign", decided_by=sup)
    if outcome.replan:
        await rt.plan(site, now)
    return None


RETAINED = (
    "retained request refused: requests are answered once and never re-applied; publish "
    "them without the retain flag (clear this one: an empty retained message on its topic)"
)


def _read_request(
    router: Router, msg: Inbound, reply_topic: str
) -> tuple[OverrideRequest | MalformedRequest | None, Inbound]:
    """The request to answer (None: nothing to answer), and the message to reply to (its
    response topic dropped when refused: the reply then goes to ``reply_topic`` only)."""
    if not msg.payload and not msg.oversized and (msg.retain or router.was_cleared(msg.topic)):
        return None, msg  # a retained request being cleared (by us or its sender)
    request: OverrideRequest | MalformedRequest
    if msg.oversized:
        request = MalformedRequest(None, "too_large", "payload exceeds mqtt.max_payload_bytes")
    else:
        request = payloads.decode_override_request_or_error(msg.payload)
    refusal = None
    if msg.response_topic is not None:
        refusal = response_topic_refusal(reply_topic, msg.response_topic)
    if refusal is not None:
        request = MalformedRequest(
            request.id, "bad_response_topic", refusal, code="bad_response_topic", refused=True
        )
        msg = dataclasses.replace(msg, response_topic=None, correlation_data=None)
    elif msg.retain and not msg.oversized:
        request = MalformedRequest(request.id, "retained", RETAINED, refused=True)
    if isinstance(request, OverrideRequest):
        router.ok("override")
    elif not msg.oversized:  # an oversized one is counted ``too_large`` already
        router.invalid("override", request.reason, msg.topic)
    return request, msg


def _count_request(
    router: Router,
    site: str,
    reply: OverrideReply,
    duplicate: bool,
    request: OverrideRequest | MalformedRequest,
    supervisor: str,
) -> None:
    """Count a request's outcome; log an accepted one (not its redeliveries)."""
    result = "duplicate" if duplicate else "accepted" if reply.ok else reply.code
    router.metrics.override_request(site, result or "invalid")
    if result == "accepted" and isinstance(request, OverrideRequest):
        fields, reason = request.fields, request.reason
        oplog.override(site, supervisor, request.action, fields, reply.override_id, reason)


ROUTES: dict[MessageKind, RouteSpec] = {
    "queue_metrics": RouteSpec(queue_snapshot, snapshot=True, now=queue_snapshot_now),
    "site_metrics": RouteSpec(site_snapshot, snapshot=True),
    "agent_state": RouteSpec(agent_state),
    "move_ack": RouteSpec(move_ack),
    "override": RouteSpec(override_request, answers_oversized=True),
}
