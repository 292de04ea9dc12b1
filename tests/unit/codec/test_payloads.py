"""Inbound decoders (strictness, reason codes) and outbound encoders (shapes, JSON validity)."""

import json
import math

import pytest

from staffer.codec.payloads import (
    MAX_PAYLOAD_BYTES,
    PayloadError,
    decode_agent_state,
    decode_override_request,
    decode_override_request_or_error,
    decode_queue_snapshot,
    decode_site_snapshot,
    encode_command,
    encode_overrides,
    encode_plan,
    encode_reply,
    encode_status,
)
from staffer.codec.timefmt import parse_ts
from staffer.core.types import (
    AgentLock,
    MalformedRequest,
    ModeOverride,
    Move,
    Override,
    OverrideReply,
    OverrideRequest,
    Pin,
    Plan,
    QueuePlan,
)

T0 = 1795342500.0
TS = "2026-11-22T10:15:00Z"


def _b(obj: object) -> bytes:
    return json.dumps(obj).encode()


def _snap(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"ts": TS, "interval_s": 60, "offered": 12, "waiting": 3}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


def _nest(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def _reason(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(PayloadError) as info:
        fn(*args)
    return info.value.reason


def test_queue_snapshot_full() -> None:
    snap = decode_queue_snapshot(
        _b(
            _snap(
                answered=10,
                abandoned=1,
                answered_within_target=8,
                aht_s=241.5,
                oldest_wait_s=33,
                backlog=0,
                oldest_age_s=0.0,
                unknown_field={"nested": [1, 2]},
            )
        )
    )
    assert snap.ts == T0
    assert snap.interval_s == 60.0 and isinstance(snap.interval_s, float)
    assert (snap.offered, snap.waiting, snap.answered, snap.abandoned) == (12, 3, 10, 1)
    assert snap.answered_within_target == 8
    assert snap.aht_s == 241.5
    assert snap.oldest_wait_s == 33.0 and isinstance(snap.oldest_wait_s, float)


def test_queue_snapshot_minimal_optional_none() -> None:
    snap = decode_queue_snapshot(_b(_snap()))
    assert snap.answered is None and snap.aht_s is None and snap.backlog is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not_utf8"),
        (b"{", "not_json"),
        (b"", "not_json"),
        (b"[1, 2]", "not_object"),
        (b"42", "not_object"),
        (b'{"ts": NaN}', "not_finite"),
        (b'{"ts": Infinity}', "not_finite"),
        (b'{"ts": "x", "offered": 1e400}', "not_finite"),
        (b"[" * 3000 + b"]" * 3000, "too_deep"),
        (_b({"a": _nest(20)}), "too_deep"),
        (_b(_snap(offered=...)), "missing_field:offered"),
        (_b(_snap(interval_s=...)), "missing_field:interval_s"),
        (_b(_snap(ts=...)), "missing_field:ts"),
        (_b(_snap(waiting=-1)), "negative:waiting"),
        (_b(_snap(aht_s=-0.5)), "negative:aht_s"),
        (_b(_snap(offered=True)), "bad_type:offered"),
        (_b(_snap(offered=1.0)), "bad_type:offered"),
        (_b(_snap(offered="3")), "bad_type:offered"),
        (_b(_snap(aht_s="3")), "bad_type:aht_s"),
        (_b(_snap(aht_s=True)), "bad_type:aht_s"),
        (_b(_snap(interval_s=0)), "out_of_range:interval_s"),
        (_b(_snap(offered=10**12)), "out_of_range:offered"),
        (_b(_snap(ts="2026-11-22T10:15:00")), "bad_ts"),
        (_b(_snap(ts=1795342500)), "bad_type:ts"),
        (_b(_snap(answered=3, answered_within_target=4)), "inconsistent:answered_within_target"),
    ],
)
def test_queue_snapshot_rejects(payload: bytes, reason: str) -> None:
    assert _reason(decode_queue_snapshot, payload) == reason


def test_too_large() -> None:
    big = b'{"pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}'
    assert _reason(decode_queue_snapshot, big) == "too_large"


def test_huge_integer_is_not_json_not_crash() -> None:
    assert _reason(decode_queue_snapshot, b'{"offered": ' + b"9" * 5000 + b"}") == "not_json"


