"""The audit log's rows: what each kind holds, and how a person reads it (``staffer audit``).

The store keeps an entry as ``(ts, site, kind, actor, payload JSON)``. The kinds:

``override``
    A supervisor request (``core.overrides``; approve/reject through ``decision_audit``).
    actor: the supervisor. payload: ``request_id``, ``outcome`` (``accepted`` |
    ``rejected`` | ``duplicate``), ``action``, ``fields``, ``ttl_s`` (seconds, null or
    ``"default"``), ``reason``; when accepted ``override_id``, ``expires_at``, ``removed``
    (approve/reject: ``approved``, ``rejected``, ``withdrawn`` proposal ids, ``moves``
    naming each one's agent, from and to, the ``command_id`` of the approved moves and
    a rejection's ``cooldown_until``); when
    rejected ``code`` and ``message``.
``override_expired``
    An override that ran out. actor ``system`` (shown and filtered as ``system``; the
    details name who set it); payload: ``override_id``, ``action``, ``fields``,
    ``supervisor`` (who set it), ``expires_at``.
``move``
    One commanded move (contract §16; ``move_audit``). actor: who decided, ``planner``
    or the supervisor. payload: ``command_id``, ``plan_id`` (null for an assign),
    ``mode`` (``auto`` for a planner move, ``approve`` for an approved proposal,
    ``assign``), ``agent``, ``from``, ``to``, ``reason``, ``after_current_contact``,
    ``decided_by`` and, for an approved proposal, ``proposal_id``.
``move_rejected``
    The bridge refused a commanded move (contract §10, ``core.acks``). actor ``bridge``;
    payload: ``command_id``, ``agent``, ``to``, ``reason``, ``acked_at``, ``in_flight``,
    ``cooldown_until``. Shown as action ``move``, outcome ``rejected``.

``describe`` turns any row into an ``AuditEntry``: time, site, supervisor, action,
outcome and one line of details. Unknown kinds are shown with their payload as JSON, so
a newer daemon's rows stay readable. Free text is shown through ``printable`` (control
characters escaped: one row stays one line). ``AuditEntry.to_json`` keeps every stored
field, with ``expires_at`` and ``cooldown_until`` as RFC 3339 and a ``"default"``
``ttl_s`` as the seconds applied (``expires_at`` minus the row's time; null when not known).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from staffer.codec.timefmt import format_ts
from staffer.core.acks import AUDIT_KIND as REJECTED_KIND
from staffer.core.proposals import Decision
from staffer.core.types import AuditRecord, Move, OverrideRequest

OVERRIDE_KIND = "override"
EXPIRY_KIND = "override_expired"
MOVE_KIND = "move"
LIST_LABELS = (
    ("removed", "replaced"),
    ("approved", "approved"),
    ("rejected", "rejected"),
    ("withdrawn", "stale"),
)
MOVE_OUTCOMES = {"auto": "commanded", "approve": "approved", "assign": "assigned"}
TIME_FIELDS = ("expires_at", "cooldown_until")  # POSIX seconds stored, RFC 3339 shown


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row as ``staffer audit`` prints it; ``data`` is the stored payload."""

    ts: float
    site: str
    supervisor: str
    action: str
    outcome: str
    details: str
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "time": _time(self.ts),
            "site": self.site,
            "supervisor": self.supervisor,
            "action": self.action,
            "outcome": self.outcome,
            "details": self.details,
            "kind": self.kind,
            "data": _json_data(self.ts, self.data),
        }


def printable(text: str) -> str:
    """``text`` with its control (non-printable) characters as JSON escapes: one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)


def _json_data(ts: float, data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored payload with its POSIX times as RFC 3339, and the ``ttl_s`` applied."""
    out = dict(data)
    for key in TIME_FIELDS:
        if _number(out.get(key)):
            out[key] = _time(out[key])
    if "ttl_s" in out and out["ttl_s"] is not None and not _number(out["ttl_s"]):
        expires = data.get("expires_at")  # a "default" ttl: what the daemon applied
        out["ttl_s"] = round(expires - ts, 3) if _number(expires) else None
    return out


