"""The demo's MQTT bridge against a real mosquitto and a scripted stand-in daemon.

The stand-in answers every site snapshot with a plan (``as_of`` = the snapshot's ``ts``)
and, at the first one, a command moving one email agent to phone. The bridge must apply
the move after the agent's current contact and report the new assignment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiomqtt
import pytest

from staffer.sim.bridge import (
    BridgeError,
    SimBridge,
    parse_moves,
    site_snapshot_payload,
)
from staffer.sim.engine import Engine
from staffer.sim.scenario import load_scenario


def test_site_snapshot_shape() -> None:
    eng = Engine(load_scenario("short"), seed=1)
    eng.run_until(300.0)
    data = json.loads(site_snapshot_payload(eng.sc.start_ts + 300, eng.take_snapshots()))
    assert data["ts"] == "2026-11-23T08:05:00Z"
    assert set(data["queues"]) == {"phone", "chat", "email"}
    for snap in data["queues"].values():
        assert {"interval_s", "offered", "waiting"} <= set(snap)
        assert "ts" not in snap
    assert "backlog" in data["queues"]["email"]


def test_parse_moves_skips_junk() -> None:
    pid, moves = parse_moves(
        json.dumps(
            {
                "plan_id": "p1",
                "moves": [{"agent": "x001", "from": "email", "to": "phone"}, {"agent": 3}, "junk"],
            }
        ).encode()
    )
    assert pid == "p1"
    assert [(m.agent, m.to_queue) for m in moves] == [("x001", "phone")]
    assert parse_moves(b"not json") == (None, [])


async def _stand_in(host: str, port: int, base: str, states: list[dict]) -> None:
    async with aiomqtt.Client(host, port, identifier=f"{base}-daemon") as c:
        await c.subscribe(f"{base}/metrics", qos=1)
        await c.subscribe(f"{base}/agents/+/state", qos=1)
        n = 0
        async for msg in c.messages:
            if str(msg.topic).endswith("/state"):
                states.append({"agent": str(msg.topic).split("/")[-2], **json.loads(msg.payload)})
                continue
            n += 1
            ts = json.loads(msg.payload)["ts"]
            moves = (
                [
                    {
                        "agent": "x001",
                        "from": "email",
                        "to": "phone",
                        "after_current_contact": True,
                        "reason": "test",
                    }
                ]
                if n == 1
                else []
            )
            if moves:
                await c.publish(
                    f"{base}/commands",
                    json.dumps({"command_id": f"c{n}", "plan_id": f"p{n}", "moves": moves}),
                    qos=1,
                )
            await c.publish(
                f"{base}/plan",
                json.dumps({"plan_id": f"p{n}", "as_of": ts, "mode": "auto", "moves": len(moves)}),
                qos=1,
                retain=True,
            )


async def test_bridge_applies_commands_and_reports(mosquitto, topic_prefix) -> None:
    sc = load_scenario("short")
    eng = Engine(sc, seed=1)
    base = f"{topic_prefix}/{sc.site.id}"
    states: list[dict] = []
    daemon = asyncio.create_task(_stand_in(mosquitto.host, mosquitto.port, base, states))
    await asyncio.sleep(0.3)
    ticks = []
    try:
        async with aiomqtt.Client(
            mosquitto.host, mosquitto.port, identifier=f"{topic_prefix}-bridge"
        ) as client:
            bridge = SimBridge(eng, client, topic_prefix, plan_timeout_s=5.0)
            stats = await bridge.run(sc.planner.interval_s, ticks.append)
    finally:
        daemon.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await daemon
    n_ticks = int(eng.end_s // sc.planner.interval_s) - 1  # none at the very end
    assert stats.ticks == len(ticks) == n_ticks
    assert stats.plans == n_ticks and stats.missed_plans == 0
    assert stats.moves == 1
    assert ticks[0].moves and ticks[0].moves[0].agent == "x001"
    assert eng.agents["x001"].queue == "phone"
    reported = [s["queue"] for s in states if s["agent"] == "x001"]
    assert reported[0] == "email" and reported[-1] == "phone"
    assert {s["agent"] for s in states} == set(eng.agents)


async def test_bridge_gives_up_when_no_daemon_answers(mosquitto, topic_prefix) -> None:
    eng = Engine(load_scenario("short"), seed=1)
    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, identifier=f"{topic_prefix}-lonely"
    ) as client:
        bridge = SimBridge(eng, client, topic_prefix, plan_timeout_s=0.2, max_missed_in_row=2)
        with pytest.raises(BridgeError, match="no plan for 2 site snapshots"):
            await bridge.run(300.0)
    assert bridge.stats.missed_plans == 2