def test_site_snapshot() -> None:
    ts, queues = decode_site_snapshot(
        _b(
            {
                "ts": "2026-11-22T11:15:00+01:00",
                "queues": {
                    "phone": {"interval_s": 60, "offered": 5, "waiting": 1, "ts": "ignored"},
                    "email": {
                        "interval_s": 60,
                        "offered": 2,
                        "waiting": 0,
                        "backlog": 40,
                        "oldest_age_s": 3600,
                    },
                },
            }
        )
    )
    assert ts == T0
    assert set(queues) == {"phone", "email"}
    assert all(s.ts == T0 for s in queues.values())
    assert queues["email"].backlog == 40


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"queues": {}}, "missing_field:ts"),
        ({"ts": TS}, "missing_field:queues"),
        ({"ts": TS, "queues": []}, "bad_type:queues"),
        ({"ts": TS, "queues": {"phone": 3}}, "bad_type:queue"),
        ({"ts": TS, "queues": {"": {"interval_s": 1, "offered": 0, "waiting": 0}}}, "bad_queue_id"),
        (
            {"ts": TS, "queues": {"phone": {"interval_s": 60, "offered": 1, "waiting": -2}}},
            "negative:waiting",
        ),
        (
            {"ts": TS, "queues": {"phone": {"interval_s": 60, "waiting": 0}}},
            "missing_field:offered",
        ),
        ({"ts": "yesterday", "queues": {}}, "bad_ts"),
    ],
)
def test_site_snapshot_rejects(obj: object, reason: str) -> None:
    assert _reason(decode_site_snapshot, _b(obj)) == reason


def test_site_snapshot_reason_does_not_leak_queue_id() -> None:
    with pytest.raises(PayloadError) as info:
        decode_site_snapshot(
            _b({"ts": TS, "queues": {"secret-q": {"interval_s": 60, "offered": "x", "waiting": 0}}})
        )
    assert info.value.reason == "bad_type:offered"
    assert "secret-q" in info.value.detail


def test_agent_state() -> None:
    st = decode_agent_state(
        "a17",
        _b({"ts": TS, "status": "busy", "queue": "phone", "skills": ["phone", "chat", "phone"]}),
    )
    assert (st.agent, st.ts, st.status, st.queue) == ("a17", T0, "busy", "phone")
    assert st.skills == frozenset({"phone", "chat"})
    assert st.staffed


def test_agent_state_defaults() -> None:
    st = decode_agent_state("a1", _b({"ts": TS, "status": "break", "queue": "chat"}))
    assert st.skills == frozenset({"chat"}) and not st.staffed
    st = decode_agent_state("a1", _b({"ts": TS, "status": "offline", "queue": None}))
    assert st.queue is None and st.skills == frozenset()
    assert st.available_until is None


def test_agent_state_available_until() -> None:
    """Contract §11: when the agent leaves for a break or the end of the shift."""
    st = decode_agent_state(
        "a1",
        _b(
            {"ts": TS, "status": "busy", "queue": "chat", "available_until": "2026-11-22T12:00:00Z"}
        ),
    )
    assert st.available_until == parse_ts("2026-11-22T12:00:00Z")
    bad = {"ts": TS, "status": "busy", "available_until": "noon"}
    assert _reason(decode_agent_state, "a1", _b(bad)) == "bad_ts"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"ts": TS, "status": "lunch"}, "bad_value:status"),
        ({"ts": TS}, "missing_field:status"),
        ({"status": "busy"}, "missing_field:ts"),
        ({"ts": TS, "status": "busy", "queue": 3}, "bad_type:queue"),
        ({"ts": TS, "status": "busy", "queue": ""}, "bad_length:queue"),
        ({"ts": TS, "status": "busy", "skills": "phone"}, "bad_type:skills"),
        ({"ts": TS, "status": "busy", "skills": [1]}, "bad_type:skills"),
    ],
)
def test_agent_state_rejects(obj: object, reason: str) -> None:
    assert _reason(decode_agent_state, "a1", _b(obj)) == reason


