"""Approve mode in the daemon (contract §9): a site's proposals as effects.

The pure half is `staffer.core.proposals.ProposalBook` (one per site, ``Site.proposals``,
sharing the site's cool-downs); this is the shell's half, owned by the `Runtime`:

* after a plan in ``approve`` or ``shadow`` mode the plan's moves (those not already in
  flight) become proposals; in ``auto`` or ``manual`` mode any open ones are withdrawn,
  as they are as soon as a mode change leaves approve/shadow (``leave``); the sweep
  expires them. Each change is counted (``staffer_proposals_total``,
  ``staffer_proposals_open``), stored (batched: not an acknowledgement) and published
  on the retained ``proposals`` topic;
* an ``approve``/``reject`` request is answered exactly once, like every supervisor
  request (the `OverrideBook` de-duplicates: a redelivery gets the same reply). Its
  effects are written in ONE transaction before anything is published (``Emitter.decision``):
  the open proposals, the request's audit row, a rejection's cool-downs, and for an
  approval the command id, the moves in flight, one audit row per move and the command
  as pending. Then the command goes out, then the retained proposals, then the reply
  naming the command id. A failed write is answered ``storage`` and commands nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from staffer.adapters import oplog
from staffer.adapters.emitter import Emitter, storage_reply
from staffer.adapters.metrics import Metrics
from staffer.adapters.port import Inbound
from staffer.adapters.state_file import StoreError
from staffer.adapters.store_proposals import CommandRecord, DecisionWrite
from staffer.codec.audit import decision_audit, move_audit
from staffer.codec.proposals import (
    APPROVED_MODE,
    SelectionError,
    decision_reply,
    decode_selection,
    encode_approved_command,
    encode_proposals,
)
from staffer.core.overrides import OverrideBook
from staffer.core.proposals import Changes, Closed, Decision, tally
from staffer.core.site import Site
from staffer.core.types import Controls, InFlightMove, OverrideReply, OverrideRequest, Plan
from staffer.vocabulary import PROPOSING_MODES, Mode

log = logging.getLogger("staffer.app")


class ApproveMode:
    """Proposals of every owned site: plans, sweeps, mode changes and decisions."""

    def __init__(self, metrics: Metrics, emit: Emitter, overrides: OverrideBook) -> None:
        self.metrics = metrics
        self.emit = emit
        self.overrides = overrides

    # -- plans, sweeps, mode changes ------------------------------------------------------
    async def after_plan(self, site: Site, plan: Plan, mode: Mode, now: float) -> None:
        """Approve/shadow: the plan's fresh moves become (or keep) proposals; otherwise
        open proposals are withdrawn."""
        if mode in PROPOSING_MODES:
            changes = site.proposals.update(plan.plan_id, site.fresh(plan.moves), now)
            await self.publish(site, now, changes)
        else:
            await self.leave(site, mode, now)

    async def leave(self, site: Site, mode: Mode, now: float) -> None:
        """The site is in ``auto`` or ``manual`` mode: withdraw what is still open."""
        if mode not in PROPOSING_MODES and len(site.proposals):
            await self.publish(site, now, site.proposals.withdraw_all(now, f"mode {mode}"))

    async def sweep(self, site: Site, now: float) -> None:
        changes = site.proposals.expire(now)
        if changes.changed:
            await self.publish(site, now, changes)

    async def publish(self, site: Site, now: float, changes: Changes) -> None:
        """Count what closed, store the open set (batched) and publish it (retained)."""
        self._count(site, now, changes.closed)
        body = encode_proposals(site.id, now, site.proposals.open(now))
        await self.emit.proposals(site.id, site.proposals.to_records(), body)

    async def republish(self, site: Site, now: float, as_of: float) -> None:
        """The retained open proposals at ``now`` (an empty list when none; ``-inf``, an
        event clock not started yet: every restored one)."""
        body = encode_proposals(site.id, as_of, site.proposals.open(now))
        await self.emit.republish_proposals(site.id, body)

    def _count(self, site: Site, now: float, closed: Iterable[Closed]) -> None:
        self.metrics.count_proposals(site.id, tally(closed))
        self.metrics.set_proposals_open(site.id, len(site.proposals.open(now)))

    # -- supervisor decisions -------------------------------------------------------------
    async def decide(
        self,
        site: Site,
        supervisor: str,
        request: OverrideRequest,
        now: float,
        controls: Controls,
        msg: Inbound,
    ) -> tuple[OverrideReply, bool]:
        """Answer one approve/reject request (see the module docstring); the reply and
        whether it was a redelivery."""
        dup = self.overrides.recall(site.id, supervisor, request, now)
        if dup is not None:
            if await self.emit.reply(site.id, supervisor, dup, msg):  # audited, same reply
                return dup.reply, True
            return storage_reply(request.id), False
        decision = self._decision(site, supervisor, request, now, controls)
        try:
            command_id = await self.emit.decision(
                site.id, self._write(site, supervisor, request, decision, now)
            )
        except StoreError:  # logged (rate-limited) by the emitter's StoreHealth
            reply = storage_reply(
                request.id,
                "the state database could not record the request; nothing was "
                "commanded (the planner proposes the moves again)",
            )
            await self.emit.respond(site.id, supervisor, reply, msg)
            return reply, False
        if command_id is not None:
            await self._command(site, decision, command_id, now)
        if decision.closed:
            self._count(site, now, decision.closed)
            await self.republish(site, now, now)
        reply = decision_reply(request.id, decision, command_id)
        self.overrides.remember(site.id, supervisor, request, now, reply)
        await self.emit.respond(site.id, supervisor, reply, msg)
        return reply, False

    def _decision(
        self,
        site: Site,
        supervisor: str,
        request: OverrideRequest,
        now: float,
        controls: Controls,
    ) -> Decision:
        try:
            selection = decode_selection(request.action, request.fields)
        except SelectionError as err:
            return Decision(False, SelectionError.code, str(err))
        book = site.proposals
        if request.action == "reject":
            return book.reject(
                selection, supervisor, now, mode=controls.mode, reason=request.reason
            )
        return book.approve(
            selection,
            supervisor,
            now,
            mode=controls.mode,
            agents=site.state.roster,
            locked=controls.locked_agents,
            in_flight=site.flights.by_agent,
        )

    def _write(
        self,
        site: Site,
        supervisor: str,
        request: OverrideRequest,
        decision: Decision,
        now: float,
    ) -> DecisionWrite:
        """The decision's rows; an approval's are built once its command id is taken."""
        records = site.proposals.to_records()
        if not decision.moves:
            audit = [decision_audit(site.id, supervisor, request, decision, now)]
            return DecisionWrite(records, audit, decision.cooldowns)

        def command(command_id: str) -> CommandRecord:
            moves = [
                move_audit(
                    site.id,
                    now,
                    command_id=command_id,
                    plan_id=_plan_id(decision),
                    mode=APPROVED_MODE,
                    move=am.move,
                    decided_by=supervisor,
                    proposal_id=am.proposal_id,
                )
                for am in decision.moves
            ]
            return CommandRecord(
                _command_body(site, decision, command_id, now),
                _flights(decision, command_id, now),
                [decision_audit(site.id, supervisor, request, decision, now, command_id), *moves],
            )

        return DecisionWrite(records, (), decision.cooldowns, command)

    async def _command(self, site: Site, decision: Decision, command_id: str, now: float) -> None:
        """The approved moves: in flight (as written), counted, then published."""
        for flight in _flights(decision, command_id, now):
            site.flights.add(flight)
        moves = [am.move for am in decision.moves]
        self.metrics.count_moves(site.id, moves)
        self.metrics.set_in_flight(site.id, len(site.flights))
        body = _command_body(site, decision, command_id, now)
        await self.emit.send_command(site.id, command_id, body)
        by = ",".join(sorted({am.approved_by for am in decision.moves}))
        oplog.command(site.id, command_id, APPROVED_MODE, by, moves)

    def restore(self, site: Site, records: Mapping[str, Any]) -> None:
        """Reload a site's stored open proposals (``StoreError`` when unreadable)."""
        try:
            site.proposals.restore(records)
        except ValueError as err:
            raise StoreError(f"unreadable proposals of site {site.id!r}: {err}") from None
        self.metrics.set_proposals_open(site.id, len(site.proposals))


def _plan_id(decision: Decision) -> str | None:
    """The plan that proposed the approved moves (the latest that still wanted them)."""
    approved = [c.proposal for c in decision.decided if c.outcome == "approved"]
    return approved[-1].plan_id if approved else None


def _flights(decision: Decision, command_id: str, now: float) -> list[InFlightMove]:
    return [InFlightMove(am.move.agent, am.move.to_queue, command_id, now) for am in decision.moves]


def _command_body(site: Site, decision: Decision, command_id: str, now: float) -> bytes:
    return encode_approved_command(command_id, _plan_id(decision), site.id, now, decision.moves)
