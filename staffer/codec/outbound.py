"""Outbound payloads of contract §2-§4: compact encoders from core types to JSON bytes.

Non-finite floats (e.g. ASA = inf when a queue is under-staffed) are written as
``null`` so every message is valid JSON; timestamps are RFC 3339 UTC.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from staffer.codec.jsonio import dumps
from staffer.codec.timefmt import format_ts
from staffer.core.override_actions import action_of, payload_fields
from staffer.core.types import Move, Override, OverrideReply, Plan


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
            "observed_service_level": _num(q.observed_service_level),
            "waiting": q.waiting,
            "data_age_s": _num(q.data_age_s),
            "stale": q.stale,
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


def plan_mode(body: bytes | str) -> str | None:
    """The ``mode`` of an encoded plan (a stored one, restored); None when unreadable."""
    try:  # not ``load_json``: a plan may be larger than an inbound payload may
        doc = json.loads(body)
    except ValueError:
        return None
    mode = doc.get("mode") if isinstance(doc, dict) else None
    return mode if isinstance(mode, str) else None


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
        out.update(reply.extra)
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
