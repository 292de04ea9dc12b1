"""staffer.bridge refuses, before publishing, every payload the daemon's codec would reject,
with the daemon's own reason code; what it accepts the daemon decodes back unchanged."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from staffer.bridge import Bridge, BridgePayloadError, Command, Move
from staffer.codec import payloads

NOW = time.time()
CMD = Command("main-1-abc", "p1", "main", NOW, "auto", (Move("a1", "email", "phone", "why"),))


@pytest.fixture
def bridge() -> Bridge:
    """Never connected: anything that passed validation would be held, not sent."""
    return Bridge("mqtt://127.0.0.1:1", "main", connect_timeout_s=None)


def held(b: Bridge) -> list[tuple[str, bytes]]:
    return [(t, p) for t, p, *_ in b._port._out.held]


Q = {"interval_s": 60, "offered": 5, "waiting": 1}


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda b: b.queue_snapshot("phone", **{**Q, "offered": -1}), "negative:offered"),
        (lambda b: b.queue_snapshot("phone", **{**Q, "offered": True}), "bad_type:offered"),
        (lambda b: b.queue_snapshot("phone", **{**Q, "waiting": 1.5}), "bad_type:waiting"),
        (lambda b: b.queue_snapshot("phone", **{**Q, "interval_s": 0}), "out_of_range:interval_s"),
        (lambda b: b.queue_snapshot("phone", **Q, aht_s=math.nan), "not_finite"),
        (
            lambda b: b.queue_snapshot("phone", **Q, answered=2, answered_within_target=3),
            "inconsistent:answered_within_target",
        ),
        (lambda b: b.queue_snapshot("ph/one", **Q), "bad_topic"),
        (lambda b: b.queue_snapshot("phone", **Q, ts=datetime(2026, 1, 1)), "bad_ts"),
        (lambda b: b.queue_snapshot("phone", **Q, ts=NOW + 3600), "future_ts"),
        (lambda b: b.queue_snapshot("phone", **Q, ts=-1e12), "bad_ts"),
        (lambda b: b.site_snapshot({"phone": {**Q, "offerred": 3}}), "unknown_field"),
        (
            lambda b: b.site_snapshot({"phone": {"interval_s": 60, "waiting": 0}}),
            "missing_field:offered",
        ),
        (lambda b: b.site_snapshot({"": Q}), "bad_queue_id"),
        (lambda b: b.site_snapshot({f"q{i}": Q for i in range(1001)}), "too_many_queues"),
        (lambda b: b.agent_state("a1", status="lunch"), "bad_value:status"),  # type: ignore[arg-type]
        (lambda b: b.agent_state("a1", status="busy", skills="phone"), "bad_type:skills"),
        (lambda b: b.agent_state("a1", status="busy", queue=""), "bad_length:queue"),
        (lambda b: b.agent_state("a+1", status="busy"), "bad_topic"),
        (lambda b: b.ack(CMD, CMD.moves[0], "ok"), "bad_value:status"),  # type: ignore[arg-type]
        (lambda b: b.ack(CMD, CMD.moves[0], "rejected", "x" * 1001), "bad_length:reason"),
        (lambda b: b.ack(CMD, Move("a2", None, "phone", ""), "done"), "unknown_command"),
        # wrong-typed arguments: refused like any payload, never a raw TypeError
        (lambda b: b.site_snapshot({"phone": 5}), "bad_type:queue"),
        (lambda b: b.site_snapshot({"phone": [Q]}), "bad_type:queue"),
        (lambda b: b.site_snapshot({"phone": {1: 2}}), "bad_type:queue"),
        (lambda b: b.site_snapshot([Q]), "bad_type:queues"),
        (lambda b: b.site_snapshot(None), "bad_type:queues"),
        (lambda b: b.site_snapshot({5: Q}), "bad_queue_id"),
        (lambda b: b.agent_state("a1", status="busy", skills=5), "bad_type:skills"),
        (lambda b: b.agent_state("a1", status="busy", skills=["phone", 1]), "bad_type:skills"),
        (lambda b: b.agent_state(5, status="busy"), "bad_topic"),
        (lambda b: b.queue_snapshot(None, **Q), "bad_topic"),
        (lambda b: b.queue_snapshot("phone", **{**Q, "offered": [1]}), "bad_type:offered"),
        (lambda b: b.queue_snapshot("phone", **{**Q, "aht_s": object()}), "bad_type"),
        (lambda b: b.ack("main-1-abc", CMD.moves[0], "done"), "bad_type"),
        (lambda b: b.ack(CMD, None, "done"), "bad_type"),
        (lambda b: b.ack(CMD, CMD.moves[0], 5), "bad_type:status"),
        (lambda b: b.ack(CMD, CMD.moves[0], "rejected", b"no licence"), "bad_type:reason"),
    ],
)
async def test_refused_before_publishing(bridge: Bridge, call: Any, reason: str) -> None:
    with pytest.raises(BridgePayloadError) as err:
        await call(bridge)
    assert err.value.reason == reason
    assert err.value.topic.startswith("staffer/main/")
    assert reason in str(err.value)
    assert held(bridge) == []


async def test_too_large_for_the_daemon(bridge: Bridge) -> None:
    with pytest.raises(BridgePayloadError, match="too_large"):
        await bridge.agent_state("a1", status="busy", skills=[f"q{i:05d}" for i in range(900)] * 9)


async def test_accepted_payloads_decode_back_with_the_daemons_codec(bridge: Bridge) -> None:
    ts = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
    until = ts.timestamp() + 7200
    assert not await bridge.queue_snapshot("phone", **Q, aht_s=241.5, ts=ts)  # held
    assert not await bridge.site_snapshot({"email": {**Q, "backlog": 41}}, ts=ts)
    assert not await bridge.agent_state(
        "a1", status="wrap_up", queue="email", skills={"phone", "email"}, available_until=until
    )
    assert not await bridge.ack(CMD, CMD.moves[0], "rejected", "no licence", ts=ts)
    (t1, p1), (t2, p2), (t3, p3), (t4, p4) = held(bridge)
    assert t1 == "staffer/main/queues/phone/metrics"
    assert payloads.decode_queue_snapshot(p1).aht_s == 241.5
    assert t2 == "staffer/main/metrics"
    assert payloads.decode_site_snapshot(p2)[1]["email"].backlog == 41
    assert t3 == "staffer/main/agents/a1/state"
    state = payloads.decode_agent_state("a1", p3)
    assert state.skills == {"phone", "email"} and state.available_until == until
    assert t4 == "staffer/main/agents/a1/move"
    assert p4 == (
        b'{"ts":"2026-11-22T10:15:00Z","command_id":"main-1-abc","to":"phone",'
        b'"status":"rejected","reason":"no licence"}'
    )


def test_skew_check_can_be_disabled_for_replayed_days() -> None:
    b = Bridge("mqtt://127.0.0.1:1", "main", max_clock_skew_s=0, connect_timeout_s=None)
    assert b._v.ts("t", NOW + 86400 * 365)  # no error


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"url": "http://x"}, "mqtt://"),
        ({"site": "a/b"}, "site"),
        ({"prefix": ""}, "prefix"),
    ],
)
def test_bad_construction_is_a_value_error(kw: dict[str, str], match: str) -> None:
    args = {"url": "mqtt://127.0.0.1:1883", "site": "main", **kw}
    with pytest.raises(ValueError, match=match):
        Bridge(args.pop("url"), args.pop("site"), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "line"),
    [
        ({"url": "http://x"}, "Bridge: url: must start with mqtt:// or mqtts:// (got 'http://x')"),
        ({"url": "http://u:secret@x"}, "(got 'http://u:***@x')"),
        ({"keepalive_s": -1}, "Bridge: keepalive_s: Input should be greater than 0 (got -1)"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_argument(kw: dict[str, Any], line: str) -> None:
    """Not pydantic's multi-line dump with its error-page link."""
    args = {"url": "mqtt://127.0.0.1:1883", **kw}
    with pytest.raises(ValueError) as err:
        Bridge(args.pop("url"), "main", **args)
    text = str(err.value)
    assert line in text and "\n" not in text and "pydantic" not in text and "secret" not in text
