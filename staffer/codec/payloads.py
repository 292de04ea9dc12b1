"""The JSON payloads the daemon reads and writes (contract §3-§4, §10), in one namespace
(a facade).

The code lives in three modules, one responsibility each:

* `staffer.codec.jsonio` — guarded JSON loading/dumping and `PayloadError`;
* `staffer.codec.inbound` — strict decoders into core types;
* `staffer.codec.outbound` — compact encoders of plans, commands, replies, overrides, status.

Callers import from here (``from staffer.codec import payloads``); the names below are
the codec's public API.
"""

from __future__ import annotations

from staffer.codec.inbound import (
    MAX_COUNT,
    MAX_FIELDS,
    MAX_ID_CHARS,
    MAX_QUEUES,
    MAX_REASON_CHARS,
    MAX_SECONDS,
    MAX_SKILLS,
    decode_agent_state,
    decode_move_ack,
    decode_override_request,
    decode_override_request_or_error,
    decode_queue_snapshot,
    decode_site_snapshot,
)
from staffer.codec.jsonio import MAX_DEPTH, MAX_PAYLOAD_BYTES, PayloadError, dumps, load_json
from staffer.codec.outbound import (
    encode_command,
    encode_overrides,
    encode_plan,
    encode_reply,
    encode_status,
    move_to_json,
    override_to_json,
    plan_mode,
    plan_to_json,
    reply_to_json,
)

__all__ = [
    "MAX_COUNT",
    "MAX_DEPTH",
    "MAX_FIELDS",
    "MAX_ID_CHARS",
    "MAX_PAYLOAD_BYTES",
    "MAX_QUEUES",
    "MAX_REASON_CHARS",
    "MAX_SECONDS",
    "MAX_SKILLS",
    "PayloadError",
    "decode_agent_state",
    "decode_move_ack",
    "decode_override_request",
    "decode_override_request_or_error",
    "decode_queue_snapshot",
    "decode_site_snapshot",
    "dumps",
    "encode_command",
    "encode_overrides",
    "encode_plan",
    "encode_reply",
    "encode_status",
    "load_json",
    "move_to_json",
    "override_to_json",
    "plan_mode",
    "plan_to_json",
    "reply_to_json",
]
