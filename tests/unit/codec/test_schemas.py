"""The shipped JSON Schemas against the codec, both ways.

* The files in ``staffer/schemas`` are what ``python -m staffer.codec.schemas`` generates.
* Near-valid payloads (valid ones, then mutated: a key dropped, a value replaced by any JSON
  value): whatever the daemon's decoder accepts validates against the schema, i.e. whatever
  the schema rejects the decoder rejects. Both outcomes are exercised.
* Whatever the daemon's encoders produce validates against the outbound schemas.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from staffer import schemas
from staffer.codec import payloads
from staffer.codec.bridge_payloads import decode_command, decode_plan
from staffer.codec.schemas import SCHEMA_DIR, build, render
from staffer.codec.timefmt import format_ts
from staffer.core.types import (
    AgentLock,
    Assignment,
    GoalOverride,
    ModeOverride,
    Move,
    Override,
    OverrideReply,
    Pin,
    Plan,
    QueuePlan,
)
from staffer.vocabulary import MODES

BUILT = build()


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.load(name), format_checker=FormatChecker())


def test_shipped_schemas_are_up_to_date() -> None:
    shipped = {p.stem for p in SCHEMA_DIR.glob("*.json")}
    assert shipped == set(BUILT) == set(schemas.NAMES)
    for stem, schema in BUILT.items():
        text = (SCHEMA_DIR / f"{stem}.json").read_text(encoding="utf-8")
        assert text == render(schema), f"{stem}.json is stale: run python -m staffer.codec.schemas"


@pytest.mark.parametrize("name", schemas.NAMES)
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(schemas.load(name))
    assert schemas.load(name)["title"]


# -- strategies ------------------------------------------------------------------------------

_ts = st.floats(0, 7.2e9).map(format_ts) | st.sampled_from(
    ["2026-11-22T11:15:00+01:00", "2026-11-22t10:15:00.5z", "2026-12-31T23:59:60Z"]
)
_count = st.integers(0, 10**9)
_secs = st.floats(0, 1e9) | st.integers(0, 10**6)
_ident = st.text(min_size=1, max_size=12)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | _ts,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _body(ts: bool) -> st.SearchStrategy[dict[str, Any]]:
    required = {
        "interval_s": st.floats(1e-3, 86400) | st.integers(1, 86400),
        "offered": _count,
        "waiting": _count,
    }
    optional = {
        k: _opt(_count) for k in ("answered", "abandoned", "answered_within_target", "backlog")
    }
    optional |= {k: _opt(_secs) for k in ("aht_s", "oldest_wait_s", "oldest_age_s")}
    optional["extra"] = _json
    return st.fixed_dictionaries({**required, **({"ts": _ts} if ts else {})}, optional=optional)


NEAR_VALID: dict[str, tuple[st.SearchStrategy[dict[str, Any]], Callable[[bytes], object]]] = {
    "queue_snapshot": (_body(ts=True), payloads.decode_queue_snapshot),
    "site_snapshot": (
        st.fixed_dictionaries(
            {"ts": _ts, "queues": st.dictionaries(_ident, _body(ts=False), max_size=3)}
        ),
        payloads.decode_site_snapshot,
    ),
    "agent_state": (
        st.fixed_dictionaries(
            {
                "ts": _ts,
                "status": st.sampled_from(["available", "busy", "wrap_up", "break", "offline"]),
            },
            optional={
                "queue": _opt(_ident),
                "skills": _opt(st.lists(_ident, max_size=4)),
                "available_until": _opt(_ts),
                "note": _json,
            },
        ),
        lambda b: payloads.decode_agent_state("a1", b),
    ),
    "move_ack": (
        st.fixed_dictionaries(
            {
                "ts": _ts,
                "command_id": _ident,
                "to": _ident,
                "status": st.sampled_from(["accepted", "rejected", "done"]),
            },
            optional={"reason": _opt(st.text(max_size=20))},
        ),
        lambda b: payloads.decode_move_ack("a1", b),
    ),
    "override_request": (
        st.fixed_dictionaries(
            {"action": st.text(min_size=1, max_size=10)},
            optional={
                "id": _opt(_ident | st.integers(-(2**62), 2**62)),
                "ttl_s": _opt(st.floats(1e-3, 1e6)),
                "reason": _opt(st.text(max_size=9)),
                "queue": _ident,
                "min": st.integers(0, 9),
            },
        ),
        payloads.decode_override_request,
    ),
    "command": (
        st.fixed_dictionaries(
            {
                "command_id": _ident,
                "plan_id": _opt(_ident),
                "site": _ident,
                "ts": _ts,
                "mode": st.sampled_from(["auto", "assign"]),
                "moves": st.lists(
                    st.fixed_dictionaries(
                        {"agent": _ident, "from": _opt(_ident), "to": _ident},
                        optional={
                            "after_current_contact": st.booleans(),
                            "reason": st.text(max_size=9),
                            "proposal_id": _ident,
                        },
                    ),
                    max_size=3,
                ),
            },
        ),
        decode_command,
    ),
}


def _mutate(obj: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Zero to two mutations, at the top level or one level down."""
    out = json.loads(json.dumps(obj))
    for _ in range(data.draw(st.integers(0, 2))):
        target = out
        nested = [v for v in out.values() if isinstance(v, dict) and v]
        if nested and data.draw(st.booleans()):
            target = data.draw(st.sampled_from(nested))
        if not target:
            continue
        key = data.draw(st.sampled_from(sorted(target)))
        if data.draw(st.booleans()):
            del target[key]
        else:
            target[key] = data.draw(_json)
    return out


