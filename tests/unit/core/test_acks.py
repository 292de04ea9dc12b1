"""Move acknowledgements (contract §10) against the in-flight book and the cool-downs.

One table of ack sequences and what each must leave behind; then the timeout rule for
accepted moves, late acks, and the planner honouring cool-downs.
"""

from __future__ import annotations

import pytest

from staffer.core.acks import settle_ack, switched
from staffer.core.cooldowns import Cooldown, CooldownBook
from staffer.core.inflight import MAX_ENDED, InFlightBook
from staffer.core.planner import plan_site
from staffer.core.types import AgentState, Controls, InFlightMove, MoveAck

from .conftest import NOW, phone_email_site, planner
from .test_planner import surge_state

MOVE = InFlightMove("a1", "phone", "c-1", 0.0)
COOL = 1800.0


def _ack(status: str, command_id: str = "c-1", to: str = "phone", agent: str = "a1") -> MoveAck:
    return MoveAck(agent, 10.0, command_id, to, status, "why")  # type: ignore[arg-type]


def _books() -> tuple[InFlightBook, CooldownBook]:
    return InFlightBook(300, [MOVE], accepted_timeout_s=1800), CooldownBook()


@pytest.mark.parametrize(
    ("acks", "known", "in_flight", "cooling"),
    [
        (["accepted"], [True], True, False),
        (["rejected"], [True], False, True),
        (["done"], [True], False, False),
        (["accepted", "accepted"], [True, True], True, False),  # QoS 1 redelivery
        (["accepted", "done"], [True, True], False, False),
        (["accepted", "rejected"], [True, True], False, True),  # the ACD gave up later
        (["done", "done"], [True, True], False, False),  # late: known, nothing changes
        (["done", "rejected"], [True, True], False, False),  # contradicts done: no cool-down
        (["rejected", "rejected"], [True, True], False, True),
    ],
)
def test_ack_sequences(acks: list[str], known: list[bool], in_flight: bool, cooling: bool) -> None:
    flights, cooldowns = _books()
    seen = [settle_ack("main", flights, cooldowns, _ack(s), 10.0, COOL).known for s in acks]
    assert seen == known
    assert flights.is_in_flight("a1", "phone") is in_flight
    assert cooldowns.blocks("a1", "phone", 11.0) is cooling
    assert not cooldowns.blocks("a1", "email", 11.0)


@pytest.mark.parametrize(
    "ack",
    [
        _ack("accepted", command_id="c-other"),
        _ack("rejected", to="email"),
        _ack("done", agent="a2"),
        _ack("rejected", command_id="never-issued", to="chat", agent="zz"),
    ],
    ids=["other-command", "other-target", "other-agent", "nothing-known"],
)
def test_unknown_or_mismatched_acks_change_nothing(ack: MoveAck) -> None:
    flights, cooldowns = _books()
    effect = settle_ack("main", flights, cooldowns, ack, 10.0, COOL)
    assert not effect.known and not effect.changes
    assert list(flights) == [MOVE] and len(cooldowns) == 0


def test_accepted_move_stays_in_flight_up_to_accepted_timeout() -> None:
    flights, cooldowns = _books()
    effect = settle_ack("main", flights, cooldowns, _ack("accepted"), 20.0, COOL)
    assert effect.result.accepted == InFlightMove("a1", "phone", "c-1", 0.0, accepted_at=20.0)
    assert flights.expire(300.0) == [] and flights.expire(1799.0) == []
    assert [m.agent for m in flights.expire(1800.0)] == ["a1"]  # counted from the command


def test_unaccepted_move_still_times_out_after_move_timeout() -> None:
    flights = InFlightBook(300, [MOVE], accepted_timeout_s=1800)
    assert [m.command_id for m in flights.expire(300.0)] == ["c-1"]


def test_accepted_timeout_shorter_than_move_timeout_never_shortens_flight() -> None:
    flights = InFlightBook(300, [MOVE], accepted_timeout_s=60)
    flights.acknowledge(_ack("accepted"), 1.0)
    assert flights.expire(299.0) == [] and len(flights.expire(300.0)) == 1


def test_rejection_is_audited_with_its_cooldown() -> None:
    flights, cooldowns = _books()
    effect = settle_ack("main", flights, cooldowns, _ack("rejected"), 50.0, COOL)
    assert effect.result.ended == MOVE and effect.changes
    assert effect.cooldown == Cooldown("a1", "phone", 50.0 + COOL, "why", "bridge")
    assert effect.audit is not None
    assert effect.audit.kind == "move_rejected" and effect.audit.actor == "bridge"
    assert effect.audit.payload["reason"] == "why"
    assert effect.audit.payload["cooldown_until"] == 50.0 + COOL


