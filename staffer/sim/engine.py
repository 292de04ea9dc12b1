"""Discrete-event simulation of one contact-center site (SimPy).

Voice: FIFO, one call per agent, exponential patience (abandonment). Chat: an agent
serves up to ``concurrency`` chats, each chat's handle time stretched by
``1 + chat_slowdown * (chats already open)``. Email: FIFO backlog, never abandons.

The contacts are drawn up front (``staffer.sim.demand``: common random numbers). A
reassigned agent finishes the current contact(s) first, then switches and takes no
contact for the scenario's ``switch_cost_s``. Agents work shifts; outages take them
offline unannounced, breaks are announced: an online agent's state carries
``available_until`` (contract §11), the next break start or the shift end. Times are
seconds from the day's start.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import simpy

from staffer.core.types import AgentState, Move, QueueSnapshot
from staffer.sim.demand import Contact, arrival_times, draw_contacts, rng_stream
from staffer.sim.scenario import Scenario
from staffer.vocabulary import AgentStatus

__all__ = ["Contact", "Engine", "SimAgent", "SimTrace", "arrival_times", "rng_stream"]


@dataclass(slots=True)
class SimAgent:
    """An agent inside the simulation."""

    id: str
    skills: frozenset[str]
    queue: str
    shift_start: float
    shift_end: float
    active: int = 0
    pending: str | None = None
    online: bool = False
    outage: bool = False
    last_free: float = 0.0
    moves: int = 0
    ready_at: float = 0.0  # after a switch: takes no contact before this time
    away: str | None = None  # "outage" or "break" while away
    break_starts: tuple[float, ...] = ()  # announced breaks (for available_until)


@dataclass(slots=True)
class _Counters:
    """Per-queue counters since the last snapshot."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    within: int = 0
    handled: int = 0
    handle_sum: float = 0.0


