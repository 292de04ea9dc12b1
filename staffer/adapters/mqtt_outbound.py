"""The publishing side of `staffer.adapters.mqtt.AiomqttPort`: every publish in call
order, none of them awaited by the caller (unless it asks to wait for the PUBACK).

* **held**: what is published while disconnected, or (QoS 1) finds the link gone before
  the port saw the drop (paho: "not currently connected"), is kept (bounded, oldest
  dropped) and sent in order after the next connect (``flush``): a reply must not be lost;
* **tracked**: a publish with an ``on_ack`` (a command) is never held: its owner learns
  whether the broker acknowledged it, at once as lost when the connection ends first
  (``abandon_tracked``), and resends it itself;
* anything else that fails is logged (rate-limited) and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine

import aiomqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from staffer.adapters.log import RateLimitedLog

log = logging.getLogger("staffer.mqtt")
_DROPPED = RateLimitedLog(log, period_s=10.0)  # outbound messages lost while disconnected
MAX_HELD = 10000  # outbound messages held while disconnected

Held = tuple[str, bytes, int, bool, bytes | None]  # topic, payload, QoS, retain, correlation


class Outbound:
    """Publishes over ``link()``: the port's client while a session is up, else None;
    ``v5()``: whether MQTT 5 properties may be sent."""

    def __init__(self, link: Callable[[], aiomqtt.Client | None], v5: Callable[[], bool]) -> None:
        self._link, self._v5 = link, v5
        self.held: deque[Held] = deque(maxlen=MAX_HELD)
        self.sending: set[asyncio.Task[bool]] = set()
        self._tracked: set[asyncio.Task[None]] = set()  # publishes with an ``on_ack``

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool,
        qos: int,
        correlation_data: bytes | None,
        wait_ack: bool,
        on_ack: Callable[[bool], None] | None,
    ) -> bool:
        """``MqttPort.publish``."""
        client = self._link()
        if client is None:
            if on_ack is not None:
                on_ack(False)
                return False
            if len(self.held) == self.held.maxlen:
                _DROPPED.warning(
                    "buffer_full",
                    "disconnected and the outbound buffer is full; dropped the oldest message",
                    topic=topic,
                )
            self.held.append((topic, payload, qos, retain, correlation_data))
            return False
        props = self._props(correlation_data)
        if wait_ack:
            return await self._send(client, topic, payload, qos, retain, props)
        if on_ack is None:
            self._spawn(self.send_or_hold(client, topic, payload, qos, retain, correlation_data))
        else:
            self._track(self._send(client, topic, payload, qos, retain, props), on_ack)
        return True

    def flush(self, client: aiomqtt.Client) -> None:
        """After a connect: what was held, in order."""
        if self.held:
            log.info("sending %d message(s) held while disconnected", len(self.held))
        while self.held:
            self._spawn(self.send_or_hold(client, *self.held.popleft()))

    def abandon_tracked(self) -> None:
        """The connection ended: tracked publishes without a PUBACK are lost (reported
        now, so their owner resends them right after the reconnect)."""
        for task in list(self._tracked):
            task.cancel()

    async def send_or_hold(
        self, client: aiomqtt.Client, topic: str, payload: bytes, qos: int, retain: bool,
        cd: bytes | None,
    ) -> bool:  # fmt: skip
        """An untracked publish; at QoS 1 held (or sent on a new link) when the link it
        was given turns out gone."""
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, properties=self._props(cd))
        except aiomqtt.MqttError as err:
            if not qos or getattr(err, "rc", None) != MQTTErrorCode.MQTT_ERR_NO_CONN:
                _DROPPED.warning("publish_failed", f"publish failed: {err}", topic=topic)
                return False
            now = self._link()
            if now is not None and now is not client:
                return await self.send_or_hold(now, topic, payload, qos, retain, cd)
            self.held.append((topic, payload, qos, retain, cd))
            return False
        return True

    def _props(self, correlation_data: bytes | None) -> Properties | None:
        if correlation_data is None or not self._v5():
            return None
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = correlation_data
        return props

    def _spawn(self, send: Coroutine[None, None, bool]) -> None:
        task = asyncio.get_running_loop().create_task(send)  # tasks start in FIFO order
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    def _track(self, send: Coroutine[None, None, bool], on_ack: Callable[[bool], None]) -> None:
        async def reported() -> None:
            try:
                ok = await send
            except asyncio.CancelledError:  # cancelled by ``abandon_tracked`` only
                ok = False
            on_ack(ok)

        task = asyncio.get_running_loop().create_task(reported())
        self._tracked.add(task)
        task.add_done_callback(self._tracked.discard)

    @staticmethod
    async def _send(
        client: aiomqtt.Client,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool,
        props: Properties | None,
    ) -> bool:
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        except aiomqtt.MqttError as err:
            _DROPPED.warning("publish_failed", f"publish failed: {err}", topic=topic)
            return False
        return True
