"""Approve mode (contract §9): the moves a supervisor accepts or rejects before they happen.

``ProposalBook`` holds one site's open proposals. It is pure: time is passed in, nothing
here does I/O. The daemon calls it at three points:

* after each plan in ``approve`` (or ``shadow``) mode: ``update(plan_id, moves, now)``
  turns the plan's moves into proposals. A move that is still wanted (same agent and
  target as an open proposal) keeps its ``proposal_id`` and its expiry; an open
  proposal the plan no longer wants is withdrawn; an agent never has two open
  proposals (a new target withdraws the old one); a move whose (agent, target) cools
  down is not proposed (``Changes.suppressed``; the planner skips those pairs anyway);
* on the sweep: ``expire(now)`` closes proposals open for ``ttl_s`` (counted from their
  creation, so an unwatched site shows a steady stream of expiries);
* on a supervisor's request: ``approve`` returns the moves to command, each with its
  ``proposal_id`` and ``approved_by``; ``reject`` closes proposals and cools their
  (agent, target) pairs down for ``cooldown_s``.

Cool-downs have one owner, the site's `staffer.core.cooldowns.CooldownBook` (a bridge's
rejected move lands there too, contract §10): the book is given it, adds a rejection's
cool-downs to it and reports them in ``Decision.cooldowns`` for the store; the planner
gets the active pairs as ``Controls.blocked_moves``.

Every closed proposal is reported once, as a ``Closed`` with its outcome
(``approved``, ``rejected``, ``expired``, ``withdrawn``), for the metrics and the store.
An id is never reused, so approving twice gives ``unknown_proposal`` the second time.

Requests are all or nothing when they name proposals: one unknown or stale id and
nothing is approved. ``approve`` with ``all`` approves every open proposal that still
applies and withdraws the stale ones; it fails only when none is left.
"""

from __future__ import annotations

import math
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from staffer.core.cooldowns import Cooldown, CooldownBook
from staffer.core.proposal import (
    Proposal,
    new_proposal_id,
    proposal_from_record,
    proposal_to_record,
    stale_reason,
)
from staffer.core.types import AgentState, InFlightMove, Move

Closing = Literal["approved", "rejected", "expired", "withdrawn"]
OUTCOMES: tuple[Closing, ...] = get_args(Closing)

UNKNOWN_PROPOSAL = "unknown_proposal"  # not open (never was, or already closed)
STALE_PROPOSAL = "stale_proposal"  # open, but the agent moved, was locked or went offline
NO_PROPOSALS = "no_proposals"  # approve all with nothing open
SHADOW_MODE = "shadow_mode"  # proposals of a shadow-mode site are read-only

SYSTEM = "system"  # who closes expired proposals
PLANNER = "planner"  # who decided a planner move (audit), or withdrew a proposal
UNAVAILABLE = "unavailable"  # event clock: the site has no time yet
MAX_REMEMBERED = 10_000  # closed ids kept to explain a late approval


@dataclass(frozen=True, slots=True)
class Closed:
    """A proposal that left the open set: how, when, and by whom (a supervisor,
    ``planner`` for a withdrawal, ``system`` for an expiry)."""

    proposal: Proposal
    outcome: Closing
    at: float
    by: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class ApprovedMove:
    """A move to command because a supervisor approved its proposal (contract §9)."""

    move: Move
    proposal_id: str
    approved_by: str


@dataclass(frozen=True, slots=True)
class Changes:
    """What a plan, a sweep or a mode change did to the open set."""

    opened: tuple[Proposal, ...] = ()
    kept: tuple[Proposal, ...] = ()
    closed: tuple[Closed, ...] = ()
    suppressed: tuple[Move, ...] = ()

    @property
    def changed(self) -> bool:
        """True when the open set changed (persist it, republish ``proposals``)."""
        return bool(self.opened or self.closed)


