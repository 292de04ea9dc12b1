"""OverrideBook: one reply per request, every action of contract §4, expiry, persistence."""

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staffer.core.override_records import expiry_audit
from staffer.core.overrides import (
    DEDUP_WINDOW_S,
    MAX_TTL_S,
    Outcome,
    OverrideBook,
)
from staffer.core.types import (
    AgentState,
    Controls,
    GoalOverride,
    MalformedRequest,
    ModeOverride,
    OverrideRequest,
    Pin,
)

NOW = 1_000_000.0
QUEUES = frozenset({"phone", "chat", "email"})
TTL = 3600.0


def make_book(max_per_site: int = 1000) -> OverrideBook:
    counter = itertools.count(1)
    return OverrideBook(max_per_site=max_per_site, id_factory=lambda _now: f"o{next(counter)}")


def req(
    action: str, rid: object = None, ttl: object = "absent", reason: str = "", **fields: object
) -> OverrideRequest:
    if ttl == "absent":
        return OverrideRequest(id=rid, action=action, fields=fields, reason=reason)
    return OverrideRequest(
        id=rid,
        action=action,
        fields=fields,
        ttl_s=ttl,  # type: ignore[arg-type]
        ttl_given=True,
        reason=reason,
    )


def run(
    book: OverrideBook,
    request: OverrideRequest | MalformedRequest,
    now: float = NOW,
    site: str = "main",
    who: str = "alice",
    **kw: object,
) -> Outcome:
    return book.handle(site, who, request, now, QUEUES, TTL, **kw)  # type: ignore[arg-type]


def assert_rejected(out: Outcome, code: str) -> None:
    assert not out.reply.ok, out.reply
    assert out.reply.code == code, out.reply
    assert out.reply.message
    assert out.accepted is None and not out.removed and out.move is None
    assert out.audit.payload["outcome"] == "rejected"
    assert out.audit.payload["code"] == code


def test_pin_accepted_with_default_ttl_and_audit() -> None:
    book = make_book()
    out = run(book, req("pin", "r1", queue="phone", min=3, max=5, reason="surge"))
    assert out.reply.ok and out.reply.id == "r1"
    assert out.reply.override_id == "o1"
    assert out.reply.expires_at == NOW + TTL
    assert out.accepted is not None and out.accepted.payload == Pin("phone", 3, 5)
    assert out.changed and not out.replan
    assert out.audit.actor == "alice" and out.audit.site == "main" and out.audit.ts == NOW
    assert out.audit.payload["outcome"] == "accepted"
    assert out.audit.payload["action"] == "pin" and out.audit.payload["reason"] == "surge"
    json.dumps(out.audit.payload)  # audit payload must be JSON-serialisable
    assert book.controls("main", NOW, "auto").pins == (Pin("phone", 3, 5),)
    assert book.controls("other", NOW, "auto") == Controls(mode="auto")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"queue": "phone", "min": 5, "max": 3}, "invalid"),
        ({"queue": "phone"}, "invalid"),
        ({"min": 1}, "invalid"),
        ({"queue": "fax", "min": 1}, "unknown_queue"),
        ({"queue": "phone", "min": -1}, "invalid"),
        ({"queue": "phone", "min": 1.5}, "invalid"),
        ({"queue": "phone", "min": True}, "invalid"),
        ({"queue": "phone", "mni": 1, "max": 4}, "invalid"),
        ({"queue": 7, "min": 1}, "invalid"),
    ],
)
def test_pin_rejections(fields: dict, code: str) -> None:
    book = make_book()
    assert_rejected(run(book, req("pin", "r", **fields)), code)
    assert book.active("main", NOW) == []


def test_pin_single_bound_and_newest_wins() -> None:
    book = make_book()
    first = run(book, req("pin", queue="phone", min=2))
    second = run(book, req("pin", queue="phone", max=9), now=NOW + 1, who="bob")
    assert second.reply.ok and second.removed == (first.accepted,)
    assert second.reply.removed == ("o1",)
    assert book.controls("main", NOW + 2, "auto").pins == (Pin("phone", None, 9),)


def test_unpin() -> None:
    book = make_book()
    run(book, req("pin", queue="phone", min=2))
    run(book, req("pin", queue="chat", min=1))
    out = run(book, req("unpin", "u", queue="phone"))
    assert out.reply.ok and out.reply.override_id is None and out.reply.removed == ("o1",)
    assert [o.override_id for o in out.removed] == ["o1"]
    assert book.controls("main", NOW, "auto").pins == (Pin("chat", 1, None),)
    assert_rejected(run(book, req("unpin", queue="phone")), "not_found")
    assert_rejected(run(book, req("unpin", queue="fax")), "unknown_queue")


