"""The daemon's effects, in order: SQLite writes and MQTT publishes through one outbox.

`staffer.app` decides (plans, moves, replies) and changes in-memory state at once;
the `Emitter` turns each decision into the writes and messages that follow, queued on
an ordered `Outbox`, so the next inbound message never waits for an fsync or a
PUBACK while the order that matters is kept:

* an override reply is published after the write that acknowledges it (contract §7);
* a command (planner, ``assign``, approval: every one) is published after its command
  id, its moves in flight, one audit row per move (contract §16) and the command itself
  as a *pending command* are written in one transaction, so a restarted daemon never
  re-issues or re-numbers it; it stays pending until the broker's PUBACK and is sent
  again, under the same id, after a reconnect or a restart (``_hand_over``);
* an approve/reject request (contract §9) is written in one transaction that the
  handler awaits (``decision``: queued behind every earlier write, so nothing older
  overwrites it), so its reply can name the command id, and a failed write is answered,
  not swallowed; the approved command (written pending with it) goes out before the
  reply (``send_command``);
* last plans, open proposals and ended flights are not acknowledgements: they are
  gathered while a flush job waits in the outbox and written together; a plan whose
  moves are commanded is written in its command's transaction instead, then published
  just before the command (``adapters.last_plans``: one fsync on the command's way);
* the retained override list of a site goes out at most once per ``OVERRIDES_EVERY_S``
  (``adapters.override_pacer``: a later change waits for the interval's end and sends
  the latest list then).

Every write reports to ``health`` (`StoreHealth`: the ``staffer_storage_ok`` gauge,
``/readyz``, one rate-limited error line). A failed write never raises into the outbox:
an override request's write is awaited by its handler (``reply`` returns False and the
supervisor gets a ``storage`` reply), a command whose in-flight write fails is not
published, not counted (``on_command`` runs only after the publish) and its moves leave
flight again, so a later plan proposes them once the disk is back.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

from staffer.adapters import oplog
from staffer.adapters.last_plans import LastPlan, LastPlans
from staffer.adapters.outbox import Outbox
from staffer.adapters.override_pacer import OverridePacer
from staffer.adapters.port import Inbound, MqttPort
from staffer.adapters.store import StateStore, StoreError
from staffer.adapters.store_health import StoreHealth
from staffer.adapters.store_proposals import CommandRecord, DecisionWrite
from staffer.codec import payloads
from staffer.codec.audit import move_audit
from staffer.codec.topics import Topics
from staffer.core.acks import AckEffect
from staffer.core.cooldowns import Cooldown
from staffer.core.inflight import InFlightBook
from staffer.core.overrides import Outcome
from staffer.core.types import InFlightMove, Move, Override, OverrideReply, RequestId
from staffer.vocabulary import STORAGE

log = logging.getLogger("staffer.emitter")

PENDING_ID = "pending"  # command id of a move whose command is still in the outbox


class Emitter:
    """Ordered persistence and publication for the daemon (``start``/``drain``/``stop``)."""

    def __init__(
        self,
        topics: Topics,
        mqtt: MqttPort,
        maxsize: int = 10000,
        *,
        health: StoreHealth | None = None,
        on_command: Callable[[str, Sequence[Move]], object] = lambda _site, _moves: None,
    ) -> None:
        self.topics = topics
        self.mqtt = mqtt
        self.health = health or StoreHealth()
        self.on_command = on_command  # a command was published: count it and its moves
        self.outbox = Outbox(maxsize)
        self.store: StateStore | None = None
        self._batches: dict[str, dict[Any, Any]] = {}
        self._plans = LastPlans()
        self._unsent: dict[tuple[str, str], bytes] = {}  # pending commands: (site, id) -> body
        self._tasks: set[asyncio.Task[None]] = set()  # after a PUBACK (or its loss)
        self._since: dict[tuple[str, str], float] = {}  # when each was first handed over
        self._max_age_s = math.inf
        self._overrides = OverridePacer(self._send_overrides)

    def start(self, store: StateStore) -> None:
        self.store = store
        self.outbox.start()

    async def drain(self, timeout_s: float) -> bool:
        await self._overrides.flush()
        return await self.outbox.drain(timeout_s)

    async def stop(self) -> None:
        self._overrides.cancel()  # ``drain`` (before ``stop``) has queued them
        await self.outbox.stop()

    @property
    def _db(self) -> StateStore:
        if self.store is None:
            raise RuntimeError("state store not open")
        return self.store

    async def _out(self, fn: Callable[..., Awaitable[object]], *args: Any, **kw: Any) -> None:
        await self.outbox.put(functools.partial(fn, *args, **kw))

    async def _write(self, fn: Callable[..., Awaitable[object]], *args: Any) -> bool:
        """Run one store write; its outcome goes to ``health``; False when it failed."""
        try:
            await fn(*args)
        except StoreError as err:
            self.health.failed(err)
            return False
        self.health.succeeded()
        return True

    async def _wrote(self, fn: Callable[..., Awaitable[object]], *args: Any) -> None:
        """``_write`` as an outbox job (a write nobody waits for)."""
        await self._write(fn, *args)

    # -- decisions -> effects ---------------------------------------------------------------
    async def plan(self, site: str, body: bytes, as_of: float) -> None:
        """The retained plan (``body`` as encoded), and the site's last plan in the store
        (batched; a plan with a command goes through ``command(..., plan=...)``)."""
        if self._plans.put(site, (body, as_of)):
            await self.outbox.put(self._flush_plans)
        await self._out(self.mqtt.publish, self.topics.plan(site), body, retain=True)

    async def command(
        self,
        site: str,
        flights: InFlightBook,
        moves: Sequence[Move],
        plan_id: str | None,
        now: float,
        mode: str,
        decided_by: str,
        plan: LastPlan | None = None,
    ) -> None:
        """Moves are in flight at once (no later plan re-issues them); the outbox then
        writes the command in one transaction (``StateStore.record_decision``: a command
        id, the flights under it, the moves' audit rows with ``decided_by``: ``planner``
        or the supervisor, the command as pending until the broker's PUBACK, and the
        ``plan`` it comes from, if any, as the site's last plan) and only then publishes
        the plan (retained, even when the write failed, as ``plan`` does) and the command."""
        ride = None if plan is None else self._plans.rider(site, plan)
        pending = [InFlightMove(m.agent, m.to_queue, PENDING_ID, now) for m in moves]
        for f in pending:
            flights.add(f)
        taken: list[CommandRecord] = []

        def build(command_id: str) -> CommandRecord:  # on the store's thread, in its write
            done = [InFlightMove(m.agent, m.to_queue, command_id, now) for m in moves]
            audit = [
                move_audit(
                    site,
                    now,
                    command_id=command_id,
                    plan_id=plan_id,
                    mode=mode,
                    move=m,
                    decided_by=decided_by,
                )
                for m in moves
            ]
            body = payloads.encode_command(command_id, plan_id, site, now, mode, moves)
            taken.append(CommandRecord(body, done, audit))
            return taken[-1]

        async def write() -> None:
            last = None if ride is None else ride()  # the site's newest unwritten plan
            try:  # id, flights, audit rows, pending command (and plan): one transaction
                command_id = await self._db.record_decision(
                    site, DecisionWrite(None, command=build, plan=last)
                )
            except StoreError as err:
                self.health.failed(err)
                log.warning(
                    "site %s: %d move(s) not commanded, the write failed (a later plan "
                    "retries): %s", site, len(pending), err,
                )  # fmt: skip
                for old in pending:  # not commanded: out of flight, a later plan retries
                    flights.discard(old)
                if plan is not None:
                    await self.mqtt.publish(self.topics.plan(site), plan[0], retain=True)
                return
            self.health.succeeded()
            if command_id is None:  # pragma: no cover - a write with a command takes an id
                return
            command = taken[-1]
            for old, new in zip(pending, command.in_flight, strict=True):
                if flights.by_agent.get(old.agent) is old:  # not confirmed or replaced
                    flights.add(new)
            if plan is not None:
                await self.mqtt.publish(self.topics.plan(site), plan[0], retain=True)
            await self._hand_over(site, command_id, command.payload)
            oplog.command(site, command_id, mode, decided_by, moves)
            self.on_command(site, moves)

        await self.outbox.put(write)

    async def reply(self, site: str, supervisor: str, outcome: Outcome, request: Inbound) -> bool:
        """Persist an override outcome (and audit), waiting for the write (queued behind
        every earlier one), then reply (reply topic + v5 response): the outcome's reply,
        or, when the write failed, a ``storage`` error (False: the caller undoes it)."""
        written = await self._awaited(self._db.record_outcome, outcome)
        reply = outcome.reply if written else storage_reply(outcome.reply.id)
        await self.respond(site, supervisor, reply, request)
        return written

    async def _awaited(self, fn: Callable[..., Awaitable[object]], *args: Any) -> bool:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        async def write_it() -> None:
            done.set_result(await self._write(fn, *args))

        await self.outbox.put(write_it)
        return await done

    async def respond(
        self, site: str, supervisor: str, reply: OverrideReply, request: Inbound
    ) -> None:
        """A reply whose request is already on disk (an approve/reject: ``decision``)."""
        topic = self.topics.override_reply(site, supervisor)
        await self._out(self.mqtt.respond, topic, payloads.encode_reply(reply), request)

    # -- approve mode (contract §9) ----------------------------------------------------------
    async def decision(self, site: str, write: DecisionWrite) -> str | None:
        """Write an approve/reject request in one transaction, after everything queued
        before it, and wait for it: the command id of its approved moves (None: nothing
        commanded). A failed write raises (``StoreError``) for the caller to answer."""
        done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        async def write_it() -> None:
            try:
                done.set_result(await self._db.record_decision(site, write))
            except Exception as err:  # reported to the waiting handler, not just logged
                if isinstance(err, StoreError):
                    self.health.failed(err)
                done.set_exception(err)
            else:
                self.health.succeeded()

        await self.outbox.put(write_it)
        return await done

    async def send_command(self, site: str, command_id: str, body: bytes) -> None:
        """Publish a command already written as pending (an approval's, or one restored at
        start), after everything queued before it (``_hand_over``)."""
        await self._out(self._hand_over, site, command_id, body)

    async def _hand_over(self, site: str, command_id: str, body: bytes) -> None:
        """Hand a pending command to the port now (call order is publish order) and track
        it until the broker's PUBACK (``on_ack``), so the outbox never waits a round trip.
        Without a connection it is held for ``resend_unsent``."""
        key = (site, command_id)
        self._since.setdefault(key, time.time())
        if not self.mqtt.connected:
            self._unsent[key] = body
            return
        on_ack = functools.partial(self._acked, key, body)
        await self.mqtt.publish(self.topics.commands(site), body, on_ack=on_ack)

    def _acked(self, key: tuple[str, str], body: bytes, ok: bool) -> None:
        """Acknowledged: dropped from the pending commands (batched). Lost (the link
        dropped or went half-open before the PUBACK): held and sent again after the
        next (re)connect, or at once when a reconnect already happened meanwhile."""
        if ok:
            self._since.pop(key, None)
            batch = self._batches.setdefault("acked", {})
            first, batch[key] = not batch, None
            flush = functools.partial(self._flush, "acked")
            if first and not self.outbox.offer(flush):
                self._background(self.outbox.put(flush))
            return
        self._unsent[key] = body
        if self.mqtt.connected:  # the reconnect's resend ran before this publish gave up
            self._background(self.resend_unsent(self._max_age_s))

    def _background(self, job: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resend_unsent(self, max_age_s: float = math.inf) -> None:
        """After a (re)connect: the commands the broker has not acknowledged, in order,
        under their command ids (the bridge deduplicates by command id); one held longer
        than ``max_age_s`` (``move_timeout_s``: its moves have timed out in flight) is
        dropped, as at start (``Runtime._resend``)."""
        self._max_age_s = max_age_s
        unsent, self._unsent = self._unsent, {}
        now = time.time()
        stale = [k for k in unsent if now - self._since.get(k, now) > max_age_s]
        for site, command_id in stale:
            del unsent[(site, command_id)]
            self._since.pop((site, command_id), None)
            log.warning("site %s: command %s was never acknowledged: dropped", site, command_id)
            await self._out(self._db.drop_pending_commands, site, [command_id])
        if unsent:
            log.info("sending %d command(s) the broker has not acknowledged", len(unsent))
        for (site, command_id), body in unsent.items():
            await self.send_command(site, command_id, body)

    async def proposals(self, site: str, records: Mapping[str, Any], body: bytes) -> None:
        """The site's open proposals: stored (batched), then the retained topic."""
        await self._coalesced("proposals", site, records)
        await self.republish_proposals(site, body)

    async def republish_proposals(self, site: str, body: bytes) -> None:
        await self._out(self.mqtt.publish, self.topics.proposals(site), body, retain=True)

    async def prune_audit(self, before_ts: float, site: str) -> None:
        await self._out(self._wrote, self._db.prune_audit, before_ts, site)

    async def overrides(self, site: str, active: Sequence[Override]) -> None:
        """The retained list of a site's active overrides, paced (``OverridePacer``)."""
        await self._overrides.offer(site, active)

    async def _send_overrides(self, site: str, active: list[Override]) -> None:
        body = payloads.encode_overrides(active)
        await self._out(self.mqtt.publish, self.topics.overrides(site), body, retain=True)

    async def expired(self, overrides: list[Override], now: float) -> None:
        await self._out(self._wrote, self._db.record_expired, overrides, now)

    async def forget_flights(self, site: str, agents: Sequence[str]) -> None:
        """Flights that ended (confirmed or timed out): removed from the store in batches."""
        for agent in agents:
            await self._coalesced("forget", (site, agent), None)

    async def move_ack(self, site: str, effect: AckEffect) -> None:
        """A bridge's move ack: accepted mark, ended flight, cool-down and audit, one write."""
        await self._out(self._wrote, self._db.record_move_ack, site, effect)

    async def forget_cooldowns(self, site: str, cooldowns: Sequence[Cooldown]) -> None:
        await self._out(self._wrote, self._db.remove_cooldowns, site, cooldowns)

    async def clear_retained(self, topic: str) -> None:
        """Delete a retained message (a retained request: answered once, never replayed)."""
        await self._out(self.mqtt.publish, topic, b"", retain=True)

    async def republish_plan(self, site: str, body: bytes) -> None:
        await self._out(self.mqtt.publish, self.topics.plan(site), body, retain=True)

    # -- batching ---------------------------------------------------------------------------
    async def _coalesced(self, kind: str, key: Any, value: Any) -> None:
        batch = self._batches.setdefault(kind, {})
        first = not batch
        batch[key] = value
        if first:
            await self.outbox.put(functools.partial(self._flush, kind))

    async def _flush_plans(self) -> None:
        for site, (body, as_of) in self._plans.take_all().items():
            await self._write(self._db.save_plan, site, body, as_of)

    async def _flush(self, kind: str) -> None:
        batch = self._batches.pop(kind, {})
        if kind == "proposals":
            for site, records in batch.items():
                await self._write(self._db.save_proposals, site, records)
            return
        by_site: dict[str, list[str]] = {}
        for site, key in batch:
            by_site.setdefault(site, []).append(key)
        for site, keys in by_site.items():
            if kind == "acked":
                await self._write(self._db.drop_pending_commands, site, keys)
            else:
                await self._write(self._db.remove_in_flight, site, keys)


def storage_reply(request_id: RequestId, message: str | None = None) -> OverrideReply:
    """The reply to a request the state database could not record (nothing was done)."""
    return OverrideReply(
        request_id,
        ok=False,
        code=STORAGE,
        message=message
        or "the state database could not record the request; nothing was done (retry later)",
    )