@dataclass(frozen=True, slots=True)
class Decision:
    """The result of an ``approve`` or ``reject`` request.

    ``closed`` lists every proposal the call closed, including expiries it found and
    stale proposals it withdrew even when the request failed (persist them all).
    """

    ok: bool
    code: str | None = None
    message: str = ""
    closed: tuple[Closed, ...] = ()
    moves: tuple[ApprovedMove, ...] = ()
    cooldowns: tuple[Cooldown, ...] = ()  # a rejection's, as now in force

    @property
    def cooldown_until(self) -> float | None:
        """When the last cool-down of a rejection ends (None: none, or disabled)."""
        return max((c.until for c in self.cooldowns), default=None)

    @property
    def decided(self) -> tuple[Closed, ...]:
        """The proposals the supervisor approved or rejected (not expiries or stale ones)."""
        return tuple(c for c in self.closed if c.outcome in ("approved", "rejected"))


@dataclass(frozen=True, slots=True)
class Selection:
    """Which proposals a request names: ``ids`` in request order, or every open one."""

    ids: tuple[str, ...] = ()
    all: bool = False


def tally(closed: Iterable[Closed]) -> dict[Closing, int]:
    """Closed proposals counted per outcome (``staffer_proposals_total``), zeros included."""
    counts: dict[Closing, int] = dict.fromkeys(OUTCOMES, 0)
    for c in closed:
        counts[c.outcome] += 1
    return counts