def test_mode_permanent_and_ttl() -> None:
    book = make_book()
    out = run(book, req("mode", ttl=None, mode="manual"))
    assert out.reply.ok and out.reply.expires_at is None
    assert book.controls("main", NOW + 10 * MAX_TTL_S, "auto").mode == "manual"
    out = run(book, req("mode", ttl=60, mode="shadow"))
    assert out.removed[0].payload == ModeOverride("manual")
    assert book.controls("main", NOW + 59, "auto").mode == "shadow"
    assert book.controls("main", NOW + 60, "auto").mode == "auto"  # expired -> base mode
    assert_rejected(run(book, req("mode", mode="turbo")), "invalid")
    assert_rejected(run(book, req("mode")), "invalid")


@pytest.mark.parametrize("action", ["pin", "target", "lock_agent", "assign"])
def test_permanent_only_for_mode(action: str) -> None:
    fields = {
        "pin": {"queue": "phone", "min": 1},
        "target": {"queue": "phone", "sl_target": 0.9},
        "lock_agent": {"agent": "a1"},
        "assign": {"agent": "a1", "queue": "phone"},
    }
    assert_rejected(run(make_book(), req(action, ttl=None, **fields[action])), "invalid")


def test_ttl_bounds_and_explicit_ttl() -> None:
    book = make_book()
    assert_rejected(run(book, req("lock_agent", ttl=MAX_TTL_S + 1, agent="a1")), "invalid")
    out = run(book, req("lock_agent", ttl=120.5, agent="a1"))
    assert out.reply.expires_at == NOW + 120.5


def test_target() -> None:
    book = make_book()
    assert run(book, req("target", queue="phone", sl_target=0.9)).reply.ok
    assert run(book, req("target", queue="chat", target_s=30)).reply.ok
    goals = book.controls("main", NOW, "auto").goals
    assert goals == (GoalOverride("chat", None, 30.0), GoalOverride("phone", 0.9, None))
    assert_rejected(run(book, req("target", queue="phone")), "invalid")
    assert_rejected(run(book, req("target", queue="phone", sl_target=1.5)), "invalid")
    assert_rejected(run(book, req("target", queue="phone", target_s=0)), "invalid")
    assert_rejected(run(book, req("target", queue="fax", sl_target=0.5)), "unknown_queue")


def test_lock_unlock() -> None:
    book = make_book()
    run(book, req("lock_agent", agent="a1"))
    run(book, req("lock_agent", agent="a2"))
    assert book.controls("main", NOW, "auto").locked_agents == {"a1", "a2"}
    out = run(book, req("unlock_agent", agent="a1"))
    assert out.reply.ok and out.reply.removed == ("o1",)
    assert book.controls("main", NOW, "auto").locked_agents == {"a2"}
    assert_rejected(run(book, req("unlock_agent", agent="a1")), "not_found")
    assert_rejected(run(book, req("lock_agent")), "invalid")


@pytest.mark.parametrize("action", ["lock_agent", "unlock_agent", "assign"])
@pytest.mark.parametrize("agent", ["a/b", "+", "#", "a\x00"])
def test_an_agent_id_that_is_no_topic_level_is_invalid(action: str, agent: str) -> None:
    """No bridge can report such an agent: a lock of one would only take a slot."""
    extra = {"queue": "phone"} if action == "assign" else {}
    out = run(make_book(), req(action, agent=agent, **extra))
    assert_rejected(out, "invalid")
    assert "topic level" in (out.reply.message or "")


def test_assign_moves_and_locks() -> None:
    book = make_book()
    out = run(book, req("assign", "r9", agent="a17", queue="phone", reason="VIP backlog"))
    assert out.reply.ok and out.move is not None
    assert out.move.agent == "a17" and out.move.to_queue == "phone"
    assert out.move.after_current_contact is True
    assert "alice" in out.move.reason and "VIP backlog" in out.move.reason
    assert book.controls("main", NOW, "manual").locked_agents == {"a17"}
    # lock then assign: the assign replaces the plain lock
    out2 = run(book, req("assign", agent="a17", queue="chat", after_current_contact=False))
    assert out2.removed == (out.accepted,) and out2.move.after_current_contact is False
    assert_rejected(run(book, req("assign", agent="a17", queue="fax")), "unknown_queue")
    assert_rejected(
        run(book, req("assign", agent="a1", queue="chat", after_current_contact="yes")), "invalid"
    )