def _number(v: object) -> TypeGuard[float]:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


# -- rows the daemon writes ----------------------------------------------------------------------


def move_audit(
    site: str,
    ts: float,
    *,
    command_id: str,
    plan_id: str | None,
    mode: str,
    move: Move,
    decided_by: str,
    proposal_id: str | None = None,
) -> AuditRecord:
    """The audit row of one commanded move: answers "why did this agent move?"."""
    payload: dict[str, object] = {
        "command_id": command_id,
        "plan_id": plan_id,
        "mode": mode,
        "agent": move.agent,
        "from": move.from_queue,
        "to": move.to_queue,
        "reason": move.reason,
        "after_current_contact": move.after_current_contact,
        "decided_by": decided_by,
    }
    if proposal_id is not None:
        payload["proposal_id"] = proposal_id
    return AuditRecord(ts=ts, site=site, kind=MOVE_KIND, actor=decided_by, payload=payload)


def decision_audit(
    site: str,
    supervisor: str,
    request: OverrideRequest,
    decision: Decision,
    now: float,
    command_id: str | None = None,
) -> AuditRecord:
    """The audit row of an approve/reject request, in the shape of the other requests
    (plus the ``command_id`` of the approved moves' command)."""
    payload: dict[str, object] = {
        "request_id": request.id,
        "outcome": "accepted" if decision.ok else "rejected",
        "action": request.action,
        "fields": dict(request.fields),
        "ttl_s": request.ttl_s if request.ttl_given else "default",
        "reason": request.reason,
    }
    if decision.ok:
        moves: dict[str, str] = {}
        for outcome in ("approved", "rejected", "withdrawn"):
            closed = [c.proposal for c in decision.closed if c.outcome == outcome]
            if closed:
                payload[outcome] = [p.proposal_id for p in closed]
                moves.update(
                    (p.proposal_id, _arrow(p.agent, p.from_queue, p.to_queue)) for p in closed
                )
        if moves:
            payload["moves"] = moves
        if command_id is not None:
            payload["command_id"] = command_id
        if decision.cooldown_until is not None:
            payload["cooldown_until"] = decision.cooldown_until
    else:
        payload.update(code=decision.code, message=decision.message)
    return AuditRecord(ts=now, site=site, kind=OVERRIDE_KIND, actor=supervisor, payload=payload)


# -- reading -------------------------------------------------------------------------------------


def _time(ts: float) -> str:
    try:
        return format_ts(ts)
    except ValueError:
        return str(ts)


def _value(v: object) -> str:
    if isinstance(v, str):
        plain = v and v.isprintable() and " " not in v and "," not in v
        return v if plain else printable(json.dumps(v, ensure_ascii=False))
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return json.dumps(v, ensure_ascii=False, default=str)


def _fields(data: Mapping[str, Any]) -> list[str]:
    fields = data.get("fields")
    if not isinstance(fields, Mapping):
        return []
    return [f"{k}={_value(v)}" for k, v in fields.items()]


def _listed(d: Mapping[str, Any]) -> list[str]:
    """Replaced overrides; approved, rejected and stale proposals with their moves; the
    approved moves' command; a rejection's cool-down."""
    parts = []
    moves = d.get("moves")
    named: Mapping[str, Any] = moves if isinstance(moves, Mapping) else {}
    for key, label in LIST_LABELS:
        ids = d.get(key)
        if isinstance(ids, list) and ids:
            shown = (f"{i} ({named[i]})" if i in named else str(i) for i in ids)
            parts.append(f"{label} {' '.join(shown)}")
    if d.get("command_id"):
        parts.append(f"command {d['command_id']}")
    until = d.get("cooldown_until")
    if isinstance(until, int | float):
        parts.append(f"not proposed again before {_time(math.floor(until))}")
    return parts


