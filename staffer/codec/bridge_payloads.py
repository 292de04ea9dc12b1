"""The payloads seen from a bridge's side of the broker (contract §3, §10, §14).

* Encoders for what a bridge publishes and the daemon decodes (``payloads.decode_*``):
  queue snapshots, site snapshots, agent states and move acks. ``staffer.bridge`` encodes with these
  and then decodes the result with the daemon's own decoder before publishing.
* Decoders for what the daemon publishes to bridges: commands (``payloads.encode_command``)
  and plans (``payloads.encode_plan``). Unknown fields are ignored, so later additive
  fields (a move's ``proposal_id``, a plan queue's ``stale``) never break a bridge.

The pydantic models here double as the source of the shipped JSON Schemas
(``codec.schemas``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, ValidationError

from staffer.codec.inbound import (
    MAX_QUEUES,
    MAX_REASON_CHARS,
    Count,
    Ident,
    Strict,
    reason_from,
    wire_ts,
)
from staffer.codec.jsonio import PayloadError, dumps, load_object
from staffer.codec.timefmt import format_ts
from staffer.core.types import AgentState, Move, MoveAck, QueueSnapshot

MAX_MOVES = 10000
# a queue snapshot's body: QueueSnapshot's fields but ts (optional ones: default None)
_BODY = [f for f in dataclasses.fields(QueueSnapshot) if f.name != "ts"]
_OPTIONAL_FIELDS = tuple(f.name for f in _BODY if f.default is None)
QUEUE_FIELDS = frozenset(f.name for f in _BODY)

# -- what a bridge publishes ---------------------------------------------------------------------


def queue_body_json(snap: QueueSnapshot) -> dict[str, Any]:
    """A queue snapshot as §3.1 JSON without ``ts`` (absent optional fields left out)."""
    out: dict[str, Any] = {
        "interval_s": snap.interval_s,
        "offered": snap.offered,
        "waiting": snap.waiting,
    }
    for name in _OPTIONAL_FIELDS:
        value = getattr(snap, name)
        if value is not None:
            out[name] = value
    return out


def encode_queue_snapshot(snap: QueueSnapshot) -> bytes:
    """``{p}/{site}/queues/{queue}/metrics`` payload (§3.1)."""
    return dumps({"ts": format_ts(snap.ts), **queue_body_json(snap)})


def encode_site_snapshot(ts: float, snaps: Mapping[str, QueueSnapshot]) -> bytes:
    """``{p}/{site}/metrics`` payload: one ``ts`` for every queue (§2)."""
    return dumps({"ts": format_ts(ts), "queues": {q: queue_body_json(s) for q, s in snaps.items()}})


def encode_agent_state(state: AgentState) -> bytes:
    """``{p}/{site}/agents/{agent}/state`` payload (§3.2, §11); skills sorted."""
    out: dict[str, Any] = {
        "ts": format_ts(state.ts),
        "status": state.status,
        "queue": state.queue,
        "skills": sorted(state.skills),
    }
    if state.available_until is not None:
        out["available_until"] = format_ts(state.available_until)
    return dumps(out)


def encode_move_ack(ack: MoveAck) -> bytes:
    """``{p}/{site}/agents/{agent}/move`` payload (§10; ``reason`` left out when empty)."""
    out: dict[str, object] = {
        "ts": format_ts(ack.ts),
        "command_id": ack.command_id,
        "to": ack.to_queue,
        "status": ack.status,
    }
    if ack.reason:
        out["reason"] = ack.reason
    return dumps(out)


# -- what the daemon publishes -------------------------------------------------------------------

Reason = Annotated[str, Field(max_length=MAX_REASON_CHARS)]
Ratio = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class MoveOut(Strict):
    """One move of a command (§3.3)."""

    agent: Ident
    from_: Ident | None = Field(None, alias="from")
    to: Ident
    after_current_contact: bool = True
    reason: Reason = ""


class CommandOut(Strict):
    """``{p}/{site}/commands`` (§3.3). ``plan_id`` is null for a supervisor's ``assign``."""

    command_id: Ident
    plan_id: Ident | None
    site: Ident
    ts: str
    mode: Ident
    moves: Annotated[list[MoveOut], Field(max_length=MAX_MOVES)]


class PlanQueueOut(Strict):
    """One queue of a plan (§3.4); predictions are null when not finite."""

    channel: Ident
    forecast_arrival_rate: Number | None
    forecast_aht_s: Number | None
    assigned: Count
    target: Count
    required: Count
    predicted_service_level: Ratio | None
    predicted_asa_s: Number | None
    predicted_abandon_ratio: Ratio | None
    sl_target: Ratio
    target_s: Number
    # contract §16 (additive: a plan of an older daemon has neither)
    data_age_s: Number | None = None
    stale: bool = False


class PlanOut(Strict):
    """``{p}/{site}/plan`` (§3.4, retained); ``moves`` is the number of moves."""

    plan_id: Ident
    site: Ident
    as_of: str
    mode: Ident
    queues: Annotated[dict[str, PlanQueueOut], Field(max_length=MAX_QUEUES)]
    moves: Count


@dataclass(frozen=True, slots=True)
class Command:
    """A decoded command: what a bridge applies (and acknowledges move by move)."""

    command_id: str
    plan_id: str | None
    site: str
    ts: float
    mode: str
    moves: tuple[Move, ...]


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """The parts of a plan a bridge may want: which plan, for when, how many moves."""

    plan_id: str
    site: str
    as_of: float
    mode: str
    moves: int


def _validated(model: type[Strict], data: bytes) -> Any:
    obj = load_object(data)
    try:
        return model.model_validate(obj)
    except ValidationError as err:
        raise PayloadError(*reason_from(err, model.model_fields)) from None


def decode_command(data: bytes) -> Command:
    """A ``commands`` payload -> Command; raises PayloadError (bounded reason codes)."""
    body: CommandOut = _validated(CommandOut, data)
    moves = tuple(
        Move(m.agent, m.from_, m.to, m.reason, m.after_current_contact) for m in body.moves
    )
    return Command(body.command_id, body.plan_id, body.site, wire_ts(body.ts), body.mode, moves)


def decode_plan(data: bytes) -> PlanSummary:
    """A ``plan`` payload -> PlanSummary; raises PayloadError."""
    body: PlanOut = _validated(PlanOut, data)
    return PlanSummary(body.plan_id, body.site, wire_ts(body.as_of), body.mode, body.moves)