def test_assign_with_roster() -> None:
    roster = {"a1": AgentState("a1", NOW, "busy", "email", frozenset({"email", "phone"}))}
    book = make_book()
    out = run(book, req("assign", agent="a1", queue="phone"), agents=roster)
    assert out.move is not None and out.move.from_queue == "email"
    assert_rejected(
        run(book, req("assign", agent="zz", queue="phone"), agents=roster), "unknown_agent"
    )
    assert_rejected(run(book, req("assign", agent="a1", queue="chat"), agents=roster), "no_skill")
    there = run(book, req("assign", agent="a1", queue="email"), agents=roster)
    assert there.reply.ok and there.move is None  # already in email: lock only
    assert book.controls("main", NOW, "auto").locked_agents == {"a1"}


def test_replan() -> None:
    out = run(make_book(), req("replan", "r1"))
    assert out.reply.ok and out.replan and not out.changed
    assert out.reply.override_id is None and out.reply.expires_at is None


def test_cancel() -> None:
    book = make_book()
    run(book, req("pin", queue="phone", min=1))
    run(book, req("lock_agent", agent="a1"), site="other")
    assert_rejected(run(book, req("cancel", override_id="o2")), "not_found")  # other site
    out = run(book, req("cancel", override_id="o1"), who="bob")
    assert out.reply.ok and out.reply.override_id == "o1" and out.removed[0].supervisor == "alice"
    assert book.active("main", NOW) == []
    assert_rejected(run(book, req("cancel", override_id="o1")), "not_found")
    assert_rejected(run(book, req("cancel")), "invalid")


def test_unknown_action_and_malformed() -> None:
    book = make_book()
    assert_rejected(run(book, req("reboot", "x")), "unknown_action")
    out = run(book, MalformedRequest(id="m1", reason="not_json", message="bad"))
    assert_rejected(out, "invalid")
    assert out.reply.id == "m1" and "not_json" in (out.reply.message or "")
    out = run(book, MalformedRequest(id=None, reason="not_utf8"))
    assert out.reply.id is None and out.audit.actor == "alice"


def test_limit() -> None:
    book = make_book(max_per_site=3)
    for a in ("a1", "a2", "a3"):
        assert run(book, req("lock_agent", agent=a)).reply.ok
    assert_rejected(run(book, req("lock_agent", agent="a4")), "limit")
    assert run(book, req("lock_agent", agent="a1")).reply.ok  # replacement fits
    assert run(book, req("lock_agent", agent="a9"), site="other").reply.ok  # per site
    assert run(book, req("replan")).reply.ok  # non-creating actions are never limited


def test_duplicate_redelivery_and_conflict() -> None:
    book = make_book()
    first = run(book, req("pin", "r1", queue="phone", min=2))
    again = run(book, req("pin", "r1", queue="phone", min=2), now=NOW + 5)
    assert again.duplicate and again.reply == first.reply and not again.changed
    assert again.audit.payload["outcome"] == "duplicate"
    assert len(book.active("main", NOW + 5)) == 1
    clash = run(book, req("pin", "r1", queue="phone", min=3), now=NOW + 6)
    assert_rejected(clash, "conflict")
    assert run(book, req("pin", "r1", queue="phone", min=2), who="bob").reply.override_id == "o2"
    late = run(book, req("pin", "r1", queue="phone", min=3), now=NOW + DEDUP_WINDOW_S + 1)
    assert late.reply.ok and not late.duplicate


def test_expire_forgets_old_request_ids() -> None:
    book = make_book()
    run(book, req("replan", "r1"))
    book.expire(NOW + DEDUP_WINDOW_S / 2)
    assert run(book, req("pin", "r1", queue="phone", min=1), now=NOW + 1).reply.code == "conflict"
    book.expire(NOW + DEDUP_WINDOW_S + 2)
    out = run(book, req("pin", "r1", queue="phone", min=1), now=NOW + 2)
    assert out.reply.ok  # the old id was forgotten by expire()


def test_expire_and_expiry_audit() -> None:
    book = make_book()
    run(book, req("lock_agent", ttl=10, agent="a1"))
    run(book, req("mode", ttl=None, mode="shadow"))
    assert book.expire(NOW + 9) == []
    gone = book.expire(NOW + 10)
    assert [o.override_id for o in gone] == ["o1"]
    assert [o.override_id for o in book.active("main", NOW + 10**9)] == ["o2"]
    rec = expiry_audit(gone[0], NOW + 10)
    assert rec.kind == "override_expired" and rec.actor == "system"
    assert rec.payload["override_id"] == "o1"


