"""JSON of approve mode (contract §9): the retained proposals payload, commands of approved
moves, the fields of ``approve``/``reject`` requests and their replies.

The request envelope (``id``, ``action``, ``ttl_s``, ``reason``) is decoded by
``codec.payloads.decode_override_request`` like every supervisor request; this module
checks the action's own fields: exactly one of ``proposal_id`` (a string),
``proposal_ids`` (a non-empty list of strings) or, for ``approve`` only, ``all: true``.
Anything else is ``invalid`` (unknown fields included, as for the §4 actions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from staffer.codec.payloads import dumps, move_to_json, reply_to_json
from staffer.codec.timefmt import format_ts
from staffer.core.proposal import Proposal
from staffer.core.proposals import ApprovedMove, Decision, Selection
from staffer.core.types import OverrideReply, RequestId

MAX_IDS = 1000  # proposal ids in one request
MAX_ID_CHARS = 256
SELECTION_FIELDS: dict[str, frozenset[str]] = {
    "approve": frozenset({"proposal_id", "proposal_ids", "all"}),
    "reject": frozenset({"proposal_id", "proposal_ids"}),
}
APPROVED_MODE = "approve"  # the ``mode`` of a command of approved moves


class SelectionError(ValueError):
    """The fields of an approve/reject request are unusable; reply ``invalid`` with it."""

    code = "invalid"


def _proposal_id(value: object, name: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_CHARS:
        raise SelectionError(f"{name} must be a non-empty string of at most {MAX_ID_CHARS}")
    return value


def decode_selection(action: str, fields: Mapping[str, object]) -> Selection:
    """The proposals an ``approve``/``reject`` request names (``SelectionError`` if bad)."""
    allowed = SELECTION_FIELDS.get(action)
    if allowed is None:
        raise SelectionError(f"{action[:64]!r} does not select proposals")
    extra = sorted(set(fields) - allowed)
    if extra:
        raise SelectionError(f"unknown field {extra[0][:64]!r} for {action}")
    given = sorted(k for k in allowed if k in fields)
    if len(given) != 1:
        options = " or ".join(sorted(allowed))
        raise SelectionError(f"{action} needs exactly one of {options}")
    (key,) = given
    value = fields[key]
    if key == "all":
        if value is not True:
            raise SelectionError("all must be true")
        return Selection(all=True)
    if key == "proposal_id":
        return Selection((_proposal_id(value, "proposal_id"),))
    if not isinstance(value, list) or not 0 < len(value) <= MAX_IDS:
        raise SelectionError(f"proposal_ids must be a list of 1 to {MAX_IDS} ids")
    return Selection(tuple(_proposal_id(v, "proposal_ids[]") for v in value))


def selection_fields(selection: Selection) -> dict[str, Any]:
    """The request fields for a selection (the inverse of ``decode_selection``)."""
    if selection.all:
        return {"all": True}
    if len(selection.ids) == 1:
        return {"proposal_id": selection.ids[0]}
    return {"proposal_ids": list(selection.ids)}


# -- outbound ------------------------------------------------------------------------------------


def proposal_to_json(p: Proposal) -> dict[str, Any]:
    """One open proposal (contract §9) plus ``after_current_contact`` (additive)."""
    return {
        "proposal_id": p.proposal_id,
        "plan_id": p.plan_id,
        "agent": p.agent,
        "from": p.from_queue,
        "to": p.to_queue,
        "reason": p.reason,
        "created_at": format_ts(p.created_at),
        "expires_at": format_ts(p.expires_at),
        "after_current_contact": p.after_current_contact,
    }


def encode_proposals(site: str, as_of: float, proposals: Iterable[Proposal]) -> bytes:
    """Retained ``{p}/{site}/proposals`` payload: the open proposals, oldest first."""
    ordered = sorted(proposals, key=lambda p: (p.created_at, p.proposal_id))
    return dumps(
        {
            "site": site,
            "as_of": format_ts(as_of),
            "proposals": [proposal_to_json(p) for p in ordered],
        }
    )


def approved_move_to_json(am: ApprovedMove) -> dict[str, Any]:
    """A §3.3 move plus the ``proposal_id`` it came from and who approved it."""
    return {**move_to_json(am.move), "proposal_id": am.proposal_id, "approved_by": am.approved_by}


def encode_approved_command(
    command_id: str, plan_id: str | None, site: str, ts: float, moves: Sequence[ApprovedMove]
) -> bytes:
    """``{p}/{site}/commands`` payload for approved proposals: one command, ``mode``
    ``approve``, ``plan_id`` the plan that proposed them."""
    return dumps(
        {
            "command_id": command_id,
            "plan_id": plan_id,
            "site": site,
            "ts": format_ts(ts),
            "mode": APPROVED_MODE,
            "moves": [approved_move_to_json(m) for m in moves],
        }
    )


def decision_reply(
    request_id: RequestId, decision: Decision, command_id: str | None = None
) -> OverrideReply:
    """The §4 reply to an approve/reject request (``codec.payloads.encode_reply`` renders it).

    Success adds ``approved`` (what was commanded: proposal id, agent, from, to; and
    ``command_id`` when known), ``withdrawn`` (stale proposals an ``all`` skipped),
    ``rejected`` and ``cooldown_until``. Errors have the usual ``error`` object.
    """
    if not decision.ok:
        return OverrideReply(id=request_id, ok=False, code=decision.code, message=decision.message)
    extra: dict[str, object] = {}
    approved = [c for c in decision.decided if c.outcome == "approved"]
    rejected = [c for c in decision.decided if c.outcome == "rejected"]
    withdrawn = [c for c in decision.closed if c.outcome == "withdrawn"]
    if approved:
        extra["approved"] = [
            {
                "proposal_id": c.proposal.proposal_id,
                "agent": c.proposal.agent,
                "from": c.proposal.from_queue,
                "to": c.proposal.to_queue,
            }
            for c in approved
        ]
        if command_id is not None:
            extra["command_id"] = command_id
    if withdrawn:
        extra["withdrawn"] = [
            {"proposal_id": c.proposal.proposal_id, "why": c.why} for c in withdrawn
        ]
    if rejected:
        extra["rejected"] = [c.proposal.proposal_id for c in rejected]
        until = decision.cooldown_until
        extra["cooldown_until"] = None if until is None else format_ts(until)
    return OverrideReply(id=request_id, ok=True, extra=extra)


def decision_reply_to_json(
    request_id: RequestId, decision: Decision, command_id: str | None = None
) -> dict[str, Any]:
    """``decision_reply`` as the JSON object on the wire."""
    return reply_to_json(decision_reply(request_id, decision, command_id))


def encode_decision_reply(
    request_id: RequestId, decision: Decision, command_id: str | None = None
) -> bytes:
    """``{p}/{site}/override/{supervisor}/reply`` payload for approve/reject."""
    return dumps(decision_reply_to_json(request_id, decision, command_id))
