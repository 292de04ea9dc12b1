"""staffer.bridge on a real mosquitto: QoS 1 commands (invalid skipped, redeliveries
dropped), retained agent states, and a broker restart (reconnect, resubscribe, held
publishes, retained states published again)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt
import pytest

from staffer.bridge import Bridge, BridgeConnectionError
from staffer.codec import payloads
from tests.conftest import Broker, free_port, start_mosquitto
from tests.integration.harness import T0, fetch_retained, iso, peer

pytestmark = pytest.mark.integration


def _command(cid: str, agent: str = "a1") -> bytes:
    move = {
        "agent": agent,
        "from": "email",
        "to": "phone",
        "after_current_contact": True,
        "reason": "r",
    }
    return json.dumps(
        {
            "command_id": cid,
            "plan_id": "p",
            "site": "main",
            "ts": iso(T0),
            "mode": "auto",
            "moves": [move],
        }
    ).encode()


async def test_commands_once_each_and_invalid_ones_skipped(
    mosquitto: Broker, topic_prefix: str
) -> None:
    async with (
        Bridge(mosquitto.url, "main", prefix=topic_prefix) as b,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        for raw in (
            b"not json",
            b'{"command_id": 5}',
            _command("c1"),
            _command("c1"),
            _command("c2", "a2"),
        ):
            await p.publish("main/commands", None, raw=raw)
        got = []
        async with asyncio.timeout(10):
            async for command in b.commands():
                got.append(command)
                if len(got) == 2:
                    break
        assert [c.command_id for c in got] == ["c1", "c2"]
        assert got[1].moves[0].agent == "a2" and got[0].ts == T0
        assert b.invalid_commands == 2 and b.duplicate_commands == 1
        await b.ack(got[0], got[0].moves[0], "accepted", ts=T0 + 1)
        [ack] = await p.wait_for("main/agents/a1/move")
        assert ack == {"ts": iso(T0 + 1), "command_id": "c1", "to": "phone", "status": "accepted"}


async def test_agent_states_are_retained_and_snapshots_are_not(
    mosquitto: Broker, topic_prefix: str
) -> None:
    async with Bridge(mosquitto.url, "main", prefix=topic_prefix) as b:
        assert await b.agent_state("a1", status="busy", queue="chat", skills=["chat"], ts=T0)
        assert await b.site_snapshot(
            {"chat": {"interval_s": 60, "offered": 1, "waiting": 0}}, ts=T0
        )
    got = await fetch_retained(
        mosquitto.host, mosquitto.port, f"{topic_prefix}/main/agents/+/state"
    )
    assert got.retain and payloads.decode_agent_state("a1", got.payload).queue == "chat"
    with pytest.raises(TimeoutError):
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as c:
            await c.subscribe(f"{topic_prefix}/main/metrics", qos=1)
            async with asyncio.timeout(0.5):
                async for _ in c.messages:
                    break


async def test_no_broker_is_a_clear_error() -> None:
    with pytest.raises(BridgeConnectionError, match=r"no MQTT connection within 0\.5 s"):
        async with Bridge(f"mqtt://127.0.0.1:{free_port()}", "main", connect_timeout_s=0.5):
            pass


async def _retained_states(broker: Broker, prefix: str, n: int) -> dict[str, str | None]:
    """Agent -> queue of the retained agent states a fresh subscriber gets (waits for n)."""
    out: dict[str, str | None] = {}
    async with aiomqtt.Client(broker.host, broker.port) as c:
        await c.subscribe(f"{prefix}/main/agents/+/state", qos=1)
        async with asyncio.timeout(10):
            async for m in c.messages:
                agent = str(m.topic).split("/")[-2]
                assert isinstance(m.payload, bytes) and m.retain
                out[agent] = payloads.decode_agent_state(agent, m.payload).queue
                if len(out) == n:
                    return out
    return out


async def test_reconnect_after_a_broker_restart(tmp_path: Path) -> None:
    port, prefix = free_port(), "restart"
    b = Bridge(
        f"mqtt://127.0.0.1:{port}",
        "main",
        prefix=prefix,
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
        connect_timeout_s=None,
    )
    try:
        with start_mosquitto(tmp_path / "before", port=port) as broker:
            await b.__aenter__()
            await b.wait_connected(10)
            assert await b.agent_state("a1", status="available", queue="email", ts=T0)
        # the broker is gone, and with it (no persistence) every retained message
        async with asyncio.timeout(10):
            while b.connected:
                await asyncio.sleep(0.02)
        assert not await b.agent_state("a2", status="busy", queue="phone", ts=T0 + 1)  # held
        with start_mosquitto(tmp_path / "after", port=port) as broker:
            await b.wait_connected(10)
            assert await _retained_states(broker, prefix, 2) == {"a1": "email", "a2": "phone"}
            async with aiomqtt.Client(broker.host, broker.port) as c:  # resubscribed
                await c.publish(f"{prefix}/main/commands", _command("c9"), qos=1)
            async with asyncio.timeout(10):
                command = await anext(b.commands())
            assert command.command_id == "c9"
    finally:
        await b.__aexit__(None, None, None)
