"""The running side of ``staffer bridge-check``: play the daemon on one site for a while.

It connects with the daemon's MQTT adapter, subscribes to what a bridge publishes for the
site (snapshots, agent states, move acks), decodes every message with the daemon's codec
(``staffer.codec``, the same functions ``staffer.bridge`` validates with) and, on the way:

1. once agent states show a suitable agent, commands one skilled move and one move to a
   queue some agent lacks the skill for (``conformance.choose_moves``), each its own
   command, encoded with the daemon's ``encode_command``;
2. after the acks (or the ack timeout) and past 60 % of the run, publishes malformed
   commands (not JSON, wrong types, a move without a target);
3. at the end, moves the agent of step 1 back where it was (unless ``restore=False``).

The result is a ``conformance.Recording``; ``conformance.evaluate`` judges it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from staffer.adapters.mqtt import AiomqttPort
from staffer.adapters.mqtt_policy import parse_url
from staffer.adapters.port import Inbound, Session
from staffer.bridge.conformance import choose_moves
from staffer.bridge.recording import Message, Purpose, Recording, Sent
from staffer.codec import payloads
from staffer.codec.timefmt import FUTURE_TS, format_ts, future_ts_detail
from staffer.codec.topics import Route, Topics
from staffer.core.types import AgentState, Move, MoveAck, QueueSnapshot
from staffer.settings import MqttSettings

CONNECT_TIMEOUT_S = 10.0
TICK_S = 0.1
NARRATED_AGENTS = 5  # agents named in the progress output as they first appear


class CheckerConnectionError(RuntimeError):
    """The broker could not be reached."""


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """How to run one check (the CLI's options)."""

    url: str
    site: str
    duration_s: float = 180.0
    agent: str | None = None
    prefix: str = "staffer"
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    ack_timeout_s: float = 30.0
    max_clock_skew_s: float = 300.0
    restore: bool = True


def _decode(route: Route, payload: bytes) -> object:
    """The daemon's decoder for the route (raises PayloadError)."""
    if route.kind == "queue_metrics":
        return payloads.decode_queue_snapshot(payload)
    if route.kind == "site_metrics":
        return payloads.decode_site_snapshot(payload)
    if route.kind == "agent_state":
        return payloads.decode_agent_state(route.agent or "", payload)
    return payloads.decode_move_ack(route.agent or "", payload)


def _ts_of(value: object) -> float | None:
    if isinstance(value, QueueSnapshot | AgentState):
        return value.ts
    if isinstance(value, tuple):
        return float(value[0])
    return getattr(value, "ts", None)


class Checker:
    """One run against one site: ``await Checker(options, progress).run()``."""

    def __init__(self, opts: CheckOptions, progress: Callable[[str], None]) -> None:
        self.opts = opts
        self.say = progress
        self.topics = Topics(opts.prefix)
        site = opts.site
        self.rec = Recording(site, self.topics.commands(site), opts.duration_s)
        # the daemon's filters for the site, less the supervisors' requests
        subs = [t for t in self.topics.site_subscriptions(site) if "/override/" not in t]
        settings = MqttSettings(
            url=opts.url,
            client_id=f"staffer-bridge-check-{secrets.token_hex(4)}",
            username=opts.username,
            password_file=opts.password_file,
            ca_file=opts.ca_file,
            reconnect_min_s=0.2,
            reconnect_max_s=2.0,
        )
        self.port = AiomqttPort(
            settings,
            Session(
                client_id=settings.client_id,
                status_topic=None,
                subscriptions=[(t, 1) for t in subs],
                on_state=self._on_state,
                on_connect_failed=self._on_connect_failed,
            ),
        )
        self._settled = asyncio.Event()  # connected, or the first attempt failed
        self._failed: str | None = None  # why it failed
        self._t0 = 0.0
        self.states: dict[str, AgentState] = {}
        self.queues: set[str] = set()
        self._told: set[tuple[str, str]] = set()  # (kind, reason) of rejections narrated

    def _on_state(self, up: bool) -> None:
        if up:
            self._settled.set()

    def _on_connect_failed(self, why: str) -> None:
        if self._failed is None:
            self._failed = why
            self._settled.set()  # `run` reports it: a check does not retry

    def _now(self) -> float:
        return time.monotonic() - self._t0

    async def _on_message(self, msg: Inbound) -> None:
        route = self.topics.parse(msg.topic)
        if route is None or route.site != self.opts.site:
            return
        at, value, error, detail = self._now(), None, None, ""
        try:
            value = _decode(route, msg.payload)
            ts = _ts_of(value)
            skew = self.opts.max_clock_skew_s
            ahead = None if ts is None else future_ts_detail(ts, time.time(), skew)
            if ahead is not None:
                error, detail = FUTURE_TS, ahead
        except payloads.PayloadError as err:
            error, detail = err.reason, err.detail
        self.rec.messages.append(
            Message(at, msg.topic, route, msg.retain, msg.payload, value, error, detail)
        )
        self._note(route, value, msg.retain, error)

    def _note(self, route: Route, value: object, retained: bool, error: str | None) -> None:
        """Remember agents and queues; narrate the first few of each kind of message."""
        where = "retained " if retained else ""
        if error is not None:
            if (route.kind, error) not in self._told:
                self._told.add((route.kind, error))
                self.say(f"{route.kind} the daemon would reject ({error}); first of its kind")
        elif isinstance(value, AgentState):
            if value.agent not in self.states and len(self.states) < NARRATED_AGENTS:
                self.say(f"{where}agent state: {value.agent} {value.status} in {value.queue}")
            elif value.agent not in self.states and len(self.states) == NARRATED_AGENTS:
                self.say("more agents: counted in the progress lines")
            self.states[value.agent] = value
            self.queues.update(value.skills)
        elif isinstance(value, QueueSnapshot):
            self.queues.add(route.queue or "")
        elif isinstance(value, tuple):
            self.queues.update(value[1])
        elif isinstance(value, MoveAck):
            self.say(f"ack from {route.agent}: {value.status} ({value.command_id})")

    # -- commands ---------------------------------------------------------------------------
    async def _command(self, purpose: Purpose, agent: str, src: str | None, dst: str) -> Sent:
        cid = f"bridge-check-{secrets.token_hex(4)}"
        move = Move(agent, src, dst, f"staffer bridge-check: {purpose} move", True)
        body = payloads.encode_command(cid, None, self.opts.site, time.time(), "auto", [move])
        await self.port.publish(self.rec.commands_topic, body, wait_ack=True)
        sent = Sent(self._now(), purpose, cid, agent, src, dst)
        self.rec.sent.append(sent)
        self.say(f"commanded {purpose} move {agent}: {src} -> {dst} ({cid})")
        return sent

    async def _send_moves(self) -> None:
        skilled, unskilled = choose_moves(self.states, self.queues, self.opts.agent)
        for purpose, choice in (("skilled", skilled), ("unskilled", unskilled)):
            if isinstance(choice, str):
                self.rec.not_sent[purpose] = choice
                self.say(f"no {purpose} move: {choice}")
            else:
                await self._command(purpose, *choice)  # type: ignore[arg-type]

    async def _send_malformed(self) -> None:
        no_target = {
            "command_id": f"bridge-check-{secrets.token_hex(4)}",
            "plan_id": None,
            "site": self.opts.site,
            "ts": format_ts(time.time()),
            "mode": "auto",
            "moves": [{"agent": "bridge-check"}],
        }
        malformed = (b"\x00not json", b'{"command_id": 7, "moves": "all"}', json.dumps(no_target))
        for body in malformed:
            data = body if isinstance(body, bytes) else body.encode()
            await self.port.publish(self.rec.commands_topic, data, wait_ack=True)
        self.rec.malformed_at = self._now()
        self.say("published 3 malformed commands")

    def _acks_settled(self) -> bool:
        pending = {s.agent for s in self.rec.sent}
        for m in self.rec.messages:
            if m.route.kind == "move_ack" and m.route.agent in pending:
                pending.discard(m.route.agent)
        waited = min((self._now() - s.at for s in self.rec.sent), default=0.0)
        return not pending or waited >= self.opts.ack_timeout_s

    # -- the run -------------------------------------------------------------------------------
    async def run(self) -> Recording:
        task = asyncio.create_task(self.port.run(self._on_message))
        try:
            broker = parse_url(self.opts.url).display
            try:
                await asyncio.wait_for(self._settled.wait(), CONNECT_TIMEOUT_S)
            except TimeoutError:
                raise CheckerConnectionError(f"cannot reach the broker at {broker}") from None
            if self._failed is not None:
                raise CheckerConnectionError(f"cannot reach the broker at {broker}: {self._failed}")
            self._t0 = time.monotonic()
            where = f"{self.topics.prefix}/{self.opts.site}"
            self.say(f"listening on {where}/# for {self.opts.duration_s:g} s")
            await self._script()
            await self._restore()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return self.rec

    async def _script(self) -> None:
        d = self.opts.duration_s
        observe_until = min(d / 3, 30.0)
        beat, next_beat = max(5.0, d / 10), max(5.0, d / 10)
        moves_sent = False
        while (now := self._now()) < d:
            if not moves_sent and (now >= observe_until or self._has_candidate()):
                await self._send_moves()
                moves_sent = True
            late = moves_sent and self.rec.malformed_at is None and now >= 0.6 * d
            if late and self._acks_settled():
                await self._send_malformed()
            if now >= next_beat:
                next_beat += beat
                self.say(self._heartbeat())
            await asyncio.sleep(TICK_S)

    def _has_candidate(self) -> bool:
        skilled, _ = choose_moves(self.states, self.queues, self.opts.agent)
        return not isinstance(skilled, str) and bool(
            self.rec.live(("queue_metrics", "site_metrics"))
        )

    def _heartbeat(self) -> str:
        live = self.rec.live()
        snaps = sum(m.route.kind in ("queue_metrics", "site_metrics") for m in live)
        bad = sum(m.error is not None for m in self.rec.messages)
        return (
            f"{snaps} snapshots, {len(self.states)} agents, "
            f"{sum(m.route.kind == 'move_ack' for m in live)} acks, {bad} invalid so far"
        )

    async def _restore(self) -> None:
        sent = self.rec.command("skilled")
        if not self.opts.restore or sent is None or sent.from_queue is None:
            return
        current = self.states.get(sent.agent)
        if current is not None and current.queue == sent.to_queue:
            await self._command_back(sent)

    async def _command_back(self, sent: Sent) -> None:
        cid = f"bridge-check-{secrets.token_hex(4)}"
        move = Move(
            sent.agent, sent.to_queue, str(sent.from_queue), "staffer bridge-check: restore"
        )
        body = payloads.encode_command(cid, None, self.opts.site, time.time(), "auto", [move])
        await self.port.publish(self.rec.commands_topic, body, wait_ack=True)
        self.say(f"moved {sent.agent} back to {sent.from_queue} ({cid})")
