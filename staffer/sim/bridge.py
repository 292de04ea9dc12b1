"""The simulated site's bridge: what a contact-center integration does, on ``staffer.bridge``.

It publishes the agents whose state changed and one site snapshot every ``interval_s`` of
simulated time, applies the daemon's commands to the :class:`Engine` (each move after the
agent's current contact) and acknowledges every move (contract §10): ``accepted`` at once
when the simulated ACD takes it, ``rejected`` with a reason when it cannot (unknown agent
or queue, missing skill), ``done`` when the switch happens. Two ways to run:

* ``run`` (``staffer demo``): lockstep with an event-clock daemon. After each snapshot the
  bridge waits for the daemon's plan for that time and its commands, so a whole simulated
  day passes in seconds; timestamps are the simulation's.
* ``run_realtime`` (``python -m staffer.sim.bridge``, the compose ``demo`` profile, and
  what ``staffer bridge-check`` is pointed at): paced by the wall clock ``speed`` times
  faster than the simulated day, commands applied as they arrive; timestamps are the
  wall clock, so a wall-clock daemon takes them as live data.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from staffer.bridge import Bridge, Command, Move, PlanSummary
from staffer.codec.timefmt import format_ts
from staffer.core.types import QueueSnapshot
from staffer.sim.engine import Engine
from staffer.sim.policies import decision_times


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
    plan: PlanSummary | None


@dataclass
class BridgeStats:
    """Counters of one bridge run."""

    ticks: int = 0
    plans: int = 0
    missed_plans: int = 0
    commands: int = 0
    moves: int = 0  # moves accepted by the simulated ACD
    published: int = 0  # agent states
    acks: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("accepted", "rejected", "done"), 0)
    )
    plan_ids: list[str] = field(default_factory=list)


class SimBridge:
    """Drive an :class:`Engine` through a connected :class:`staffer.bridge.Bridge`."""

    def __init__(
        self,
        engine: Engine,
        bridge: Bridge,
        plan_timeout_s: float = 10.0,
        command_grace_s: float = 1.0,
        max_missed_in_row: int = 5,
    ) -> None:
        self.engine = engine
        self.bridge = bridge
        self.plan_timeout_s = plan_timeout_s
        self.command_grace_s = command_grace_s
        self.max_missed_in_row = max_missed_in_row
        self.stats = BridgeStats()
        self._plans: dict[float, PlanSummary] = {}
        self._commands: dict[str, list[Command]] = {}
        self._arrived = asyncio.Event()
        self._published: dict[str, tuple[str, str | None, float | None]] = {}
        self._speed = 1.0  # simulated seconds per second of the timestamps sent
        self._awaiting: dict[str, tuple[Command, Move]] = {}  # agent -> move not yet switched
        self._switches = 0  # entries of engine.move_log already reported

    # -- what every tick does ---------------------------------------------------------------
    async def publish_agents(self, ts: float, force: bool = False) -> None:
        """Publish agent states that changed since last published (all when ``force``).

        An announced departure (``available_until``, contract §11) is sent on the clock
        of ``ts``: as far ahead of it as the simulated day has left, divided by the speed.
        """
        for a in self.engine.agent_states():
            key = (a.status, a.queue, a.available_until)
            if force or self._published.get(a.agent) != key:
                until = a.available_until
                if until is not None:
                    until = ts + (until - a.ts) / self._speed
                await self.bridge.agent_state(
                    a.agent,
                    status=a.status,
                    queue=a.queue,
                    skills=a.skills,
                    available_until=until,
                    ts=ts,
                )
                self._published[a.agent] = key
                self.stats.published += 1

    async def apply(self, command: Command, ts: float) -> list[Move]:
        """Apply a command's moves to the engine and ack each; returns the accepted ones."""
        self.stats.commands += 1
        taken = []
        for move in command.moves:
            agent = self.engine.agents.get(move.agent)
            if self.engine.apply_moves([move]):
                taken.append(move)
                self._awaiting[move.agent] = (command, move)
                await self._ack(command, move, "accepted", ts)
            elif agent is not None and agent.queue == move.to_queue:
                await self._ack(command, move, "done", ts)
            else:
                await self._ack(command, move, "rejected", ts, _refusal(self.engine, move))
        self.stats.moves += len(taken)
        await self.report_switches(lambda _t: ts)
        return taken

    async def report_switches(self, ts_of: Callable[[float], float]) -> None:
        """``done`` for every awaited move the engine carried out since the last call;
        ``ts_of`` maps the switch's simulated time to the ack's timestamp."""
        log = self.engine.move_log
        for t, agent, _src, dst in log[self._switches :]:
            awaited = self._awaiting.get(agent)
            if awaited is not None and awaited[1].to_queue == dst:
                del self._awaiting[agent]
                await self._ack(*awaited, "done", ts_of(t))
        self._switches = len(log)

    async def _ack(
        self, command: Command, move: Move, status: str, ts: float, reason: str | None = None
    ) -> None:
        await self.bridge.ack(command, move, status, reason, ts=ts)  # type: ignore[arg-type]
        self.stats.acks[status] += 1

    # -- lockstep with an event-clock daemon (staffer demo) ---------------------------------
    async def _listen(self) -> None:
        async def plans() -> None:
            async for plan in self.bridge.plans():
                self._plans[plan.as_of] = plan
                self._arrived.set()

        async def commands() -> None:
            async for command in self.bridge.commands():
                self._commands.setdefault(str(command.plan_id), []).append(command)
                self._arrived.set()

        await asyncio.gather(plans(), commands())

    async def _wait(self, ready: Callable[[], bool], timeout_s: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not ready():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return True

    def _plan_for(self, ts: float) -> PlanSummary | None:
        return next((p for t, p in self._plans.items() if t >= ts - 1e-3), None)

    async def _wait_plan(self, ts: float) -> PlanSummary | None:
        """The daemon's plan for ``ts`` (event clock), None when it does not come in time."""
        await self._wait(lambda: self._plan_for(ts) is not None, self.plan_timeout_s)
        return self._plan_for(ts)

    async def _follow(self, plan: PlanSummary, ts: float) -> list[Move]:
        """Apply the plan's commands (and any others that arrived); the accepted moves."""
        self.stats.plans += 1
        self.stats.plan_ids.append(plan.plan_id)
        self._plans = {k: v for k, v in self._plans.items() if k > ts}
        moves: list[Move] = []
        for command in await self._commands_of(plan):
            moves.extend(await self.apply(command, ts))
        return moves

    async def _commands_of(self, plan: PlanSummary) -> list[Command]:
        """The commands of ``plan`` (waits briefly for those still in transit), and of any
        other plan (a supervisor's replan or assign) that arrived meanwhile."""
        want = plan.moves if plan.mode == "auto" else 0
        pid = plan.plan_id
        await self._wait(
            lambda: sum(len(c.moves) for c in self._commands.get(pid, [])) >= want,
            self.command_grace_s,
        )
        commands = self._commands.pop(pid, [])
        for key in list(self._commands):
            commands.extend(self._commands.pop(key))
        return commands

    async def run(
        self, period_s: float, on_tick: Callable[[TickReport], None] | None = None
    ) -> BridgeStats:
        """Run the whole day (plus drain) in lockstep with the daemon's plans."""
        eng = self.engine
        start = eng.sc.start_ts
        listener = asyncio.create_task(self._listen())
        missed_in_row = 0
        try:
            await self.publish_agents(start + eng.now, force=True)
            for t in decision_times(period_s, eng.end_s):
                eng.run_until(t)
                if t >= eng.end_s:
                    break
                ts = start + t
                await self.report_switches(lambda s: start + s)
                await self.publish_agents(ts)
                snaps = eng.take_snapshots()
                await self.bridge.site_snapshot(snaps, ts=ts)
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
                    moves = await self._follow(plan, ts)
                if on_tick is not None:
                    on_tick(TickReport(t, ts, snaps, eng.assigned_counts(), moves, plan))
            eng.run_until(eng.end_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        return self.stats

    # -- paced by the wall clock (python -m staffer.sim.bridge, bridge-check) ----------------
    async def run_realtime(
        self, speed: float, on_tick: Callable[[TickReport], None] | None = None
    ) -> BridgeStats:
        """Run the day ``speed`` times faster than real time, applying commands as they
        arrive; every timestamp is the wall clock."""
        eng = self.engine
        period_s = eng.sc.planner.interval_s
        self._speed = speed
        consumer = asyncio.create_task(self._consume_live())
        t0 = time.monotonic()
        try:
            await self.publish_agents(time.time(), force=True)
            for t in decision_times(period_s, eng.end_s):
                await asyncio.sleep(max(0.0, t0 + t / speed - time.monotonic()))
                eng.run_until(t)
                if t >= eng.end_s:
                    break
                await self.report_switches(lambda _s: time.time())
                await self.publish_agents(time.time())
                snaps = eng.take_snapshots()
                await self.bridge.site_snapshot(snaps, ts=time.time())
                self.stats.ticks += 1
                if on_tick is not None:
                    on_tick(TickReport(t, time.time(), snaps, eng.assigned_counts(), [], None))
        finally:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await consumer
        return self.stats

    async def _consume_live(self) -> None:
        async for command in self.bridge.commands():
            await self.apply(command, time.time())
            await self.publish_agents(time.time())  # an idle agent switched at once


def _refusal(engine: Engine, move: Move) -> str:
    """Why the simulated ACD cannot carry out ``move`` (the ack's reason)."""
    agent = engine.agents.get(move.agent)
    if agent is None:
        return f"no agent {move.agent!r} on this site"
    if move.to_queue not in engine.queues:
        return f"no queue {move.to_queue!r} on this site"
    return f"{move.agent} has no {move.to_queue!r} skill"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m staffer.sim.bridge``: a simulated site in (accelerated) real time."""
    from staffer.bridge import BridgeConnectionError
    from staffer.cli.parser import OneLineParser
    from staffer.settings import ConfigError
    from staffer.sim.scenario import load_scenario

    p = OneLineParser(
        prog="python -m staffer.sim.bridge",
        description="A simulated contact center publishing to a staffer broker in real time "
        "(SPEED times faster), applying and acknowledging the daemon's moves.",
    )
    p.add_argument("--url", default="mqtt://127.0.0.1:1883")
    p.add_argument("--site", default=None, help="site id (default: the scenario's)")
    p.add_argument("--prefix", default="staffer", help="topic prefix")
    p.add_argument("--username", default=None)
    p.add_argument("--password-file", default=None)
    p.add_argument("--ca-file", default=None)
    p.add_argument("--scenario", default="surge", help="bundled scenario name or TOML file")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--speed", type=float, default=60.0, help="simulated seconds per second")
    args = p.parse_args(argv)
    if args.speed <= 0:
        p.error("--speed must be > 0")
    try:
        sc = load_scenario(args.scenario)
    except ConfigError as err:
        print(f"staffer.sim.bridge: error: --scenario: {err}", file=sys.stderr)
        return 2
    if args.site:
        sc = sc.model_copy(update={"site": sc.site.model_copy(update={"id": args.site})})
    engine = Engine(sc, sc.seed if args.seed is None else args.seed)

    async def go() -> BridgeStats:
        async with Bridge(
            args.url,
            sc.site.id,
            prefix=args.prefix,
            username=args.username,
            password_file=args.password_file,
            ca_file=args.ca_file,
        ) as b:
            return await SimBridge(engine, b).run_realtime(args.speed, _print_tick)

    try:
        stats = asyncio.run(go())
    except BridgeConnectionError as err:
        print(f"staffer.sim.bridge: {err}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    print(f"done: {stats.ticks} snapshots, {stats.commands} commands, acks {stats.acks}")
    return 0


def _print_tick(r: TickReport) -> None:
    waiting = " ".join(f"{q} {s.waiting}" for q, s in r.snaps.items())
    print(f"{format_ts(r.ts)} t={r.t:.0f}s waiting: {waiting}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