def test_records_roundtrip() -> None:
    book = make_book()
    run(book, req("pin", queue="phone", min=2, max=4))
    run(book, req("mode", ttl=None, mode="manual"), site="s2")
    run(book, req("assign", agent="a1", queue="chat"))
    records = json.loads(json.dumps(book.to_records()))
    clone = OverrideBook.from_records(records)
    for site in ("main", "s2"):
        assert clone.active(site, NOW) == book.active(site, NOW)
        assert clone.controls(site, NOW, "auto") == book.controls(site, NOW, "auto")
    with pytest.raises(ValueError):
        OverrideBook.from_records([{"override_id": "x"}])
    with pytest.raises(ValueError):
        OverrideBook.from_records([{**records[0], "action": "explode"}])


def test_default_ids_unique() -> None:
    book = OverrideBook()
    ids = {run(book, req("lock_agent", agent=f"a{i}")).reply.override_id for i in range(200)}
    assert len(ids) == 200


_values = (
    st.none()
    | st.booleans()
    | st.integers(-5, 10)
    | st.floats(-1, 2)
    | st.text(max_size=6)
    | st.sampled_from(["phone", "chat", "a1", "auto", "manual", "o1"])
)
_fields = st.dictionaries(
    st.sampled_from(
        [
            "queue",
            "min",
            "max",
            "mode",
            "agent",
            "sl_target",
            "target_s",
            "override_id",
            "after_current_contact",
            "junk",
        ]
    ),
    _values,
    max_size=4,
)
_actions = st.sampled_from(
    [
        "pin",
        "unpin",
        "mode",
        "target",
        "lock_agent",
        "unlock_agent",
        "assign",
        "replan",
        "cancel",
        "bogus",
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            _actions,
            _fields,
            st.sampled_from(["absent", None, 60.0]),
            st.sampled_from([None, "r1", "r2", 3]),
        ),
        max_size=12,
    )
)
def test_any_request_sequence_gives_one_reply_each(steps: list) -> None:
    book = make_book(max_per_site=4)
    for i, (action, fields, ttl, rid) in enumerate(steps):
        out = run(book, req(action, rid, ttl, **fields), now=NOW + i)
        assert out.reply.id == rid
        assert out.reply.ok == (out.reply.code is None)
        assert out.audit.payload["outcome"] in {"accepted", "rejected", "duplicate"}
        json.dumps(out.audit.payload)
        assert book.count("main", NOW + i) <= 4
        ctl = book.controls("main", NOW + i, "auto")
        assert len({p.queue for p in ctl.pins}) == len(ctl.pins)
        for p in ctl.pins:
            assert p.min is None or p.max is None or p.min <= p.max


def test_clock_not_started_is_unavailable_not_a_crash() -> None:
    book = make_book()
    out = run(book, req("pin", "r", queue="phone", min=1), now=float("-inf"))
    assert_rejected(out, "unavailable")
    assert out.reply.id == "r" and book.active("main", NOW) == []


def test_expire_one_site_leaves_the_others() -> None:
    """Event clock (issue 14 item 12): each site expires on its own clock."""
    book = make_book()
    run(book, req("lock_agent", ttl=10, agent="a1"), site="main")
    run(book, req("lock_agent", ttl=10, agent="a1"), site="quiet")
    assert [o.site for o in book.expire(NOW + 10, "main")] == ["main"]
    assert book.count("quiet", NOW) == 1
    assert [o.site for o in book.expire(NOW + 10)] == ["quiet"]


def test_revert_undoes_an_outcome_whose_write_failed() -> None:
    """Issue 14 item 2: the replaced override comes back, the new one goes, and the
    request id may be retried (a redelivery's revert keeps the original reply)."""
    book = make_book()
    first = run(book, req("pin", "r1", queue="phone", min=1))
    second = run(book, req("pin", "r2", queue="phone", min=2))
    assert second.removed == (first.accepted,)
    book.revert("main", "alice", "r2", second)
    assert book.active("main", NOW) == [first.accepted]
    assert run(book, req("pin", "r2", queue="phone", min=2)).reply.ok  # handled anew
    dup = run(book, req("pin", "r1", queue="phone", min=1))
    assert dup.duplicate
    book.revert("main", "alice", "r1", dup)
    assert run(book, req("pin", "r1", queue="phone", min=1)).duplicate
