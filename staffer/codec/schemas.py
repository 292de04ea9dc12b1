"""JSON Schemas (draft 2020-12) of every payload on staffer's topics, generated from the codec.

Inbound payloads (what bridges and consoles send) come from the pydantic models the daemon
validates with; outbound ones from the reader models in ``bridge_payloads`` and the small
models below, which the tests hold against the encoders' output. Timestamps get the RFC
3339 pattern the daemon's parser accepts. Field descriptions (the semantics a bridge author
needs, docs/bridge-guide.md) live here once and are written into the schemas.

The package ships the result in ``staffer/schemas/*.json``; regenerate after a codec
change with ``python -m staffer.codec.schemas`` (a test fails while they are out of date).
The schemas are slightly looser than the daemon where JSON Schema cannot say it: a count
written ``5.0`` or ``answered_within_target`` above ``answered`` passes the schema and is
still rejected by the daemon.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from staffer.codec.bridge_payloads import CommandOut, PlanOut
from staffer.codec.inbound import (
    MAX_FIELDS,
    MAX_ID_CHARS,
    MAX_QUEUES,
    MAX_REASON_CHARS,
    AgentStateIn,
    MoveAckIn,
    QueueBodyIn,
    QueueSnapshotIn,
)

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
RFC3339 = {
    "type": "string",
    "format": "date-time",
    "maxLength": 64,
    "pattern": r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$",
}
TIME_FIELDS = frozenset({"ts", "available_until", "as_of", "created_at", "expires_at"})

SNAPSHOT_TEXT = {
    "ts": "RFC 3339 date-time with a zone: the end of the window the counts cover.",
    "interval_s": "Length in seconds of the window the counts cover: the interval_s seconds "
    "ending at ts.",
    "offered": "Contacts that arrived in the window (answered, abandoned or still waiting).",
    "waiting": "Contacts waiting at ts (email: use backlog for open items).",
    "answered": "Contacts an agent started handling in the window.",
    "abandoned": "Contacts that hung up or left while waiting, in the window.",
    "answered_within_target": "Of answered: those answered within the queue's target_s as "
    "configured in staffer (not the ACD's own threshold); at most answered.",
    "aht_s": "Mean handle time of the contacts completed in the window: talk/chat time plus "
    "hold plus after-contact work (wrap-up), in seconds.",
    "oldest_wait_s": "How long the longest-waiting contact has waited at ts.",
    "backlog": "Email: open items at ts.",
    "oldest_age_s": "Email: age at ts of the oldest open item.",
}
FIELD_TEXT: dict[str, dict[str, str]] = {
    "queue_snapshot": SNAPSHOT_TEXT,
    "site_snapshot": SNAPSHOT_TEXT,
    "agent_state": {
        "ts": "When the state was observed (RFC 3339 with a zone).",
        "status": "available (idle, ready), busy (on a contact), wrap_up (after-contact work), "
        "break, offline. The first three count as staffed.",
        "queue": "The one staffer queue the agent is assigned to now, or null.",
        "skills": "Every staffer queue the agent may serve (absent: its current queue only).",
        "available_until": "When the agent leaves for a scheduled break or the end of the shift.",
    },
    "move_ack": {
        "ts": "When the ACD decided (RFC 3339 with a zone).",
        "command_id": "The command_id of the command that carried the move.",
        "to": "The move's target queue, as in the command.",
        "status": "accepted: the ACD took the move and switches the agent after the current "
        "contact(s); rejected: it refused (say why in reason); done: the agent switched.",
        "reason": "Free text for the daemon's log and audit (why a move was rejected).",
    },
    "command": {
        "command_id": "Unique and stable across redeliveries: de-duplicate on it; ack with it.",
        "plan_id": "The plan that produced the command; null for a supervisor's assign.",
        "after_current_contact": "Switch when the agent's current contact(s) end, not now.",
        "from": "The agent's queue when the move was decided (null when unknown).",
        "to": "The queue to assign the agent to.",
        "reason": "One line on why, for people.",
    },
    "plan": {
        "data_age_s": "Seconds from the queue's latest snapshot to as_of; null when it never "
        "reported (contract §16).",
        "stale": "true when data_age_s exceeds [planner] stale_after_s or is null: the "
        "predictions are then null and the planner moves no agent into or out of the queue.",
    },
}


def _describe(schema: dict[str, Any], texts: dict[str, str]) -> dict[str, Any]:
    """Timestamps and descriptions into every object's properties (recursively)."""
    for name, prop in schema.get("properties", {}).items():
        if name in TIME_FIELDS:
            nullable = "anyOf" in prop or prop.get("default", 0) is None
            prop.clear()
            prop.update({"anyOf": [RFC3339, {"type": "null"}]} if nullable else dict(RFC3339))
        if name in texts and "description" not in prop:
            prop["description"] = texts[name]
        prop.pop("title", None)
        _describe(prop, texts)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _describe(schema[key], texts)
    for sub in schema.get("anyOf", []) + schema.get("oneOf", []):
        _describe(sub, texts)
    for sub in schema.get("$defs", {}).values():
        sub.pop("description", None)  # the models' docstrings are for Python readers
        _describe(sub, texts)
    return schema