class ProposalBook:
    """One site's open proposals (at most one per agent); ``cooldowns`` is the site's
    cool-down book (a private one when not given)."""

    def __init__(
        self,
        site: str,
        *,
        ttl_s: float,
        cooldown_s: float,
        cooldowns: CooldownBook | None = None,
        id_factory: Callable[[], str] = new_proposal_id,
    ) -> None:
        if not ttl_s > 0 or not math.isfinite(ttl_s):
            raise ValueError("proposal ttl_s must be a positive number of seconds")
        if not cooldown_s >= 0:
            raise ValueError("reject cooldown_s must be >= 0")
        self.site = site
        self.ttl_s = ttl_s
        self.cooldown_s = cooldown_s
        self._new_id = id_factory
        self.cooldowns = CooldownBook() if cooldowns is None else cooldowns
        self._open: dict[str, Proposal] = {}  # proposal_id -> proposal
        self._closed: OrderedDict[str, Closed] = OrderedDict()  # recently closed, by id

    # -- queries -----------------------------------------------------------------------------
    def open(self, now: float | None = None) -> list[Proposal]:
        """Open proposals, oldest first; with ``now``, only those not yet expired."""
        live = [p for p in self._open.values() if now is None or p.expires_at > now]
        return sorted(live, key=lambda p: (p.created_at, p.proposal_id))

    def __len__(self) -> int:
        return len(self._open)

    def get(self, proposal_id: str) -> Proposal | None:
        return self._open.get(proposal_id)

    # -- the plan, the sweep and mode changes ----------------------------------------------------
    def update(self, plan_id: str, moves: Sequence[Move], now: float) -> Changes:
        """Reconcile the open set with a plan's moves (see the module docstring)."""
        expired = self._expire(now)
        wanted, suppressed = self._wanted(moves, now)
        kept: list[Proposal] = []
        withdrawn: list[Closed] = []
        for p in self.open():
            want = wanted.get(p.agent)
            if want is not None and want.to_queue == p.to_queue:
                fresh = replace(
                    p,
                    plan_id=plan_id,
                    from_queue=want.from_queue,
                    reason=want.reason,
                    after_current_contact=want.after_current_contact,
                )
                self._open[p.proposal_id] = fresh
                kept.append(fresh)
                del wanted[p.agent]
            else:
                withdrawn.append(self._close(p, "withdrawn", now, PLANNER, "no longer planned"))
        opened = [self._propose(plan_id, m, now) for m in wanted.values()]
        return Changes(tuple(opened), tuple(kept), (*expired, *withdrawn), tuple(suppressed))

    def expire(self, now: float) -> Changes:
        """Close proposals whose ``expires_at`` is at or before ``now``."""
        return Changes(closed=tuple(self._expire(now)))

    def withdraw_all(self, now: float, why: str = "mode changed") -> Changes:
        """Close every open proposal (the site left approve and shadow mode)."""
        closed = [self._close(p, "withdrawn", now, PLANNER, why) for p in self.open()]
        return Changes(closed=tuple(closed))

    # -- supervisor decisions --------------------------------------------------------------------
    def approve(
        self,
        selection: Selection,
        supervisor: str,
        now: float,
        *,
        mode: str,
        agents: Mapping[str, AgentState],
        locked: Set[str] = frozenset(),
        in_flight: Mapping[str, InFlightMove] | None = None,
    ) -> Decision:
        """Approve the named (or all) open proposals; the moves to command come back in
        ``Decision.moves``. ``agents``, ``locked`` and ``in_flight`` are the site's view at
        ``now``, used to refuse proposals that no longer apply (``stale_proposal``)."""
        refusal = _refusal(mode, now)
        if refusal is not None:
            return refusal
        expired = self._expire(now)
        targets, error = self._targets(selection, expired)
        if error is not None:
            return error
        flights = in_flight or {}
        stale = [(p, why) for p in targets if (why := stale_reason(p, agents, locked, flights))]
        withdrawn = [self._close(p, "withdrawn", now, supervisor, why) for p, why in stale]
        if stale and (not selection.all or len(stale) == len(targets)):
            message = "; ".join(f"{p.proposal_id}: {why}" for p, why in stale)
            return Decision(False, STALE_PROPOSAL, message, (*expired, *withdrawn))
        approved = [
            self._close(p, "approved", now, supervisor)
            for p in targets
            if p.proposal_id in self._open  # not just withdrawn as stale
        ]
        moves = tuple(
            ApprovedMove(c.proposal.as_move(), c.proposal.proposal_id, supervisor) for c in approved
        )
        return Decision(True, closed=(*expired, *withdrawn, *approved), moves=moves)

    def reject(
        self, selection: Selection, supervisor: str, now: float, *, mode: str, reason: str = ""
    ) -> Decision:
        """Close the named proposals and cool their (agent, target) pairs down for
        ``cooldown_s`` (not at all when it is 0); ``reason`` is the supervisor's."""
        refusal = _refusal(mode, now)
        if refusal is not None:
            return refusal
        expired = self._expire(now)
        if selection.all:  # the codec refuses this; kept safe for direct callers
            return Decision(False, "invalid", "reject needs proposal ids", tuple(expired))
        targets, error = self._targets(selection, expired)
        if error is not None:
            return error
        rejected = [self._close(p, "rejected", now, supervisor, reason) for p in targets]
        cooled = [self._cool_down(p, supervisor, reason, now) for p in targets]
        return Decision(True, closed=(*expired, *rejected), cooldowns=tuple(filter(None, cooled)))

    # -- persistence -----------------------------------------------------------------------------
    def to_records(self) -> dict[str, Any]:
        """The open proposals as JSON-safe data (for the store)."""
        return {"proposals": [proposal_to_record(p) for p in self.open()]}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load ``to_records`` output (after a restart); raises ValueError on a bad record.
        Expired proposals are kept until the next ``expire``/``update`` counts them."""
        try:
            proposals = [proposal_from_record(r) for r in data.get("proposals", ())]
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"bad proposal records: {err}") from None
        for p in proposals:
            if p.site != self.site:
                raise ValueError(f"proposal {p.proposal_id} belongs to site {p.site!r}")
            for old in [o for o in self._open.values() if o.agent == p.agent]:
                del self._open[old.proposal_id]  # one open proposal per agent
            self._open[p.proposal_id] = p

    @classmethod
    def from_records(
        cls, site: str, data: Mapping[str, Any], *, ttl_s: float, cooldown_s: float, **kw: Any
    ) -> ProposalBook:
        book = cls(site, ttl_s=ttl_s, cooldown_s=cooldown_s, **kw)
        book.restore(data)
        return book

    # -- internals -------------------------------------------------------------------------------
    def _wanted(self, moves: Sequence[Move], now: float) -> tuple[dict[str, Move], list[Move]]:
        """The first real move per agent, and the moves a cool-down blocks."""
        wanted: dict[str, Move] = {}
        suppressed: list[Move] = []
        for m in moves:
            if m.agent in wanted or m.from_queue == m.to_queue:
                continue
            if self.cooldowns.blocks(m.agent, m.to_queue, now):
                suppressed.append(m)
            else:
                wanted[m.agent] = m
        return wanted, suppressed

    def _propose(self, plan_id: str, m: Move, now: float) -> Proposal:
        pid = self._new_id()
        while pid in self._open or pid in self._closed:
            pid = self._new_id() + secrets.token_hex(2)
        p = Proposal(
            proposal_id=pid,
            site=self.site,
            plan_id=plan_id,
            agent=m.agent,
            from_queue=m.from_queue,
            to_queue=m.to_queue,
            reason=m.reason,
            created_at=now,
            expires_at=now + self.ttl_s,
            after_current_contact=m.after_current_contact,
        )
        self._open[pid] = p
        return p

    def _close(self, p: Proposal, outcome: Closing, now: float, by: str, why: str = "") -> Closed:
        del self._open[p.proposal_id]
        closed = Closed(p, outcome, now, by, why)
        self._closed[p.proposal_id] = closed
        while len(self._closed) > MAX_REMEMBERED:
            self._closed.popitem(last=False)
        return closed

    def _cool_down(self, p: Proposal, supervisor: str, reason: str, now: float) -> Cooldown | None:
        """The cool-down in force for a rejected proposal's pair (None: disabled)."""
        if self.cooldown_s <= 0:
            return None
        why = f"proposal {p.proposal_id} rejected" + (f": {reason}" if reason else "")
        return self.cooldowns.add(p.agent, p.to_queue, now + self.cooldown_s, why, supervisor)

    def _expire(self, now: float) -> list[Closed]:
        due = [p for p in self.open() if p.expires_at <= now]
        return [self._close(p, "expired", now, SYSTEM, "not decided in time") for p in due]

    def _targets(
        self, selection: Selection, expired: Sequence[Closed]
    ) -> tuple[list[Proposal], Decision | None]:
        """The open proposals a selection names, or the error Decision when it cannot."""
        if selection.all:
            targets = self.open()
            if not targets:
                return [], Decision(False, NO_PROPOSALS, "no open proposals", tuple(expired))
            return targets, None
        ids = list(dict.fromkeys(selection.ids))
        missing = [i for i in ids if i not in self._open]
        if missing or not ids:
            message = "; ".join(self._explain_unknown(i) for i in missing) or "no proposal named"
            return [], Decision(False, UNKNOWN_PROPOSAL, message, tuple(expired))
        return [self._open[i] for i in ids], None

    def _explain_unknown(self, proposal_id: str) -> str:
        shown = proposal_id[:64]
        closed = self._closed.get(proposal_id)
        if closed is None:
            return f"no open proposal {shown!r}"
        how = {
            "approved": f"was already approved by {closed.by}",
            "rejected": f"was rejected by {closed.by}",
            "expired": "expired",
            "withdrawn": f"was withdrawn ({closed.why or 'no longer planned'})",
        }[closed.outcome]
        return f"proposal {shown!r} {how}"


def _refusal(mode: str, now: float) -> Decision | None:
    """Requests no proposal can satisfy: a shadow-mode site, a site without a clock yet."""
    if mode == "shadow":
        return Decision(
            False,
            SHADOW_MODE,
            "the site is in shadow mode: its proposals are read-only "
            "(switch to approve mode to act on them)",
        )
    if not math.isfinite(now):
        return Decision(False, UNAVAILABLE, "the site clock has not started yet; retry later")
    return None
