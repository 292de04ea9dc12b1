"""``Bridge``: the async client a contact-center bridge is written with (contract §14).

It publishes what a bridge owes the daemon (queue and site snapshots, agent states, move
acknowledgements) and yields what the daemon commands. Everything it publishes is first
encoded and then decoded again with the daemon's own codec, so a payload the daemon would
reject raises :class:`BridgePayloadError` here, naming the topic and the reason code the
daemon would have counted, and nothing is sent.

The connection is the daemon's own MQTT adapter (``staffer.adapters.mqtt.AiomqttPort``):
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
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pydantic import ValidationError

from staffer.adapters.mqtt import AiomqttPort
from staffer.adapters.port import Inbound, Session
from staffer.bridge.validate import (
    BridgeConnectionError,
    BridgeError,
    BridgePayloadError,
    QueueBody,
    Timestamp,
    Validator,
    posix_time,
    present,
    settings_error,
    skill_list,
    unreadable_file,
)
from staffer.codec import payloads
from staffer.codec.bridge_payloads import (
    Command,
    PlanSummary,
    decode_command,
    decode_plan,
    encode_move_ack,
)
from staffer.codec.topics import TopicError, Topics
from staffer.core.types import AckStatus, AgentStatus, Move, MoveAck
from staffer.settings import MqttSettings

log = logging.getLogger("staffer.bridge")

MAX_SEEN_COMMANDS = 4096  # command ids remembered to drop QoS 1 redeliveries
MAX_QUEUED = 10000  # decoded commands/plans not yet consumed (oldest dropped beyond)


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
        except TopicError as err:
            raise ValueError(f"Bridge: {err}") from None
        except ValidationError as err:
            raise ValueError(f"Bridge: {settings_error(err)}") from None
        self._settings = settings
        subscriptions = [(self._commands_topic, 1)] + ([(self._plan_topic, 1)] if plans else [])
        self._port = AiomqttPort(
            settings,
            Session(
                client_id=settings.client_id,
                status_topic=None,
                subscriptions=subscriptions,
                on_state=self._on_state,
                on_connect_failed=self._on_connect_failed,
            ),
        )
        self._last_failure: str | None = None  # why the latest connection attempt failed
        self._follow_plans = plans
        self._connect_timeout_s = connect_timeout_s
        self._v = Validator(self.topics, site, max_clock_skew_s, max_payload_bytes)
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
        """Start connecting; wait up to ``connect_timeout_s`` for the session.

        A missing or unreadable credentials/TLS file raises at once (it will not appear by
        retrying); on timeout the error says why the last attempt failed. However the
        wait ends early (an error, a cancellation), the reconnect loop is stopped."""
        unreadable = unreadable_file(self._settings)
        if unreadable is not None:
            raise BridgeConnectionError(unreadable)
        self._task = asyncio.get_running_loop().create_task(
            self._port.run(self._on_message), name=f"staffer-bridge-{self.site}"
        )
        if self._connect_timeout_s is None:
            return self
        try:
            await asyncio.wait_for(self._up.wait(), self._connect_timeout_s)
        except TimeoutError:
            await self._stop()
            where = self._settings.broker.display
            why = f": {self._last_failure}" if self._last_failure else ""
            raise BridgeConnectionError(
                f"no MQTT connection within {self._connect_timeout_s:g} s "
                f"(cannot connect to {where}{why})"
            ) from None
        except BaseException:
            await self._stop()
            raise
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

    def _on_connect_failed(self, why: str) -> None:
        """A failed attempt (the port keeps retrying): kept for the timeout's message."""
        self._last_failure = why
        log.warning("cannot connect to %s: %s", self._settings.broker.display, why)

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
        topic = self._v.topic(self.topics.queue_metrics, queue)
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
        data = self._v.encode(topic, {"ts": self._v.ts(topic, ts), **present(body)})
        self._v.check(topic, payloads.decode_queue_snapshot, data)
        return await self._send(topic, data)

    async def site_snapshot(self, queues: Mapping[str, QueueBody], *, ts: Timestamp = None) -> bool:
        """Every queue of the site at one ``ts`` on ``{p}/{site}/metrics``; each body is a
        mapping of §3.1 fields (without ``ts``) or a ``QueueSnapshot``."""
        topic = self._v.topic(self.topics.site_metrics)
        bodies = self._v.queue_bodies(topic, queues)
        data = self._v.encode(topic, {"ts": self._v.ts(topic, ts), "queues": bodies})
        self._v.check(topic, payloads.decode_site_snapshot, data)
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
        topic = self._v.topic(self.topics.agent_state, agent)
        obj: dict[str, Any] = {"ts": self._v.ts(topic, ts), "status": status, "queue": queue}
        if skills is not None:
            obj["skills"] = skill_list(topic, skills)
        if available_until is not None:
            obj["available_until"] = self._v.ts(topic, available_until, future_ok=True)
        data = self._v.encode(topic, obj)
        self._v.check(topic, lambda d: payloads.decode_agent_state(agent, d), data)
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
        if not isinstance(command, Command) or not isinstance(move, Move):
            where = f"{self.topics.prefix}/{self.site}/agents/.../move"
            got = f"not {type(command).__name__}, {type(move).__name__}"
            raise BridgePayloadError(where, "bad_type", f"a Command and one of its Moves, {got}")
        topic = self._v.topic(self.topics.move_ack, move.agent)
        if move not in command.moves:
            raise BridgePayloadError(topic, "unknown_command", "the move is not in that command")
        for field, value in (("status", status), ("reason", reason or "")):
            if not isinstance(value, str):
                detail = f"{field}: a str, not {type(value).__name__}"
                raise BridgePayloadError(topic, f"bad_type:{field}", detail)
        posix = posix_time(ts)
        ack = MoveAck(move.agent, posix, command.command_id, move.to_queue, status, reason or "")
        self._v.ts(topic, posix)
        try:
            data = encode_move_ack(ack)
        except ValueError as err:
            raise BridgePayloadError(topic, "bad_ts", str(err)) from None
        self._v.check(topic, lambda d: payloads.decode_move_ack(move.agent, d), data)
        return await self._send(topic, data)

    async def _send(self, topic: str, data: bytes, retain: bool = False) -> bool:
        return await self._port.publish(topic, data, qos=1, retain=retain, wait_ack=True)


def _put_latest(queue: asyncio.Queue[Any], item: Any) -> None:
    """Queue ``item``; when nobody consumed ``MAX_QUEUED`` items, drop the oldest."""
    if queue.full():
        queue.get_nowait()
        log.warning("bridge consumer too slow: dropped the oldest unread message")
    queue.put_nowait(item)
