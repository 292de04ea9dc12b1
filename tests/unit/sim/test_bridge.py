"""The simulated site's bridge against a real mosquitto and a scripted stand-in daemon.

The stand-in answers every site snapshot with a plan (``as_of`` = the snapshot's ``ts``)
and, at the first one, a command moving one email agent to phone and one phone-only agent
to email. The bridge must apply the first after the agent's current contact, refuse the
second, acknowledge both (accepted then done; rejected with a reason) and report the new
assignment, each agent's state announcing when the agent leaves (``available_until``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiomqtt
import pytest

from staffer.bridge import Bridge
from staffer.codec.timefmt import parse_ts
from staffer.sim.bridge import BridgeError, SimBridge
from staffer.sim.engine import Engine
from staffer.sim.scenario import load_scenario

MOVES = [
    {"agent": "x001", "from": "email", "to": "phone", "after_current_contact": True, "reason": "r"},
    {"agent": "p001", "from": "phone", "to": "email", "after_current_contact": True, "reason": "r"},
]


async def _stand_in(host: str, port: int, base: str, seen: dict[str, list[dict]]) -> None:
    async with aiomqtt.Client(host, port, identifier=f"{base}-daemon") as c:
        await c.subscribe(f"{base}/metrics", qos=1)
        await c.subscribe(f"{base}/agents/+/+", qos=1)
        n = 0
        async for msg in c.messages:
            kind = str(msg.topic).split("/")[-1]
            if kind in ("state", "move"):
                body = {"agent": str(msg.topic).split("/")[-2], **json.loads(msg.payload)}
                seen.setdefault(kind, []).append(body)
                continue
            n += 1
            ts = json.loads(msg.payload)["ts"]
            moves = MOVES if n == 1 else []
            if moves:
                cmd = {
                    "command_id": f"c{n}",
                    "plan_id": f"p{n}",
                    "site": "main",
                    "ts": ts,
                    "mode": "auto",
                    "moves": moves,
                }
                await c.publish(f"{base}/commands", json.dumps(cmd), qos=1)
            plan = {
                "plan_id": f"p{n}",
                "site": "main",
                "as_of": ts,
                "mode": "auto",
                "queues": {},
                "moves": len(moves),
            }
            await c.publish(f"{base}/plan", json.dumps(plan), qos=1, retain=True)


async def test_bridge_applies_acknowledges_and_reports(mosquitto, topic_prefix) -> None:
    sc = load_scenario("short")
    eng = Engine(sc, seed=1)
    base = f"{topic_prefix}/{sc.site.id}"
    seen: dict[str, list[dict]] = {}
    daemon = asyncio.create_task(_stand_in(mosquitto.host, mosquitto.port, base, seen))
    await asyncio.sleep(0.3)
    ticks = []
    try:
        async with Bridge(
            mosquitto.url, "main", prefix=topic_prefix, plans=True, max_clock_skew_s=0
        ) as b:
            stats = await SimBridge(eng, b, plan_timeout_s=5.0).run(
                sc.planner.interval_s, ticks.append
            )
    finally:
        daemon.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await daemon
    n_ticks = int(eng.end_s // sc.planner.interval_s) - 1  # none at the very end
    assert stats.ticks == len(ticks) == n_ticks
    assert stats.plans == n_ticks and stats.missed_plans == 0
    assert stats.commands == 1 and stats.moves == 1
    assert [m.agent for m in ticks[0].moves] == ["x001"]
    assert eng.agents["x001"].queue == "phone" and eng.agents["p001"].queue == "phone"
    reported = [s["queue"] for s in seen["state"] if s["agent"] == "x001"]
    assert reported[0] == "email" and reported[-1] == "phone"
    assert {s["agent"] for s in seen["state"]} == set(eng.agents)
    # every staffed agent's state announces when it leaves (contract §11); nobody's shift
    # ends in this scenario, so each leaves when the simulated site closes
    staffed = [s for s in seen["state"] if s["status"] in ("available", "busy")]
    assert staffed and all("available_until" in s for s in staffed)
    close = sc.start_ts + eng.end_s
    assert all(abs(parse_ts(s["available_until"]) - close) < 1e-3 for s in staffed)
    acks = [(a["agent"], a["command_id"], a["to"], a["status"]) for a in seen["move"]]
    assert ("p001", "c1", "email", "rejected") in acks
    x001 = [a for a in acks if a[0] == "x001"]
    assert x001 == [("x001", "c1", "phone", "accepted"), ("x001", "c1", "phone", "done")]
    [refusal] = [a for a in seen["move"] if a["status"] == "rejected"]
    assert refusal["reason"] == "p001 has no 'email' skill"
    assert stats.acks == {"accepted": 1, "rejected": 1, "done": 1}


async def test_bridge_gives_up_when_no_daemon_answers(mosquitto, topic_prefix) -> None:
    eng = Engine(load_scenario("short"), seed=1)
    async with Bridge(
        mosquitto.url, "main", prefix=topic_prefix, plans=True, max_clock_skew_s=0
    ) as b:
        bridge = SimBridge(eng, b, plan_timeout_s=0.2, max_missed_in_row=2)
        with pytest.raises(BridgeError, match="no plan for 2 site snapshots"):
            await bridge.run(300.0)
    assert bridge.stats.missed_plans == 2
