"""JSON payloads of contract §3-§4: strict decoders into core types, compact encoders.

Decoders take the raw MQTT payload (bytes) and either return a core value or
raise ``PayloadError`` whose ``reason`` is a short, stable, bounded code
(``not_json``, ``missing_field:offered``, ``negative:waiting``, ``bad_ts`` ...)
suitable as a metric label and for rate-limited logging; ``detail`` carries the
human-readable specifics. Nothing else ever escapes a decoder.

Rules (contract §3.1): counts are non-negative integers (``true`` is not 1,
``5.0`` is not 5); times are finite non-negative numbers; ``NaN``/``Infinity``
literals and overflowing numbers are rejected; unknown fields are ignored;
nesting deeper than ``MAX_DEPTH`` is rejected.

Encoders emit compact UTF-8 JSON. Non-finite floats (e.g. ASA = inf when a queue
is under-staffed) are written as ``null`` so every message is valid JSON.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from staffer.codec.timefmt import TimeFormatError, format_ts, parse_ts
from staffer.core.override_actions import action_of, payload_fields
from staffer.core.types import (
    AgentState,
    MalformedRequest,
    Move,
    Override,
    OverrideReply,
    OverrideRequest,
    Plan,
    QueueSnapshot,
    RequestId,
)
from staffer.vocabulary import AgentStatus

MAX_PAYLOAD_BYTES = 1 << 20  # hard guard; the MQTT adapter enforces the configured limit
MAX_DEPTH = 16
MAX_QUEUES = 1000
MAX_SKILLS = 1000
MAX_ID_CHARS = 256
MAX_REASON_CHARS = 1000
MAX_FIELDS = 32
MAX_COUNT = 10**9
MAX_SECONDS = 1e9

_ENVELOPE = ("id", "action", "ttl_s", "reason")


class PayloadError(ValueError):
    """An inbound payload is unusable. ``reason`` is a bounded code, ``detail`` free text.

    ``request_id`` is the best-effort ``id`` of a malformed override request, so
    the reply can still be correlated.
    """

    def __init__(self, reason: str, detail: str = "", request_id: RequestId = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.request_id = request_id


# -- JSON loading --------------------------------------------------------------------------------


class _NonFinite(Exception):
    pass


def _reject_constant(name: str) -> float:
    raise _NonFinite(name)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # = json.loads(..., parse_constant)


def _bad_text(text: str) -> bool:
    """True for strings that cannot be UTF-8 (lone surrogates from ``\\ud800`` escapes)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_tree(obj: object, limit: int = MAX_DEPTH) -> str | None:
    """One iterative walk (no recursion): nesting depth, finite floats, encodable strings.

    Returns a reason code or None. ``json.loads`` turns ``1e400`` into ``inf`` and
    ``"\\ud800"`` into a lone surrogate; both would break re-encoding (replies,
    the audit log), so they are rejected here, once, cheaply.
    """
    stack: list[tuple[object, int]] = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth >= limit:
                return "too_deep"
            for k, v in node.items():
                if _bad_text(k):
                    return "not_utf8"
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            if depth >= limit:
                return "too_deep"
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, float):
            if not math.isfinite(node):
                return "not_finite"
        elif isinstance(node, str) and _bad_text(node):
            return "not_utf8"
    return None


def _flat_and_plain(obj: dict[str, Any], text: str) -> bool:
    """True when ``_check_tree`` could only find a non-finite float: ASCII text without
    escapes (no lone surrogate is possible) and a dict of scalars (depth 0)."""
    if not text.isascii() or "\\" in text:
        return False
    for v in obj.values():
        t = type(v)
        if t is dict or t is list:
            return False
    return True


def _flat_problem(obj: dict[str, Any]) -> str | None:
    for v in obj.values():
        if type(v) is float and not math.isfinite(v):
            return "not_finite"
    return None


