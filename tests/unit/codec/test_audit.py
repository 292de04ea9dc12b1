"""codec.audit: every audit row kind as a person reads it, and the rows of moves and of
approve/reject decisions."""

from __future__ import annotations

import json

import pytest

from staffer.codec.audit import decision_audit, describe, move_audit, printable
from staffer.codec.timefmt import parse_ts
from staffer.core.override_records import expiry_audit
from staffer.core.overrides import OverrideBook
from staffer.core.proposals import ProposalBook, Selection
from staffer.core.types import AgentState, AuditRecord, MalformedRequest, Move, OverrideRequest

T = parse_ts("2026-11-22T10:15:00Z")
QUEUES = frozenset({"phone", "email"})


def _request(book: OverrideBook, sup: str, req, now: float = T) -> AuditRecord:
    return book.handle("main", sup, req, now, QUEUES, 3600.0).audit


def test_accepted_pin() -> None:
    book = OverrideBook(id_factory=lambda _now: "ov1")
    req = OverrideRequest("r1", "pin", {"queue": "phone", "min": 3}, 900.0, True, "mail-out day")
    e = describe(_request(book, "alice", req))
    assert (e.site, e.supervisor, e.action, e.outcome) == ("main", "alice", "pin", "accepted")
    assert e.details == (
        'queue=phone, min=3, reason "mail-out day", override ov1, until 2026-11-22T10:30:00Z'
    )


@pytest.mark.parametrize(
    ("sup", "req", "outcome", "details"),
    [
        (
            "bob",
            OverrideRequest("r2", "pin", {"queue": "fax", "max": 1}),
            "rejected (unknown_queue)",
            "queue=fax, max=1, unknown queue 'fax'",
        ),
        (
            "bob",
            MalformedRequest(None, "not_json"),
            "rejected (invalid)",
            "malformed request (not_json)",
        ),
        (
            "carol",
            OverrideRequest("r3", "mode", {"mode": "shadow"}, None, True),
            "accepted",
            "mode=shadow, override ov1, permanent",
        ),
    ],
)
def test_other_requests(sup, req, outcome, details) -> None:
    e = describe(_request(OverrideBook(id_factory=lambda _now: "ov1"), sup, req))
    assert (e.supervisor, e.outcome, e.details) == (sup, outcome, details)


def test_duplicate_and_expiry() -> None:
    book = OverrideBook(id_factory=lambda _now: "ov1")
    req = OverrideRequest("r1", "lock_agent", {"agent": "a17"}, 60.0, True)
    _request(book, "alice", req)
    assert describe(_request(book, "alice", req, T + 1)).outcome == "duplicate"
    [ov] = book.expire(T + 60)
    e = describe(expiry_audit(ov, T + 60))
    assert (e.supervisor, e.action, e.outcome, e.details) == (
        "system",  # the actor: an expiry is nobody's request (who set it is in the details)
        "lock_agent",
        "expired",
        "agent=a17, override ov1 (set by alice)",
    )
    assert e.to_json()["data"]["expires_at"] == "2026-11-22T10:16:00Z"


def test_move_rows_answer_why_an_agent_moved() -> None:
    planner = move_audit(
        "main",
        T,
        command_id="main-00000042-9f1c2a",
        plan_id="main-20261122T101500Z-42",
        mode="auto",
        move=Move("a17", "email", "phone", "phone SL 0.52 -> 0.81 (target 0.80)"),
        decided_by="planner",
    )
    assert (planner.kind, planner.actor) == ("move", "planner")
    e = describe(planner)
    assert (e.supervisor, e.action, e.outcome) == ("planner", "move", "commanded")
    assert e.details == (
        "a17 email -> phone: phone SL 0.52 -> 0.81 (target 0.80) (command main-00000042-9f1c2a)"
    )
    approved = move_audit(
        "main",
        T,
        command_id="main-00000043-000000",
        plan_id="p",
        mode="approve",
        move=Move("a3", None, "chat", "chat ASA 80 -> 20"),
        decided_by="alice",
        proposal_id="p-1",
    )
    e = describe(approved)
    assert (e.supervisor, e.outcome) == ("alice", "approved")
    assert e.details.endswith("(command main-00000043-000000, proposal p-1)")
    assert e.details.startswith("a3 (none) -> chat")
    assert e.to_json()["data"]["proposal_id"] == "p-1"


def test_decision_rows() -> None:
    book = ProposalBook("main", ttl_s=600, cooldown_s=1800, id_factory=iter(["p-1"]).__next__)
    book.update("plan", [Move("a17", "email", "phone", "why")], T)
    roster = {"a17": AgentState("a17", T, "busy", "email", frozenset({"phone", "email"}))}
    req = OverrideRequest("r9", "approve", {"proposal_id": "p-1"})
    d = book.approve(Selection(("p-1",)), "alice", T + 1, mode="approve", agents=roster)
    e = describe(decision_audit("main", "alice", req, d, T + 1))
    assert (e.action, e.outcome, e.details) == (
        "approve",
        "accepted",
        "proposal_id=p-1, approved p-1 (a17 email -> phone)",
    )
    e = describe(decision_audit("main", "alice", req, d, T + 1, "main-00000007-abcdef"))
    assert e.details.endswith(", command main-00000007-abcdef")
    assert e.to_json()["data"]["command_id"] == "main-00000007-abcdef"
    again = book.approve(Selection(("p-1",)), "alice", T + 2, mode="approve", agents=roster)
    e = describe(decision_audit("main", "alice", req, again, T + 2))
    assert e.outcome == "rejected (unknown_proposal)"
    assert "already approved by alice" in e.details


