"""A QoS 1 publish that finds the link already gone, before the port noticed the drop
(paho's "not currently connected"), is held for the reconnect instead of lost: a reply
due then must still reach its supervisor (contract §4: exactly one reply)."""

from __future__ import annotations

from typing import Any

import aiomqtt
from paho.mqtt.enums import MQTTErrorCode

from staffer.adapters.mqtt import AiomqttPort
from staffer.adapters.port import Session
from staffer.settings import MqttSettings


class Link:
    """Stands in for one aiomqtt client: records publishes, or fails them like paho."""

    def __init__(self, error: int | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, bytes, int]] = []

    async def publish(self, topic: str, payload: bytes, **kw: Any) -> None:
        if self.error is not None:
            raise aiomqtt.MqttCodeError(self.error, "Could not publish message")
        self.sent.append((topic, payload, kw["qos"]))


def port_on(link: Link) -> AiomqttPort:
    port = AiomqttPort(MqttSettings(), Session(client_id="t", status_topic=None))
    port._client, port._connected = link, True  # type: ignore[assignment]
    return port


async def test_a_reply_into_a_dropped_link_is_held_and_sent_after_the_reconnect() -> None:
    gone = Link(MQTTErrorCode.MQTT_ERR_NO_CONN)
    port = port_on(gone)
    reply = ("s/main/override/ann/reply", b'{"id": "r1", "ok": true}', 1, False, None)
    assert not await port._out.send_or_hold(gone, *reply)
    assert list(port._out.held) == [reply]
    back = Link()
    port._client = back  # type: ignore[assignment]
    port._out.flush(back)  # what the reconnect does
    for task in list(port._out.sending):
        await task
    assert back.sent == [(reply[0], reply[1], 1)] and not port._out.held


async def test_on_a_new_link_already_it_is_sent_there() -> None:
    gone, back = Link(MQTTErrorCode.MQTT_ERR_NO_CONN), Link()
    port = port_on(back)  # the port reconnected meanwhile
    assert await port._out.send_or_hold(gone, "s/main/plan", b"{}", 1, True, None)
    assert back.sent == [("s/main/plan", b"{}", 1)] and not port._out.held


async def test_qos0_and_other_errors_are_dropped_not_held() -> None:
    gone = Link(MQTTErrorCode.MQTT_ERR_NO_CONN)
    port = port_on(gone)
    assert not await port._out.send_or_hold(gone, "s/x", b"{}", 0, False, None)
    big = Link(MQTTErrorCode.MQTT_ERR_PAYLOAD_SIZE)
    assert not await port_on(big)._out.send_or_hold(big, "s/x", b"{}", 1, False, None)
    assert not port._out.held