def load_json(data: bytes | bytearray | memoryview | str) -> Any:
    """Bytes -> JSON value with the codec's guards; raises PayloadError."""
    if isinstance(data, str):
        text = data
        if len(text) > MAX_PAYLOAD_BYTES:
            raise PayloadError("too_large", f"{len(text)} characters")
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise PayloadError("too_large", f"{len(raw)} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise PayloadError("not_utf8", str(err)) from None
    else:
        raise PayloadError("bad_type", f"payload is {type(data).__name__}")
    try:
        if text.startswith("\ufeff"):  # what json.loads checks before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except _NonFinite as err:
        raise PayloadError("not_finite", f"non-finite number {err}") from None
    except RecursionError:
        raise PayloadError("too_deep", "nesting too deep") from None
    except ValueError as err:  # JSONDecodeError, oversized integers
        raise PayloadError("not_json", str(err)[:200]) from None
    if type(value) is dict and _flat_and_plain(value, text):
        problem = _flat_problem(value)
    else:
        problem = _check_tree(value)
    if problem is not None:
        raise PayloadError(problem, _TREE_DETAIL[problem])
    return value


_TREE_DETAIL = {
    "too_deep": f"nesting deeper than {MAX_DEPTH}",
    "not_finite": "a number overflows to infinity",
    "not_utf8": "a string escape encodes a lone surrogate",
}


def _load_object(data: bytes | bytearray | memoryview | str) -> dict[str, Any]:
    value = load_json(data)
    if not isinstance(value, dict):
        raise PayloadError("not_object", f"top level is {type(value).__name__}")
    return value


# -- validation models ---------------------------------------------------------------------------

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
Ident = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _QueueBody(_Strict):
    interval_s: Annotated[float, Field(gt=0, le=86400.0, allow_inf_nan=False)]
    offered: Count
    waiting: Count
    answered: Count | None = None
    abandoned: Count | None = None
    answered_within_target: Count | None = None
    aht_s: Seconds | None = None
    oldest_wait_s: Seconds | None = None
    backlog: Count | None = None
    oldest_age_s: Seconds | None = None


class _QueueSnapshotIn(_QueueBody):
    ts: str


class _AgentStateIn(_Strict):
    ts: str
    status: AgentStatus
    queue: Ident | None = None
    skills: Annotated[list[Ident], Field(max_length=MAX_SKILLS)] | None = None
    available_until: str | None = None


_NEGATIVE_TYPES = {"greater_than_equal"}
_RANGE_TYPES = {"greater_than", "less_than", "less_than_equal"}
_LENGTH_TYPES = {"string_too_short", "string_too_long", "too_short", "too_long"}


def _reason_from(err: ValidationError, known: Iterable[str]) -> tuple[str, str]:
    """First pydantic error -> (bounded reason code, detail)."""
    first = err.errors(include_url=False)[0]
    names = set(known)
    fld = next((p for p in first["loc"] if isinstance(p, str) and p in names), "")
    kind = first["type"]
    ctx = first.get("ctx") or {}
    if kind == "missing":
        code = "missing_field"
    elif kind in _NEGATIVE_TYPES and ctx.get("ge") == 0:
        code = "negative"
    elif kind in _NEGATIVE_TYPES or kind in _RANGE_TYPES:
        code = "out_of_range"
    elif kind == "finite_number":
        code = "not_finite"
    elif kind == "literal_error":
        code = "bad_value"
    elif kind in _LENGTH_TYPES:
        code = "bad_length"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        code = "bad_type"
    else:
        code = "invalid"
    reason = f"{code}:{fld}" if fld else code
    return reason, f"{'.'.join(map(str, first['loc']))}: {first['msg']}"


def _ts(value: str) -> float:
    try:
        return parse_ts(value)
    except TimeFormatError as err:
        raise PayloadError("bad_ts", str(err)) from None


def _snapshot(body: _QueueBody, ts: float) -> QueueSnapshot:
    if (
        body.answered is not None
        and body.answered_within_target is not None
        and body.answered_within_target > body.answered
    ):
        raise PayloadError(
            "inconsistent:answered_within_target", "answered_within_target exceeds answered"
        )
    return QueueSnapshot(
        ts=ts,
        interval_s=float(body.interval_s),
        offered=body.offered,
        waiting=body.waiting,
        answered=body.answered,
        abandoned=body.abandoned,
        answered_within_target=body.answered_within_target,
        aht_s=None if body.aht_s is None else float(body.aht_s),
        oldest_wait_s=None if body.oldest_wait_s is None else float(body.oldest_wait_s),
        backlog=body.backlog,
        oldest_age_s=None if body.oldest_age_s is None else float(body.oldest_age_s),
    )


# -- decoders ------------------------------------------------------------------------------------


def decode_queue_snapshot(data: bytes) -> QueueSnapshot:
    """``{p}/{site}/queues/{queue}/metrics`` payload -> QueueSnapshot (contract §3.1)."""
    obj = _load_object(data)
    try:
        body = _QueueSnapshotIn.model_validate(obj)
    except ValidationError as err:
        raise PayloadError(*_reason_from(err, _QueueSnapshotIn.model_fields)) from None
    return _snapshot(body, _ts(body.ts))


def decode_site_snapshot(data: bytes) -> tuple[float, dict[str, QueueSnapshot]]:
    """``{p}/{site}/metrics`` payload -> (ts, {queue_id: QueueSnapshot}).

    The site's ``ts`` applies to every queue. One bad queue rejects the whole
    message (it is one observation; applying half of it would skew the site).
    Unknown queue ids are returned as-is; the caller drops unconfigured ones.
    """
    obj = _load_object(data)
    if "ts" not in obj:
        raise PayloadError("missing_field:ts")
    if not isinstance(obj["ts"], str):
        raise PayloadError("bad_type:ts")
    ts = _ts(obj["ts"])
    queues = obj.get("queues")
    if queues is None:
        raise PayloadError("missing_field:queues")
    if not isinstance(queues, dict):
        raise PayloadError("bad_type:queues")
    if len(queues) > MAX_QUEUES:
        raise PayloadError("too_many_queues", f"{len(queues)} > {MAX_QUEUES}")
    out: dict[str, QueueSnapshot] = {}
    for qid, body in queues.items():
        if not 0 < len(qid) <= MAX_ID_CHARS or "/" in qid:
            raise PayloadError("bad_queue_id", repr(qid[:40]))
        if not isinstance(body, dict):
            raise PayloadError("bad_type:queue", f"queue {qid[:40]!r}")
        try:
            parsed = _QueueBody.model_validate(body)
        except ValidationError as err:
            reason, detail = _reason_from(err, _QueueBody.model_fields)
            raise PayloadError(reason, f"queue {qid[:40]!r}: {detail}") from None
        out[qid] = _snapshot(parsed, ts)
    return ts, out


def decode_agent_state(agent_id: str, data: bytes) -> AgentState:
    """``{p}/{site}/agents/{agent}/state`` payload -> AgentState (contract §3.2).

    ``queue`` may be null or absent (not assigned). When ``skills`` is absent the
    agent is taken to be skilled for its current queue only.
    """
    obj = _load_object(data)
    try:
        body = _AgentStateIn.model_validate(obj)
    except ValidationError as err:
        raise PayloadError(*_reason_from(err, _AgentStateIn.model_fields)) from None
    ts = _ts(body.ts)
    if body.skills is not None:
        skills = frozenset(body.skills)
    else:
        skills = frozenset() if body.queue is None else frozenset({body.queue})
    until = None if body.available_until is None else _ts(body.available_until)
    return AgentState(
        agent=agent_id,
        ts=ts,
        status=body.status,
        queue=body.queue,
        skills=skills,
        available_until=until,
    )


def _request_id(obj: Mapping[str, Any]) -> tuple[RequestId, bool]:
    """(id, ok): str or int (not bool) ids are echoed; anything else is malformed."""
    rid = obj.get("id")
    if rid is None:
        return None, True
    if isinstance(rid, str) and len(rid) <= MAX_ID_CHARS:
        return rid, True
    if isinstance(rid, int) and not isinstance(rid, bool) and abs(rid) < 2**63:
        return rid, True
    return None, False


def decode_override_request(data: bytes) -> OverrideRequest:
    """``{p}/{site}/override/{supervisor}`` payload -> OverrideRequest (contract §4).

    Only the envelope is checked here (id, action, ttl_s, reason); the action's
    own fields are validated by ``core.overrides.OverrideBook`` so all reply
    codes come from one place. ``PayloadError.request_id`` carries the id when
    it could be read.
    """
    obj = _load_object(data)
    rid, id_ok = _request_id(obj)
    if not id_ok:
        raise PayloadError("bad_type:id", "id must be a string, an integer or null")

    def fail(reason: str, detail: str = "") -> PayloadError:
        return PayloadError(reason, detail, request_id=rid)

    action = obj.get("action")
    if action is None:
        raise fail("missing_field:action")
    if not isinstance(action, str):
        raise fail("bad_type:action")
    if not 0 < len(action) <= 64:
        raise fail("bad_length:action")
    ttl_given = "ttl_s" in obj
    ttl = obj.get("ttl_s")
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, int | float):
            raise fail("bad_type:ttl_s")
        if not math.isfinite(ttl) or ttl <= 0:
            raise fail("out_of_range:ttl_s", "ttl_s must be a positive number of seconds")
        ttl = float(ttl)
    reason = obj.get("reason", "")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise fail("bad_type:reason")
    if len(reason) > MAX_REASON_CHARS:
        raise fail("bad_length:reason")
    fields = {k: v for k, v in obj.items() if k not in _ENVELOPE}
    if len(fields) > MAX_FIELDS:
        raise fail("too_many_fields", f"{len(fields)} > {MAX_FIELDS}")
    return OverrideRequest(
        id=rid, action=action, fields=fields, ttl_s=ttl, ttl_given=ttl_given, reason=reason
    )


