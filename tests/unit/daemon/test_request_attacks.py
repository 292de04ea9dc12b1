"""Issue 14 on the in-memory port: how the daemon takes supervisor requests and replies.

Items 1 and 11 (response topics), 4 (retained requests), 6 (event clock), 7 (bounded
requests, rate of the retained override list) and 14 (metric labels). The broker side
of the same attacks (shipped ACL and passwords, the real daemon) is in
tests/integration/test_attack_requests.py.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from staffer.adapters import override_pacer
from staffer.adapters.mqtt_fake import MemoryMqtt
from staffer.app import Daemon
from staffer.codec import topics
from tests.integration.harness import T0, agent, iso, surge_snapshot

from .test_daemon import PREFIX, json_on, memory_daemon, settled

REPLY = f"{PREFIX}/main/override/bob/reply"


async def start_clock(fake: MemoryMqtt) -> None:
    """The site's event clock starts with its first timestamp (before it: ``unavailable``)."""
    await fake.deliver(f"{PREFIX}/main/agents/a1/state", agent("busy", "phone", ["phone"]))


def invalid(daemon: Daemon, kind: str, reason: str) -> float:
    text = daemon.exposition().decode()
    line = f'staffer_invalid_messages_total{{kind="{kind}",reason="{reason}"}} '
    m = re.search(re.escape(line) + r"(\S+)", text)
    return float(m.group(1)) if m else 0.0


# -- items 1 and 11: the v5 response topic ------------------------------------------------


@pytest.mark.parametrize(
    "topic",
    [
        f"{PREFIX}/main/commands",  # daemon-only topics the ACL forbids a supervisor
        f"{PREFIX}/main/plan",
        f"{PREFIX}/main/overrides",
        f"{PREFIX}/status",
        f"{PREFIX}/main/override/carol/reply",  # another supervisor's replies (forgery)
        f"{PREFIX}/main/override/carol/reply/x",
        f"{PREFIX}/main/override/bobby/reply",  # a prefix of the name is not the name
        f"{PREFIX}/paris/override/bob/reply",  # own name, another site
        f"{PREFIX}/main/override/bob/replyx",
        f"{PREFIX}/main/override/bob/reply/#",  # item 11: not a publishable name
        f"{PREFIX}/main/override/bob/reply/+/x",
        "#",
        f"{PREFIX}/main/override/bob/reply/a\x00b",
        f"{PREFIX}/main/override/bob/reply//x",
    ],
)
async def test_a_foreign_or_unpublishable_response_topic_is_refused(
    tmp_path: Path, topic: str
) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        await start_clock(fake)
        before = len(fake.published)
        request = {"id": "r1", "action": "lock_agent", "agent": "a1"}
        await fake.deliver(
            f"{PREFIX}/main/override/bob", request, response_topic=topic, correlation_data=b"c"
        )
        await settled(daemon)
        sent = fake.published[before:]
        assert [p.topic for p in sent] == [REPLY]  # the own reply topic only
        reply = sent[0].json()
        assert reply["id"] == "r1" and reply["ok"] is False
        assert reply["error"]["code"] == "bad_response_topic"
        assert "response topic" in reply["error"]["message"]
        assert sent[0].correlation_data is None
        assert invalid(daemon, "override", "bad_response_topic") == 1
        assert daemon.runtime.book.count("main", T0) == 0  # refused: nothing applied
        assert daemon.store is not None
        [row] = daemon.store.audit_sync()
        assert row.actor == "bob" and row.payload["code"] == "bad_response_topic"


@pytest.mark.parametrize("below", ["", "/inbox", "/ctl/3f2a"])
async def test_the_own_reply_topic_or_below_gets_the_reply(tmp_path: Path, below: str) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        await start_clock(fake)
        await fake.deliver(
            f"{PREFIX}/main/override/bob",
            {"id": "r2", "action": "replan"},
            response_topic=REPLY + below,
            correlation_data=b"c2",
        )
        await settled(daemon)
        replies = fake.on(REPLY + below)
        assert all(r.json()["ok"] for r in replies)
        assert len(fake.on(REPLY)) == 1
        if below:
            [direct] = replies
            assert direct.correlation_data == b"c2"


def test_response_topic_rule() -> None:
    own = "s/main/override/bob/reply"
    assert topics.response_topic_refusal(own, own) is None
    assert topics.response_topic_refusal(own, own + "/a/b") is None
    for bad in ("s/main/commands", own + "x", own + "/", own + "/#", "x" * 70000):
        assert topics.response_topic_refusal(own, bad) is not None


# -- item 4: a retained request ----------------------------------------------------------


