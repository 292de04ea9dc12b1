"""codec.proposals: the §9 wire shapes (proposals payload, approved command, replies) and the
validation of approve/reject request fields."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staffer.codec.payloads import decode_override_request
from staffer.codec.proposals import (
    MAX_IDS,
    SelectionError,
    decision_reply_to_json,
    decode_selection,
    encode_approved_command,
    encode_decision_reply,
    encode_proposals,
    selection_fields,
)
from staffer.codec.timefmt import parse_ts
from staffer.codec.topics import Topics
from staffer.core.proposals import ApprovedMove, ProposalBook, Selection
from staffer.core.types import AgentState, Move

T = parse_ts("2026-11-22T10:15:00Z")


@pytest.mark.parametrize(
    ("action", "fields", "expected"),
    [
        ("approve", {"proposal_id": "p-1"}, Selection(("p-1",))),
        ("approve", {"proposal_ids": ["p-1", "p-2"]}, Selection(("p-1", "p-2"))),
        ("approve", {"all": True}, Selection(all=True)),
        ("reject", {"proposal_id": "p-1"}, Selection(("p-1",))),
        ("reject", {"proposal_ids": ["p-2"]}, Selection(("p-2",))),
    ],
)
def test_decode_selection_accepts(action, fields, expected) -> None:
    assert decode_selection(action, fields) == expected


@pytest.mark.parametrize(
    ("action", "fields", "needle"),
    [
        ("approve", {}, "exactly one of"),
        ("approve", {"proposal_id": "p-1", "all": True}, "exactly one of"),
        ("approve", {"proposal_id": "p-1", "proposal_ids": ["p-2"]}, "exactly one of"),
        ("approve", {"all": False}, "all must be true"),
        ("approve", {"all": 1}, "all must be true"),
        ("approve", {"all": None}, "all must be true"),
        ("approve", {"proposal_id": ""}, "non-empty string"),
        ("approve", {"proposal_id": 7}, "non-empty string"),
        ("approve", {"proposal_id": "x" * 257}, "non-empty string"),
        ("approve", {"proposal_ids": []}, "list of 1 to"),
        ("approve", {"proposal_ids": "p-1"}, "list of 1 to"),
        ("approve", {"proposal_ids": ["p"] * (MAX_IDS + 1)}, "list of 1 to"),
        ("approve", {"proposal_ids": ["p-1", 3]}, "proposal_ids[]"),
        ("approve", {"proposal_id": "p-1", "agent": "a1"}, "unknown field 'agent'"),
        ("reject", {"all": True}, "unknown field 'all'"),
        ("reject", {}, "exactly one of"),
        ("pin", {"queue": "phone"}, "does not select"),
    ],
)
def test_decode_selection_refuses(action, fields, needle) -> None:
    with pytest.raises(SelectionError) as err:
        decode_selection(action, fields)
    assert needle in str(err.value) and err.value.code == "invalid"


def test_selection_fields_from_a_real_request() -> None:
    req = decode_override_request(
        json.dumps({"id": "r1", "action": "approve", "proposal_ids": ["p-1", "p-2"]}).encode()
    )
    assert decode_selection(req.action, req.fields) == Selection(("p-1", "p-2"))


@given(
    st.one_of(
        st.just(Selection(all=True)),
        st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5).map(
            lambda ids: Selection(tuple(ids))
        ),
    )
)
def test_selection_fields_round_trip(sel: Selection) -> None:
    assert decode_selection("approve", selection_fields(sel)) == sel


def _book() -> ProposalBook:
    book = ProposalBook(
        "main", ttl_s=600, cooldown_s=1800, id_factory=iter(["p-1", "p-2"]).__next__
    )
    book.update(
        "main-20261122T101500Z-4",
        [
            Move("a17", "email", "phone", "phone SL 0.52 -> 0.81 (target 0.80)"),
            Move("a3", None, "chat", "r"),
        ],
        T,
    )
    return book


def test_encode_proposals_payload() -> None:
    body = json.loads(encode_proposals("main", T + 5, _book().open()))
    assert body["site"] == "main" and body["as_of"] == "2026-11-22T10:15:05Z"
    first = body["proposals"][0]
    assert first == {
        "proposal_id": "p-1",
        "plan_id": "main-20261122T101500Z-4",
        "agent": "a17",
        "from": "email",
        "to": "phone",
        "reason": "phone SL 0.52 -> 0.81 (target 0.80)",
        "created_at": "2026-11-22T10:15:00Z",
        "expires_at": "2026-11-22T10:25:00Z",
        "after_current_contact": True,
    }
    assert body["proposals"][1]["from"] is None
    assert json.loads(encode_proposals("main", T, [])) == {
        "site": "main",
        "as_of": "2026-11-22T10:15:00Z",
        "proposals": [],
    }


def test_encode_approved_command_moves_carry_proposal_and_approver() -> None:
    am = ApprovedMove(Move("a17", "email", "phone", "why"), "p-1", "alice")
    body = json.loads(encode_approved_command("main-00000007-abcdef", "plan-4", "main", T, [am]))
    assert body["mode"] == "approve" and body["plan_id"] == "plan-4"
    assert body["command_id"] == "main-00000007-abcdef" and body["ts"] == "2026-11-22T10:15:00Z"
    assert body["moves"] == [
        {
            "agent": "a17",
            "from": "email",
            "to": "phone",
            "after_current_contact": True,
            "reason": "why",
            "proposal_id": "p-1",
            "approved_by": "alice",
        }
    ]


ROSTER = {
    "a17": AgentState("a17", T, "busy", "email", frozenset({"email", "phone"})),
    "a3": AgentState("a3", T, "available", None, frozenset({"chat"})),
}


def test_approve_reply_lists_what_was_commanded() -> None:
    d = _book().approve(Selection(all=True), "alice", T + 1, mode="approve", agents=ROSTER)
    reply = decision_reply_to_json("r1", d, command_id="main-00000008-aaaaaa")
    assert reply == {
        "id": "r1",
        "ok": True,
        "override_id": None,
        "expires_at": None,
        "approved": [
            {"proposal_id": "p-1", "agent": "a17", "from": "email", "to": "phone"},
            {"proposal_id": "p-2", "agent": "a3", "from": None, "to": "chat"},
        ],
        "command_id": "main-00000008-aaaaaa",
    }


def test_approve_all_reply_lists_the_stale_ones_withdrawn() -> None:
    d = _book().approve(
        Selection(all=True), "alice", T + 1, mode="approve", agents=ROSTER, locked={"a3"}
    )
    reply = decision_reply_to_json(7, d)
    assert [a["proposal_id"] for a in reply["approved"]] == ["p-1"]
    assert reply["withdrawn"] == [{"proposal_id": "p-2", "why": "agent a3 is locked"}]
    assert "command_id" not in reply


def test_reject_reply_and_error_reply() -> None:
    book = _book()
    d = book.reject(Selection(("p-2",)), "bob", T + 1, mode="approve")
    assert json.loads(encode_decision_reply("r2", d)) == {
        "id": "r2",
        "ok": True,
        "override_id": None,
        "expires_at": None,
        "rejected": ["p-2"],
        "cooldown_until": "2026-11-22T10:45:01Z",
    }
    again = book.reject(Selection(("p-2",)), "bob", T + 2, mode="approve")
    assert json.loads(encode_decision_reply("r3", again)) == {
        "id": "r3",
        "ok": False,
        "error": {"code": "unknown_proposal", "message": "proposal 'p-2' was rejected by bob"},
    }


def test_proposals_topic_is_outbound_only() -> None:
    topics = Topics("acme/staffer")
    assert topics.proposals("main") == "acme/staffer/main/proposals"
    assert topics.parse("acme/staffer/main/proposals") is None
