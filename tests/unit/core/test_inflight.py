"""In-flight moves: confirmation by agent state, timeout, one per agent."""

from __future__ import annotations

from staffer.core.inflight import InFlightBook
from staffer.core.types import AgentState, InFlightMove


def _agent(queue: str | None, ts: float = 10.0) -> AgentState:
    return AgentState("a1", ts, "available", queue, frozenset({"phone", "email"}))


def test_confirm_when_state_shows_target() -> None:
    book = InFlightBook(300, [InFlightMove("a1", "phone", "c-1", 0.0)])
    assert book.is_in_flight("a1", "phone")
    assert not book.is_in_flight("a1", "email")
    assert book.confirm(_agent("email")) is None
    assert len(book) == 1
    assert book.confirm(_agent("phone")) == InFlightMove("a1", "phone", "c-1", 0.0)
    assert len(book) == 0


def test_expire_after_timeout() -> None:
    book = InFlightBook(
        300, [InFlightMove("a1", "phone", "c-1", 100.0), InFlightMove("a2", "chat", "c-1", 300.0)]
    )
    assert book.expire(399.0) == []
    assert [m.agent for m in book.expire(400.0)] == ["a1"]
    assert list(book.by_agent) == ["a2"]


def test_newer_move_replaces_older() -> None:
    book = InFlightBook(300)
    book.add(InFlightMove("a1", "phone", "c-1", 0.0))
    book.add(InFlightMove("a1", "chat", "c-2", 5.0))
    assert [m.command_id for m in book] == ["c-2"]
