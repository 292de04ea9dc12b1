"""The hot inbound payloads (queue and site snapshots) decoded in one C call (msgspec).

A fast path in front of `staffer.codec.inbound`'s decoders, never a second set of rules:
it returns a value only for the plain case, a payload made of the contract's fields
alone that msgspec decodes and validates against the same bounds as the pydantic models
(derived, like them, from `staffer.core.types.QueueSnapshot`). Everything else — an
unknown field, any validation or syntax error, a bad ``ts``, an inconsistent count —
returns None and the caller runs the pydantic path, which gives the value or the error
(reason code and detail) exactly as before. So the fast path can only make a valid
payload cheaper, never change what is accepted or why something is rejected
(``tests/unit/codec/test_fast_inbound.py`` checks both paths agree on random payloads).
"""

from __future__ import annotations

import dataclasses
import types
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import msgspec

from staffer.codec.timefmt import TimeFormatError, parse_ts
from staffer.core.types import QueueSnapshot

MAX_FAST_BYTES = 65536  # larger payloads take the guarded path (size checks, detail)

_COUNT = Annotated[int, msgspec.Meta(ge=0, le=10**9)]
_SECONDS = Annotated[float, msgspec.Meta(ge=0, le=1e9)]
_INTERVAL = Annotated[float, msgspec.Meta(gt=0, le=86400.0)]


def _fields() -> list[tuple[str, Any, Any]]:
    """QueueSnapshot's fields (but ``ts``) as msgspec fields, as ``inbound._wire_fields``
    makes them for pydantic: ints are counts, floats seconds, ``X | None`` optional."""
    hints = get_type_hints(QueueSnapshot)
    out: list[tuple[str, Any, Any]] = []
    for f in dataclasses.fields(QueueSnapshot):
        if f.name == "ts":
            continue
        hint = hints[f.name]
        optional = get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)
        base = next(a for a in get_args(hint) if a is not type(None)) if optional else hint
        wire: Any = _INTERVAL if f.name == "interval_s" else {int: _COUNT, float: _SECONDS}[base]
        out.append((f.name, wire | None, None) if optional else (f.name, wire, msgspec.NODEFAULT))
    return out


_BODY_FIELDS = _fields()
_NAMES = tuple(name for name, _, _ in _BODY_FIELDS)
_Body: Any = msgspec.defstruct("QueueBodyFast", _BODY_FIELDS, forbid_unknown_fields=True)
_Queue: Any = msgspec.defstruct(
    "QueueSnapshotFast", [("ts", str), *_BODY_FIELDS], forbid_unknown_fields=True
)
_Site: Any = msgspec.defstruct(
    "SiteSnapshotFast", [("ts", str), ("queues", dict[str, _Body])], forbid_unknown_fields=True
)
_QUEUE = msgspec.json.Decoder(_Queue)
_SITE = msgspec.json.Decoder(_Site)
_FAILED = (msgspec.DecodeError, msgspec.ValidationError, TimeFormatError)


def _snapshot(body: Any, ts: float) -> QueueSnapshot | None:
    values = [getattr(body, name) for name in _NAMES]
    snap = QueueSnapshot(ts, *values)
    answered, within = snap.answered, snap.answered_within_target
    if answered is not None and within is not None and within > answered:
        return None  # the guarded path names the inconsistency
    return snap


def queue_snapshot(data: bytes) -> QueueSnapshot | None:
    """A plain, valid queue snapshot payload -> QueueSnapshot; None: use the guarded path."""
    if len(data) > MAX_FAST_BYTES:
        return None
    try:
        body = _QUEUE.decode(data)
        return _snapshot(body, parse_ts(body.ts))
    except _FAILED:
        return None


def site_snapshot(
    data: bytes, max_queues: int, max_id_chars: int
) -> tuple[float, dict[str, QueueSnapshot]] | None:
    """A plain, valid site snapshot payload -> (ts, queues); None: use the guarded path."""
    if len(data) > MAX_FAST_BYTES:
        return None
    try:
        site = _SITE.decode(data)
        ts = parse_ts(site.ts)
    except _FAILED:
        return None
    if len(site.queues) > max_queues:
        return None
    out: dict[str, QueueSnapshot] = {}
    for qid, body in site.queues.items():
        snap = _snapshot(body, ts)
        if snap is None or not 0 < len(qid) <= max_id_chars or "/" in qid:
            return None
        out[qid] = snap
    return ts, out