def test_override_request() -> None:
    req = decode_override_request(
        _b(
            {
                "id": "r1",
                "action": "pin",
                "queue": "phone",
                "min": 3,
                "max": 5,
                "ttl_s": 600,
                "reason": "surge",
            }
        )
    )
    assert req == OverrideRequest(
        id="r1",
        action="pin",
        fields={"queue": "phone", "min": 3, "max": 5},
        ttl_s=600.0,
        ttl_given=True,
        reason="surge",
    )
    req = decode_override_request(_b({"id": 7, "action": "mode", "mode": "manual", "ttl_s": None}))
    assert req.id == 7 and req.ttl_given and req.ttl_s is None
    req = decode_override_request(_b({"action": "replan"}))
    assert req.id is None and not req.ttl_given and req.reason == ""


@pytest.mark.parametrize(
    ("payload", "reason", "rid"),
    [
        (b"nope", "not_json", None),
        (_b({"id": "r2"}), "missing_field:action", "r2"),
        (_b({"id": "r2", "action": 1}), "bad_type:action", "r2"),
        (_b({"id": "r2", "action": "pin", "ttl_s": -1}), "out_of_range:ttl_s", "r2"),
        (_b({"id": "r2", "action": "pin", "ttl_s": "1h"}), "bad_type:ttl_s", "r2"),
        (_b({"id": "r2", "action": "pin", "ttl_s": True}), "bad_type:ttl_s", "r2"),
        (_b({"id": "r2", "action": "pin", "reason": 5}), "bad_type:reason", "r2"),
        (_b({"id": [1], "action": "pin"}), "bad_type:id", None),
        (_b({"id": True, "action": "pin"}), "bad_type:id", None),
        (_b({"id": "x" * 300, "action": "pin"}), "bad_length:id", None),
    ],
)
def test_override_request_rejects(payload: bytes, reason: str, rid: object) -> None:
    with pytest.raises(PayloadError) as info:
        decode_override_request(payload)
    assert info.value.reason == reason
    assert info.value.request_id == rid
    out = decode_override_request_or_error(payload)
    assert out == MalformedRequest(id=rid, reason=reason, message=info.value.detail)


def _plan() -> Plan:
    q = QueuePlan(
        channel="voice",
        forecast_arrival_rate=0.07,
        forecast_aht_s=240.0,
        assigned=20,
        target=23,
        required=22,
        predicted_service_level=0.81,
        predicted_asa_s=math.inf,
        predicted_abandon_ratio=math.nan,
        sl_target=0.8,
        target_s=20.0,
    )
    moves = (
        Move("a1", "email", "phone", "phone SL 0.52 -> 0.81"),
        Move("a2", None, "phone", "x", after_current_contact=False),
    )
    return Plan(plan_id="p1", site="main", as_of=T0, mode="auto", queues={"phone": q}, moves=moves)


