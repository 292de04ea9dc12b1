"""An MQTT bridge for the simulated site: what a contact-center integration would do.

Every ``interval_s`` of simulated time the bridge publishes the agents whose state changed
(``staffer/{site}/agents/{agent}/state``, retained) and then one site snapshot
(``staffer/{site}/metrics``). It waits for the daemon's plan for that time (event clock),
collects the plan's commands from ``staffer/{site}/commands``, and applies each move after
the agent's current contact; the new assignment is reported with the next agent states.
The bridge speaks JSON itself (it is the daemon's counterpart, not part of it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from staffer.codec.timefmt import format_ts, parse_ts
from staffer.core.types import AgentState, Move, QueueSnapshot
from staffer.sim.engine import Engine
from staffer.sim.policies import decision_times


def snapshot_payload(snap: QueueSnapshot) -> dict[str, Any]:
    """A queue snapshot as contract §3.1 JSON, without ``ts`` (the site snapshot has it).

    The fields are ``QueueSnapshot``'s own (not listed again here); absent ones are left out.
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(snap):
        v = getattr(snap, f.name)
        if f.name != "ts" and v is not None:
            out[f.name] = round(v, 3) if isinstance(v, float) else v
    return out


def site_snapshot_payload(ts: float, snaps: dict[str, QueueSnapshot]) -> bytes:
    return json.dumps(
        {"ts": format_ts(ts), "queues": {q: snapshot_payload(s) for q, s in snaps.items()}}
    ).encode()


def agent_payload(a: AgentState) -> bytes:
    body: dict[str, Any] = {
        "ts": format_ts(a.ts),
        "status": a.status,
        "queue": a.queue,
        "skills": sorted(a.skills),
    }
    if a.available_until is not None:
        body["available_until"] = format_ts(a.available_until)
    return json.dumps(body).encode()


def parse_moves(payload: bytes) -> tuple[str | None, list[Move]]:
    """(plan_id, moves) of a commands message (contract §3.3); bad entries are skipped."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None, []
    if not isinstance(data, dict):
        return None, []
    moves = []
    for m in data.get("moves") or []:
        if isinstance(m, dict) and isinstance(m.get("agent"), str) and isinstance(m.get("to"), str):
            moves.append(
                Move(
                    m["agent"],
                    m.get("from"),
                    m["to"],
                    str(m.get("reason", "")),
                    bool(m.get("after_current_contact", True)),
                )
            )
    return data.get("plan_id"), moves


class BridgeError(RuntimeError):
    """The daemon stopped answering (too many site snapshots in a row without a plan)."""


@dataclass
class TickReport:
    """What happened at one bridge tick (for live progress)."""

    t: float
    ts: float
    snaps: dict[str, QueueSnapshot]
    assigned: dict[str, int]
    moves: list[Move]
    plan: dict[str, Any] | None


@dataclass
class BridgeStats:
    """Counters of one bridge run."""

    ticks: int = 0
    plans: int = 0
    missed_plans: int = 0
    commands: int = 0
    moves: int = 0
    published: int = 0
    plan_ids: list[str] = field(default_factory=list)


class SimBridge:
    """Drive an :class:`Engine` through a broker against a running staffer daemon."""

    def __init__(
        self,
        engine: Engine,
        client: Any,
        prefix: str = "staffer",
        plan_timeout_s: float = 10.0,
        command_grace_s: float = 1.0,
        max_missed_in_row: int = 5,
    ) -> None:
        self.engine = engine
        self.client = client
        self.site = engine.sc.site.id
        self.base = f"{prefix}/{self.site}"
        self.plan_timeout_s = plan_timeout_s
        self.command_grace_s = command_grace_s
        self.max_missed_in_row = max_missed_in_row
        self.stats = BridgeStats()
        self._plans: dict[float, dict[str, Any]] = {}
        self._commands: dict[str, list[Move]] = {}
        self._arrived = asyncio.Event()
        self._published: dict[str, tuple[str, str | None, float | None]] = {}

    async def _listen(self) -> None:
        async for msg in self.client.messages:
            topic = str(msg.topic)
            if topic == f"{self.base}/plan":
                try:
                    plan = json.loads(msg.payload)
                    self._plans[parse_ts(plan["as_of"])] = plan
                except (ValueError, KeyError, TypeError):
                    continue
            elif topic == f"{self.base}/commands":
                plan_id, moves = parse_moves(msg.payload)
                self.stats.commands += 1
                self._commands.setdefault(str(plan_id), []).extend(moves)
            self._arrived.set()

    async def publish_agents(self, force: bool = False) -> None:
        """Publish agent states that changed since last published (all when ``force``)."""
        for a in self.engine.agent_states():
            key = (a.status, a.queue, a.available_until)
            if force or self._published.get(a.agent) != key:
                await self.client.publish(
                    f"{self.base}/agents/{a.agent}/state", agent_payload(a), qos=1, retain=True
                )
                self._published[a.agent] = key
                self.stats.published += 1

    async def _wait_plan(self, ts: float) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.plan_timeout_s
        while True:
            plan = next((p for t, p in self._plans.items() if t >= ts - 1e-3), None)
            if plan is not None:
                return plan
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return None

    async def _wait_commands(self, plan: dict[str, Any]) -> list[Move]:
        """The moves of ``plan``'s commands (waits briefly for commands still in transit)."""
        want = int(plan.get("moves") or 0) if plan.get("mode", "auto") == "auto" else 0
        pid = str(plan.get("plan_id"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.command_grace_s
        while len(self._commands.get(pid, [])) < want and loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(deadline - loop.time(), 0))
            except TimeoutError:
                break
        moves = self._commands.pop(pid, [])
        for k in [k for k in self._commands if k != pid]:  # commands of other plans (replan)
            moves.extend(self._commands.pop(k))
        return moves

    async def run(
        self, period_s: float, on_tick: Callable[[TickReport], None] | None = None
    ) -> BridgeStats:
        """Run the whole day (plus drain) through the broker."""
        eng = self.engine
        await self.client.subscribe(f"{self.base}/plan", qos=1)
        await self.client.subscribe(f"{self.base}/commands", qos=1)
        listener = asyncio.create_task(self._listen())
        missed_in_row = 0
        try:
            await self.publish_agents(force=True)
            for t in decision_times(period_s, eng.end_s):
                eng.run_until(t)
                if t >= eng.end_s:
                    break
                ts = eng.sc.start_ts + t
                await self.publish_agents()
                snaps = eng.take_snapshots()
                await self.client.publish(
                    f"{self.base}/metrics", site_snapshot_payload(ts, snaps), qos=1
                )
                self.stats.ticks += 1
                plan = await self._wait_plan(ts)
                moves: list[Move] = []
                if plan is None:
                    self.stats.missed_plans += 1
                    missed_in_row += 1
                    if missed_in_row >= self.max_missed_in_row:
                        raise BridgeError(
                            f"no plan for {missed_in_row} site snapshots in a "
                            f"row (last at {format_ts(ts)})"
                        )
                else:
                    missed_in_row = 0
                    self.stats.plans += 1
                    self.stats.plan_ids.append(str(plan.get("plan_id")))
                    self._plans = {k: v for k, v in self._plans.items() if k > ts}
                    moves = await self._wait_commands(plan)
                self.stats.moves += eng.apply_moves(moves)
                if on_tick is not None:
                    on_tick(TickReport(t, ts, snaps, eng.assigned_counts(), moves, plan))
            eng.run_until(eng.end_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        return self.stats
