"""A bridge's move acknowledgement applied to a site's books (contract §10). Pure.

``accepted`` keeps the move in flight up to ``accepted_timeout_s`` (no re-issue);
``rejected`` ends it and cools the (agent, target) pair down for ``reject_cooldown_s``,
with an audit record; ``done`` ends it like a state showing the new queue. An ack of a
command the daemon never issued for that agent and target changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from staffer.core.cooldowns import Cooldown, CooldownBook
from staffer.core.inflight import AckResult, InFlightBook
from staffer.core.state import SiteState
from staffer.core.types import AuditRecord, MoveAck

AUDIT_KIND = "move_rejected"
ACTOR = "bridge"


@dataclass(frozen=True, slots=True)
class AckEffect:
    """What the shell persists and reports after one ack."""

    result: AckResult
    cooldown: Cooldown | None = None
    audit: AuditRecord | None = None

    @property
    def known(self) -> bool:
        """False for ``unknown_command`` (counted invalid)."""
        return self.result.status is not None

    @property
    def changes(self) -> bool:
        """True when there is something to persist."""
        r = self.result
        return not (r.accepted is None and r.ended is None and self.audit is None)


def settle_ack(
    site: str,
    flights: InFlightBook,
    cooldowns: CooldownBook,
    ack: MoveAck,
    now: float,
    cooldown_s: float,
) -> AckEffect:
    """Apply ``ack`` at ``now`` (the site's clock); ``cooldown_s`` = ``reject_cooldown_s``."""
    result = flights.acknowledge(ack, now)
    if result.status != "rejected":
        return AckEffect(result)
    cooldown = None
    if result.refused and cooldown_s > 0:
        cooldown = cooldowns.add(ack.agent, ack.to_queue, now + cooldown_s, ack.reason, ACTOR)
    audit = AuditRecord(
        ts=now,
        site=site,
        kind=AUDIT_KIND,
        actor=ACTOR,
        payload={
            "command_id": ack.command_id,
            "agent": ack.agent,
            "to": ack.to_queue,
            "reason": ack.reason,
            "acked_at": ack.ts,
            "in_flight": result.ended is not None,
            "cooldown_until": None if cooldown is None else cooldown.until,
        },
    )
    return AckEffect(result, cooldown, audit)


def switched(state: SiteState, ack: MoveAck) -> bool:
    """A ``done`` ack is the agent's state showing the new queue (contract §10): the
    roster puts the agent there as of the ack's ``ts`` (its status and skills as last
    reported), so the planner neither counts them in the old queue nor moves them again.
    A newer state of the agent wins (``SiteState.apply_agent``). True when applied."""
    prev = state.roster.get(ack.agent)
    if ack.status != "done" or prev is None or prev.queue == ack.to_queue:
        return False
    return bool(state.apply_agent(replace(prev, ts=ack.ts, queue=ack.to_queue)))