def test_encode_plan_contract_shape() -> None:
    raw = encode_plan(_plan())
    assert b" " not in raw  # compact
    obj = json.loads(raw, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert obj["plan_id"] == "p1" and obj["site"] == "main" and obj["mode"] == "auto"
    assert obj["as_of"] == TS
    assert obj["moves"] == 2
    phone = obj["queues"]["phone"]
    assert set(phone) == {
        "channel",
        "forecast_arrival_rate",
        "forecast_aht_s",
        "assigned",
        "target",
        "required",
        "predicted_service_level",
        "predicted_asa_s",
        "predicted_abandon_ratio",
        "sl_target",
        "target_s",
        "observed_service_level",
        "waiting",
        "data_age_s",
        "stale",
    }
    assert phone["observed_service_level"] is None and phone["waiting"] is None
    assert phone["data_age_s"] is None and phone["stale"] is False
    assert phone["predicted_asa_s"] is None and phone["predicted_abandon_ratio"] is None
    assert phone["target"] == 23 and phone["predicted_service_level"] == 0.81


def test_encode_command() -> None:
    obj = json.loads(
        encode_command("main-00000001-ab", "p1", "main", T0 + 0.5, "auto", _plan().moves)
    )
    assert obj == {
        "command_id": "main-00000001-ab",
        "plan_id": "p1",
        "site": "main",
        "ts": "2026-11-22T10:15:00.5Z",
        "mode": "auto",
        "moves": [
            {
                "agent": "a1",
                "from": "email",
                "to": "phone",
                "after_current_contact": True,
                "reason": "phone SL 0.52 -> 0.81",
            },
            {
                "agent": "a2",
                "from": None,
                "to": "phone",
                "after_current_contact": False,
                "reason": "x",
            },
        ],
    }


def test_encode_reply_ok_and_error() -> None:
    ok = json.loads(encode_reply(OverrideReply(id="r1", ok=True, override_id="o1", expires_at=T0)))
    assert ok == {"id": "r1", "ok": True, "override_id": "o1", "expires_at": TS}
    perm = json.loads(encode_reply(OverrideReply(id=None, ok=True, removed=("o1", "o2"))))
    assert perm == {
        "id": None,
        "ok": True,
        "override_id": None,
        "expires_at": None,
        "removed": ["o1", "o2"],
    }
    err = json.loads(
        encode_reply(OverrideReply(id=3, ok=False, code="conflict", message="min > max"))
    )
    assert err == {"id": 3, "ok": False, "error": {"code": "conflict", "message": "min > max"}}


def test_encode_overrides_sorted_and_flattened() -> None:
    a = Override("o2", "main", "bob", Pin("phone", min=2), created_at=T0 + 10, reason="r")
    b = Override("o1", "main", "alice", AgentLock("a1"), created_at=T0, expires_at=T0 + 60)
    arr = json.loads(encode_overrides([a, b]))
    assert [o["override_id"] for o in arr] == ["o1", "o2"]
    assert arr[1] == {
        "override_id": "o2",
        "site": "main",
        "supervisor": "bob",
        "action": "pin",
        "queue": "phone",
        "min": 2,
        "created_at": "2026-11-22T10:15:10Z",
        "expires_at": None,
        "reason": "r",
    }
    assert json.loads(encode_overrides([])) == []


def test_encode_status() -> None:
    assert json.loads(encode_status(False)) == {"status": "offline"}
    obj = json.loads(
        encode_status(True, "0.1.0", ts=T0, sites=["main"], shard_index=0, shard_count=2)
    )
    assert obj == {
        "status": "online",
        "version": "0.1.0",
        "ts": TS,
        "sites": ["main"],
        "shard_index": 0,
        "shard_count": 2,
    }


def test_non_ascii_is_utf8_not_escaped() -> None:
    raw = encode_reply(OverrideReply(id="é", ok=False, code="invalid", message="ünïcode"))
    assert "ünïcode".encode() in raw


def test_reply_and_overrides_always_encode_even_with_bad_times() -> None:
    raw = encode_reply(OverrideReply(id="r", ok=True, override_id="o", expires_at=math.inf))
    assert json.loads(raw)["expires_at"] is None
    ov = Override("o", "main", "a", ModeOverride("auto"), created_at=math.nan)
    assert json.loads(encode_overrides([ov]))[0]["created_at"] is None


def test_encode_plan_accepts_numpy_scalars() -> None:
    import numpy as np  # a hard dependency of staffer

    q = QueuePlan(
        channel="chat",
        forecast_arrival_rate=np.float64(0.5),
        forecast_aht_s=300.0,
        assigned=np.int64(4),
        target=np.int64(5),
        required=np.int64(5),
        predicted_service_level=np.float64(0.9),
        predicted_asa_s=np.float64(np.inf),
        predicted_abandon_ratio=np.float64(0.0),
        sl_target=0.8,
        target_s=60.0,
    )
    obj = json.loads(encode_plan(Plan("p", "main", T0, "shadow", {"chat": q})))
    assert obj["queues"]["chat"]["target"] == 5 and obj["queues"]["chat"]["predicted_asa_s"] is None


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id": "\\ud800", "action": "pin"}',
        b'{"\\udfff": 1, "action": "pin"}',
        b'{"action": "pin", "reason": ["ok", "\\udc00"]}',
    ],
)
def test_lone_surrogate_escapes_are_rejected(payload: bytes) -> None:
    assert _reason(decode_override_request, payload) == "not_utf8"


def test_encoders_survive_unencodable_text() -> None:
    raw = encode_reply(OverrideReply(id="\ud800", ok=False, code="invalid", message="m"))
    assert json.loads(raw)["id"] == "\ud800"
    raw.decode("ascii")  # fell back to ASCII escapes: still valid UTF-8 JSON
