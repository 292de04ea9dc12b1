"""Moves in flight: commanded, not yet confirmed by the agent's state (contract §3.3, §10).

A move is in flight from its command until the agent's state shows the new queue, the
bridge acknowledges it ``done`` or ``rejected``, or it times out: ``timeout_s`` of site
clock after the command, or ``accepted_timeout_s`` after it once the bridge acknowledged
it ``accepted`` (the ACD switches the agent after the current contact, which may take
long). Then the planner decides afresh. One entry per agent (a newer move for the same
agent replaces the older one).

Moves that left flight are remembered (bounded) so that a late or repeated ack of a
command the daemon did issue is recognised as such, not counted ``unknown_command``.
Pure: the caller passes the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from staffer.core.types import AckStatus, AgentState, InFlightMove, MoveAck

MAX_ENDED = 10000  # moves that left flight, remembered for late acks (oldest forgotten first)


@dataclass(frozen=True, slots=True)
class AckResult:
    """What one acknowledgement did to the book.

    ``status`` None: the ack names no command the daemon issued for that agent and target
    (``unknown_command``) and changed nothing. Otherwise ``accepted`` is the move now
    marked accepted (persist it), ``ended`` the move that left flight (forget it), and
    ``refused`` says the ACD refused the move, in flight or not (cool the pair down).
    """

    status: AckStatus | None
    accepted: InFlightMove | None = None
    ended: InFlightMove | None = None
    refused: bool = False


UNKNOWN_COMMAND = AckResult(None)


class InFlightBook:
    """Agent id -> the move commanded for that agent and not yet confirmed."""

    __slots__ = ("_ended", "_moves", "accepted_timeout_s", "timeout_s")

    def __init__(
        self,
        timeout_s: float,
        moves: Iterable[InFlightMove] = (),
        accepted_timeout_s: float | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.accepted_timeout_s = timeout_s if accepted_timeout_s is None else accepted_timeout_s
        self._moves: dict[str, InFlightMove] = {m.agent: m for m in moves}
        # (agent, command id) -> (target, confirmed) of moves that left flight
        self._ended: dict[tuple[str, str], tuple[str, bool]] = {}

    def __len__(self) -> int:
        return len(self._moves)

    def __iter__(self) -> Iterator[InFlightMove]:
        return iter(list(self._moves.values()))

    @property
    def by_agent(self) -> Mapping[str, InFlightMove]:
        """Read-only view for the planner (agent id -> move)."""
        return self._moves

    def is_in_flight(self, agent: str, to_queue: str) -> bool:
        """True when the same move (agent, target) is already in flight."""
        m = self._moves.get(agent)
        return m is not None and m.to_queue == to_queue

    def add(self, move: InFlightMove) -> None:
        old = self._moves.get(move.agent)
        if old is not None and old.command_id != move.command_id:
            self._remember(old, confirmed=False)
        self._moves[move.agent] = move

    def discard(self, move: InFlightMove) -> None:
        """Take ``move`` out of flight if it is still the agent's move (it was never
        commanded: its write failed). Forgotten, not remembered as ended."""
        if self._moves.get(move.agent) is move:
            del self._moves[move.agent]

    def deadline(self, move: InFlightMove) -> float:
        """When ``move`` times out: ``timeout_s`` after its command, or, once accepted,
        ``accepted_timeout_s`` after it (never earlier than an unaccepted move would)."""
        if move.accepted_at is None:
            return move.issued_at + self.timeout_s
        return move.issued_at + max(self.timeout_s, self.accepted_timeout_s)

    def confirm(self, state: AgentState) -> InFlightMove | None:
        """End the agent's move when its state shows the target queue; return it."""
        m = self._moves.get(state.agent)
        if m is not None and state.queue == m.to_queue:
            del self._moves[state.agent]
            self._remember(m, confirmed=True)
            return m
        return None

    def expire(self, now: float) -> list[InFlightMove]:
        """Drop and return moves whose deadline is at or before ``now``."""
        gone = [m for m in self._moves.values() if now >= self.deadline(m)]
        for m in gone:
            del self._moves[m.agent]
            self._remember(m, confirmed=False)
        return gone

    def acknowledge(self, ack: MoveAck, now: float) -> AckResult:
        """Apply a bridge's ack of (agent, command id, target) at ``now`` (contract §10)."""
        m = self._moves.get(ack.agent)
        if m is None or m.command_id != ack.command_id or m.to_queue != ack.to_queue:
            return self._late(ack)
        if ack.status == "accepted":
            if m.accepted_at is not None:
                return AckResult("accepted")  # a repeated ack: already accepted
            accepted = replace(m, accepted_at=now)
            self._moves[ack.agent] = accepted
            return AckResult("accepted", accepted=accepted)
        del self._moves[ack.agent]
        done = ack.status == "done"
        self._remember(m, confirmed=done)
        return AckResult(ack.status, ended=m, refused=not done)

    def _late(self, ack: MoveAck) -> AckResult:
        """An ack of a move that already left flight (confirmed, timed out, replaced)."""
        ended = self._ended.get((ack.agent, ack.command_id))
        if ended is None or ended[0] != ack.to_queue:
            return UNKNOWN_COMMAND
        confirmed = ended[1]
        return AckResult(ack.status, refused=ack.status == "rejected" and not confirmed)

    def _remember(self, move: InFlightMove, confirmed: bool) -> None:
        if len(self._ended) >= MAX_ENDED:
            del self._ended[next(iter(self._ended))]
        self._ended[(move.agent, move.command_id)] = (move.to_queue, confirmed)