@pytest.mark.parametrize(
    "payload",
    [{"fields": "not a mapping"}, {"approved": "p-1"}, {"outcome": 5, "action": None}],
)
def test_odd_payloads_are_still_readable(payload) -> None:
    e = describe(AuditRecord(T, "main", "override", "x", payload))
    assert e.supervisor == "x" and isinstance(e.details, str)


def test_unknown_kind_shows_its_payload() -> None:
    e = describe(AuditRecord(T, "main", "bridge_rejected", "bridge", {"b": 1, "a": "x"}))
    assert (e.action, e.outcome, e.details) == ("bridge_rejected", "", '{"a": "x", "b": 1}')
    assert json.dumps(e.to_json())


def test_only_a_mode_override_reads_permanent() -> None:
    book = OverrideBook(id_factory=lambda _now: "ov1")
    _request(book, "alice", OverrideRequest("r1", "pin", {"queue": "phone", "min": 3}))
    e = describe(_request(book, "alice", OverrideRequest("r2", "cancel", {"override_id": "ov1"})))
    assert e.details == "override_id=ov1, override ov1, replaced ov1"


def test_a_rejection_row_names_the_move_and_the_cool_down() -> None:
    ids = iter(["p-1", "p-2"])
    book = ProposalBook("main", ttl_s=600, cooldown_s=1800, id_factory=ids.__next__)
    book.update("plan", [Move("a1", "email", "phone", "why"), Move("a2", None, "chat", "w")], T)
    req = OverrideRequest("r", "reject", {"proposal_ids": ["p-1", "p-2"]}, reason="VIP")
    d = book.reject(Selection(("p-1", "p-2")), "bob", T, mode="approve", reason="VIP")
    e = describe(decision_audit("main", "bob", req, d, T))
    assert e.details == (
        'proposal_ids=["p-1", "p-2"], reason VIP, '
        "rejected p-1 (a1 email -> phone) p-2 (a2 (none) -> chat), "
        "not proposed again before 2026-11-22T10:45:00Z"
    )


def test_json_times_are_rfc3339_and_a_default_ttl_is_the_seconds_applied() -> None:
    book = OverrideBook(id_factory=lambda _now: "ov1")
    default = describe(_request(book, "alice", OverrideRequest("r1", "lock_agent", {"agent": "a"})))
    data = default.to_json()["data"]
    assert (data["expires_at"], data["ttl_s"]) == ("2026-11-22T11:15:00Z", 3600.0)
    given = OverrideRequest("r2", "pin", {"queue": "phone", "min": 3}, 900.0, True)
    data = describe(_request(book, "alice", given)).to_json()["data"]
    assert (data["expires_at"], data["ttl_s"]) == ("2026-11-22T10:30:00Z", 900.0)
    permanent = OverrideRequest("r3", "mode", {"mode": "shadow"}, None, True)
    data = describe(_request(book, "alice", permanent)).to_json()["data"]
    assert (data["expires_at"], data["ttl_s"]) == (None, None)
    refused = OverrideRequest("r4", "pin", {"queue": "fax", "min": 1})
    data = describe(_request(book, "bob", refused)).to_json()["data"]
    assert data["ttl_s"] is None and "expires_at" not in data  # not known: nothing applied
    assert default.data["ttl_s"] == "default"  # the stored payload itself is unchanged


def test_a_rejections_cool_down_is_rfc3339_in_json() -> None:
    book = ProposalBook("main", ttl_s=600, cooldown_s=1800, id_factory=iter(["p-1"]).__next__)
    book.update("plan", [Move("a1", "email", "phone", "why")], T)
    req = OverrideRequest("r", "reject", {"proposal_id": "p-1"})
    d = book.reject(Selection(("p-1",)), "bob", T, mode="approve", reason=None)
    data = describe(decision_audit("main", "bob", req, d, T)).to_json()["data"]
    assert data["cooldown_until"] == "2026-11-22T10:45:00Z"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("two\nlines", "two\\nlines"),
        ("\x1b[31mred\x1b[0m", "\\u001b[31mred\\u001b[0m"),
        ("bidi\u202eevil", "bidi\\u202eevil"),
        ("café ✓", "café ✓"),
    ],
)
def test_printable_escapes_control_characters_only(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_free_text_without_spaces_is_escaped_too() -> None:
    book = OverrideBook(id_factory=lambda _now: "ov1")
    req = OverrideRequest("r1", "lock_agent", {"agent": "a1"}, 60.0, True, "x\n2026-forged")
    e = describe(_request(book, "alice", req))
    assert "\n" not in e.details and 'reason "x\\n2026-forged"' in e.details


def test_a_bridges_rejection_reads_like_the_other_rows() -> None:
    """Not raw JSON with POSIX seconds: the move, why, the command and the cool-down."""
    rec = AuditRecord(
        ts=1000.0,
        site="main",
        kind="move_rejected",
        actor="bridge",
        payload={
            "command_id": "main-1-ab",
            "agent": "e03",
            "to": "phone",
            "reason": "agent logged\nout",
            "acked_at": 999.0,
            "in_flight": True,
            "cooldown_until": 2800.0,
        },
    )
    e = describe(rec)
    assert (e.supervisor, e.action, e.outcome) == ("bridge", "move", "rejected")
    assert e.details == (
        'e03 -> phone: "agent logged\\nout" (command main-1-ab, not moved there again before '
        "1970-01-01T00:46:40Z)"
    )
    assert "\n" not in e.details
