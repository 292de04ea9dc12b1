"""A complete staffer bridge, built on ``staffer.bridge`` (see docs/bridge-guide.md).

Replace :class:`DemoAcd` with calls to your ACD (the guide's mapping tables name the API
calls for Amazon Connect, Genesys Cloud, Twilio TaskRouter and Asterisk) and keep the
rest. As shipped it runs against an in-memory stand-in, so you can watch it work:

    python examples/acd_bridge.py --url mqtt://127.0.0.1:1883 --site main --period 60
    staffer bridge-check --url mqtt://127.0.0.1:1883 --site main

What it does, all of which the daemon relies on (contract §3, §10):

* every ``--period`` seconds one site snapshot covering exactly that window, then the
  state of every agent whose state changed (retained, so a restarted daemon has them);
* for every move of every command: ask the ACD, ack ``accepted`` or ``rejected`` (with
  the ACD's reason) at once, and ``done`` once the agent serves the new queue.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from dataclasses import dataclass, field

from staffer.bridge import AgentStatus, Bridge, Command, Move


@dataclass
class Agent:
    """What the ACD knows of one agent, in staffer's terms."""

    id: str
    queue: str
    skills: set[str]
    status: AgentStatus = "available"


@dataclass
class DemoAcd:
    """Stand-in for a real ACD: random traffic; a busy agent switches after its contact."""

    queues: tuple[str, ...] = ("phone", "chat", "email")
    agents: dict[str, Agent] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # agent -> queue after this contact
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def __post_init__(self) -> None:
        for i in range(6):
            queue = self.queues[i % len(self.queues)]
            skills = {queue, "phone"} if i % 2 else {queue}
            self.agents[f"a{i}"] = Agent(f"a{i}", queue, skills)

    async def interval_figures(self, window_s: float) -> dict[str, dict[str, float | int]]:
        """One window's figures per queue, in staffer's units (§3.1)."""
        out: dict[str, dict[str, float | int]] = {}
        for q in self.queues:
            offered = self.rng.randint(0, 8)
            answered = self.rng.randint(0, offered)
            out[q] = {
                "interval_s": window_s,
                "offered": offered,
                "waiting": offered - answered,
                "answered": answered,
                "abandoned": 0,
                "answered_within_target": self.rng.randint(0, answered),
                "aht_s": 180.0 + 60 * self.rng.random(),  # talk + hold + wrap-up
            }
        return out

    async def poll_agents(self) -> list[Agent]:
        """Current agents; moves waiting for a contact's end happen here."""
        for agent in self.agents.values():
            statuses: tuple[AgentStatus, ...] = ("available", "busy", "busy", "wrap_up")
            agent.status = self.rng.choice(statuses)
            if agent.id in self.pending and agent.status == "available":
                agent.queue = self.pending.pop(agent.id)
        return list(self.agents.values())

    async def assign(self, agent_id: str, queue: str, after_current_contact: bool) -> str | None:
        """Route ``agent_id`` to ``queue``; None when the ACD takes it, else why not."""
        agent = self.agents.get(agent_id)
        if agent is None:
            return f"no agent {agent_id} in the ACD"
        if queue not in agent.skills:
            return f"{agent_id} is not licensed for {queue}"
        if agent.status == "available" or not after_current_contact:
            agent.queue = queue
        else:
            self.pending[agent_id] = queue
        return None


class AcdBridge:
    """The bridge: ACD figures and agents out, staffer's moves in."""

    def __init__(self, acd: DemoAcd, bridge: Bridge, period_s: float) -> None:
        self.acd, self.b, self.period_s = acd, bridge, period_s
        self.sent: dict[
            str, tuple[AgentStatus, str]
        ] = {}  # agent -> (status, queue) last published
        self.moving: dict[str, tuple[Command, Move]] = {}  # accepted, not yet switched

    async def publish(self) -> None:
        await self.b.site_snapshot(await self.acd.interval_figures(self.period_s))
        for agent in await self.acd.poll_agents():
            awaited = self.moving.get(agent.id)
            if awaited is not None and agent.queue == awaited[1].to_queue:
                del self.moving[agent.id]
                await self.b.ack(*awaited, "done")
            if self.sent.get(agent.id) != (agent.status, agent.queue):
                await self.b.agent_state(
                    agent.id, status=agent.status, queue=agent.queue, skills=agent.skills
                )
                self.sent[agent.id] = (agent.status, agent.queue)

    async def follow_commands(self) -> None:
        async for command in self.b.commands():  # redeliveries are already dropped
            for move in command.moves:
                refusal = await self.acd.assign(
                    move.agent, move.to_queue, move.after_current_contact
                )
                if refusal is not None:
                    await self.b.ack(command, move, "rejected", refusal)
                    continue
                await self.b.ack(command, move, "accepted")
                self.moving[move.agent] = (command, move)

    async def run(self) -> None:
        follower = asyncio.create_task(self.follow_commands())
        try:
            while not follower.done():
                await self.publish()
                await asyncio.sleep(self.period_s)
            follower.result()
        finally:
            follower.cancel()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="mqtt://127.0.0.1:1883")
    p.add_argument("--site", default="main")
    p.add_argument("--prefix", default="staffer")
    p.add_argument("--username")
    p.add_argument("--password-file")
    p.add_argument("--ca-file")
    p.add_argument("--period", type=float, default=60.0, help="seconds per snapshot")
    args = p.parse_args()
    async with Bridge(
        args.url,
        args.site,
        prefix=args.prefix,
        username=args.username,
        password_file=args.password_file,
        ca_file=args.ca_file,
    ) as b:
        await AcdBridge(DemoAcd(), b, args.period).run()


if __name__ == "__main__":
    asyncio.run(main())
