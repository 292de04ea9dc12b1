"""Move acknowledgements (contract §10): ``{p}/{site}/agents/{agent}/move``.

``{"ts": "...", "command_id": "...", "to": "phone", "status": "accepted", "reason": "..."}``
with ``status`` one of ``accepted``, ``rejected``, ``done`` and ``reason`` optional (free
text, at most 1000 characters). The agent is the topic level, as for agent states. The
same rules as every inbound payload apply (``payloads`` module docstring): strict types,
unknown fields ignored, bounded reason codes in ``PayloadError``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationError

from staffer.codec.payloads import (
    MAX_REASON_CHARS,
    Ident,
    PayloadError,
    _load_object,
    _reason_from,
    _Strict,
    _ts,
    dumps,
)
from staffer.codec.timefmt import format_ts
from staffer.core.types import MoveAck


class MoveAckIn(_Strict):
    """The ack payload as validated (its JSON Schema is generated from this model)."""

    ts: str
    command_id: Ident
    to: Ident
    status: Literal["accepted", "rejected", "done"]
    reason: Annotated[str, Field(max_length=MAX_REASON_CHARS)] | None = None


def decode_move_ack(agent_id: str, data: bytes) -> MoveAck:
    """``{p}/{site}/agents/{agent}/move`` payload -> MoveAck; raises PayloadError."""
    obj = _load_object(data)
    try:
        body = MoveAckIn.model_validate(obj)
    except ValidationError as err:
        raise PayloadError(*_reason_from(err, MoveAckIn.model_fields)) from None
    return MoveAck(
        agent=agent_id,
        ts=_ts(body.ts),
        command_id=body.command_id,
        to_queue=body.to,
        status=body.status,
        reason=body.reason or "",
    )


def encode_move_ack(ack: MoveAck) -> bytes:
    """The ack payload (``reason`` left out when empty)."""
    out: dict[str, object] = {
        "ts": format_ts(ack.ts),
        "command_id": ack.command_id,
        "to": ack.to_queue,
        "status": ack.status,
    }
    if ack.reason:
        out["reason"] = ack.reason
    return dumps(out)