async def test_a_retained_request_is_refused_and_never_applied(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        await fake.deliver(f"{PREFIX}/main/agents/a1/state", agent("busy", "phone", ["phone"]))
        request = {"id": "old", "action": "assign", "agent": "a1", "queue": "chat"}
        topic = f"{PREFIX}/main/override/bob"
        for _start in range(3):  # as if every (re)subscription delivered it again
            await fake.deliver(topic, request, retain=True)
        await fake.deliver(topic, b"")  # the echo of the daemon's clear (MQTT 3.1.1)
        await fake.deliver(topic, b"", retain=True)  # a clear, as MQTT 5 delivers it
        await settled(daemon)
        clears = fake.on(topic)
        assert len(clears) == 3 and all(c.retain and c.payload == b"" for c in clears)
        replies = json_on(fake, "main/override/bob/reply")
        assert len(replies) == 3
        assert all(r["ok"] is False and r["error"]["code"] == "invalid" for r in replies)
        assert "retained" in replies[0]["error"]["message"]
        assert not json_on(fake, "main/commands")
        assert daemon.runtime.book.count("main", T0) == 0
        assert invalid(daemon, "override", "retained") == 3


# -- item 6: the event clock -------------------------------------------------------------


async def test_event_clock_requests_before_the_first_timestamp_are_unavailable(
    tmp_path: Path,
) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        pin = {"action": "pin", "queue": "phone", "min": 2, "ttl_s": 3600}
        await fake.deliver(f"{PREFIX}/main/override/bob", {"id": "early", **pin})
        await fake.deliver(
            f"{PREFIX}/main/override/bob", {"id": "early2", "action": "approve", "all": True}
        )
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))
        await fake.deliver(f"{PREFIX}/main/override/bob", {"id": "late", **pin})
        await settled(daemon)
        early, early2, late = json_on(fake, "main/override/bob/reply")
        assert early["ok"] is False and early["error"]["code"] == "unavailable"
        assert early2["ok"] is False and early2["error"]["code"] == "unavailable"
        assert late["ok"] is True and late["expires_at"] == iso(T0 + 3600)  # event time


async def test_an_expiry_past_the_wire_range_is_refused_not_null(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, mqtt={"max_clock_skew_s": 0}) as (_daemon, fake):
        await fake.deliver(
            f"{PREFIX}/main/metrics", surge_snapshot(7289654399.0 - 600)
        )  # 2200-12-31T23:50:00Z: the last year a timestamp may have
        await fake.deliver(
            f"{PREFIX}/main/override/bob",
            {"id": "far", "action": "lock_agent", "agent": "a1", "ttl_s": 3600},
        )
        await settled(_daemon)
        [reply] = json_on(fake, "main/override/bob/reply")
        assert reply["ok"] is False and reply["error"]["code"] == "invalid"


# -- item 7: bounded requests, bounded republishing ----------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"x" * 65: 1},  # a long field name (unknown fields were kept to be refused)
        {"queue": "phone", "note": "y" * 257},
        {"queue": "phone", "tags": ["a"] * 1001},
        {"queue": "phone", "nested": {"a": "b"}},
        {"queue": "phone", "nested": [["a"]]},
    ],
)
async def test_a_request_cannot_make_the_daemon_keep_large_fields(
    tmp_path: Path, fields: dict
) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        await start_clock(fake)
        await fake.deliver(
            f"{PREFIX}/main/override/bob", {"id": "big", "action": "unpin", **fields}
        )
        await settled(daemon)
        [reply] = json_on(fake, "main/override/bob/reply")
        assert reply["ok"] is False and reply["error"]["code"] == "invalid"
        assert "malformed request" in reply["error"]["message"]
        assert daemon.store is not None
        [row] = daemon.store.audit_sync()
        assert "fields" not in row.payload  # nothing of it kept


def test_the_request_memory_keeps_a_digest_not_the_request() -> None:
    from staffer.core.overrides import OverrideBook
    from staffer.core.types import OverrideRequest

    book = OverrideBook()
    big = OverrideRequest(id="r", action="replan", reason="z" * 1000)
    book.handle("main", "bob", big, T0, frozenset({"phone"}), 3600.0)
    [(_, digest, _)] = book._seen["main"].values()
    assert len(digest) == 64


async def test_the_override_list_is_republished_at_a_bounded_rate(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))
        await settled(daemon)
        before = len(json_on(fake, "main/overrides"))
        n = 50
        t0 = time.monotonic()
        for i in range(n):
            await fake.deliver(
                f"{PREFIX}/main/override/bob",
                {"id": f"l{i}", "action": "lock_agent", "agent": f"a{i}"},
            )
        await settled(daemon)  # drain: a list waiting for its interval goes out now
        elapsed_s = time.monotonic() - t0
        lists = json_on(fake, "main/overrides")[before:]
        assert len(json_on(fake, "main/override/bob/reply")) == n
        # one at once, at most one per interval after it, one at the drain (was: n)
        assert 1 <= len(lists) <= 2 + elapsed_s / override_pacer.OVERRIDES_EVERY_S
        assert len(lists) < n
        assert len(lists[-1]) == n  # the latest state, eventually


# -- item 14: metric labels as documented -------------------------------------------------


async def test_invalid_labels_match_the_docs(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        await fake.deliver(f"{PREFIX}/main/queues/phone/metrics", b"\xff\xfe")
        await fake.deliver("elsewhere/x", b"{}")
        await settled(daemon)
        assert invalid(daemon, "queue_metrics", "not_utf8") == 1
        assert invalid(daemon, "unknown", "bad_topic") == 1
        text = daemon.exposition().decode()
        assert 'staffer_messages_total{kind="unknown",outcome="invalid"} 1.0' in text
        assert 'reason="other"' not in text