def _accepted(decode: Callable[[bytes], object], raw: bytes) -> bool:
    try:
        decode(raw)
    except payloads.PayloadError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(NEAR_VALID))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_what_the_codec_accepts_the_schema_accepts(name: str, data: st.DataObject) -> None:
    strategy, decode = NEAR_VALID[name]
    obj = _mutate(data.draw(strategy), data)
    raw = json.dumps(obj).encode()
    codec_ok = _accepted(decode, raw)
    schema_ok = validator(name).is_valid(json.loads(raw))
    verdict = {True: "accepts", False: "rejects"}
    event(f"codec {verdict[codec_ok]}, schema {verdict[schema_ok]}")
    assert schema_ok or not codec_ok, f"the codec accepts but the schema rejects: {obj}"


@pytest.mark.parametrize(
    ("name", "obj"),
    [
        (
            "queue_snapshot",
            {"ts": "2026-11-22T10:15:00", "interval_s": 60, "offered": 1, "waiting": 0},
        ),
        (
            "queue_snapshot",
            {"ts": "2026-11-22T10:15:00Z", "interval_s": 60, "offered": -1, "waiting": 0},
        ),
        (
            "queue_snapshot",
            {"ts": "2026-11-22T10:15:00Z", "interval_s": 60, "offered": True, "waiting": 0},
        ),
        ("agent_state", {"ts": "2026-11-22T10:15:00Z", "status": "idle"}),
        (
            "site_snapshot",
            {
                "ts": "2026-11-22T10:15:00Z",
                "queues": {"a/b": {"interval_s": 1, "offered": 0, "waiting": 0}},
            },
        ),
        (
            "move_ack",
            {"ts": "2026-11-22T10:15:00Z", "command_id": "c", "to": "phone", "status": "ok"},
        ),
        ("override_request", {"id": True, "action": "pin"}),
        (
            "command",
            {
                "command_id": 5,
                "plan_id": None,
                "site": "m",
                "ts": "2026-11-22T10:15:00Z",
                "mode": "auto",
                "moves": [],
            },
        ),
    ],
)
def test_both_reject_typical_mistakes(name: str, obj: dict[str, Any]) -> None:
    assert not validator(name).is_valid(obj)
    assert not _accepted(NEAR_VALID[name][1], json.dumps(obj).encode())


def test_known_looseness_is_only_what_json_schema_cannot_say() -> None:
    """Accepted by the schema, rejected by the daemon (documented in the guide)."""
    five = {"ts": "2026-11-22T10:15:00Z", "interval_s": 60, "offered": 5.0, "waiting": 0}
    over = {
        "ts": "2026-11-22T10:15:00Z",
        "interval_s": 60,
        "offered": 5,
        "waiting": 0,
        "answered": 1,
        "answered_within_target": 2,
    }
    for obj in (five, over):
        assert validator("queue_snapshot").is_valid(obj)
        assert not _accepted(payloads.decode_queue_snapshot, json.dumps(obj).encode())


# -- outbound: the encoders' output validates ---------------------------------------------------

_fin = st.floats(-1e6, 1e6) | st.sampled_from([math.inf, math.nan])
_ratio = st.floats(0, 1) | st.sampled_from([math.nan])
_move = st.builds(Move, _ident, _opt(_ident), _ident, st.text(max_size=30), st.booleans())
_qplan = st.builds(
    QueuePlan,
    st.sampled_from(["voice", "chat", "email"]),
    _fin,
    _fin,
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    _ratio,
    _fin,
    _ratio,
    st.floats(0, 1),
    st.floats(1, 9e4),
)


@settings(max_examples=100, deadline=None)
@given(
    moves=st.lists(_move, max_size=4),
    plan_id=_opt(_ident),
    ts=st.floats(0, 7.2e9),
    queues=st.dictionaries(_ident, _qplan, max_size=3),
)
def test_encoded_commands_and_plans_validate(moves, plan_id, ts, queues) -> None:
    command = json.loads(payloads.encode_command("c-1", plan_id, "main", ts, "auto", moves))
    assert validator("command").is_valid(command)
    assert decode_command(json.dumps(command).encode()).moves == tuple(moves)
    plan = Plan("p-1", "main", ts, "auto", queues, tuple(moves))
    body = payloads.encode_plan(plan)
    assert validator("plan").is_valid(json.loads(body))
    assert decode_plan(body).moves == len(moves)


@settings(max_examples=100, deadline=None)
@given(
    ok=st.booleans(),
    rid=_opt(_ident | st.integers(-(2**62), 2**62)),
    until=_opt(st.floats(0, 7.2e9)),
    payload=st.one_of(
        st.builds(Pin, _ident, _opt(st.integers(0, 9)), _opt(st.integers(0, 9))),
        st.builds(GoalOverride, _ident, _opt(st.floats(0, 1)), _opt(st.floats(1, 600))),
        st.builds(ModeOverride, st.sampled_from(MODES)),
        st.builds(AgentLock, _ident),
        st.builds(Assignment, _ident, _ident),
    ),
)
def test_encoded_replies_overrides_and_status_validate(ok, rid, until, payload) -> None:
    reply = OverrideReply(rid, ok, "ov-1" if ok else None, until, None if ok else "invalid", "m")
    assert validator("override_reply").is_valid(json.loads(payloads.encode_reply(reply)))
    ov = Override("ov-1", "main", "alice", payload, 1.8e9, until, "why")
    assert validator("overrides").is_valid(json.loads(payloads.encode_overrides([ov, ov])))
    status = payloads.encode_status(
        ok, "0.1.0", ts=until, sites=["main"], shard_index=0, shard_count=1
    )
    assert validator("status").is_valid(json.loads(status))