class Engine:
    """The simulated site. Drive it with :meth:`run_until` and :meth:`apply_moves`."""

    def __init__(self, scenario: Scenario, seed: int | None = None, sample_s: float = 60.0) -> None:
        self.sc = scenario
        self.seed = scenario.seed if seed is None else seed
        self.env = simpy.Environment()
        self.queues = {q.id: q for q in scenario.site.queues}
        self.channel = {q.id: q.channel for q in scenario.site.queues}
        self.cap = {
            q.id: (q.concurrency if q.channel == "chat" else 1) for q in scenario.site.queues
        }
        self.waiting: dict[str, deque[Contact]] = {q: deque() for q in self.queues}
        self.n_waiting = dict.fromkeys(self.queues, 0)
        self.contacts: list[Contact] = []
        self.counters = {q: _Counters() for q in self.queues}
        self.agents: dict[str, SimAgent] = {}
        self.by_queue: dict[str, list[SimAgent]] = {q: [] for q in self.queues}
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.total_moves = 0
        self.move_log: list[tuple[float, str, str, str]] = []
        self._last_snapshot = 0.0
        self.end_s = scenario.day_s + scenario.drain_s
        self._build_agents()
        for qid in self.queues:
            self.env.process(self._arrivals(qid, self._draw(qid)))
        self.env.process(self._sampler(sample_s))

    # ------------------------------------------------------------------ setup
    def _draw(self, qid: str) -> list[Contact]:
        return draw_contacts(self.sc, self.seed, qid)

    def _build_agents(self) -> None:
        away: dict[str, list[tuple[float, float, str]]] = {}
        groups = {g.prefix: g for g in self.sc.agents}
        for e in self.sc.events:
            for k, aid in enumerate(groups[e.prefix].agent_ids()[: e.agents]):
                start, end = e.window(k)
                away.setdefault(aid, []).append((start, end, e.kind))
        for g in self.sc.agents:
            for aid in g.agent_ids():
                end = g.shift_end_s if g.shift_end_s is not None else math.inf
                mine = sorted(away.get(aid, []))
                a = SimAgent(aid, frozenset(g.skills), g.queue, g.shift_start_s, end)
                a.break_starts = tuple(s for s, _, kind in mine if kind == "break")
                self.agents[aid] = a
                self.by_queue[g.queue].append(a)
                self.env.process(self._shift(a, mine))

    # -------------------------------------------------------------- processes
    def _after(self, delay: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` ``delay`` seconds of simulated time from now."""
        self.env.timeout(delay).callbacks.append(lambda _event: fn())

    def _arrivals(self, qid: str, contacts: list[Contact]):
        env = self.env
        for c in contacts:
            if c.arrival > env.now:
                yield env.timeout(c.arrival - env.now)
            self._arrive(c)

    def _shift(self, a: SimAgent, away: list[tuple[float, float, str]]):
        env = self.env
        if a.shift_start > env.now:
            yield env.timeout(a.shift_start - env.now)
        self._set_online(a, True)
        edges = sorted([(s, 1, kind) for s, _, kind in away] + [(e, -1, "") for _, e, _ in away])
        depth = 0  # overlapping absences: away until the last one ends
        for t, step, kind in edges:
            if t >= a.shift_end:
                break
            if t > env.now:
                yield env.timeout(t - env.now)
            depth += step
            a.away = kind if step > 0 else (a.away if depth else None)
            a.outage = depth > 0
            self._set_online(a, depth == 0)
        if math.isfinite(a.shift_end) and a.shift_end > env.now:
            yield env.timeout(a.shift_end - env.now)
            a.shift_end = env.now
            self._set_online(a, False)

    def _sampler(self, every: float):
        while True:
            self.samples.append((self.env.now, self.assigned_counts()))
            yield self.env.timeout(every)

    # ------------------------------------------------------------- mechanics
    def _arrive(self, c: Contact) -> None:
        self.contacts.append(c)
        if c.arrival >= 0:
            self.counters[c.queue].offered += 1
        agent = self._free_agent(c.queue)
        if agent is not None:
            self._serve(agent, c)
            return
        self.waiting[c.queue].append(c)
        self.n_waiting[c.queue] += 1
        if math.isfinite(c.patience_s):
            self._after(c.patience_s, partial(self._abandon, c))

    def _abandon(self, c: Contact) -> None:
        if c.start is None and c.abandoned_at is None:
            c.abandoned_at = self.env.now
            self.n_waiting[c.queue] -= 1
            self.counters[c.queue].abandoned += 1

    def _free_agent(self, qid: str) -> SimAgent | None:
        best: SimAgent | None = None
        cap = self.cap[qid]
        now = self.env.now
        for a in self.by_queue[qid]:
            if not a.online or a.pending is not None or a.active >= cap or a.ready_at > now:
                continue
            if best is None or (a.active, a.last_free) < (best.active, best.last_free):
                best = a
        return best

    def _serve(self, a: SimAgent, c: Contact) -> None:
        now = self.env.now
        c.start = now
        cnt = self.counters[c.queue]
        cnt.answered += 1
        q = self.queues[c.queue]
        if now - c.arrival <= q.target_s:
            cnt.within += 1
        h = c.handle_s
        if self.channel[c.queue] == "chat":
            h *= 1.0 + self.sc.demand[c.queue].chat_slowdown * a.active
        a.active += 1
        self._after(h, partial(self._finish, a, c))

    def _finish(self, a: SimAgent, c: Contact) -> None:
        now = self.env.now
        c.end = now
        a.active -= 1
        cnt = self.counters[c.queue]
        cnt.handled += 1
        cnt.handle_sum += now - c.start  # type: ignore[operator]
        if a.active == 0:
            a.last_free = now
            if a.pending is not None:
                self._switch(a)
            if not a.online:
                return
        self._pull(a)

    def _pull(self, a: SimAgent) -> None:
        """Give a free agent work from its queue's FIFO while it has capacity."""
        if not a.online or a.pending is not None or a.ready_at > self.env.now:
            return
        dq = self.waiting[a.queue]
        while a.active < self.cap[a.queue] and dq:
            c = dq.popleft()
            if c.abandoned_at is not None:
                continue
            self.n_waiting[a.queue] -= 1
            self._serve(a, c)

    def _switch(self, a: SimAgent) -> None:
        to = a.pending
        a.pending = None
        if to is None or to == a.queue:
            return
        self.by_queue[a.queue].remove(a)
        self.by_queue[to].append(a)
        now = self.env.now
        self.move_log.append((now, a.id, a.queue, to))
        a.queue = to
        a.moves += 1
        self.total_moves += 1
        cost = self.sc.switch_cost_s
        if cost > 0:  # logging out and in, re-reading the queue: no contact meanwhile
            a.ready_at = now + cost
            self._after(cost, partial(self._pull, a))

    def _set_online(self, a: SimAgent, online: bool) -> None:
        if online:
            if self.env.now >= a.shift_end or a.outage:
                return
            a.online = True
            a.last_free = self.env.now
            self._pull(a)
        else:
            a.online = False  # finishes what it has; takes nothing new

    # ------------------------------------------------------------ public API
    @property
    def now(self) -> float:
        return self.env.now

    def run_until(self, t: float) -> None:
        """Advance the simulation to time ``t`` (seconds from the day's start), including
        what happens at ``t`` itself (an agent whose shift starts at 09:00 is logged in
        when the 09:00 snapshot is taken)."""
        if t > self.env.now:
            self.env.run(until=t)
        while self.env.peek() <= t:
            self.env.step()

    def apply_moves(self, moves: list[Move] | tuple[Move, ...]) -> int:
        """Queue moves; each applies once the agent's current contacts end. Returns accepted."""
        accepted = 0
        for m in moves:
            a = self.agents.get(m.agent)
            if a is None or m.to_queue not in a.skills or m.to_queue not in self.queues:
                continue
            if m.to_queue == a.queue and a.pending is None:
                continue
            a.pending = None if m.to_queue == a.queue else m.to_queue
            accepted += 1
            if a.active == 0 and a.pending is not None:
                self._switch(a)
                self._pull(a)
        return accepted

    def assigned_counts(self) -> dict[str, int]:
        """Online agents per current queue."""
        out = dict.fromkeys(self.queues, 0)
        for a in self.agents.values():
            if a.online:
                out[a.queue] += 1
        return out

    def agent_states(self) -> list[AgentState]:
        """Every agent's state as a bridge would report it (POSIX ts).

        An online agent is busy or available, and announces when it leaves next
        (``available_until``: the next break or the shift end; an agent working "all
        day" leaves when the site closes, at the end of the run). An agent away or off
        shift is busy while it finishes a contact (leaving now), then ``break`` during a
        break, else ``offline``. Outages are not announced.
        """
        now = self.env.now
        t0 = self.sc.start_ts
        out = []
        for a in self.agents.values():
            until: float | None = None
            status: AgentStatus
            if a.online:
                status = "busy" if a.active or a.ready_at > now else "available"
                nxt = min((s for s in a.break_starts if s > now), default=math.inf)
                until = t0 + min(nxt, a.shift_end, self.end_s)
            elif a.active:  # finishing a last contact before a break or the shift's end
                status, until = "busy", t0 + now
            else:
                status = "break" if a.away == "break" else "offline"
            out.append(AgentState(a.id, t0 + now, status, a.queue, a.skills, until))
        return out

    def take_snapshots(self) -> dict[str, QueueSnapshot]:
        """Per-queue snapshot of the interval since the previous call; resets counters."""
        now = self.env.now
        ts = self.sc.start_ts + now
        interval = max(now - self._last_snapshot, 1e-9)
        self._last_snapshot = now
        out = {}
        for qid in self.queues:
            cnt = self.counters[qid]
            oldest = next((c for c in self.waiting[qid] if c.abandoned_at is None), None)
            age = 0.0 if oldest is None else now - oldest.arrival
            email = self.channel[qid] == "email"
            out[qid] = QueueSnapshot(
                ts=ts,
                interval_s=interval,
                offered=cnt.offered,
                waiting=self.n_waiting[qid],
                answered=cnt.answered,
                abandoned=cnt.abandoned,
                answered_within_target=None if email else cnt.within,
                aht_s=cnt.handle_sum / cnt.handled if cnt.handled else None,
                oldest_wait_s=None if email else age,
                backlog=self.n_waiting[qid] if email else None,
                oldest_age_s=age if email else None,
            )
            self.counters[qid] = _Counters()
        return out


@dataclass
class SimTrace:
    """What a finished run leaves behind for KPIs and plots."""

    scenario: Scenario
    policy: str
    seed: int
    contacts: list[Contact]
    samples: list[tuple[float, dict[str, int]]]
    move_log: list[tuple[float, str, str, str]]
    agent_seconds: float
    extra: dict[str, float] = field(default_factory=dict)
    # the planner's predicted service level per queue, at each plan (seconds from start)
    predictions: list[tuple[float, dict[str, float]]] = field(default_factory=list)


def staffed_seconds(engine: Engine) -> float:
    """Agent-seconds online over the day, from the sampler (for moves per agent-hour)."""
    s = engine.samples
    total = 0.0
    for (t0, c0), (t1, _) in itertools.pairwise(s):
        if t0 >= engine.sc.day_s:
            break
        total += sum(c0.values()) * (min(t1, engine.sc.day_s) - t0)
    return total
