"""Discrete-event simulation of one contact-center site (SimPy).

Voice: FIFO, one call per agent, exponential patience (abandonment). Chat: an agent
serves up to ``concurrency`` chats, each chat's handle time stretched by
``1 + chat_slowdown * (chats already open)``. Email: FIFO backlog, never abandons.

Common random numbers: every contact's arrival time, base handle time and patience
are drawn up front from per-queue, per-purpose RNG streams keyed by the seed and the
queue id, so every policy sees exactly the same contacts. A reassigned agent finishes
the current contact(s) first. Times are seconds from the day's start.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import simpy

from staffer.core.types import AgentState, Move, QueueSnapshot
from staffer.sim.scenario import Scenario

STREAM_ARRIVALS, STREAM_HANDLE, STREAM_PATIENCE = 0, 1, 2


@dataclass(slots=True)
class Contact:
    """One contact and what happened to it."""

    queue: str
    arrival: float
    handle_s: float
    patience_s: float
    start: float | None = None
    end: float | None = None
    abandoned_at: float | None = None

    @property
    def wait_s(self) -> float | None:
        return None if self.start is None else self.start - self.arrival


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


@dataclass(slots=True)
class _Counters:
    """Per-queue counters since the last snapshot."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    within: int = 0
    handled: int = 0
    handle_sum: float = 0.0


def rng_stream(seed: int, queue_id: str, purpose: int) -> np.random.Generator:
    """An independent generator per (seed, queue, purpose): common random numbers."""
    key = (zlib.crc32(queue_id.encode()), purpose)
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def arrival_times(
    rates_per_s: list[float], period_s: float, rng: np.random.Generator
) -> np.ndarray:
    """Non-homogeneous Poisson arrivals with a piecewise-constant rate (exact)."""
    out: list[np.ndarray] = []
    for i, rate in enumerate(rates_per_s):
        if rate <= 0:
            continue
        n = rng.poisson(rate * period_s)
        out.append(np.sort(rng.uniform(i * period_s, (i + 1) * period_s, n)))
    return np.concatenate(out) if out else np.empty(0)


def handle_times(n: int, aht: float, kind: str, cv: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` handle times with mean ``aht``: exponential or lognormal with the given CV."""
    if kind == "exponential":
        return rng.exponential(aht, n)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(aht) - sigma2 / 2, math.sqrt(sigma2), n)


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
        d = self.sc.demand[qid]
        period = self.sc.profile_interval_s
        times = arrival_times(
            [r / 3600.0 for r in d.rates_per_hour],
            period,
            rng_stream(self.seed, qid, STREAM_ARRIVALS),
        )
        if d.initial_backlog:
            ages = rng_stream(self.seed, qid, 3).uniform(0, d.initial_max_age_s, d.initial_backlog)
            times = np.concatenate([np.sort(-ages), times])
        aht = self.sc.aht_of(qid)
        hts = handle_times(
            len(times), aht, d.handle, d.handle_cv, rng_stream(self.seed, qid, STREAM_HANDLE)
        ) * self.sc.handle_scale(qid, times)
        patience = self.sc.patience_of(qid)
        if patience is None:
            pats = np.full(len(times), math.inf)
        else:
            pats = rng_stream(self.seed, qid, STREAM_PATIENCE).exponential(patience, len(times))
        return [
            Contact(qid, float(t), float(h), float(p))
            for t, h, p in zip(times, hts, pats, strict=True)
        ]

    def _build_agents(self) -> None:
        out_of: dict[str, list[tuple[float, float]]] = {}
        groups = {g.prefix: g for g in self.sc.agents}
        for e in self.sc.events:
            for aid in groups[e.prefix].agent_ids()[: e.agents]:
                out_of.setdefault(aid, []).append((e.start_s, e.end_s))
        for g in self.sc.agents:
            for aid in g.agent_ids():
                end = g.shift_end_s if g.shift_end_s is not None else math.inf
                a = SimAgent(aid, frozenset(g.skills), g.queue, g.shift_start_s, end)
                self.agents[aid] = a
                self.by_queue[g.queue].append(a)
                self.env.process(self._shift(a, out_of.get(aid, [])))

    # -------------------------------------------------------------- processes
    def _arrivals(self, qid: str, contacts: list[Contact]):
        env = self.env
        for c in contacts:
            if c.arrival > env.now:
                yield env.timeout(c.arrival - env.now)
            self._arrive(c)

    def _shift(self, a: SimAgent, outages: list[tuple[float, float]]):
        env = self.env
        if a.shift_start > env.now:
            yield env.timeout(a.shift_start - env.now)
        self._set_online(a, True)
        edges = sorted([(s, True) for s, _ in outages] + [(e, False) for _, e in outages])
        for t, down in edges:
            if t >= a.shift_end:
                break
            if t > env.now:
                yield env.timeout(t - env.now)
            a.outage = down
            self._set_online(a, not down)
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
            self.env.timeout(c.patience_s).callbacks.append(lambda _e, c=c: self._abandon(c))

    def _abandon(self, c: Contact) -> None:
        if c.start is None and c.abandoned_at is None:
            c.abandoned_at = self.env.now
            self.n_waiting[c.queue] -= 1
            self.counters[c.queue].abandoned += 1

    def _free_agent(self, qid: str) -> SimAgent | None:
        best: SimAgent | None = None
        cap = self.cap[qid]
        for a in self.by_queue[qid]:
            if not a.online or a.pending is not None or a.active >= cap:
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
        self.env.timeout(h).callbacks.append(lambda _e, a=a, c=c: self._finish(a, c))

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
        if not a.online or a.pending is not None:
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
        self.move_log.append((self.env.now, a.id, a.queue, to))
        a.queue = to
        a.moves += 1
        self.total_moves += 1

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
        """Advance the simulation to time ``t`` (seconds from the day's start)."""
        if t > self.env.now:
            self.env.run(until=t)

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
        """Every agent's state as a bridge would report it (POSIX ts)."""
        ts = self.sc.start_ts + self.env.now
        out = []
        for a in self.agents.values():
            status = ("busy" if a.active else "available") if a.online or a.active else "offline"
            out.append(AgentState(a.id, ts, status, a.queue, a.skills))  # type: ignore[arg-type]
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


def staffed_seconds(engine: Engine) -> float:
    """Agent-seconds online over the day, from the sampler (for moves per agent-hour)."""
    s = engine.samples
    total = 0.0
    for (t0, c0), (t1, _) in itertools.pairwise(s):
        if t0 >= engine.sc.day_s:
            break
        total += sum(c0.values()) * (min(t1, engine.sc.day_s) - t0)
    return total
