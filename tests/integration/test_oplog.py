"""The log an operator follows (``staffer.ops``), captured from the real daemon on a real
Mosquitto: one line per command with its moves and reasons, per accepted request (a
redelivery not again), per rejected and per timed-out move, and a health summary only
when it changes."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from pathlib import Path

import pytest

from tests.conftest import Broker
from tests.integration.harness import (
    T0,
    iso,
    make_settings,
    peer,
    running_daemon,
    staff_surge_site,
    surge_snapshot,
)


def ops(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "staffer.ops" and getattr(r, "event", None) == event
    ]


async def until(caplog: pytest.LogCaptureFixture, event: str, count: int = 1) -> list[str]:
    deadline = time.monotonic() + 10
    while len(ops(caplog, event)) < count:
        assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
        await asyncio.sleep(0.05)
    return [r.getMessage() for r in ops(caplog, event)]


async def test_operator_log_lines(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="staffer.ops")
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"move_timeout_s": 120})
    async with (
        running_daemon(settings),
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        [first] = await until(caplog, "health")
        assert first.startswith("health: mqtt=up sites=1 not_auto=- ")
        assert "stale=main/chat,main/email,main/phone in_flight=0" in first  # no data yet

        await staff_surge_site(p)
        await p.publish("main/metrics", surge_snapshot(T0))
        [command] = await p.wait_for("main/commands")
        [line] = await until(caplog, "command")
        moves = command["moves"]
        assert line.startswith(
            f"site main: command {command['command_id']} (auto, by planner), {len(moves)} move(s): "
        )
        for m in moves:
            assert f"{m['agent']} email -> phone ({m['reason']})" in line
        [record] = ops(caplog, "command")
        assert record.command_id == command["command_id"]  # type: ignore[attr-defined]
        assert record.moves == [  # type: ignore[attr-defined]
            {"agent": m["agent"], "from": "email", "to": "phone", "reason": m["reason"]}
            for m in moves
        ]

        # an accepted request, then its redelivery: one line
        request = {"id": "r1", "action": "pin", "queue": "chat", "min": 1, "reason": "VIP\nlaunch"}
        for _ in range(2):
            await p.publish("main/override/alice", request)
        replies = await p.wait_for("main/override/alice/reply", count=2)
        [line] = await until(caplog, "override")
        oid = replies[0]["override_id"]
        assert line == (
            f"site main: pin accepted from alice: min=1 queue=chat (override {oid}) "
            'reason "VIP\\nlaunch"'
        )

        # the bridge rejects the first move; the others never get confirmed
        rejected, *rest = moves
        ack = {"ts": iso(T0), "command_id": command["command_id"], "to": "phone"}
        await p.publish(
            f"main/agents/{rejected['agent']}/move",
            {**ack, "status": "rejected", "reason": "agent in a call"},
        )
        [line] = await until(caplog, "move_rejected")
        assert line == (
            f"site main: the bridge rejected moving {rejected['agent']} to phone "
            f"(command {command['command_id']}): agent in a call"
        )
        await p.publish("main/metrics", surge_snapshot(T0 + 200))  # past move_timeout_s
        lines = await until(caplog, "move_timeout", count=len(rest))
        for m in rest:
            assert (
                f"site main: move of {m['agent']} to phone (command {command['command_id']}) "
                "timed out unconfirmed after 200 s" in lines
            )
        assert len(lines) == len(rest)

        await until(caplog, "health", count=2)
        await asyncio.sleep(2.5)  # two more sweeps with nothing new: no new health line
        health = [r.getMessage() for r in ops(caplog, "health")]
        assert all(a != b for a, b in itertools.pairwise(health)), health
        assert "stale=- " in health[-1] and "overrides=1" in health[-1]
