"""Every command reaches the broker at least once (issue 14, item 3).

A command is written as a pending command with its moves and stays pending until the
broker's PUBACK; one lost on the wire (the link dropped mid-burst, or went half-open)
is sent again, under the same command id, after the reconnect or at the next start.
The real broker cases (restart mid-burst, SIGSTOPped broker) are in
tests/integration/test_attack_link.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from staffer.adapters.mqtt_fake import Published
from tests.integration.harness import T0, surge_snapshot
from tests.unit.daemon.test_daemon import (
    PREFIX,
    WAIT_S,
    json_on,
    memory_daemon,
    settled,
    staff_surge,
)

COMMANDS = f"{PREFIX}/main/commands"


def lose_first_command() -> tuple[list[Published], object]:
    lost: list[Published] = []

    def lose(p: Published) -> bool:
        if p.topic == COMMANDS and not lost:
            lost.append(p)
            return True
        return False

    return lost, lose


async def test_a_planner_command_lost_when_the_link_drops_is_resent_after_the_reconnect(
    tmp_path: Path,
) -> None:
    async with memory_daemon(tmp_path, move_timeout_s=900) as (daemon, fake):
        assert daemon.store is not None
        lost: list[Published] = []

        def drop_the_link(p: Published) -> bool:
            if p.topic == COMMANDS and not lost:
                lost.append(p)
                fake.disconnect()  # the link drops with this command on the wire
                return True
            return False

        fake.lose = drop_the_link  # type: ignore[assignment]
        await staff_surge(fake)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))
        await settled(daemon)
        assert json_on(fake, "main/commands") == [] and not fake.connected
        [pending] = daemon.store.load_pending_commands_sync()
        fake.reconnect()
        await asyncio.wait_for(daemon.connected.wait(), WAIT_S)
        for _ in range(3):  # the reconnect's resend runs in the background
            await asyncio.sleep(0)
            await settled(daemon)
        [command] = json_on(fake, "main/commands")  # sent again, same id, once
        assert command == lost[0].json() and command["command_id"] == pending.command_id
        assert daemon.store.load_pending_commands_sync() == []


async def test_an_assign_command_never_acknowledged_is_sent_at_the_next_start(
    tmp_path: Path,
) -> None:
    async with memory_daemon(tmp_path, move_timeout_s=900) as (daemon, fake):
        await staff_surge(fake)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))
        await settled(daemon)
        fake.lose = lambda p: p.topic == COMMANDS  # type: ignore[assignment]
        fake.disconnect()  # the daemon stops before the link comes back
        assign = {"id": "a", "action": "assign", "agent": "e11", "queue": "phone"}
        await fake.deliver(f"{PREFIX}/main/override/ann", assign)
        await settled(daemon)
        assert daemon.store is not None
        [pending] = daemon.store.load_pending_commands_sync()
    async with memory_daemon(tmp_path, move_timeout_s=900) as (daemon, fake):
        await settled(daemon)
        await asyncio.sleep(0)  # the connect's resend runs in the background
        await settled(daemon)
        [command] = json_on(fake, "main/commands")
        assert command["command_id"] == pending.command_id and command["mode"] == "assign"
        assert [(m["agent"], m["to"]) for m in command["moves"]] == [("e11", "phone")]
        assert daemon.store is not None and daemon.store.load_pending_commands_sync() == []


async def test_a_command_lost_while_still_connected_is_sent_again_at_once(
    tmp_path: Path,
) -> None:
    """A loss that shows (a PUBACK timeout) after the reconnect's resend already ran."""
    async with memory_daemon(tmp_path, move_timeout_s=900) as (daemon, fake):
        lost, lose = lose_first_command()
        fake.lose = lose  # type: ignore[assignment]
        await staff_surge(fake)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))
        await settled(daemon)
        for _ in range(3):
            await asyncio.sleep(0)
            await settled(daemon)
        assert len(lost) == 1
        [command] = json_on(fake, "main/commands")
        assert command == lost[0].json()
