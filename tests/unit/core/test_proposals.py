"""ProposalBook (contract §9): stable ids, withdrawal, expiry, approve/reject, cool-downs
(in the site's CooldownBook), persistence. One table of edge cases for the decisions;
the hypothesis properties are in test_proposals_props.py."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from staffer.core.cooldowns import Cooldown, CooldownBook
from staffer.core.proposal import stale_reason
from staffer.core.proposals import (
    NO_PROPOSALS,
    SHADOW_MODE,
    STALE_PROPOSAL,
    UNAVAILABLE,
    UNKNOWN_PROPOSAL,
    Closed,
    ProposalBook,
    Selection,
    tally,
)
from staffer.core.types import AgentState, InFlightMove, Move

NOW = 1_000_000.0
TTL = 600.0
COOLDOWN = 1800.0


def make_book(
    ttl: float = TTL, cooldown: float = COOLDOWN, cooldowns: CooldownBook | None = None
) -> ProposalBook:
    n = itertools.count(1)
    return ProposalBook(
        "main",
        ttl_s=ttl,
        cooldown_s=cooldown,
        cooldowns=cooldowns,
        id_factory=lambda: f"p{next(n)}",
    )


def mv(agent: str, src: str | None, dst: str, reason: str = "why") -> Move:
    return Move(agent=agent, from_queue=src, to_queue=dst, reason=reason)


def st(agent: str, queue: str | None, status: str = "available", skills=("phone", "email", "chat")):
    return AgentState(agent, NOW - 60, status, queue, frozenset(skills))  # type: ignore[arg-type]


ROSTER = {a: st(a, "email") for a in ("a1", "a2", "a3")}


def ids(book: ProposalBook) -> list[str]:
    return [p.proposal_id for p in book.open()]


# -- the plan: open, keep, withdraw, expire --------------------------------------------------------


def test_a_plan_opens_one_proposal_per_move_with_ttl() -> None:
    book = make_book()
    ch = book.update("plan-1", [mv("a1", "email", "phone", "phone SL 0.5 -> 0.8")], NOW)
    [p] = ch.opened
    assert (p.proposal_id, p.plan_id, p.agent, p.from_queue, p.to_queue) == (
        "p1",
        "plan-1",
        "a1",
        "email",
        "phone",
    )
    assert p.reason == "phone SL 0.5 -> 0.8"
    assert (p.created_at, p.expires_at) == (NOW, NOW + TTL)
    assert ch.changed and not ch.closed and book.open() == [p]


def test_a_move_still_wanted_keeps_its_id_expiry_and_takes_the_new_reason() -> None:
    book = make_book()
    book.update("plan-1", [mv("a1", "email", "phone", "old")], NOW)
    ch = book.update("plan-2", [mv("a1", "email", "phone", "new")], NOW + 300)
    assert not ch.opened and not ch.closed and not ch.changed
    [p] = ch.kept
    assert (p.proposal_id, p.plan_id, p.reason, p.expires_at) == ("p1", "plan-2", "new", NOW + TTL)


def test_a_plan_that_no_longer_wants_a_move_withdraws_it() -> None:
    book = make_book()
    book.update("plan-1", [mv("a1", "email", "phone"), mv("a2", "email", "phone")], NOW)
    ch = book.update("plan-2", [mv("a2", "email", "phone")], NOW + 300)
    [gone] = ch.closed
    assert (gone.proposal.proposal_id, gone.outcome, gone.by) == ("p1", "withdrawn", "planner")
    assert ids(book) == ["p2"]


def test_a_new_target_for_the_same_agent_replaces_its_proposal() -> None:
    book = make_book()
    book.update("plan-1", [mv("a1", "email", "phone")], NOW)
    ch = book.update("plan-2", [mv("a1", "email", "chat")], NOW + 300)
    assert [c.outcome for c in ch.closed] == ["withdrawn"]
    assert [(p.proposal_id, p.to_queue) for p in book.open()] == [("p2", "chat")]


def test_duplicate_and_no_op_moves_of_one_plan_are_ignored() -> None:
    book = make_book()
    ch = book.update(
        "plan-1",
        [mv("a1", "email", "phone"), mv("a1", "email", "chat"), mv("a2", "chat", "chat")],
        NOW,
    )
    assert [(p.agent, p.to_queue) for p in ch.opened] == [("a1", "phone")]


def test_proposals_expire_after_ttl_and_a_still_wanted_move_gets_a_new_id() -> None:
    book = make_book()
    book.update("plan-1", [mv("a1", "email", "phone")], NOW)
    assert not book.expire(NOW + TTL - 1).closed
    assert book.open(NOW + TTL) == []  # hidden at its expiry even before a sweep
    [c] = book.expire(NOW + TTL).closed
    assert (c.outcome, c.by) == ("expired", "system")
    ch = book.update("plan-3", [mv("a1", "email", "phone")], NOW + TTL + 1)
    assert [p.proposal_id for p in ch.opened] == ["p2"]


def test_an_expiry_found_by_the_next_plan_is_reported_by_it() -> None:
    book = make_book()
    book.update("plan-1", [mv("a1", "email", "phone")], NOW)
    ch = book.update("plan-2", [], NOW + TTL)
    assert [c.outcome for c in ch.closed] == ["expired"]  # not also "withdrawn"


def test_withdraw_all_on_mode_change() -> None:
    book = make_book()
    book.update("plan-1", [mv("a1", "email", "phone"), mv("a2", "email", "chat")], NOW)
    ch = book.withdraw_all(NOW + 1)
    assert tally(ch.closed)["withdrawn"] == 2 and len(book) == 0


# -- approve / reject: a table of edge cases -------------------------------------------------------


def _two(at: float = NOW):
    return lambda b: b.update(
        "plan-1", [mv("a1", "email", "phone"), mv("a2", "email", "phone")], at
    )


def _none_open(b: ProposalBook) -> None:
    _two()(b)
    b.withdraw_all(NOW)


AT = NOW + 10  # when the approvals below happen
AGENT_MOVED = {**ROSTER, "a1": st("a1", "chat")}
OFFLINE = {**ROSTER, "a1": st("a1", "email", "offline")}
UNSKILLED = {**ROSTER, "a1": st("a1", "email", skills=("email",))}
FLYING = {"a1": InFlightMove("a1", "chat", "c1", NOW)}
S = Selection
CASES = [
    # (name, setup, selection, view, error code or None, approved ids, open ids after)
    ("one id", _two(), S(("p1",)), {}, None, ["p1"], ["p2"]),
    ("a list", _two(), S(("p2", "p1")), {}, None, ["p2", "p1"], []),
    ("the same id twice", _two(), S(("p1", "p1")), {}, None, ["p1"], ["p2"]),
    ("all", _two(), S(all=True), {}, None, ["p1", "p2"], []),
    ("unknown id", _two(), S(("p9",)), {}, UNKNOWN_PROPOSAL, [], ["p1", "p2"]),
    ("one unknown in a list", _two(), S(("p1", "p9")), {}, UNKNOWN_PROPOSAL, [], ["p1", "p2"]),
    ("empty list", _two(), S(()), {}, UNKNOWN_PROPOSAL, [], ["p1", "p2"]),
    ("all with nothing open", _none_open, S(all=True), {}, NO_PROPOSALS, [], []),
    ("agent moved since", _two(), S(("p1",)), {"agents": AGENT_MOVED}, STALE_PROPOSAL, [], ["p2"]),
    ("agent offline", _two(), S(("p1",)), {"agents": OFFLINE}, STALE_PROPOSAL, [], ["p2"]),
    ("agent lost the skill", _two(), S(("p1",)), {"agents": UNSKILLED}, STALE_PROPOSAL, [], ["p2"]),
    (
        "agent gone",
        _two(),
        S(("p1",)),
        {"agents": {"a2": ROSTER["a2"]}},
        STALE_PROPOSAL,
        [],
        ["p2"],
    ),
    ("agent in flight", _two(), S(("p1",)), {"in_flight": FLYING}, STALE_PROPOSAL, [], ["p2"]),
    # one stale id in a list: nothing approved, only the stale one closes
    ("agent locked", _two(), S(("p1", "p2")), {"locked": {"a2"}}, STALE_PROPOSAL, [], ["p1"]),
    ("all, one stale", _two(), S(all=True), {"locked": {"a1"}}, None, ["p2"], []),
    ("all, all stale", _two(), S(all=True), {"locked": {"a1", "a2"}}, STALE_PROPOSAL, [], []),
    ("expired at approval", _two(AT - TTL), S(("p1",)), {}, UNKNOWN_PROPOSAL, [], []),
]


@pytest.mark.parametrize(
    ("setup", "sel", "view", "code", "approved", "left"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_approve_cases(setup, sel, view, code, approved, left) -> None:
    book = make_book()
    setup(book)
    before = set(ids(book))
    d = book.approve(sel, "alice", AT, **{"mode": "approve", "agents": ROSTER, **view})
    assert d.ok is (code is None), d
    assert d.code == code
    if code is not None:
        assert d.message and not d.moves
    assert [m.proposal_id for m in d.moves] == approved
    assert all(m.approved_by == "alice" for m in d.moves)
    assert [c.proposal.proposal_id for c in d.decided] == approved
    assert ids(book) == left
    # every proposal that left the open set is reported closed, exactly once
    closed = [c.proposal.proposal_id for c in d.closed]
    assert sorted(closed) == sorted(before - set(left))


def _opened_book() -> ProposalBook:
    book = make_book()
    _two()(book)
    return book


def _approve(book: ProposalBook, sel: Selection, **view):
    return book.approve(sel, "alice", AT, **{"mode": "approve", "agents": ROSTER, **view})


def test_approved_moves_carry_the_proposal() -> None:
    book = _opened_book()
    d = _approve(book, Selection(("p1",)))
    [am] = d.moves
    assert (am.move.agent, am.move.from_queue, am.move.to_queue, am.move.reason) == (
        "a1",
        "email",
        "phone",
        "why",
    )
    assert (am.proposal_id, am.approved_by) == ("p1", "alice")


def test_approving_twice_gives_unknown_proposal_saying_who_approved() -> None:
    book = _opened_book()
    assert _approve(book, Selection(("p1",))).ok
    again = _approve(book, Selection(("p1",)))
    assert (again.ok, again.code) == (False, UNKNOWN_PROPOSAL)
    assert "already approved by alice" in again.message
    assert not again.moves


def test_stale_message_names_the_reason_and_the_proposal_is_closed() -> None:
    book = _opened_book()
    d = _approve(book, Selection(("p1",)), agents={**ROSTER, "a1": st("a1", "chat")})
    assert "p1" in d.message and "moved to chat" in d.message
    later = _approve(book, Selection(("p1",)))
    assert later.code == UNKNOWN_PROPOSAL and "withdrawn" in later.message


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_shadow_mode_proposals_are_read_only(action: str) -> None:
    book = _opened_book()
    if action == "approve":
        d = book.approve(Selection(("p1",)), "alice", NOW, mode="shadow", agents=ROSTER)
    else:
        d = book.reject(Selection(("p1",)), "alice", NOW, mode="shadow")
    assert (d.ok, d.code, d.closed) == (False, SHADOW_MODE, ())
    assert ids(book) == ["p1", "p2"]


def test_no_clock_yet_is_unavailable() -> None:
    book = _opened_book()
    d = book.approve(Selection(all=True), "alice", -math.inf, mode="approve", agents=ROSTER)
    assert d.code == UNAVAILABLE and len(book) == 2


def test_reject_closes_and_cools_down_that_agent_and_target_only() -> None:
    book = _opened_book()
    d = book.reject(Selection(("p1",)), "bob", NOW + 10, mode="approve")
    assert d.ok and d.cooldown_until == NOW + 10 + COOLDOWN
    [c] = d.decided
    assert (c.outcome, c.by) == ("rejected", "bob")
    assert book.cooldowns.active(NOW + 11) == {("a1", "phone")}
    ch = book.update("plan-2", [mv("a1", "email", "phone"), mv("a2", "email", "phone")], NOW + 300)
    assert [m.agent for m in ch.suppressed] == ["a1"] and not ch.opened
    # the same agent to another queue is fine, and the cooldown ends on time
    assert [
        p.to_queue for p in book.update("plan-3", [mv("a1", "email", "chat")], NOW + 400).opened
    ] == ["chat"]
    assert book.cooldowns.active(NOW + 10 + COOLDOWN) == frozenset()
    ch = book.update("plan-4", [mv("a1", "email", "phone")], NOW + 10 + COOLDOWN)
    assert [p.to_queue for p in ch.opened] == ["phone"]


@pytest.mark.parametrize(
    ("sel", "code"),
    [(Selection(("p9",)), UNKNOWN_PROPOSAL), (Selection(("p1", "p9")), UNKNOWN_PROPOSAL)],
)
def test_reject_unknown_ids_changes_nothing(sel: Selection, code: str) -> None:
    book = _opened_book()
    d = book.reject(sel, "bob", NOW, mode="approve")
    assert d.code == code and "p9" in d.message
    assert ids(book) == ["p1", "p2"] and len(book.cooldowns) == 0


def test_zero_cooldown_disables_it() -> None:
    book = make_book(cooldown=0)
    book.update("plan-1", [mv("a1", "email", "phone")], NOW)
    d = book.reject(Selection(("p1",)), "bob", NOW, mode="approve")
    assert d.ok and d.cooldown_until is None and d.cooldowns == () and len(book.cooldowns) == 0


def test_a_rejection_cools_down_in_the_sites_book_with_who_and_why() -> None:
    """One owner of cool-downs: the site's book, which a bridge's rejection also fills
    (contract §10)."""
    site_book = CooldownBook()
    book = make_book(cooldowns=site_book)
    book.update("plan-1", [mv("a1", "email", "phone")], NOW)
    d = book.reject(Selection(("p1",)), "bob", NOW + 5, mode="approve", reason="on a course")
    assert d.cooldowns == (
        Cooldown("a1", "phone", NOW + 5 + COOLDOWN, "proposal p1 rejected: on a course", "bob"),
    )
    assert list(site_book) == list(d.cooldowns) and d.decided[0].why == "on a course"
    # a bridge's cool-down suppresses a proposal just as a supervisor's does
    site_book.add("a2", "phone", NOW + COOLDOWN, "no licence", "bridge")
    ch = book.update("plan-2", [mv("a2", "email", "phone")], NOW + 300)
    assert [m.agent for m in ch.suppressed] == ["a2"] and not ch.opened


def test_a_longer_cool_down_already_in_force_stays() -> None:
    site_book = CooldownBook([Cooldown("a1", "phone", NOW + 10 * COOLDOWN, "no licence", "bridge")])
    book = make_book(cooldowns=site_book)
    book.restore({"proposals": [_record("p7", "a1", "phone")]})  # opened before the bridge said no
    d = book.reject(Selection(("p7",)), "bob", NOW, mode="approve")
    assert d.cooldown_until == NOW + 10 * COOLDOWN
    assert [c.source for c in site_book] == ["bridge"]


def _record(pid: str, agent: str, to: str) -> dict[str, object]:
    return {
        "proposal_id": pid,
        "site": "main",
        "plan_id": "plan-0",
        "agent": agent,
        "from": "email",
        "to": to,
        "reason": "why",
        "created_at": NOW - 1,
        "expires_at": NOW + TTL,
    }


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        ProposalBook("main", ttl_s=0, cooldown_s=1)
    with pytest.raises(ValueError):
        ProposalBook("main", ttl_s=1, cooldown_s=-1)


# -- persistence -----------------------------------------------------------------------------------


def test_records_round_trip_through_json() -> None:
    book = _opened_book()
    book.reject(Selection(("p2",)), "bob", NOW + 1, mode="approve")
    data = json.loads(json.dumps(book.to_records()))
    assert set(data) == {"proposals"}  # cool-downs are the CooldownBook's (its own table)
    again = ProposalBook.from_records("main", data, ttl_s=TTL, cooldown_s=COOLDOWN)
    assert again.open() == book.open() and ids(again) == ["p1"]
    # expired while the daemon was down: counted at the next sweep
    assert [c.outcome for c in again.expire(NOW + TTL).closed] == ["expired"]


@pytest.mark.parametrize(
    "data",
    [
        {"proposals": [{"proposal_id": "x"}]},
        {"proposals": [None]},
        {
            "proposals": [
                {
                    "proposal_id": "p",
                    "site": "main",
                    "plan_id": "x",
                    "agent": "a",
                    "to": "phone",
                    "created_at": "soon",
                    "expires_at": 1,
                }
            ]
        },
        {"proposals": "nope"},
    ],
)
def test_bad_records_raise_value_error(data) -> None:
    with pytest.raises(ValueError):
        ProposalBook.from_records("main", data, ttl_s=TTL, cooldown_s=COOLDOWN)


def test_records_of_another_site_are_refused() -> None:
    data = _opened_book().to_records()
    with pytest.raises(ValueError, match="site"):
        ProposalBook.from_records("paris", data, ttl_s=TTL, cooldown_s=COOLDOWN)


# -- helpers ---------------------------------------------------------------------------------------


def test_tally_counts_every_outcome() -> None:
    book = _opened_book()
    closed: list[Closed] = list(_approve(book, Selection(("p1",))).closed)
    closed += book.withdraw_all(NOW).closed
    assert tally(closed) == {"approved": 1, "rejected": 0, "expired": 0, "withdrawn": 1}


def test_stale_reason_none_when_the_move_still_applies() -> None:
    [p] = make_book().update("plan", [mv("a1", "email", "phone")], NOW).opened
    assert stale_reason(p, ROSTER, frozenset(), {}) is None
