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

import json
import math
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from staffer.core.types import (
    AgentState,
    AuditRecord,
    Controls,
    GoalOverride,
    MalformedRequest,
    Mode,
    Move,
    Override,
    OverrideReply,
    OverrideRequest,
    Pin,
)
from staffer.vocabulary import MODES

MAX_OVERRIDES_PER_SITE = 1000
MAX_TTL_S = 31 * 86400.0
MAX_PIN = 100_000
MAX_TARGET_S = 1e7
DEDUP_WINDOW_S = 600.0
MAX_DEDUP_PER_SITE = 1000
ACTION_FIELDS: dict[str, frozenset[str]] = {
    "pin": frozenset({"queue", "min", "max"}),
    "unpin": frozenset({"queue"}),
    "mode": frozenset({"mode"}),
    "target": frozenset({"queue", "sl_target", "target_s"}),
    "lock_agent": frozenset({"agent"}),
    "unlock_agent": frozenset({"agent"}),
    "assign": frozenset({"agent", "queue", "after_current_contact"}),
    "replan": frozenset(),
    "cancel": frozenset({"override_id"}),
}
LOCK_ACTIONS = frozenset({"lock_agent", "assign"})
AUDIT_KIND = "override"
EXPIRY_KIND = "override_expired"


class _Reject(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Outcome:
    """Result of one request: reply + audit always; effects when accepted."""

    reply: OverrideReply
    audit: AuditRecord
    accepted: Override | None = None
    removed: tuple[Override, ...] = ()
    move: Move | None = None
    replan: bool = False
    mode: Mode | None = None
    duplicate: bool = False

    @property
    def changed(self) -> bool:
        """True when the active set changed (persist it, republish ``overrides``)."""
        return self.accepted is not None or bool(self.removed)


def _default_id(_now: float) -> str:
    return uuid.uuid4().hex


def _fingerprint(req: OverrideRequest) -> str:
    return json.dumps(
        [req.action, req.fields, req.ttl_s, req.ttl_given, req.reason], sort_keys=True, default=repr
    )


# -- field validation -----------------------------------------------------------------------------


def _str_field(fields: Mapping[str, object], name: str) -> str:
    value = fields.get(name)
    if value is None:
        raise _Reject("invalid", f"{name} is required")
    if not isinstance(value, str) or not 0 < len(value) <= 256:
        raise _Reject("invalid", f"{name} must be a non-empty string")
    return value


def _queue(fields: Mapping[str, object], known: set[str] | frozenset[str]) -> str:
    queue = _str_field(fields, "queue")
    if queue not in known:
        raise _Reject("unknown_queue", f"unknown queue {queue[:64]!r}")
    return queue


def _bound(fields: Mapping[str, object], name: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PIN:
        raise _Reject("invalid", f"{name} must be an integer in [0, {MAX_PIN}]")
    return value


def _number(
    fields: Mapping[str, object], name: str, lo: float, hi: float, lo_open: bool = False
) -> float | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Reject("invalid", f"{name} must be a finite number")
    if value > hi or value < lo or (lo_open and value == lo):
        bracket = "(" if lo_open else "["
        raise _Reject("invalid", f"{name} must be in {bracket}{lo:g}, {hi:g}]")
    return float(value)


def _compact(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


def _slot(action: str, fields: Mapping[str, object]) -> tuple[str, str]:
    """What an override occupies; a newer override in the same slot replaces the older."""
    if action in LOCK_ACTIONS:
        return ("lock", str(fields.get("agent")))
    if action == "mode":
        return ("mode", "")
    return (action, str(fields.get("queue")))


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

    def sites(self) -> list[str]:
        """Sites that hold at least one (possibly expired, not yet purged) override."""
        return sorted(s for s, ovs in self._by_site.items() if ovs)

    def controls(self, site: str, now: float, base_mode: Mode) -> Controls:
        """What the planner must obey for ``site`` at ``now`` (newest override wins)."""
        mode: Mode = base_mode
        pins: dict[str, Pin] = {}
        goals: dict[str, GoalOverride] = {}
        locked: set[str] = set()
        for ov in self.active(site, now):
            f = ov.fields
            q = str(f.get("queue"))
            if ov.action == "mode":
                mode = f["mode"]  # type: ignore[assignment]
            elif ov.action == "pin":
                pins[q] = Pin(q, f.get("min"), f.get("max"))  # type: ignore[arg-type]
            elif ov.action == "target":
                goals[q] = GoalOverride(q, f.get("sl_target"), f.get("target_s"))  # type: ignore[arg-type]
            elif ov.action in LOCK_ACTIONS:
                locked.add(str(f["agent"]))
        return Controls(
            mode=mode,
            pins=tuple(pins[q] for q in sorted(pins)),
            goals=tuple(goals[q] for q in sorted(goals)),
            locked_agents=frozenset(locked),
        )

    # -- mutation ----------------------------------------------------------------------------
    def expire(self, now: float) -> list[Override]:
        """Drop and return every override whose ``expires_at`` is at or before ``now``
        (and forget request ids older than the de-duplication window)."""
        for seen in self._seen.values():
            while seen and now - next(iter(seen.values()))[0] > DEDUP_WINDOW_S:
                seen.popitem(last=False)
        gone: list[Override] = []
        for book in self._by_site.values():
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
        if not math.isfinite(now):
            rid = request.id
            req = request if isinstance(request, OverrideRequest) else None
            return self._reject(
                site,
                supervisor,
                rid,
                req,
                now,
                _Reject("unavailable", "the site clock has not started yet; retry later"),
            )
        if isinstance(request, MalformedRequest):
            detail = f"{request.reason}: {request.message}" if request.message else request.reason
            return self._reject(
                site,
                supervisor,
                request.id,
                None,
                now,
                _Reject("invalid", f"malformed request ({detail})"),
            )
        dup = self._check_duplicate(site, supervisor, request, now)
        if dup is not None:
            return dup
        try:
            outcome = self._apply(
                site, supervisor, request, now, known_queues, default_ttl_s, agents
            )
        except _Reject as rej:
            outcome = self._reject(site, supervisor, request.id, request, now, rej)
        self._remember(site, supervisor, request, now, outcome.reply)
        return outcome

    # -- internals ---------------------------------------------------------------------------
    def _check_duplicate(
        self, site: str, supervisor: str, req: OverrideRequest, now: float
    ) -> Outcome | None:
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
                _Reject("conflict", "request id reused with a different request"),
            )
        reply = entry[2]
        audit = self._audit(site, supervisor, req.id, req, now, "duplicate", reply)
        return Outcome(reply=reply, audit=audit, duplicate=True)

    def _remember(
        self, site: str, supervisor: str, req: OverrideRequest, now: float, reply: OverrideReply
    ) -> None:
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
        rej: _Reject,
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
                raise _Reject("invalid", "ttl_s null (permanent) is only allowed for mode")
            return None
        if req.ttl_s > MAX_TTL_S:
            raise _Reject("invalid", f"ttl_s must be at most {MAX_TTL_S:g} s")
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
        allowed = ACTION_FIELDS.get(req.action)
        if allowed is None:
            raise _Reject("unknown_action", f"unknown action {req.action[:64]!r}")
        extra = sorted(set(req.fields) - allowed)
        if extra:
            raise _Reject("invalid", f"unknown field {extra[0][:64]!r} for {req.action}")
        f, live = req.fields, self.active(site, now)
        if req.action == "replan":
            return self._accept(site, supervisor, req, now, None, (), replan=True)
        if req.action in ("cancel", "unpin", "unlock_agent"):
            if req.action == "cancel":
                oid = _str_field(f, "override_id")
                hit = tuple(o for o in live if o.override_id == oid)
                missing = f"no active override {oid[:64]!r} on this site"
            else:
                slot = (
                    ("pin", _queue(f, known))
                    if req.action == "unpin"
                    else ("lock", _str_field(f, "agent"))
                )
                hit = tuple(o for o in live if _slot(o.action, o.fields) == slot)
                missing = f"nothing to remove: no active {slot[0]} on {slot[1][:64]!r}"
            if not hit:
                raise _Reject("not_found", missing)
            return self._accept(site, supervisor, req, now, None, hit)

        move: Move | None = None
        stored: dict[str, object]
        if req.action == "pin":
            lo, hi = _bound(f, "min"), _bound(f, "max")
            if lo is None and hi is None:
                raise _Reject("invalid", "pin needs min and/or max")
            if lo is not None and hi is not None and lo > hi:
                raise _Reject("invalid", f"min {lo} > max {hi}")
            stored = _compact(queue=_queue(f, known), min=lo, max=hi)
        elif req.action == "target":
            sl = _number(f, "sl_target", 0.0, 1.0)
            ts = _number(f, "target_s", 0.0, MAX_TARGET_S, lo_open=True)
            if sl is None and ts is None:
                raise _Reject("invalid", "target needs sl_target and/or target_s")
            stored = _compact(queue=_queue(f, known), sl_target=sl, target_s=ts)
        elif req.action == "mode":
            if f.get("mode") not in MODES:
                raise _Reject("invalid", f"mode must be one of {', '.join(MODES)}")
            stored = {"mode": f["mode"]}
        elif req.action == "lock_agent":
            stored = {"agent": _str_field(f, "agent")}
        else:  # assign
            agent, queue = _str_field(f, "agent"), _queue(f, known)
            acc = f.get("after_current_contact", True)
            if not isinstance(acc, bool):
                raise _Reject("invalid", "after_current_contact must be true or false")
            why = f"assigned by {supervisor}" + (f": {req.reason}" if req.reason else "")
            current = self._check_agent(agents, agent, queue)
            if current != queue:  # already there: lock only, no command
                move = Move(
                    agent=agent,
                    from_queue=current,
                    to_queue=queue,
                    reason=why,
                    after_current_contact=acc,
                )
            stored = {"agent": agent, "queue": queue}
        slot = _slot(req.action, stored)
        replaced = [o for o in live if _slot(o.action, o.fields) == slot]
        ttl = self._ttl(req, default_ttl_s)
        if len(live) - len(replaced) >= self._max:
            raise _Reject("limit", f"site has {len(live)} active overrides (max {self._max})")
        oid = self._new_id(now)
        while any(oid in b for b in self._by_site.values()):
            oid = self._new_id(now) + uuid.uuid4().hex[:8]
        ov = Override(
            override_id=oid,
            site=site,
            supervisor=supervisor,
            action=req.action,
            fields=stored,
            created_at=now,
            expires_at=None if ttl is None else now + ttl,
            reason=req.reason,
        )
        mode: Mode | None = stored["mode"] if req.action == "mode" else None  # type: ignore[assignment]
        return self._accept(site, supervisor, req, now, ov, tuple(replaced), move=move, mode=mode)

    @staticmethod
    def _check_agent(agents: Mapping[str, AgentState] | None, agent: str, queue: str) -> str | None:
        if agents is None:
            return None
        state = agents.get(agent)
        if state is None:
            raise _Reject("unknown_agent", f"unknown agent {agent[:64]!r}")
        if queue not in state.skills:
            raise _Reject("no_skill", f"agent {agent[:64]!r} is not skilled for {queue!r}")
        return state.queue

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
        mode: Mode | None = None,
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
            mode=mode,
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


def override_to_record(ov: Override) -> dict[str, Any]:
    """Override -> JSON-safe dict (POSIX seconds kept as floats)."""
    return {
        "override_id": ov.override_id,
        "site": ov.site,
        "supervisor": ov.supervisor,
        "action": ov.action,
        "fields": dict(ov.fields),
        "created_at": ov.created_at,
        "expires_at": ov.expires_at,
        "reason": ov.reason,
    }


def override_from_record(rec: Mapping[str, Any]) -> Override:
    """Inverse of ``override_to_record``; raises ValueError when a record is unusable."""
    try:
        action = str(rec["action"])
        fields = dict(rec["fields"])
        if action not in ACTION_FIELDS:
            raise ValueError(f"unknown action {action!r}")
        expires = rec.get("expires_at")
        return Override(
            override_id=str(rec["override_id"]),
            site=str(rec["site"]),
            supervisor=str(rec["supervisor"]),
            action=action,
            fields=fields,
            created_at=float(rec["created_at"]),
            expires_at=None if expires is None else float(expires),
            reason=str(rec.get("reason", "")),
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"bad override record: {err}") from None


def expiry_audit(ov: Override, now: float) -> AuditRecord:
    """Audit record for an override that ran out (actor ``system``)."""
    return AuditRecord(
        ts=now,
        site=ov.site,
        kind=EXPIRY_KIND,
        actor="system",
        payload={
            "override_id": ov.override_id,
            "action": ov.action,
            "fields": dict(ov.fields),
            "supervisor": ov.supervisor,
            "expires_at": ov.expires_at,
        },
    )