def _override(rec: AuditRecord) -> AuditEntry:
    d = rec.payload
    parts = _fields(d)
    if d.get("reason"):
        parts.append(f"reason {_value(str(d['reason']))}")
    if d.get("override_id"):
        parts.append(f"override {d['override_id']}")
    expires = d.get("expires_at")
    if isinstance(expires, int | float):
        parts.append(f"until {_time(math.floor(expires))}")
    elif d.get("action") == "mode" and d.get("outcome") == "accepted" and "expires_at" in d:
        parts.append("permanent")
    parts += _listed(d)
    outcome = str(d.get("outcome", ""))
    if outcome == "rejected":
        outcome = f"rejected ({d.get('code') or 'invalid'})"
        if d.get("message"):
            parts.append(str(d["message"]))
    action = str(d.get("action") or "(malformed request)")
    return AuditEntry(rec.ts, rec.site, rec.actor, action, outcome, ", ".join(parts), rec.kind, d)


def _expired(rec: AuditRecord) -> AuditEntry:
    d = rec.payload
    parts = [*_fields(d), f"override {d.get('override_id')}"]
    if d.get("supervisor"):
        parts[-1] += f" (set by {_value(str(d['supervisor']))})"
    return AuditEntry(
        rec.ts,
        rec.site,
        rec.actor,
        str(d.get("action", "")),
        "expired",
        ", ".join(parts),
        rec.kind,
        d,
    )


def _arrow(agent: object, src: object, dst: object) -> str:
    return f"{agent} {src or '(none)'} -> {dst}"


def _move(rec: AuditRecord) -> AuditEntry:
    d = rec.payload
    details = _arrow(d.get("agent"), d.get("from"), d.get("to"))
    if d.get("reason"):
        details += f": {d['reason']}"
    refs = [f"command {d['command_id']}"] if d.get("command_id") else []
    if d.get("proposal_id"):
        refs.append(f"proposal {d['proposal_id']}")
    if refs:
        details += f" ({', '.join(refs)})"
    mode = str(d.get("mode", ""))
    outcome = MOVE_OUTCOMES.get(mode, mode)
    return AuditEntry(rec.ts, rec.site, rec.actor, "move", outcome, details, rec.kind, d)


def _move_rejected(rec: AuditRecord) -> AuditEntry:
    """A bridge's refusal of a commanded move (contract §10, ``core.acks``)."""
    d = rec.payload
    details = f"{d.get('agent')} -> {d.get('to')}"
    if d.get("reason"):
        details += f": {_value(str(d['reason']))}"
    notes = [f"command {d.get('command_id')}"]
    until = d.get("cooldown_until")
    if _number(until):
        notes.append(f"not moved there again before {_time(until)}")
    if d.get("in_flight") is False:
        notes.append("after the move had left flight")
    details += f" ({', '.join(notes)})"
    return AuditEntry(rec.ts, rec.site, rec.actor, "move", "rejected", details, rec.kind, d)


def _other(rec: AuditRecord) -> AuditEntry:
    details = json.dumps(rec.payload, ensure_ascii=False, sort_keys=True, default=str)
    return AuditEntry(rec.ts, rec.site, rec.actor, rec.kind, "", details, rec.kind, rec.payload)


_DESCRIBE: dict[str, Callable[[AuditRecord], AuditEntry]] = {
    OVERRIDE_KIND: _override,
    EXPIRY_KIND: _expired,
    MOVE_KIND: _move,
    REJECTED_KIND: _move_rejected,
}


def describe(rec: AuditRecord) -> AuditEntry:
    """One stored audit row as a person reads it (never raises on an odd payload)."""
    try:
        return _DESCRIBE.get(rec.kind, _other)(rec)
    except (TypeError, ValueError, AttributeError):
        return _other(rec)
