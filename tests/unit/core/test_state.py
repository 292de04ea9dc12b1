"""SiteState: ingest ordering, duplicates, roster, dwell clock, bounded history."""

from __future__ import annotations

import math

import pytest

from staffer.core.state import Applied, SiteState

from .conftest import NOW, agent, snap


def test_snapshots_in_order_are_applied_and_move_the_clock(state: SiteState) -> None:
    assert state.apply_snapshot("phone", snap(NOW, 10)) is Applied.OK
    assert state.apply_snapshot("phone", snap(NOW + 300, 12)) is Applied.OK
    assert state.latest("phone") == snap(NOW + 300, 12)
    assert state.clock == NOW + 300
    assert [s.offered for s in state.history("phone")] == [10, 12]


def test_stale_and_duplicate_snapshots_are_ignored_and_reported(state: SiteState) -> None:
    state.apply_snapshot("phone", snap(NOW, 10))
    stale = state.apply_snapshot("phone", snap(NOW - 300, 99))
    dup = state.apply_snapshot("phone", snap(NOW, 99))
    assert stale is Applied.STALE and not stale
    assert dup is Applied.DUPLICATE and not dup
    assert state.latest("phone").offered == 10  # type: ignore[union-attr]
    assert state.estimate("phone").rate() == pytest.approx(10 / 300)  # type: ignore[union-attr]


def test_queues_are_ordered_independently(state: SiteState) -> None:
    state.apply_snapshot("phone", snap(NOW, 10))
    assert state.apply_snapshot("chat", snap(NOW - 600, 5)) is Applied.OK
    assert state.clock == NOW


def test_history_is_bounded() -> None:
    st = SiteState("main", history=3)
    for k in range(10):
        st.apply_snapshot("phone", snap(NOW + 300 * k, k))
    assert [s.offered for s in st.history("phone")] == [7, 8, 9]


def test_agent_updates_roster_and_ignores_older_state(state: SiteState) -> None:
    assert state.apply_agent(agent("a1", "email", ["email"], ts=NOW)) is Applied.OK
    assert state.apply_agent(agent("a1", "phone", ["phone"], ts=NOW - 1)) is Applied.STALE
    assert state.roster["a1"].queue == "email"
    # an equal ts is applied (retained redelivery is harmless)
    assert state.apply_agent(agent("a1", "email", ["email"], "busy", ts=NOW)) is Applied.OK
    assert state.roster["a1"].status == "busy"


def test_assignment_clock_starts_on_queue_change_only(state: SiteState) -> None:
    state.apply_agent(agent("a1", "email", ["email", "phone"], ts=NOW))
    assert state.assigned_since("a1") == -math.inf  # first sighting: start unknown
    state.apply_agent(agent("a1", "email", ["email", "phone"], "busy", ts=NOW + 10))
    assert state.assigned_since("a1") == -math.inf  # status change keeps the assignment
    state.apply_agent(agent("a1", "phone", ["email", "phone"], ts=NOW + 20))
    assert state.assigned_since("a1") == NOW + 20
    assert state.assigned_since("nobody") == -math.inf


def test_invalid_construction_is_rejected() -> None:
    with pytest.raises(ValueError):
        SiteState("main", half_life_s=0)


def test_roster_is_bounded_against_invented_agent_ids() -> None:
    from staffer.core.state import Applied, SiteState
    from staffer.core.types import AgentState

    st = SiteState("main", max_agents=3)
    for i in range(3):
        assert (
            st.apply_agent(AgentState(f"a{i}", 10.0, "available", "phone", frozenset({"phone"})))
            is Applied.OK
        )
    refused = st.apply_agent(
        AgentState("intruder", 11.0, "available", "phone", frozenset({"phone"}))
    )
    assert refused is Applied.FULL and not refused
    assert "intruder" not in st.roster and len(st.roster) == 3
    # known agents still update while the roster is full
    assert (
        st.apply_agent(AgentState("a1", 12.0, "busy", "phone", frozenset({"phone"}))) is Applied.OK
    )
    assert st.roster["a1"].status == "busy"


def test_left_queues_remember_when_each_queue_was_left(state: SiteState) -> None:
    from staffer.core.state import MAX_LEFT

    state.apply_agent(agent("a1", "email", ["email", "phone"], ts=NOW - 900))
    assert state.left_queues.get("a1") is None  # first seen: nothing left yet
    state.apply_agent(agent("a1", "phone", ["email", "phone"], ts=NOW - 600))
    state.apply_agent(agent("a1", None, ["email", "phone"], ts=NOW - 300))
    state.apply_agent(agent("a1", "email", ["email", "phone"], ts=NOW))
    assert state.left_queues["a1"] == {"email": NOW - 600, "phone": NOW - 300}
    for k in range(MAX_LEFT + 5):
        state.apply_agent(agent("a1", f"q{k}", ["email"], ts=NOW + k + 1))
    assert len(state.left_queues["a1"]) == MAX_LEFT
