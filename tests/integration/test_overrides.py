"""Supervisor overrides over MQTT: every action round-trips with exactly one reply."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Broker
from tests.integration.harness import (
    T0,
    Peer,
    agent,
    iso,
    make_settings,
    peer,
    running_daemon,
    staff_surge_site,
    surge_snapshot,
)

REPLY = "main/override/alice/reply"


async def _ask(p: Peer, request: dict | None, *, raw: bytes | None = None) -> dict:
    """Send one request as alice and return its reply (replies are matched by order)."""
    n = len(p.on(REPLY))
    await p.publish("main/override/alice", request, raw=raw)
    replies = await p.wait_for(REPLY, count=n + 1)
    return replies[n]


async def test_every_action_round_trips(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        await staff_surge_site(p)
        sent = 0

        async def ask(request: dict | None, raw: bytes | None = None) -> dict:
            nonlocal sent
            sent += 1
            return await _ask(p, request, raw=raw)

        pin = await ask({"id": "1", "action": "pin", "queue": "phone", "min": 6, "max": 30})
        assert pin["id"] == "1" and pin["ok"] is True and pin["override_id"]
        assert pin["expires_at"] is not None
        [listed] = await p.wait_for("main/overrides", lambda x: len(x) == 1)
        assert listed[0]["override_id"] == pin["override_id"]
        assert listed[0]["supervisor"] == "alice" and listed[0]["queue"] == "phone"

        assert (await ask({"id": "2", "action": "unpin", "queue": "phone"}))["ok"]
        await p.wait_for("main/overrides", lambda x: x == [])

        mode = await ask({"id": 3, "action": "mode", "mode": "shadow", "ttl_s": None})
        assert mode["id"] == 3 and mode["ok"] and mode["expires_at"] is None

        goal = await ask(
            {"id": "4", "action": "target", "queue": "phone", "sl_target": 0.9, "target_s": 15}
        )
        assert goal["ok"]
        assert (await ask({"id": "5", "action": "lock_agent", "agent": "e00"}))["ok"]
        assert (await ask({"id": "6", "action": "unlock_agent", "agent": "e00"}))["ok"]

        # assign: a command even in shadow mode, and the agent ends up locked
        assigned = await ask(
            {
                "id": "7",
                "action": "assign",
                "agent": "e01",
                "queue": "phone",
                "reason": "VIP caller",
            }
        )
        assert assigned["ok"]
        [command] = await p.wait_for("main/commands")
        assert command["plan_id"] is None
        [move] = command["moves"]
        assert (move["agent"], move["from"], move["to"]) == ("e01", "email", "phone")
        assert "alice" in move["reason"]
        assert "e01" in daemon.book.controls("main", T0, "auto").locked_agents
        # already in that queue, or already on the way there: locked, but no new command
        assert (await ask({"id": "7b", "action": "assign", "agent": "p0", "queue": "phone"}))["ok"]
        assert (await ask({"id": "7c", "action": "assign", "agent": "e01", "queue": "phone"}))["ok"]

        plans_before = len(p.on("main/plan"))
        assert (await ask({"id": "8", "action": "replan"}))["ok"]
        [plan] = (await p.wait_for("main/plan", count=plans_before + 1))[plans_before:]
        assert plan["mode"] == "shadow"
        assert plan["queues"]["phone"]["sl_target"] == 0.9

        cancel = await ask({"id": "9", "action": "cancel", "override_id": goal["override_id"]})
        assert cancel["ok"]

        # rejections: each still gets one reply
        bad = await ask(None, raw=b"{not json")
        assert bad["id"] is None and bad["ok"] is False and bad["error"]["code"] == "invalid"
        unknown = await ask({"id": "10", "action": "pin", "queue": "fax", "max": 1})
        assert unknown["error"]["code"] == "unknown_queue"
        nope = await ask({"id": "11", "action": "teleport"})
        assert nope["ok"] is False and nope["id"] == "11"
        missing = await ask({"id": "12", "action": "cancel", "override_id": "nope"})
        assert missing["ok"] is False

        await p.settle()
        assert len(p.on(REPLY)) == sent  # exactly one reply per request
        assert len(p.on("main/commands")) == 1  # only the first assign moved anyone
        assert daemon.store is not None
        audit = await daemon.store.audit("main", limit=100)
        assert len([a for a in audit if a.kind == "override"]) == sent
        assert all(a.actor == "alice" for a in audit if a.kind == "override")


async def test_v5_response_topic_and_correlation(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await p.publish("main/agents/a1/state", agent("busy", "phone", ["phone"]))  # clock
        await p.publish(
            "main/override/bob",
            {"id": "q1", "action": "replan"},
            response_topic=f"{topic_prefix}/main/override/bob/reply/inbox",  # below its own
            correlation=b"\x01corr",
        )
        [direct] = await p.wait_for("main/override/bob/reply/inbox")
        [reply] = await p.wait_for("main/override/bob/reply")
        assert direct == reply and reply["id"] == "q1" and reply["ok"]
        assert p.on("main/override/bob/reply/inbox")[0].correlation_data == b"\x01corr"


async def test_mqtt_311_everywhere(mosquitto: Broker, topic_prefix: str, tmp_path: Path) -> None:
    """A 3.1.1-only deployment: daemon, bridge and supervisor console all on MQTT 3.1.1."""
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, mqtt={"protocol": "3.1.1"})
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix, v5=False) as p,
    ):
        assert daemon.mqtt.protocol == "3.1.1"
        await staff_surge_site(p)
        await p.publish("main/metrics", surge_snapshot(T0))
        [command] = await p.wait_for("main/commands")
        assert command["moves"]
        reply = await _ask(p, {"id": "x", "action": "lock_agent", "agent": "p0"})
        assert reply == {
            "id": "x",
            "ok": True,
            "override_id": reply["override_id"],
            "expires_at": reply["expires_at"],
        }


async def test_oversized_request_gets_a_reply(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url, topic_prefix, tmp_path, mqtt={"max_payload_bytes": 1024}
    )
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await p.publish("main/agents/a1/state", agent("available", "email", ["email"]))
        reply = await _ask(
            p, None, raw=b'{"id": "big", "action": "replan", "reason": "' + b"x" * 2000 + b'"}'
        )
        assert reply["id"] is None and reply["ok"] is False
        assert reply["error"]["code"] == "invalid"
        ok = await _ask(p, {"id": "small", "action": "replan"})
        assert ok["ok"] and iso(T0)  # the daemon carries on
