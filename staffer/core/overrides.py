"""Supervisor overrides (contract §4): validate requests, keep the active set, derive Controls.

``OverrideBook`` is pure: time is passed in, nothing here does I/O. One book serves
every site of a daemon. Each call of ``handle`` yields exactly one ``Outcome``:
the reply to publish, the audit record to persist, and the effects for the shell
(override accepted/removed, an immediate move for ``assign``, a replan flag).

Policies (documented in docs/protocol.md):
* Newest wins: a ``pin``/``target`` on a queue replaces that queue's earlier
  pin/target; a ``mode`` replaces the site's earlier mode override; a
  ``lock_agent``/``assign`` replaces earlier locks of that agent. Replaced
  overrides are reported in ``Outcome.removed`` and the reply's ``removed``.
* ``conflict`` means a request id was reused within ``DEDUP_WINDOW_S`` with a
  different body; an identical redelivery (MQTT QoS 1) gets the same reply again
  and has no further effect.
* Unknown fields in a request are rejected (``invalid``) so a typo cannot
  silently change what a supervisor meant.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from staffer.core.override_actions import Hold, Rejected, Remove, Request, decide, slot_of
from staffer.core.override_records import override_from_record, override_to_record
from staffer.core.types import (
    AgentLock,
    AgentState,
    Assignment,
    AuditRecord,
    Controls,
    GoalOverride,
    MalformedRequest,
    Mode,
    ModeOverride,
    Move,
    Override,
    OverrideReply,
    OverrideRequest,
    Pin,
    RequestId,
)

MAX_OVERRIDES_PER_SITE = 1000
MAX_TTL_S = 31 * 86400.0
LATEST_TS = 7289654399.0  # 2200-12-31T23:59:59Z: the last time the wire carries (codec.timefmt)
DEDUP_WINDOW_S = 600.0
MAX_DEDUP_PER_SITE = 1000
AUDIT_KIND = "override"


@dataclass(frozen=True, slots=True)
class Outcome:
    """Result of one request: reply + audit always; effects when accepted."""

    reply: OverrideReply
    audit: AuditRecord
    accepted: Override | None = None
    removed: tuple[Override, ...] = ()
    move: Move | None = None
    replan: bool = False
    duplicate: bool = False

    @property
    def changed(self) -> bool:
        """True when the active set changed (persist it, republish ``overrides``)."""
        return self.accepted is not None or bool(self.removed)


def _default_id(_now: float) -> str:
    return uuid.uuid4().hex


def _fingerprint(req: OverrideRequest) -> str:
    """A digest of the request (kept for ``DEDUP_WINDOW_S``: a few bytes, whatever its size)."""
    body = json.dumps(
        [req.action, req.fields, req.ttl_s, req.ttl_given, req.reason], sort_keys=True, default=repr
    )
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


class OverrideBook:
    """The active overrides of every site plus request de-duplication state."""

    def __init__(
        self,
        *,
        max_per_site: int = MAX_OVERRIDES_PER_SITE,
        id_factory: Callable[[float], str] = _default_id,
    ) -> None:
        self._max = max_per_site
        self._new_id = id_factory
        self._by_site: dict[str, dict[str, Override]] = {}
        self._seen: dict[str, OrderedDict[tuple[str, str], tuple[float, str, OverrideReply]]] = {}

    # -- queries -----------------------------------------------------------------------------
    def active(self, site: str, now: float) -> list[Override]:
        """Unexpired overrides of a site, oldest first."""
        live = [
            o
            for o in self._by_site.get(site, {}).values()
            if o.expires_at is None or o.expires_at > now
        ]
        return sorted(live, key=lambda o: (o.created_at, o.override_id))

    def count(self, site: str, now: float) -> int:
        return len(self.active(site, now))

    def controls(self, site: str, now: float, base_mode: Mode) -> Controls:
        """What the planner must obey for ``site`` at ``now`` (newest override wins)."""
        mode: Mode = base_mode
        pins: dict[str, Pin] = {}
        goals: dict[str, GoalOverride] = {}
        locked: set[str] = set()
        for ov in self.active(site, now):
            match ov.payload:
                case ModeOverride(mode=m):
                    mode = m
                case Pin() as pin:
                    pins[pin.queue] = pin
                case GoalOverride() as goal:
                    goals[goal.queue] = goal
                case AgentLock(agent=agent) | Assignment(agent=agent):
                    locked.add(agent)
        return Controls(
            mode=mode,
            pins=tuple(pins[q] for q in sorted(pins)),
            goals=tuple(goals[q] for q in sorted(goals)),
            locked_agents=frozenset(locked),
        )

    # -- mutation ----------------------------------------------------------------------------
    def expire(self, now: float, site: str | None = None) -> list[Override]:
        """Drop and return every override (of ``site``, or all) whose ``expires_at`` is at
        or before ``now`` (and forget request ids older than the de-duplication window)."""
        gone: list[Override] = []
        for sid in [*{*self._by_site, *self._seen}] if site is None else [site]:
            seen = self._seen.get(sid)
            while seen and now - next(iter(seen.values()))[0] > DEDUP_WINDOW_S:
                seen.popitem(last=False)
            book = self._by_site.get(sid, {})
            for oid, ov in list(book.items()):
                if ov.expires_at is not None and ov.expires_at <= now:
                    gone.append(book.pop(oid))
        return sorted(gone, key=lambda o: (o.site, o.created_at, o.override_id))

    def restore(self, overrides: Iterable[Override]) -> None:
        """Load persisted overrides (after a restart); later duplicates replace earlier."""
        for ov in overrides:
            self._by_site.setdefault(ov.site, {})[ov.override_id] = ov

    def handle(
        self,
        site: str,
        supervisor: str,
        request: OverrideRequest | MalformedRequest,
        now: float,
        known_queues: set[str] | frozenset[str],
        default_ttl_s: float,
        agents: Mapping[str, AgentState] | None = None,
    ) -> Outcome:
        """Validate and apply one request; always returns exactly one reply.

        ``agents`` (the site's roster), when given, lets ``assign`` reject unknown
        agents (``unknown_agent``) and queues outside the agent's skills
        (``no_skill``), and fills the move's ``from`` queue.
        """
        if isinstance(request, MalformedRequest):
            detail = f"{request.reason}: {request.message}" if request.message else request.reason
            why = request.message if request.refused else f"malformed request ({detail})"
            return self._reject(
                site, supervisor, request.id, None, now, Rejected(request.code, why)
            )
        if not math.isfinite(now):  # event clock: the site has had no timestamp yet
            return self._reject(
                site,
                supervisor,
                request.id,
                request,
                now,
                Rejected("unavailable", "the site clock has not started yet; retry later"),
            )
        dup = self.recall(site, supervisor, request, now)
        if dup is not None:
            return dup
        try:
            outcome = self._apply(
                site, supervisor, request, now, known_queues, default_ttl_s, agents
            )
        except Rejected as rej:
            outcome = self._reject(site, supervisor, request.id, request, now, rej)
        self.remember(site, supervisor, request, now, outcome.reply)
        return outcome

    def revert(self, site: str, supervisor: str, rid: RequestId, outcome: Outcome) -> None:
        """Undo ``handle``'s ``outcome`` whose write failed: the overrides as they were,
        the request id forgotten unless it was a redelivery (a retry is handled anew)."""
        book = self._by_site.setdefault(site, {})
        if outcome.accepted is not None:
            book.pop(outcome.accepted.override_id, None)
        book.update((o.override_id, o) for o in outcome.removed)
        seen, key = self._seen.get(site, OrderedDict()), (supervisor, repr(rid))
        if not outcome.duplicate and key in seen and seen[key][2] is outcome.reply:
            del seen[key]

    # -- request de-duplication (also used for approve/reject, ``staffer.approvals``) --------
    def recall(
        self, site: str, supervisor: str, req: OverrideRequest, now: float
    ) -> Outcome | None:
        """The outcome of a redelivered request (the same reply again, audited as a
        duplicate), a ``conflict`` for a reused id, or None for a new request."""
        if req.id is None:
            return None
        seen = self._seen.get(site)
        entry = seen.get((supervisor, repr(req.id))) if seen else None
        if entry is None or now - entry[0] > DEDUP_WINDOW_S:
            return None
        if entry[1] != _fingerprint(req):
            return self._reject(
                site,
                supervisor,
                req.id,
                req,
                now,
                Rejected("conflict", "request id reused with a different request"),
            )
        reply = entry[2]
        audit = self._audit(site, supervisor, req.id, req, now, "duplicate", reply)
        return Outcome(reply=reply, audit=audit, duplicate=True)

    # -- internals ---------------------------------------------------------------------------

    def remember(
        self, site: str, supervisor: str, req: OverrideRequest, now: float, reply: OverrideReply
    ) -> None:
        """Keep the reply to a request (with an id) for ``DEDUP_WINDOW_S``."""
        if req.id is None:
            return
        seen = self._seen.setdefault(site, OrderedDict())
        key = (supervisor, repr(req.id))
        seen.pop(key, None)
        seen[key] = (now, _fingerprint(req), reply)
        while len(seen) > MAX_DEDUP_PER_SITE:
            seen.popitem(last=False)

    def _audit(
        self,
        site: str,
        supervisor: str,
        rid: object,
        req: OverrideRequest | None,
        now: float,
        outcome: str,
        reply: OverrideReply,
    ) -> AuditRecord:
        payload: dict[str, Any] = {"request_id": rid, "outcome": outcome}
        if req is not None:
            payload.update(
                action=req.action,
                fields=req.fields,
                ttl_s=req.ttl_s if req.ttl_given else "default",
                reason=req.reason,
            )
        if reply.ok:
            payload.update(
                override_id=reply.override_id,
                expires_at=reply.expires_at,
                removed=list(reply.removed),
            )
        else:
            payload.update(code=reply.code, message=reply.message)
        return AuditRecord(ts=now, site=site, kind=AUDIT_KIND, actor=supervisor, payload=payload)

    def _reject(
        self,
        site: str,
        supervisor: str,
        rid: Any,
        req: OverrideRequest | None,
        now: float,
        rej: Rejected,
    ) -> Outcome:
        reply = OverrideReply(id=rid, ok=False, code=rej.code, message=rej.message)
        return Outcome(
            reply=reply, audit=self._audit(site, supervisor, rid, req, now, "rejected", reply)
        )

    def _ttl(self, req: OverrideRequest, default_ttl_s: float) -> float | None:
        if not req.ttl_given:
            return default_ttl_s
        if req.ttl_s is None:
            if req.action != "mode":
                raise Rejected("invalid", "ttl_s null (permanent) is only allowed for mode")
            return None
        if req.ttl_s > MAX_TTL_S:
            raise Rejected("invalid", f"ttl_s must be at most {MAX_TTL_S:g} s")
        return req.ttl_s

    def _apply(
        self,
        site: str,
        supervisor: str,
        req: OverrideRequest,
        now: float,
        known: set[str] | frozenset[str],
        default_ttl_s: float,
        agents: Mapping[str, AgentState] | None,
    ) -> Outcome:
        decision = decide(req.action, Request(req.fields, supervisor, req.reason, known, agents))
        live = self.active(site, now)
        if isinstance(decision, Remove):
            hit = tuple(o for o in live if decision.matches(o))
            if not hit:
                raise Rejected("not_found", decision.missing)
            return self._accept(site, supervisor, req, now, None, hit)
        if not isinstance(decision, Hold):  # Replan
            return self._accept(site, supervisor, req, now, None, (), replan=True)
        slot = slot_of(decision.payload)
        replaced = tuple(o for o in live if slot_of(o.payload) == slot)
        ttl = self._ttl(req, default_ttl_s)
        if ttl is not None and now + ttl > LATEST_TS:  # its expires_at could not be written
            raise Rejected("invalid", "the override would expire after 2200-12-31T23:59:59Z")
        if len(live) - len(replaced) >= self._max:
            raise Rejected("limit", f"site has {len(live)} active overrides (max {self._max})")
        oid = self._new_id(now)
        while any(oid in b for b in self._by_site.values()):
            oid = self._new_id(now) + uuid.uuid4().hex[:8]
        ov = Override(
            override_id=oid,
            site=site,
            supervisor=supervisor,
            payload=decision.payload,
            created_at=now,
            expires_at=None if ttl is None else now + ttl,
            reason=req.reason,
        )
        return self._accept(site, supervisor, req, now, ov, replaced, move=decision.move)

    def _accept(
        self,
        site: str,
        supervisor: str,
        req: OverrideRequest,
        now: float,
        ov: Override | None,
        removed: tuple[Override, ...],
        *,
        move: Move | None = None,
        replan: bool = False,
    ) -> Outcome:
        book = self._by_site.setdefault(site, {})
        for old in removed:
            book.pop(old.override_id, None)
        if ov is not None:
            book[ov.override_id] = ov
        reply = OverrideReply(
            id=req.id,
            ok=True,
            override_id=ov.override_id
            if ov
            else (removed[0].override_id if req.action == "cancel" else None),
            expires_at=ov.expires_at if ov else None,
            removed=tuple(o.override_id for o in removed),
        )
        return Outcome(
            reply=reply,
            audit=self._audit(site, supervisor, req.id, req, now, "accepted", reply),
            accepted=ov,
            removed=removed,
            move=move,
            replan=replan,
        )

    # -- persistence -------------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """All held overrides as JSON-safe dicts (for the store or a snapshot)."""
        return [override_to_record(o) for book in self._by_site.values() for o in book.values()]

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], **kwargs: Any) -> OverrideBook:
        """Rebuild a book from ``to_records`` output; raises ValueError on a bad record."""
        book = cls(**kwargs)
        book.restore(override_from_record(r) for r in records)
        return book
