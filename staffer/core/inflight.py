"""Moves in flight: commanded, not yet confirmed by the agent's state (contract §3.3).

A move is in flight from its command until the agent's state shows the new queue
or until ``timeout_s`` of site clock has passed; then the planner decides afresh.
One entry per agent (a newer move for the same agent replaces the older one).
Pure: the caller passes the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from staffer.core.types import AgentState, InFlightMove


class InFlightBook:
    """Agent id -> the move commanded for that agent and not yet confirmed."""

    __slots__ = ("_moves", "timeout_s")

    def __init__(self, timeout_s: float, moves: Iterable[InFlightMove] = ()) -> None:
        self.timeout_s = timeout_s
        self._moves: dict[str, InFlightMove] = {m.agent: m for m in moves}

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
        self._moves[move.agent] = move

    def confirm(self, state: AgentState) -> InFlightMove | None:
        """End the agent's move when its state shows the target queue; return it."""
        m = self._moves.get(state.agent)
        if m is not None and state.queue == m.to_queue:
            del self._moves[state.agent]
            return m
        return None

    def expire(self, now: float) -> list[InFlightMove]:
        """Drop and return moves issued ``timeout_s`` or more before ``now``."""
        gone = [m for m in self._moves.values() if now - m.issued_at >= self.timeout_s]
        for m in gone:
            del self._moves[m.agent]
        return gone