def test_zero_cooldown_still_ends_and_audits() -> None:
    flights, cooldowns = _books()
    effect = settle_ack("main", flights, cooldowns, _ack("rejected"), 50.0, 0.0)
    assert effect.cooldown is None and effect.audit is not None and len(flights) == 0


@pytest.mark.parametrize("how", ["timed_out", "replaced"])
def test_late_rejection_of_a_move_that_left_flight_cools_down(how: str) -> None:
    flights, cooldowns = _books()
    if how == "timed_out":
        flights.expire(400.0)
    else:
        flights.add(InFlightMove("a1", "email", "c-2", 5.0))
    effect = settle_ack("main", flights, cooldowns, _ack("rejected"), 410.0, COOL)
    assert effect.known and effect.result.ended is None
    assert cooldowns.blocks("a1", "phone", 411.0)
    assert flights.is_in_flight("a1", "email") is (how == "replaced")


def test_late_ack_after_state_confirmed_is_known() -> None:
    flights, cooldowns = _books()
    assert flights.confirm(AgentState("a1", 5.0, "busy", "phone", frozenset({"phone"})))
    effect = settle_ack("main", flights, cooldowns, _ack("done"), 6.0, COOL)
    assert effect.known and not effect.changes


def test_ended_moves_are_remembered_boundedly() -> None:
    flights = InFlightBook(300)
    for i in range(MAX_ENDED + 10):
        flights.add(InFlightMove("a1", "phone", f"c-{i}", float(i)))
    assert len(flights._ended) == MAX_ENDED
    assert flights.acknowledge(_ack("done", command_id="c-0"), 0.0).status is None
    assert flights.acknowledge(_ack("done", command_id="c-100"), 0.0).status == "done"


def test_cooldown_book_keeps_the_longer_and_expires() -> None:
    book = CooldownBook([Cooldown("a1", "phone", 100.0)])
    assert book.put(Cooldown("a1", "phone", 50.0)).until == 100.0
    assert book.add("a1", "phone", 200.0, "again").reason == "again"
    book.add("a2", "chat", 150.0)
    assert book.active(149.0) == {("a1", "phone"), ("a2", "chat")}
    assert book.active(150.0) == {("a1", "phone")}
    assert [c.agent for c in book.expire(150.0)] == ["a2"]
    assert len(book) == 1 and not book.blocks("a1", "phone", 200.0)


def test_planner_never_moves_a_cooling_pair() -> None:
    def run(blocked: frozenset[tuple[str, str]]) -> set[str]:
        plan = plan_site(
            phone_email_site(),
            planner(),
            surge_state(),
            Controls(blocked_moves=blocked),
            {},
            NOW,
            "p",
        )
        return {m.agent for m in plan.moves if m.to_queue == "phone"}

    free = run(frozenset())
    assert free, "the surge needs email agents on phone"
    blocked = frozenset((a, "phone") for a in free)
    again = run(blocked)
    assert again and not again & free  # others go instead; the refused ones never


def test_a_done_ack_puts_the_agent_in_the_new_queue_and_is_not_moved_again() -> None:
    """Contract §10: ``done`` is the agent's state showing the new queue. Before, the move
    left flight while the roster still had the agent in email: the next plan moved them
    to phone again (and counted them on email)."""
    state = surge_state()
    first = plan_site(phone_email_site(), planner(), state, Controls(), {}, NOW, "p1")
    mover = next(m for m in first.moves if m.to_queue == "phone")
    flights = InFlightBook(
        300, [InFlightMove(m.agent, m.to_queue, "c-1", NOW) for m in first.moves]
    )
    done = MoveAck(mover.agent, NOW + 30, "c-1", "phone", "done", None)
    assert settle_ack("main", flights, CooldownBook(), done, NOW + 30, COOL).known
    assert switched(state, done) and state.roster[mover.agent].queue == "phone"
    assert state.assigned_since(mover.agent) == NOW + 30  # the dwell clock starts at the switch
    again = plan_site(
        phone_email_site(), planner(), state, Controls(), flights.by_agent, NOW + 60, "p2"
    )
    assert mover.agent not in {m.agent for m in again.moves}
    assert not switched(state, done)  # already there: nothing to apply


def test_a_newer_state_wins_over_a_done_ack() -> None:
    state = surge_state()
    st = state.roster["e000"]
    state.apply_agent(AgentState("e000", NOW + 50, st.status, "email", st.skills))
    late = MoveAck("e000", NOW + 40, "c-1", "phone", "done", None)
    assert not switched(state, late) and state.roster["e000"].queue == "email"