def decode_override_request_or_error(data: bytes) -> OverrideRequest | MalformedRequest:
    """Like ``decode_override_request`` but returns a MalformedRequest instead of raising,
    ready for ``OverrideBook.handle`` (every request gets exactly one reply)."""
    try:
        return decode_override_request(data)
    except PayloadError as err:
        return MalformedRequest(id=err.request_id, reason=err.reason, message=err.detail)


# -- encoders ------------------------------------------------------------------------------------


def _num(x: float | int | None) -> float | int | None:
    """Finite numbers pass as plain Python numbers (numpy scalars too); NaN/inf become
    null (documented in docs/protocol.md)."""
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    return float(x) if math.isfinite(x) else None


def _ts_or_null(ts: float | None) -> str | None:
    """RFC 3339, or null when absent, non-finite or out of range (replies must always encode)."""
    if ts is None:
        return None
    try:
        return format_ts(ts)
    except ValueError:
        return None


def dumps(obj: object) -> bytes:
    """Compact UTF-8 JSON; raises ValueError rather than emit NaN/Infinity.

    Text that UTF-8 cannot carry (lone surrogates) falls back to ASCII escapes, so
    an encoder never fails on a string that slipped past the decoders.
    """
    try:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
            "utf-8"
        )
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("ascii")


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The §3.4 plan object (``moves`` is the number of moves in the plan)."""
    queues = {
        qid: {
            "channel": q.channel,
            "forecast_arrival_rate": _num(q.forecast_arrival_rate),
            "forecast_aht_s": _num(q.forecast_aht_s),
            "assigned": _num(q.assigned),
            "target": _num(q.target),
            "required": _num(q.required),
            "predicted_service_level": _num(q.predicted_service_level),
            "predicted_asa_s": _num(q.predicted_asa_s),
            "predicted_abandon_ratio": _num(q.predicted_abandon_ratio),
            "sl_target": _num(q.sl_target),
            "target_s": _num(q.target_s),
        }
        for qid, q in plan.queues.items()
    }
    return {
        "plan_id": plan.plan_id,
        "site": plan.site,
        "as_of": format_ts(plan.as_of),
        "mode": plan.mode,
        "queues": queues,
        "moves": len(plan.moves),
    }


def encode_plan(plan: Plan) -> bytes:
    """Retained ``{p}/{site}/plan`` payload (contract §3.4)."""
    return dumps(plan_to_json(plan))


def move_to_json(move: Move) -> dict[str, Any]:
    return {
        "agent": move.agent,
        "from": move.from_queue,
        "to": move.to_queue,
        "after_current_contact": move.after_current_contact,
        "reason": move.reason,
    }


def encode_command(
    command_id: str, plan_id: str | None, site: str, ts: float, mode: str, moves: Iterable[Move]
) -> bytes:
    """``{p}/{site}/commands`` payload (contract §3.3). ``plan_id`` is null for
    commands not produced by a plan (a supervisor's ``assign``)."""
    return dumps(
        {
            "command_id": command_id,
            "plan_id": plan_id,
            "site": site,
            "ts": format_ts(ts),
            "mode": mode,
            "moves": [move_to_json(m) for m in moves],
        }
    )


def reply_to_json(reply: OverrideReply) -> dict[str, Any]:
    """§4 reply object: success or ``{"ok": false, "error": {code, message}}``."""
    if reply.ok:
        out: dict[str, Any] = {
            "id": reply.id,
            "ok": True,
            "override_id": reply.override_id,
            "expires_at": _ts_or_null(reply.expires_at),
        }
        if reply.removed:
            out["removed"] = list(reply.removed)
        return out
    return {
        "id": reply.id,
        "ok": False,
        "error": {"code": reply.code or "invalid", "message": reply.message or ""},
    }


def encode_reply(reply: OverrideReply) -> bytes:
    """``{p}/{site}/override/{supervisor}/reply`` payload (contract §4)."""
    return dumps(reply_to_json(reply))


def override_to_json(ov: Override) -> dict[str, Any]:
    """One active override: envelope plus its fields flattened (like the request)."""
    out: dict[str, Any] = payload_fields(ov.payload)
    out.update(
        {
            "override_id": ov.override_id,
            "site": ov.site,
            "supervisor": ov.supervisor,
            "action": action_of(ov.payload),
            "created_at": _ts_or_null(ov.created_at),
            "expires_at": _ts_or_null(ov.expires_at),
            "reason": ov.reason,
        }
    )
    return out


def encode_overrides(overrides: Iterable[Override]) -> bytes:
    """Retained ``{p}/{site}/overrides`` payload: a JSON array, oldest first."""
    ordered = sorted(overrides, key=lambda o: (o.created_at, o.override_id))
    return dumps([override_to_json(o) for o in ordered])


def encode_status(
    online: bool,
    version: str | None = None,
    *,
    ts: float | None = None,
    sites: Sequence[str] | None = None,
    shard_index: int | None = None,
    shard_count: int | None = None,
) -> bytes:
    """Retained ``{p}/status`` payload. ``encode_status(False)`` is the last will."""
    out: dict[str, Any] = {"status": "online" if online else "offline"}
    if version is not None:
        out["version"] = version
    if ts is not None:
        out["ts"] = format_ts(ts)
    if sites is not None:
        out["sites"] = list(sites)
    if shard_index is not None:
        out["shard_index"] = shard_index
    if shard_count is not None:
        out["shard_count"] = shard_count
    return dumps(out)
