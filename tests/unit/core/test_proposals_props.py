"""ProposalBook properties under random sequences of plans, approvals, rejections, sweeps,
roster changes and restarts (hypothesis stateful testing)."""

from __future__ import annotations

import itertools
import json

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from staffer.core.cooldowns import CooldownBook
from staffer.core.proposals import ProposalBook, Selection
from staffer.core.types import AgentState, Move

AGENTS = ("a1", "a2", "a3", "a4")
QUEUES = ("phone", "chat", "email")
TTL = 600.0
COOLDOWN = 900.0

moves_st = st.lists(st.tuples(st.sampled_from(AGENTS), st.sampled_from(QUEUES)), max_size=6)
dt_st = st.sampled_from([0.0, 1.0, 60.0, 299.0, 300.0, 600.0, 900.0, 2000.0])


class Book(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        n = itertools.count(1)
        self.factory = lambda: f"p{next(n)}"
        self.book = ProposalBook("main", ttl_s=TTL, cooldown_s=COOLDOWN, id_factory=self.factory)
        self.now = 1_000_000.0
        self.queue = dict.fromkeys(AGENTS, "email")
        self.opened = 0
        self.closed: dict[str, str] = {}  # proposal id -> outcome (each reported once)
        self.approved_moves: list[str] = []

    def _roster(self) -> dict[str, AgentState]:
        return {
            a: AgentState(a, self.now, "available", q, frozenset(QUEUES))
            for a, q in self.queue.items()
        }

    def _record(self, closed) -> None:
        for c in closed:
            pid = c.proposal.proposal_id
            assert pid not in self.closed, f"{pid} closed twice"
            self.closed[pid] = c.outcome

    @rule(pairs=moves_st, dt=dt_st)
    def plan(self, pairs, dt) -> None:
        self.now += dt
        before = {(p.agent, p.to_queue): p for p in self.book.open() if p.expires_at > self.now}
        moves = [Move(a, self.queue[a], q, f"to {q}") for a, q in pairs]
        ch = self.book.update(f"plan-{self.now}", moves, self.now)
        self.opened += len(ch.opened)
        self._record(ch.closed)
        blocked = self.book.cooldowns.active(self.now)
        seen: set[str] = set()
        for m in moves:
            if m.agent in seen or m.from_queue == m.to_queue or (m.agent, m.to_queue) in blocked:
                continue
            seen.add(m.agent)
            now_open = {(p.agent, p.to_queue): p.proposal_id for p in self.book.open()}
            assert (m.agent, m.to_queue) in now_open, "a wanted move has no proposal"
            old = before.get((m.agent, m.to_queue))
            if old is not None:  # still wanted and not expired: the same id
                assert now_open[(m.agent, m.to_queue)] == old.proposal_id
        # nothing else stays open
        assert {p.agent for p in self.book.open()} == seen

    @rule(data=st.data(), use_all=st.booleans(), dt=dt_st)
    def approve(self, data, use_all, dt) -> None:
        self.now += dt
        open_ids = [p.proposal_id for p in self.book.open()]
        pool = open_ids + sorted(self.closed)[:3] + ["nope"]
        chosen = data.draw(st.lists(st.sampled_from(pool), max_size=3))
        sel = Selection(all=True) if use_all else Selection(tuple(chosen))
        d = self.book.approve(sel, "alice", self.now, mode="approve", agents=self._roster())
        self._record(d.closed)
        for am in d.moves:
            assert am.proposal_id not in self.approved_moves, "approved twice"
            self.approved_moves.append(am.proposal_id)
            self.queue[am.move.agent] = am.move.to_queue  # the bridge carries it out
        if d.ok:
            assert d.moves
        else:
            assert not d.moves and d.code

    @rule(data=st.data(), dt=dt_st)
    def reject(self, data, dt) -> None:
        self.now += dt
        open_ids = [p.proposal_id for p in self.book.open()]
        chosen = data.draw(st.lists(st.sampled_from([*open_ids, "nope"]), min_size=1, max_size=2))
        targets = {p.proposal_id: p for p in self.book.open()}
        d = self.book.reject(Selection(tuple(chosen)), "bob", self.now, mode="approve")
        self._record(d.closed)
        if d.ok:
            for pid in chosen:
                p = targets[pid]
                assert (p.agent, p.to_queue) in self.book.cooldowns.active(self.now)

    @rule(dt=dt_st)
    def sweep(self, dt) -> None:
        self.now += dt
        ch = self.book.expire(self.now)
        assert all(c.outcome == "expired" for c in ch.closed)
        self._record(ch.closed)

    @rule(agent=st.sampled_from(AGENTS), queue=st.sampled_from(QUEUES))
    def agent_moves_by_itself(self, agent, queue) -> None:
        self.queue[agent] = queue

    @rule()
    def restart(self) -> None:
        data = json.loads(json.dumps(self.book.to_records()))
        cooldowns = CooldownBook(list(self.book.cooldowns))  # from their own table
        again = ProposalBook.from_records(
            "main",
            data,
            ttl_s=TTL,
            cooldown_s=COOLDOWN,
            cooldowns=cooldowns,
            id_factory=self.factory,
        )
        assert again.open() == self.book.open()
        assert again.cooldowns.active(self.now) == self.book.cooldowns.active(self.now)
        self.book = again

    @invariant()
    def one_open_proposal_per_agent(self) -> None:
        agents = [p.agent for p in self.book.open()]
        assert len(agents) == len(set(agents))

    @invariant()
    def closed_ids_never_reopen(self) -> None:
        assert not {p.proposal_id for p in self.book.open()} & set(self.closed)

    @invariant()
    def every_proposal_is_open_or_closed_once(self) -> None:
        assert self.opened == len(self.book) + len(self.closed)

    @invariant()
    def no_open_proposal_in_a_cooldown(self) -> None:
        blocked = self.book.cooldowns.active(self.now)
        assert not {(p.agent, p.to_queue) for p in self.book.open()} & blocked

    @invariant()
    def approvals_match_the_tally(self) -> None:
        approved = [pid for pid, outcome in self.closed.items() if outcome == "approved"]
        assert approved == self.approved_moves


Book.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestProposalBook = Book.TestCase
