"""One proposal of approve mode (contract §9): the value, whether it still applies, and its
records for the store. The open set and its rules are ``staffer.core.proposals``."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

from staffer.core.types import AgentState, InFlightMove, Move


def new_proposal_id() -> str:
    """``p-`` and 12 random hex digits: short enough to type, 48 bits against collisions."""
    return f"p-{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class Proposal:
    """A move the planner wants and a supervisor has not decided on yet."""

    proposal_id: str
    site: str
    plan_id: str
    agent: str
    from_queue: str | None
    to_queue: str
    reason: str
    created_at: float
    expires_at: float
    after_current_contact: bool = True

    def as_move(self) -> Move:
        return Move(
            agent=self.agent,
            from_queue=self.from_queue,
            to_queue=self.to_queue,
            reason=self.reason,
            after_current_contact=self.after_current_contact,
        )


def stale_reason(
    proposal: Proposal,
    agents: Mapping[str, AgentState],
    locked: Set[str],
    in_flight: Mapping[str, InFlightMove],
) -> str | None:
    """Why an open proposal can no longer be carried out as proposed, or None."""
    agent = proposal.agent
    state = agents.get(agent)
    if state is None:
        return f"agent {agent} is no longer reported"
    if not state.staffed:
        return f"agent {agent} is {state.status}"
    if agent in locked:
        return f"agent {agent} is locked"
    flight = in_flight.get(agent)
    if flight is not None:
        return f"agent {agent} is already being moved to {flight.to_queue}"
    if state.queue != proposal.from_queue:
        return f"agent {agent} has since moved to {state.queue}"
    if proposal.to_queue not in state.skills:
        return f"agent {agent} is not skilled for {proposal.to_queue}"
    return None


def proposal_to_record(p: Proposal) -> dict[str, Any]:
    """Proposal -> JSON-safe dict (POSIX seconds kept as floats)."""
    return {
        "proposal_id": p.proposal_id,
        "site": p.site,
        "plan_id": p.plan_id,
        "agent": p.agent,
        "from": p.from_queue,
        "to": p.to_queue,
        "reason": p.reason,
        "created_at": p.created_at,
        "expires_at": p.expires_at,
        "after_current_contact": p.after_current_contact,
    }


def proposal_from_record(rec: Mapping[str, Any]) -> Proposal:
    """Inverse of ``proposal_to_record``; raises ValueError when a record is unusable."""
    try:
        src = rec.get("from")
        return Proposal(
            proposal_id=str(rec["proposal_id"]),
            site=str(rec["site"]),
            plan_id=str(rec["plan_id"]),
            agent=str(rec["agent"]),
            from_queue=None if src is None else str(src),
            to_queue=str(rec["to"]),
            reason=str(rec.get("reason", "")),
            created_at=float(rec["created_at"]),
            expires_at=float(rec["expires_at"]),
            after_current_contact=bool(rec.get("after_current_contact", True)),
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"bad proposal record: {err}") from None
