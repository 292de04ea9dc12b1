"""``Bridge``: the async client a contact-center bridge is written with (contract §14).

It publishes what a bridge owes the daemon (queue and site snapshots, agent states, move
acknowledgements) and yields what the daemon commands. Everything it publishes is first
encoded and then decoded again with the daemon's own codec, so a payload the daemon would
reject raises :class:`BridgePayloadError` here, naming the topic and the reason code the
daemon would have counted, and nothing is sent.

The connection is the daemon's own MQTT adapter (``staffer.adapters.mqtt.MqttPort``):
reconnects with backoff and resubscribes, MQTT 5 with 3.1.1 fallback, TLS and a password
file. Everything is QoS 1. Agent states are retained by default and, after a reconnect,
the latest state of every agent is published again (a broker restarted without
persistence has lost them). While disconnected, publishes are held and sent in order on
reconnect (the coroutine then returns False instead of True).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pydantic import ValidationError

from staffer.adapters.mqtt import Inbound, MqttPort
from staffer.codec import payloads
from staffer.codec.acks import decode_move_ack, encode_move_ack
from staffer.codec.bridge_payloads import (
    QUEUE_FIELDS,
    Command,
    PlanSummary,
    decode_command,
    decode_plan,
    queue_body_json,
)
from staffer.codec.timefmt import format_ts
from staffer.codec.topics import TopicError, Topics
from staffer.core.types import AckStatus, AgentStatus, Move, MoveAck, QueueSnapshot
from staffer.settings import MqttSettings

log = logging.getLogger("staffer.bridge")

Timestamp = float | datetime | None  # POSIX seconds, an aware datetime, or None for now
QueueBody = Mapping[str, Any] | QueueSnapshot
MAX_SEEN_COMMANDS = 4096  # command ids remembered to drop QoS 1 redeliveries
MAX_QUEUED = 10000  # decoded commands/plans not yet consumed (oldest dropped beyond)


class BridgeError(RuntimeError):
    """Base class of the errors ``staffer.bridge`` raises."""


class BridgeConnectionError(BridgeError):
    """The broker could not be reached within ``connect_timeout_s``."""


class BridgePayloadError(BridgeError, ValueError):
    """A payload the daemon would reject; nothing was published.

    ``reason`` is the daemon's code (``missing_field:offered``, ``bad_ts``, ...), the same
    it would count in ``staffer_invalid_messages_total``.
    """

    def __init__(self, topic: str, reason: str, detail: str = "") -> None:
        super().__init__(f"not published to {topic}: {reason}" + (f" ({detail})" if detail else ""))
        self.topic = topic
        self.reason = reason
        self.detail = detail


class Bridge:
    """One site's bridge connection: ``async with Bridge(url, site) as b: ...``."""

    def __init__(
        self,
        url: str,
        site: str,
        *,
        prefix: str = "staffer",
        username: str | None = None,
        password_file: str | Path | None = None,
        ca_file: str | Path | None = None,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
        client_id: str | None = None,
        protocol: Literal["auto", "5", "3.1.1"] = "auto",
        keepalive_s: float = 30.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        connect_timeout_s: float | None = 10.0,
        max_clock_skew_s: float = 300.0,
        max_payload_bytes: int = 65536,
        plans: bool = False,
    ) -> None:
        """``max_clock_skew_s`` mirrors the daemon's ``[mqtt] max_clock_skew_s``: a ``ts``
        further ahead of this host's clock is refused (0 disables, e.g. for a replayed
        day). ``plans=True`` also follows the site's retained plan (:meth:`plans`)."""
        self.site = site
        try:
            self.topics = Topics(prefix)
            self._commands_topic = self.topics.commands(site)
            self._plan_topic = self.topics.plan(site)
            settings = MqttSettings(
                url=url,
                client_id=client_id or f"staffer-bridge-{site}-{uuid.uuid4().hex[:8]}",
                username=username,
                password_file=password_file,
                ca_file=ca_file,
                cert_file=cert_file,
                key_file=key_file,
                protocol=protocol,
                keepalive_s=keepalive_s,
                reconnect_min_s=reconnect_min_s,
                reconnect_max_s=reconnect_max_s,
                max_payload_bytes=max_payload_bytes,
            )
        except (TopicError, ValidationError) as err:
            raise ValueError(f"Bridge: {err}") from None
        subscriptions = [(self._commands_topic, 1)] + ([(self._plan_topic, 1)] if plans else [])
        self._port = MqttPort(
            settings,
            client_id=settings.client_id,
            status_topic=None,
            subscriptions=subscriptions,
            on_state=self._on_state,
        )
        self._follow_plans = plans
        self._connect_timeout_s = connect_timeout_s
        self._max_skew_s = max_clock_skew_s
        self._max_bytes = max_payload_bytes
        self._up = asyncio.Event()
        self._connects = 0
        self._task: asyncio.Task[None] | None = None
        self._commands: asyncio.Queue[Command] = asyncio.Queue(MAX_QUEUED)
        self._plans: asyncio.Queue[PlanSummary] = asyncio.Queue(MAX_QUEUED)
        self._seen: dict[str, None] = {}
        self._states: dict[str, bytes] = {}  # agent -> latest retained state published
        self._republishing: asyncio.Task[None] | None = None
        self.invalid_commands = 0  # commands that did not decode (skipped, logged)
        self.duplicate_commands = 0  # redeliveries of a command id already yielded

    # -- connection ---------------------------------------------------------------------------
    async def __aenter__(self) -> Bridge:
        self._task = asyncio.get_running_loop().create_task(
            self._port.run(self._on_message), name=f"staffer-bridge-{self.site}"
        )
        if self._connect_timeout_s is not None:
            try:
                await asyncio.wait_for(self._up.wait(), self._connect_timeout_s)
            except TimeoutError:
                await self._stop()
                raise BridgeConnectionError(
                    f"no MQTT connection within {self._connect_timeout_s:g} s"
                ) from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _stop(self) -> None:
        for task in (self._republishing, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._republishing = None

    @property
    def connected(self) -> bool:
        return self._port.connected

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until the broker session is up (raises TimeoutError)."""
        await asyncio.wait_for(self._up.wait(), timeout_s)

    def _on_state(self, up: bool) -> None:
        if not up:
            self._up.clear()
            return
        self._up.set()
        self._connects += 1
        if self._connects > 1 and self._states:
            self._republishing = asyncio.get_running_loop().create_task(self._republish())

    async def _republish(self) -> None:
        """After a reconnect: every agent's latest state again (retained)."""
        for agent in list(self._states):
            topic = self.topics.agent_state(self.site, agent)
            await self._port.publish(topic, self._states[agent], retain=True, wait_ack=True)

    # -- inbound --------------------------------------------------------------------------
    async def _on_message(self, msg: Inbound) -> None:
        if msg.topic == self._commands_topic:
            self._take_command(msg)
        elif msg.topic == self._plan_topic:
            with contextlib.suppress(payloads.PayloadError):
                _put_latest(self._plans, decode_plan(msg.payload))

    def _take_command(self, msg: Inbound) -> None:
        try:
            command = decode_command(msg.payload)
        except payloads.PayloadError as err:
            self.invalid_commands += 1
            log.warning("skipped an invalid command on %s: %s", msg.topic, err)
            return
        if command.command_id in self._seen:
            self.duplicate_commands += 1
            return
        if len(self._seen) >= MAX_SEEN_COMMANDS:
            del self._seen[next(iter(self._seen))]
        self._seen[command.command_id] = None
        _put_latest(self._commands, command)

    async def commands(self) -> AsyncIterator[Command]:
        """The site's commands as they arrive, each command id once (one consumer)."""
        while True:
            yield await self._commands.get()

    async def plans(self) -> AsyncIterator[PlanSummary]:
        """The site's plans as they arrive (needs ``plans=True``)."""
        if not self._follow_plans:
            raise BridgeError("construct the Bridge with plans=True to follow plans")
        while True:
            yield await self._plans.get()

    # -- outbound -------------------------------------------------------------------------
    async def queue_snapshot(
        self,
        queue: str,
        *,
        interval_s: float,
        offered: int,
        waiting: int,
        answered: int | None = None,
        abandoned: int | None = None,
        answered_within_target: int | None = None,
        aht_s: float | None = None,
        oldest_wait_s: float | None = None,
        backlog: int | None = None,
        oldest_age_s: float | None = None,
        ts: Timestamp = None,
    ) -> bool:
        """One queue's interval (§3.1) on ``{p}/{site}/queues/{queue}/metrics``."""
        topic = self._topic(self.topics.queue_metrics, queue)
        body = {
            "interval_s": interval_s,
            "offered": offered,
            "waiting": waiting,
            "answered": answered,
            "abandoned": abandoned,
            "answered_within_target": answered_within_target,
            "aht_s": aht_s,
            "oldest_wait_s": oldest_wait_s,
            "backlog": backlog,
            "oldest_age_s": oldest_age_s,
        }
        data = self._encode(topic, {"ts": self._ts(topic, ts), **_present(body)})
        self._check(topic, payloads.decode_queue_snapshot, data)
        return await self._send(topic, data)

    async def site_snapshot(self, queues: Mapping[str, QueueBody], *, ts: Timestamp = None) -> bool:
        """Every queue of the site at one ``ts`` on ``{p}/{site}/metrics``; each body is a
        mapping of §3.1 fields (without ``ts``) or a ``QueueSnapshot``."""
        topic = self._topic(self.topics.site_metrics)
        bodies = {q: self._queue_body(topic, q, body) for q, body in queues.items()}
        data = self._encode(topic, {"ts": self._ts(topic, ts), "queues": bodies})
        self._check(topic, payloads.decode_site_snapshot, data)
        return await self._send(topic, data)

    async def agent_state(
        self,
        agent: str,
        *,
        status: AgentStatus,
        queue: str | None = None,
        skills: Iterable[str] | None = None,
        available_until: Timestamp = None,
        ts: Timestamp = None,
        retain: bool = True,
    ) -> bool:
        """An agent's state (§3.2, §11) on ``{p}/{site}/agents/{agent}/state``, retained.

        ``skills`` None: the daemon takes the agent to be skilled for ``queue`` only."""
        topic = self._topic(self.topics.agent_state, agent)
        obj: dict[str, Any] = {"ts": self._ts(topic, ts), "status": status, "queue": queue}
        if skills is not None:
            if isinstance(skills, str):
                raise BridgePayloadError(topic, "bad_type:skills", "a list of queue ids, not a str")
            obj["skills"] = sorted(skills)
        if available_until is not None:
            obj["available_until"] = self._ts(topic, available_until, future_ok=True)
        data = self._encode(topic, obj)
        self._check(topic, lambda d: payloads.decode_agent_state(agent, d), data)
        if retain:
            self._states[agent] = data
        return await self._send(topic, data, retain=retain)

    async def ack(
        self,
        command: Command,
        move: Move,
        status: AckStatus,
        reason: str | None = None,
        *,
        ts: Timestamp = None,
    ) -> bool:
        """Acknowledge one move of ``command`` (§10) on ``{p}/{site}/agents/{agent}/move``:
        ``accepted`` (will switch after the current contact), ``rejected`` (with a reason)
        or ``done`` (switched)."""
        topic = self._topic(self.topics.move_ack, move.agent)
        if move not in command.moves:
            raise BridgePayloadError(topic, "unknown_command", "the move is not in that command")
        posix = _posix(ts)
        ack = MoveAck(move.agent, posix, command.command_id, move.to_queue, status, reason or "")
        self._ts(topic, posix)
        try:
            data = encode_move_ack(ack)
        except ValueError as err:
            raise BridgePayloadError(topic, "bad_ts", str(err)) from None
        self._check(topic, lambda d: decode_move_ack(move.agent, d), data)
        return await self._send(topic, data)

    # -- validation -------------------------------------------------------------------------
    def _topic(self, build: Any, *segments: str) -> str:
        try:
            return str(build(self.site, *segments))
        except TopicError as err:
            where = f"{self.topics.prefix}/{self.site}/..."
            raise BridgePayloadError(where, "bad_topic", str(err)) from None

    def _ts(self, topic: str, ts: Timestamp, future_ok: bool = False) -> str:
        posix = _posix(ts)
        if not math.isfinite(posix):
            raise BridgePayloadError(topic, "bad_ts", f"not a finite time: {ts!r}")
        ahead = posix - time.time()
        if not future_ok and self._max_skew_s > 0 and ahead > self._max_skew_s:
            raise BridgePayloadError(
                topic, "future_ts", f"{ahead:.0f} s ahead of this host's clock"
            )
        try:
            return format_ts(posix)
        except ValueError as err:
            raise BridgePayloadError(topic, "bad_ts", str(err)) from None

    def _queue_body(self, topic: str, queue: str, body: QueueBody) -> dict[str, Any]:
        if isinstance(body, QueueSnapshot):
            return queue_body_json(body)
        unknown = sorted(set(body) - QUEUE_FIELDS)
        if unknown:
            raise BridgePayloadError(topic, "unknown_field", f"queue {queue!r}: {unknown[0]!r}")
        return _present(body)

    def _encode(self, topic: str, obj: dict[str, Any]) -> bytes:
        try:
            data = payloads.dumps(obj)
        except ValueError as err:
            raise BridgePayloadError(topic, "not_finite", str(err)) from None
        except TypeError as err:
            raise BridgePayloadError(topic, "bad_type", str(err)) from None
        if len(data) > self._max_bytes:
            raise BridgePayloadError(topic, "too_large", f"{len(data)} > {self._max_bytes} bytes")
        return data

    @staticmethod
    def _check(topic: str, decode: Any, data: bytes) -> None:
        """Decode with the daemon's decoder: what it rejects is never published."""
        try:
            decode(data)
        except payloads.PayloadError as err:
            raise BridgePayloadError(topic, err.reason, err.detail) from None

    async def _send(self, topic: str, data: bytes, retain: bool = False) -> bool:
        return await self._port.publish(topic, data, qos=1, retain=retain, wait_ack=True)


def _posix(ts: Timestamp) -> float:
    if ts is None:
        return time.time()
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            return math.nan  # a naive datetime has no zone: refused as bad_ts
        return ts.timestamp()
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return math.nan
    return float(ts)


def _present(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that are set (optional §3.1 fields are left out, not sent as null)."""
    return {k: v for k, v in fields.items() if v is not None}


def _put_latest(queue: asyncio.Queue[Any], item: Any) -> None:
    """Queue ``item``; when nobody consumed ``MAX_QUEUED`` items, drop the oldest."""
    if queue.full():
        queue.get_nowait()
        log.warning("bridge consumer too slow: dropped the oldest unread message")
    queue.put_nowait(item)
