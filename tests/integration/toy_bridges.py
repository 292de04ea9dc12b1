"""Deliberately broken bridges for ``staffer bridge-check``'s own tests.

A 60-line bridge of the kind a newcomer writes from docs/protocol.md, speaking JSON over
a plain aiomqtt client (not ``staffer.bridge``, which would refuse the wrong payloads).
Two agents: ``a1`` (phone and chat, idle on phone) and ``a2`` (phone only, busy on phone).
Each :class:`Flaws` flag breaks one thing the protocol asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass

import aiomqtt

from tests.integration.harness import iso


@dataclass(frozen=True)
class Flaws:
    no_acks: bool = False  # carries moves out but never acknowledges them
    never_switches: bool = False  # acknowledges "accepted" but the agent never moves
    wrong_payloads: bool = False  # snapshot counts as strings, states with a bad status, naive ts
    obeys_unskilled: bool = False  # moves an agent to a queue it lacks the skill for
    dies_on_malformed: bool = False  # a command it cannot parse kills it
    command_delay_s: float = 0.0  # each command takes this long (an ACD API call) first


async def toy_bridge(
    host: str, port: int, prefix: str, flaws: Flaws, period_s: float = 0.25
) -> None:
    base = f"{prefix}/main"
    agents = {"a1": ["phone", {"phone", "chat"}, "available"], "a2": ["phone", {"phone"}, "busy"]}

    def state(agent: str) -> bytes:
        return _state(agents[agent], flaws)

    async with aiomqtt.Client(host, port) as c:
        await c.subscribe(f"{base}/commands", qos=1)

        async def ack(cmd: dict, move: dict, status: str) -> None:
            if not flaws.no_acks:
                body = {
                    "ts": iso(time.time()),
                    "command_id": cmd["command_id"],
                    "to": move["to"],
                    "status": status,
                }
                await c.publish(f"{base}/agents/{move['agent']}/move", json.dumps(body), qos=1)

        async def on_commands() -> None:
            async for msg in c.messages:
                await asyncio.sleep(flaws.command_delay_s)
                cmd = json.loads(msg.payload) if flaws.dies_on_malformed else _try_json(msg.payload)
                for move in cmd["moves"] if flaws.dies_on_malformed else _moves(cmd):
                    agent = agents.get(move["agent"])
                    if agent is None or (move["to"] not in agent[1] and not flaws.obeys_unskilled):
                        await ack(cmd, move, "rejected")
                        continue
                    await ack(cmd, move, "accepted")
                    if not flaws.never_switches:
                        agent[0] = move["to"]
                        await c.publish(
                            f"{base}/agents/{move['agent']}/state",
                            state(move["agent"]),
                            qos=1,
                            retain=True,
                        )

        listener = asyncio.create_task(on_commands())
        try:
            while not listener.done():
                for agent in agents:
                    await c.publish(
                        f"{base}/agents/{agent}/state", state(agent), qos=1, retain=True
                    )
                snap = {"interval_s": period_s, "offered": 2, "waiting": 0}
                if flaws.wrong_payloads:
                    snap["offered"] = "2"  # type: ignore[assignment]
                await c.publish(
                    f"{base}/metrics",
                    json.dumps({"ts": iso(time.time()), "queues": {"phone": snap, "chat": snap}}),
                    qos=1,
                )
                await asyncio.sleep(period_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener


def _state(agent: list, flaws: Flaws) -> bytes:
    queue, skills, status = agent
    if flaws.wrong_payloads:
        return json.dumps({"ts": iso(time.time())[:-1], "status": "idle", "queue": queue}).encode()
    return json.dumps(
        {"ts": iso(time.time()), "status": status, "queue": queue, "skills": sorted(skills)}
    ).encode()


def _try_json(payload: bytes) -> dict:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _moves(cmd: dict) -> list[dict]:
    moves = cmd.get("moves")
    ok = isinstance(moves, list) and isinstance(cmd.get("command_id"), str)
    return [m for m in moves if isinstance(m, dict) and "agent" in m and "to" in m] if ok else []
