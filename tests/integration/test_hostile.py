"""Hostile input at the integration level: hypothesis drives one running ``staffer run``.

Each example is a short burst of messages on every inbound topic, each labelled by
construction as valid or invalid: random bytes, invalid UTF-8, wrong JSON types,
NaN/Infinity/overflow, negative and huge counts, timestamps outside 1970-2200 or without
a zone, unknown queues and agents, topics for sites the daemon does not serve, deeply
nested and oversized JSON, and valid messages duplicated and out of order (valid
timestamps range from 1971 to 2199, so the event clock jumps both ways). A supervisor
``replan`` closes each burst as a barrier (messages from one client are handled in
order), then the test checks:

* the process is alive, ``/healthz`` answers 200 and the replan produced a plan;
* ``staffer_messages_total{outcome="invalid"}`` grew by exactly the number of invalid
  messages delivered (messages for unserved sites are never delivered: the daemon
  subscribes per site);
* every override message got exactly one reply;
* every plan so far is sane (``test_faults.check_plan_sane``) and every commanded move
  goes to a queue in the agent's skills, with no command id twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Broker, free_port
from tests.integration.harness import T0, iso, surge_snapshot
from tests.integration.test_faults import check_plan_sane
from tests.integration.test_process import _http, _wait
from tests.integration.test_robustness import _invalid_total, _metrics

MAX_PAYLOAD = 16384
QUEUES = ("phone", "chat", "email")
KNOWN_AGENTS = [f"p{i}" for i in range(5)] + [f"e{i:02d}" for i in range(12)] + ["c0", "c1"]


def skills_of(agent_id: str) -> list[str]:
    """Every valid agent state the test sends uses these skills for that agent id."""
    if agent_id.startswith("c") and agent_id in KNOWN_AGENTS:
        return ["chat"]
    if agent_id in KNOWN_AGENTS:
        return ["phone", "email"]
    return ["email"]


@dataclass
class Msg:
    suffix: str  # topic under the prefix
    payload: bytes
    invalid: bool  # counted as invalid by the daemon
    delivered: bool = True  # False for sites the daemon does not subscribe to

    @property
    def override(self) -> bool:
        return self.delivered and self.suffix.startswith("main/override/")


# -- strategies --------------------------------------------------------------------------------

VALID_TS = st.one_of(
    st.integers(-12, 48).map(lambda k: iso(T0 + 300 * k)),  # around T0, any order
    st.integers(-12, 48).map(lambda k: iso(T0 + 300 * k + 17)),  # off the grid
    st.sampled_from(
        ["1971-01-01T00:00:00Z", "2199-12-31T23:00:00+01:00", "2026-11-22T09:00:00.5+02:00"]
    ),  # far past/future, but legal
)
BAD_TS = st.one_of(
    st.sampled_from(
        [
            "1969-12-31T23:59:59Z",
            "2201-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2026-11-22T08:00:00",
            "2026-11-22",
            "",
            "yesterday",
            "2026-13-40T25:61:00Z",
            "NaN",
        ]
    ),
    st.text(max_size=12).filter(lambda s: not s[:4].isdigit()),
)
COUNT = st.integers(0, 500)
SECONDS = st.floats(0, 5000, allow_nan=False)
AGENT_ID = st.one_of(
    st.sampled_from(KNOWN_AGENTS),
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="/+#"),
        min_size=1,
        max_size=20,
    ),
)


@st.composite
def queue_body(draw: st.DrawFn) -> dict[str, Any]:
    offered = draw(COUNT)
    answered = draw(st.one_of(st.none(), st.integers(0, offered)))
    body: dict[str, Any] = {
        "interval_s": draw(st.sampled_from([60, 300, 300.0, 900])),
        "offered": offered,
        "waiting": draw(COUNT),
    }
    if answered is not None:
        body["answered"] = answered
        body["answered_within_target"] = draw(st.integers(0, answered))
    for key, strat in (
        ("aht_s", SECONDS),
        ("abandoned", COUNT),
        ("backlog", COUNT),
        ("oldest_wait_s", SECONDS),
        ("oldest_age_s", SECONDS),
    ):
        if draw(st.booleans()):
            body[key] = draw(strat)
    if draw(st.integers(0, 9)) == 0:
        body["unknown_extra"] = {"ignored": [1, "two", None]}
    return body


@st.composite
def valid_site_snapshot(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(st.sampled_from([*QUEUES, "fax"]), min_size=1, max_size=4, unique=True))
    return {"ts": draw(VALID_TS), "queues": {q: draw(queue_body()) for q in ids}}


@st.composite
def valid_agent(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    agent_id = draw(AGENT_ID)
    skills = skills_of(agent_id)
    return agent_id, {
        "ts": draw(VALID_TS),
        "status": draw(st.sampled_from(["available", "busy", "wrap_up", "break", "offline"])),
        "queue": draw(st.one_of(st.none(), st.sampled_from(skills))),
        "skills": skills,
    }


@st.composite
def valid_messages(draw: st.DrawFn) -> list[Msg]:
    """One valid message, sometimes duplicated (QoS 1 redelivery)."""
    kind = draw(st.sampled_from(["site", "queue", "agent", "override"]))
    if kind == "site":
        msgs = [Msg("main/metrics", _j(draw(valid_site_snapshot())), False)]
    elif kind == "queue":
        q = draw(st.sampled_from(QUEUES))
        msgs = [
            Msg(f"main/queues/{q}/metrics", _j({"ts": draw(VALID_TS), **draw(queue_body())}), False)
        ]
    elif kind == "agent":
        agent_id, body = draw(valid_agent())
        invalid = len(agent_id) > 256  # cannot happen with max_size=20; kept for clarity
        msgs = [Msg(f"main/agents/{agent_id}/state", _j(body), invalid)]
    else:
        msgs = [Msg("main/override/mallory", _j(draw(valid_override())), False)]
    return msgs * draw(st.sampled_from([1, 1, 2]))


@st.composite
def valid_override(draw: st.DrawFn) -> dict[str, Any]:
    rid = draw(st.one_of(st.integers(0, 5), st.text(max_size=8)))  # ids reused on purpose
    action = draw(
        st.sampled_from(
            [
                "replan",
                "pin",
                "unpin",
                "lock_agent",
                "unlock_agent",
                "mode",
                "target",
                "assign",
                "cancel",
                "explode",
            ]
        )
    )
    body: dict[str, Any] = {"id": rid, "action": action}
    if action in ("pin", "unpin", "target", "assign"):
        body["queue"] = draw(st.sampled_from([*QUEUES, "fax"]))
    if action == "pin":
        body["min"], body["max"] = draw(st.integers(0, 30)), draw(st.integers(0, 30))
    if action in ("lock_agent", "unlock_agent", "assign"):
        body["agent"] = draw(AGENT_ID)
    if action == "mode":
        body["mode"] = draw(st.sampled_from(["auto", "shadow", "manual"]))
    if action == "target":
        body["sl_target"] = draw(st.floats(0, 1))
    if action == "cancel":
        body["override_id"] = draw(st.text(max_size=10))
    if draw(st.booleans()):
        body["ttl_s"] = draw(st.sampled_from([60, 3600, 86400]))
    return body


def _j(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _valid_payload_for(draw: st.DrawFn, suffix: str) -> dict[str, Any]:
    if suffix == "main/metrics":
        return draw(valid_site_snapshot())
    if suffix.startswith("main/queues/"):
        return {"ts": draw(VALID_TS), **draw(queue_body())}
    if suffix.startswith("main/agents/"):
        return draw(valid_agent())[1]
    return draw(valid_override())


INBOUND = st.sampled_from(
    ["main/metrics", "main/queues/phone/metrics", "main/agents/e01/state", "main/override/mallory"]
)
WRONG_TYPE = st.one_of(
    st.text(max_size=5),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.floats(0.5, 99.5).filter(lambda x: x != int(x)),
)


@st.composite
def invalid_message(draw: st.DrawFn) -> Msg:  # noqa: C901  # one branch per kind of damage
    how = draw(
        st.sampled_from(
            [
                "bytes",
                "utf8",
                "type",
                "nonfinite",
                "negative",
                "huge",
                "ts",
                "unknown_queue",
                "deep",
                "large",
                "long_agent",
                "not_object",
            ]
        )
    )
    suffix = draw(INBOUND)
    if how == "bytes":
        raw = draw(st.binary(max_size=200))
        return Msg(suffix, raw, True)
    if how == "utf8":
        body = _j(_valid_payload_for(draw, suffix))
        cut = draw(st.integers(0, len(body)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80"]))
        return Msg(suffix, body[:cut] + bad + body[cut:], True)
    if how == "not_object":
        raw = draw(st.sampled_from([b"null", b"[]", b"42", b'"text"', b"true", b"[{}]"]))
        return Msg(suffix, raw, True)
    if how == "deep":
        depth = draw(st.integers(17, 3000))
        nest = "[" * depth + "]" * depth
        body = _valid_payload_for(draw, suffix)
        text = json.dumps(body)[:-1] + f', "nested": {nest}}}'
        return Msg(suffix, text.encode(), True)
    if how == "large":
        body = _valid_payload_for(draw, suffix)
        body["pad"] = "x" * draw(st.integers(MAX_PAYLOAD, 3 * MAX_PAYLOAD))
        return Msg(suffix, _j(body), True)
    if how == "long_agent":
        agent_id = "a" * draw(st.integers(257, 400))
        return Msg(f"main/agents/{agent_id}/state", _j(draw(valid_agent())[1]), True)
    if how == "unknown_queue":
        q = draw(st.sampled_from(["fax", "Phone", "phone2", "ü"]))
        return Msg(
            f"main/queues/{q}/metrics", _j({"ts": draw(VALID_TS), **draw(queue_body())}), True
        )
    # field-level damage of an otherwise valid metrics or agent message
    target = draw(st.sampled_from(["site", "queue", "agent"]))
    if target == "agent":
        suffix, body = "main/agents/e02/state", draw(valid_agent())[1]
        slot: dict[str, Any] = body
        fields = ["status", "skills", "ts"] if how in ("type", "ts") else ["status"]
    elif target == "queue":
        suffix, body = "main/queues/chat/metrics", {"ts": draw(VALID_TS), **draw(queue_body())}
        slot = body
        fields = ["offered", "waiting", "interval_s"]
    else:
        suffix, body = "main/metrics", draw(valid_site_snapshot())
        slot = body["queues"][next(iter(body["queues"]))]
        fields = ["offered", "waiting", "interval_s"]
    if how == "ts":
        body["ts"] = draw(BAD_TS)
        return Msg(suffix, _j(body), True)
    if target == "agent":
        slot["status"] = draw(st.one_of(WRONG_TYPE, st.sampled_from(["asleep", "BUSY"])))
        if how == "type":
            key = draw(st.sampled_from(fields))
            slot[key] = draw(WRONG_TYPE.filter(lambda v: not isinstance(v, list)))
        return Msg(suffix, _j(body), True)
    key = draw(st.sampled_from(fields))
    if how == "type":  # a fractional number is a fine interval, not a fine count
        slot[key] = draw(
            WRONG_TYPE.filter(lambda v: key != "interval_s" or not isinstance(v, float))
        )
    elif how == "negative":
        slot[key] = draw(st.integers(-(10**6), -1))
    elif how == "huge":
        slot[key] = draw(st.integers(10**9 + 1, 10**30))
    else:  # nonfinite: a literal Python's json writes but the contract forbids
        slot[key] = "__NF__"
        lit = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]))
        return Msg(suffix, _j(body).replace(b'"__NF__"', lit.encode()), True)
    return Msg(suffix, _j(body), True)


@st.composite
def unserved_site(draw: st.DrawFn) -> Msg:
    site = draw(st.sampled_from(["north", "MAIN", "main2", "x"]))
    return Msg(f"{site}/metrics", _j(draw(valid_site_snapshot())), False, delivered=False)


BURST = st.lists(
    st.one_of(
        valid_messages(), invalid_message().map(lambda m: [m]), unserved_site().map(lambda m: [m])
    ),
    min_size=1,
    max_size=6,
).map(lambda xs: list(itertools.chain(*xs)))


# -- the running daemon -------------------------------------------------------------------------


@dataclass
class Collector:
    """A paho client recording everything under the prefix (thread-safe)."""

    prefix: str
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.messages.append((msg.topic, bytes(msg.payload)))
            self.cond.notify_all()

    def on(self, suffix: str) -> list[bytes]:
        topic = f"{self.prefix}/{suffix}"
        with self.cond:
            return [p for t, p in self.messages if t == topic]

    def wait(self, suffix: str, count: int, timeout: float = 20.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [p for t, p in self.messages if t == f"{self.prefix}/{suffix}"]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out: {len(got)}/{count} on {suffix}")
                self.cond.wait(left)


@dataclass
class Live:
    proc: subprocess.Popen[bytes]
    http_port: int
    client: mqtt.Client
    seen: Collector
    barrier: Iterator[int] = field(default_factory=itertools.count)

    def publish(self, suffix: str, payload: bytes) -> None:
        info = self.client.publish(f"{self.seen.prefix}/{suffix}", payload, qos=1)
        info.wait_for_publish(10)

    def metrics(self) -> dict:
        return asyncio.run(_metrics(self.http_port))


@pytest.fixture(scope="module")
def live(mosquitto: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    d = tmp_path_factory.mktemp("hostile")
    prefix = f"h{uuid.uuid4().hex[:8]}"
    http_port = free_port()
    conf = d / "staffer.toml"
    conf.write_text(
        f'[mqtt]\nurl = "{mosquitto.url}"\ntopic_prefix = "{prefix}"\n'
        f'client_id = "hostile-{prefix}"\nmax_payload_bytes = {MAX_PAYLOAD}\n'
        "max_clock_skew_s = 0\n"  # 2199 is legal here: future_ts is tested elsewhere
        f'[http]\nport = {http_port}\n[state]\npath = "{d / "state.db"}"\n'
        f'[planner]\nclock = "event"\nmin_dwell_s = 0\n',
        "utf-8",
    )
    log = (d / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "staffer", "run", "-c", str(conf)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=d,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"hostile-peer-{prefix}", protocol=mqtt.MQTTv5
    )
    seen = Collector(prefix)
    client.on_message = seen.on_message
    client.max_inflight_messages_set(1)  # strictly in order
    try:
        _wait(lambda: _http(f"http://127.0.0.1:{http_port}/readyz") == 200)
        client.connect(mosquitto.host, mosquitto.port)
        client.loop_start()
        client.subscribe(f"{prefix}/#", qos=1)
        time.sleep(0.2)
        lv = Live(proc, http_port, client, seen)
        for agent_id in KNOWN_AGENTS:
            skills = skills_of(agent_id)
            lv.publish(
                f"main/agents/{agent_id}/state",
                _j(
                    {
                        "ts": iso(T0 - 60),
                        "status": "available",
                        "queue": skills[-1],
                        "skills": skills,
                    }
                ),
            )
        lv.publish("main/metrics", _j(surge_snapshot(T0)))
        seen.wait("main/plan", 1)
        yield lv
    finally:
        client.loop_stop()
        client.disconnect()
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(burst=BURST)
def test_hostile_bursts_are_counted_and_survived(live: Live, burst: list[Msg]) -> None:
    before = _invalid_total(live.metrics())
    replies_before = len(live.seen.on("main/override/mallory/reply"))
    plans_before = len(live.seen.on("main/plan"))
    barrier_replies = len(live.seen.on("main/override/barrier/reply"))
    for m in burst:
        live.publish(m.suffix, m.payload)
    live.publish("main/override/barrier", _j({"id": f"b{next(live.barrier)}", "action": "replan"}))
    [reply] = live.seen.wait("main/override/barrier/reply", barrier_replies + 1)[-1:]
    assert json.loads(reply)["ok"], reply
    live.seen.wait("main/plan", plans_before + 1)

    assert live.proc.poll() is None, "the daemon died"
    assert _http(f"http://127.0.0.1:{live.http_port}/healthz") == 200
    overrides = sum(m.override for m in burst)
    live.seen.wait("main/override/mallory/reply", replies_before + overrides)
    expected = sum(m.invalid and m.delivered for m in burst)
    got = _invalid_total(live.metrics()) - before
    assert got == expected, (
        f"invalid counter grew by {got}, expected {expected}: "
        f"{[(m.suffix[:40], m.payload[:80]) for m in burst]}"
    )
    for raw in live.seen.on("main/plan")[plans_before:]:
        check_plan_sane(json.loads(raw))
    commands = [json.loads(c) for c in live.seen.on("main/commands")]
    ids = [c["command_id"] for c in commands]
    assert len(ids) == len(set(ids)), "a command id was used twice"
    for c in commands:
        for move in c["moves"]:
            assert move["to"] in skills_of(move["agent"]), f"unskilled move {move}"


def test_daemon_still_plans_normally_after_the_storm(live: Live) -> None:
    """After all bursts: a fresh supervisor is answered and the plan is sane."""
    n = len(live.seen.on("main/plan"))
    live.publish("main/override/zoe", _j({"id": "final", "action": "replan"}))
    [reply] = live.seen.wait("main/override/zoe/reply", 1)
    assert json.loads(reply)["ok"]
    [plan] = live.seen.wait("main/plan", n + 1)[-1:]
    check_plan_sane(json.loads(plan))
    assert set(json.loads(plan)["queues"]) == set(QUEUES)
    text = live.metrics()
    assert text[("staffer_mqtt_connected", ())] == 1