def _model(
    stem: str, model: type[BaseModel] | TypeAdapter[Any], title: str, text: str
) -> dict[str, Any]:
    raw = model.json_schema() if isinstance(model, TypeAdapter) else model.model_json_schema()
    body = _describe(raw, FIELD_TEXT.get(stem, {}))
    body.pop("title", None)
    body.pop("description", None)
    return {"$schema": DRAFT, "title": title, "description": text, **body}


# -- models of payloads that have no validation model in the codec ------------------------------

RequestIdOut = (
    Annotated[str, Field(max_length=MAX_ID_CHARS)]
    | Annotated[int, Field(ge=-(2**63) + 1, le=2**63 - 1)]
    | None
)


class _OverrideRequestIn(BaseModel):
    """The envelope the daemon decodes; the action's own fields are checked per action."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"maxProperties": MAX_FIELDS + 4})
    id: RequestIdOut = None
    action: Annotated[str, Field(min_length=1, max_length=64)]
    ttl_s: Annotated[float, Field(gt=0)] | None = None
    reason: Annotated[str, Field(max_length=MAX_REASON_CHARS)] | None = None


class _OverrideOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    override_id: str
    site: str
    supervisor: str
    action: str
    created_at: str | None
    expires_at: str | None
    reason: str


class _ErrorOut(BaseModel):
    code: str
    message: str


class _ReplyOk(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: RequestIdOut
    ok: Literal[True]
    override_id: str | None
    expires_at: str | None
    removed: list[str] | None = None


class _ReplyError(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: RequestIdOut
    ok: Literal[False]
    error: _ErrorOut


class _StatusOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["online", "offline"]
    version: str | None = None
    ts: str | None = None
    sites: list[str] | None = None
    shard_index: int | None = None
    shard_count: int | None = None


def _site_snapshot() -> dict[str, Any]:
    body = _describe(QueueBodyIn.model_json_schema(), SNAPSHOT_TEXT)
    body.pop("title", None)
    return {
        "$schema": DRAFT,
        "title": "Site snapshot (in): staffer/{site}/metrics",
        "description": "Every queue of the site at one ts; each entry is a queue snapshot "
        "without ts (one given inside is ignored). One bad queue rejects the whole message.",
        "type": "object",
        "required": ["ts", "queues"],
        "properties": {
            "ts": {**RFC3339, "description": SNAPSHOT_TEXT["ts"]},
            "queues": {
                "type": "object",
                "maxProperties": MAX_QUEUES,
                "propertyNames": {"minLength": 1, "maxLength": MAX_ID_CHARS, "pattern": "^[^/]*$"},
                "additionalProperties": body,
            },
        },
    }


def build() -> dict[str, dict[str, Any]]:
    """File stem -> JSON Schema, for every payload (in = to the daemon, out = from it)."""
    return {
        "queue_snapshot": _model(
            "queue_snapshot",
            QueueSnapshotIn,
            "Queue snapshot (in): staffer/{site}/queues/{queue}/metrics",
            "One queue's figures for the interval_s seconds ending at ts (contract §3.1).",
        ),
        "site_snapshot": _site_snapshot(),
        "agent_state": _model(
            "agent_state",
            AgentStateIn,
            "Agent state (in): staffer/{site}/agents/{agent}/state",
            "One agent's state (contract §3.2, §11); the agent id is the topic level.",
        ),
        "move_ack": _model(
            "move_ack",
            MoveAckIn,
            "Move acknowledgement (in): staffer/{site}/agents/{agent}/move",
            "A bridge's answer to one move of a command (contract §10).",
        ),
        "override_request": _model(
            "override_request",
            _OverrideRequestIn,
            "Supervisor request (in): staffer/{site}/override/{supervisor}",
            "The envelope of a supervisor request (contract §4); other keys are the action's.",
        ),
        "command": _model(
            "command",
            CommandOut,
            "Command (out): staffer/{site}/commands",
            "A batch of moves to apply (contract §3.3). Ignore fields you do not know.",
        ),
        "plan": _model(
            "plan",
            PlanOut,
            "Plan (out, retained): staffer/{site}/plan",
            "The site's current plan (contract §3.4); predictions are null when not finite.",
        ),
        "overrides": _model(
            "overrides",
            TypeAdapter(list[_OverrideOut]),
            "Active overrides (out, retained): staffer/{site}/overrides",
            "Oldest first; each action's fields are flattened into its object (contract §4).",
        ),
        "override_reply": _model(
            "override_reply",
            TypeAdapter(_ReplyOk | _ReplyError),
            "Reply (out): staffer/{site}/override/{supervisor}/reply",
            "Exactly one reply per request (contract §4).",
        ),
        "status": _model(
            "status",
            _StatusOut,
            "Daemon status (out, retained): staffer/status",
            "online while running; the last will and a clean shutdown say offline.",
        ),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema as ``<stem>.json``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for stem, schema in build().items():
        path = directory / f"{stem}.json"
        path.write_text(render(schema), encoding="utf-8")
        out.append(path)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR
    for written in write(target):
        print(written)
