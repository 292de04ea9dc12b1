"""Inbound payloads of contract §3.1-§3.2, §4 and §10: strict decoders into core types.

Decoders take the raw MQTT payload (bytes) and either return a core value or raise
`PayloadError` whose ``reason`` is a short, stable, bounded code (``not_json``,
``missing_field:offered``, ``negative:waiting``, ``bad_ts`` ...) suitable as a metric
label and for rate-limited logging; ``detail`` carries the specifics. Nothing else
ever escapes a decoder.

Rules (contract §3.1): counts are non-negative integers (``true`` is not 1, ``5.0`` is
not 5); times are finite non-negative numbers; unknown fields are ignored. The queue
snapshot's fields are those of `staffer.core.types.QueueSnapshot`, written once there:
the wire model is derived from the dataclass (its ints are counts, its floats seconds).
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from staffer.codec import fast_inbound
from staffer.codec.jsonio import PayloadError, load_object
from staffer.codec.timefmt import TimeFormatError, parse_ts
from staffer.core.types import (
    AgentState,
    MalformedRequest,
    MoveAck,
    OverrideRequest,
    QueueSnapshot,
    RequestId,
)
from staffer.vocabulary import AckStatus, AgentStatus

MAX_QUEUES = 1000
MAX_SKILLS = 1000
MAX_ID_CHARS = 256
MAX_REASON_CHARS = 1000
MAX_FIELDS = 32
MAX_FIELD_NAME_CHARS = 64
MAX_LIST_ITEMS = 1000  # e.g. an approval's proposal_ids (codec.proposals.MAX_IDS)
MAX_COUNT = 10**9
MAX_SECONDS = 1e9

_ENVELOPE = ("id", "action", "ttl_s", "reason")


# -- validation models ---------------------------------------------------------------------------

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
Interval = Annotated[float, Field(gt=0, le=86400.0, allow_inf_nan=False)]
Ident = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def _wire_fields(cls: type, skip: str, special: Mapping[str, object]) -> dict[str, Any]:
    """A dataclass's fields as pydantic field definitions: ints are counts, floats
    seconds (``special`` overrides by name), ``X | None`` optional with default None."""
    hints = get_type_hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name == skip:
            continue
        hint = hints[f.name]
        optional = get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)
        base = next(a for a in get_args(hint) if a is not type(None)) if optional else hint
        wire: Any = special.get(f.name) or {int: Count, float: Seconds}[base]
        out[f.name] = (wire | None, None) if optional else (wire, ...)
    return out


QueueBodyIn: type[Strict] = create_model(
    "QueueBodyIn",
    __base__=Strict,
    **_wire_fields(QueueSnapshot, skip="ts", special={"interval_s": Interval}),
)
QueueSnapshotIn: type[Strict] = create_model("QueueSnapshotIn", __base__=QueueBodyIn, ts=(str, ...))


class AgentStateIn(Strict):
    ts: str
    status: AgentStatus
    queue: Ident | None = None
    skills: Annotated[list[Ident], Field(max_length=MAX_SKILLS)] | None = None
    available_until: str | None = None


class MoveAckIn(Strict):
    """A move ack as validated (its JSON Schema is generated from this model)."""

    ts: str
    command_id: Ident
    to: Ident
    status: AckStatus
    reason: Annotated[str, Field(max_length=MAX_REASON_CHARS)] | None = None


_NEGATIVE_TYPES = {"greater_than_equal"}
_RANGE_TYPES = {"greater_than", "less_than", "less_than_equal"}
_LENGTH_TYPES = {"string_too_short", "string_too_long", "too_short", "too_long"}


def reason_from(err: ValidationError, known: Iterable[str]) -> tuple[str, str]:
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


def wire_ts(value: str) -> float:
    try:
        return parse_ts(value)
    except TimeFormatError as err:
        raise PayloadError("bad_ts", str(err)) from None


def _snapshot(body: BaseModel, ts: float) -> QueueSnapshot:
    values = body.__dict__  # the validated fields, named as QueueSnapshot's
    answered, within = values["answered"], values["answered_within_target"]
    if answered is not None and within is not None and within > answered:
        raise PayloadError(
            "inconsistent:answered_within_target", "answered_within_target exceeds answered"
        )
    return QueueSnapshot(**{**values, "ts": ts})  # the wire's ts string -> POSIX seconds


# -- decoders ------------------------------------------------------------------------------------


def decode_queue_snapshot(data: bytes) -> QueueSnapshot:
    """``{p}/{site}/queues/{queue}/metrics`` payload -> QueueSnapshot (contract §3.1)."""
    fast = fast_inbound.queue_snapshot(data)  # the plain valid case, in C
    if fast is not None:
        return fast
    obj = load_object(data)
    try:
        body = QueueSnapshotIn.model_validate(obj)
    except ValidationError as err:
        raise PayloadError(*reason_from(err, QueueSnapshotIn.model_fields)) from None
    return _snapshot(body, wire_ts(body.__dict__["ts"]))


def decode_site_snapshot(data: bytes) -> tuple[float, dict[str, QueueSnapshot]]:
    """``{p}/{site}/metrics`` payload -> (ts, {queue_id: QueueSnapshot}).

    The site's ``ts`` applies to every queue. One bad queue rejects the whole
    message (it is one observation; applying half of it would skew the site).
    Unknown queue ids are returned as-is; the caller drops unconfigured ones.
    """
    fast = fast_inbound.site_snapshot(data, MAX_QUEUES, MAX_ID_CHARS)  # plain valid case
    if fast is not None:
        return fast
    obj = load_object(data)
    if "ts" not in obj:
        raise PayloadError("missing_field:ts")
    if not isinstance(obj["ts"], str):
        raise PayloadError("bad_type:ts")
    ts = wire_ts(obj["ts"])
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
            parsed = QueueBodyIn.model_validate(body)
        except ValidationError as err:
            reason, detail = reason_from(err, QueueBodyIn.model_fields)
            raise PayloadError(reason, f"queue {qid[:40]!r}: {detail}") from None
        out[qid] = _snapshot(parsed, ts)
    return ts, out


def decode_agent_state(agent_id: str, data: bytes) -> AgentState:
    """``{p}/{site}/agents/{agent}/state`` payload -> AgentState (contract §3.2).

    ``queue`` may be null or absent (not assigned). When ``skills`` is absent the
    agent is taken to be skilled for its current queue only.
    """
    obj = load_object(data)
    try:
        body = AgentStateIn.model_validate(obj)
    except ValidationError as err:
        raise PayloadError(*reason_from(err, AgentStateIn.model_fields)) from None
    ts = wire_ts(body.ts)
    if body.skills is not None:
        skills = frozenset(body.skills)
    else:
        skills = frozenset() if body.queue is None else frozenset({body.queue})
    until = None if body.available_until is None else wire_ts(body.available_until)
    return AgentState(
        agent=agent_id,
        ts=ts,
        status=body.status,
        queue=body.queue,
        skills=skills,
        available_until=until,
    )


def decode_move_ack(agent_id: str, data: bytes) -> MoveAck:
    """``{p}/{site}/agents/{agent}/move`` payload -> MoveAck (contract §10).

    ``{"ts", "command_id", "to", "status", "reason"}`` with ``status`` one of ``accepted``,
    ``rejected``, ``done`` and ``reason`` optional free text; the agent is the topic level,
    as for agent states.
    """
    obj = load_object(data)
    try:
        body = MoveAckIn.model_validate(obj)
    except ValidationError as err:
        raise PayloadError(*reason_from(err, MoveAckIn.model_fields)) from None
    return MoveAck(
        agent=agent_id,
        ts=wire_ts(body.ts),
        command_id=body.command_id,
        to_queue=body.to,
        status=body.status,
        reason=body.reason or "",
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
    obj = load_object(data)
    rid, id_ok = _request_id(obj)
    if not id_ok and isinstance(obj.get("id"), str):
        raise PayloadError("bad_length:id", f"id is longer than {MAX_ID_CHARS} characters")
    if not id_ok:
        raise PayloadError("bad_type:id", "id must be a string, an integer or null")

    action = _envelope_str(obj, "action", rid, required=True, limit=64)
    ttl = _envelope_ttl(obj, rid)
    reason = _envelope_str(obj, "reason", rid, required=False, limit=MAX_REASON_CHARS)
    fields = {k: v for k, v in obj.items() if k not in _ENVELOPE}
    if len(fields) > MAX_FIELDS:
        raise PayloadError("too_many_fields", f"{len(fields)} > {MAX_FIELDS}", rid)
    for name, value in fields.items():
        _check_field(name, value, rid)
    return OverrideRequest(
        id=rid, action=action, fields=fields, ttl_s=ttl, ttl_given="ttl_s" in obj, reason=reason
    )


def _check_field(name: str, value: Any, rid: RequestId) -> None:
    """An action field as a request may hold it (what a request stores is bounded: issue
    14): a name of at most 64 characters; a value null, a boolean, a number, a string of
    at most 256 characters or a list of at most 1000 such strings (ids)."""
    if len(name) > MAX_FIELD_NAME_CHARS:
        raise PayloadError(
            "bad_length:field_name", f"a field name over {MAX_FIELD_NAME_CHARS}", rid
        )
    items = value if isinstance(value, list) else (value,)
    if len(items) > MAX_LIST_ITEMS:
        raise PayloadError("bad_length:list", f"{name[:64]}: over {MAX_LIST_ITEMS} items", rid)
    for item in items:
        if isinstance(item, str):
            if len(item) > MAX_ID_CHARS:
                raise PayloadError("bad_length:field", f"{name[:64]}: over {MAX_ID_CHARS}", rid)
        elif isinstance(item, list | dict) or item is not value:  # nested, or not an id
            raise PayloadError("bad_type:field", f"{name[:64]}: nested or non-string list", rid)


def _envelope_str(
    obj: Mapping[str, Any], name: str, rid: RequestId, *, required: bool, limit: int
) -> str:
    """A string of the request envelope: ``action`` (1-64 chars) or ``reason`` (may be
    absent or null: empty)."""
    value = obj.get(name)
    if value is None:
        if required:
            raise PayloadError(f"missing_field:{name}", request_id=rid)
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"bad_type:{name}", request_id=rid)
    if len(value) > limit or (required and not value):
        raise PayloadError(f"bad_length:{name}", request_id=rid)
    return value


def _envelope_ttl(obj: Mapping[str, Any], rid: RequestId) -> float | None:
    """``ttl_s``: a positive finite number of seconds, or null/absent (None)."""
    ttl = obj.get("ttl_s")
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise PayloadError("bad_type:ttl_s", request_id=rid)
    if not math.isfinite(ttl) or ttl <= 0:
        raise PayloadError(
            "out_of_range:ttl_s", "ttl_s must be a positive number of seconds", request_id=rid
        )
    return float(ttl)


def decode_override_request_or_error(data: bytes) -> OverrideRequest | MalformedRequest:
    """Like ``decode_override_request`` but returns a MalformedRequest instead of raising,
    ready for ``OverrideBook.handle`` (every request gets exactly one reply)."""
    try:
        return decode_override_request(data)
    except PayloadError as err:
        return MalformedRequest(id=err.request_id, reason=err.reason, message=err.detail)
