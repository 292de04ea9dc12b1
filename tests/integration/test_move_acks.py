"""Move acknowledgements (contract §10) end to end: a bridge on a real mosquitto acks the
real daemon's moves; accepted, rejected, done, unknown, and a bridge that sends no acks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from staffer.app import Daemon
from staffer.settings import Settings
from tests.conftest import Broker
from tests.integration.harness import (
    T0,
    WAIT_S,
    Peer,
    iso,
    make_settings,
    peer,
    running_daemon,
    staff_surge_site,
    surge_snapshot,
)


@contextlib.asynccontextmanager
async def serving(broker: Broker, settings: Settings) -> AsyncIterator[tuple[Daemon, Peer]]:
    """The daemon and a bridge peer, the surge site's agents published."""
    async with (
        running_daemon(settings) as daemon,
        peer(broker.host, broker.port, settings.mqtt.topic_prefix) as p,
    ):
        await staff_surge_site(p)
        yield daemon, p


def first_command(p: Peer) -> dict:
    [cmd] = [r.json() for r in p.on("main/commands")]
    return cmd


async def until(pred: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def sample(daemon: Daemon, name: str, **labels: str) -> float:
    """One sample of the daemon's /metrics text (0 when the series is absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in daemon.exposition().decode().splitlines():
        head, _, value = line.rpartition(" ")
        if head.startswith(name + "{"):
            got = ",".join(sorted(head[len(name) + 1 : -1].split(",")))
            if got == want:
                return float(value)
    return 0.0


async def ack(p: Peer, cmd: dict, move: dict, status: str, ts: float, **extra: object) -> None:
    body = {"ts": iso(ts), "command_id": cmd["command_id"], "to": move["to"], "status": status}
    await p.publish(f"main/agents/{move['agent']}/move", {**body, **extra})


async def plan_at(p: Peer, ts: float) -> list[tuple[str, str]]:
    """Send a site snapshot at ``ts``; the (agent, to) pairs of the commands it caused."""
    before = len(p.on("main/commands"))
    await p.publish("main/metrics", surge_snapshot(ts))
    await p.wait_for("main/plan", lambda x: x["as_of"] == iso(ts))
    await p.settle()
    return [
        (m["agent"], m["to"]) for r in p.on("main/commands")[before:] for m in r.json()["moves"]
    ]


async def test_accepted_moves_are_not_reissued_past_move_timeout_even_after_restart(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url,
        topic_prefix,
        tmp_path,
        planner={"max_moves_per_cycle": 3, "move_timeout_s": 300, "accepted_timeout_s": 1800},
    )
    async with serving(mosquitto, settings) as (daemon, p):
        first = await plan_at(p, T0)
        cmd = first_command(p)
        for m in cmd["moves"]:
            await ack(p, cmd, m, "accepted", T0 + 5)
        site = daemon.sites["main"]
        await until(lambda: all(f.accepted_at is not None for f in site.flights), "accepts")
        assert sample(daemon, "staffer_move_acks_total", site="main", status="accepted") == 3
        assert not set(first) & set(await plan_at(p, T0 + 300))  # past move_timeout_s
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        flights = daemon.sites["main"].flights
        assert {f.agent for f in flights if f.accepted_at == T0} == {a for a, _ in first}
        assert not set(first) & set(await plan_at(p, T0 + 600))
        assert not set(first) & set(await plan_at(p, T0 + 1500))
        assert {f.agent for f in flights if f.command_id == cmd["command_id"]} == {
            a for a, _ in first
        }
        # accepted_timeout_s after the command the daemon decides afresh (the agents never moved)
        await plan_at(p, T0 + 1800)
        assert not [f for f in flights if f.command_id == cmd["command_id"]]


async def test_a_bridge_without_acks_behaves_as_before(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url,
        topic_prefix,
        tmp_path,
        planner={"max_moves_per_cycle": 3, "move_timeout_s": 600, "accepted_timeout_s": 1800},
    )
    async with serving(mosquitto, settings) as (_, p):
        first = await plan_at(p, T0)
        assert first and not set(first) & set(await plan_at(p, T0 + 300))  # still in flight
        assert set(first) & set(await plan_at(p, T0 + 600))  # timed out: commanded again


async def test_rejected_move_cools_down_is_audited_and_survives_restart(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url,
        topic_prefix,
        tmp_path,
        planner={"max_moves_per_cycle": 1, "reject_cooldown_s": 1800},
    )
    async with serving(mosquitto, settings) as (daemon, p):
        [refused] = await plan_at(p, T0)
        cmd = first_command(p)
        await ack(p, cmd, cmd["moves"][0], "rejected", T0 + 2, reason="no phone licence")
        site = daemon.sites["main"]
        await until(lambda: len(site.cooldowns) == 1, "the cool-down")
        assert not site.flights.by_agent.get(refused[0])  # out of flight at once
        assert refused not in await plan_at(p, T0 + 300)  # another agent goes instead
        assert sample(daemon, "staffer_move_acks_total", site="main", status="rejected") == 1
        assert daemon.store is not None
        await until(lambda: not daemon.emit.outbox, "the write")
        [row] = [r for r in await daemon.store.audit("main") if r.kind == "move_rejected"]
        assert row.actor == "bridge" and row.payload["agent"] == refused[0]
        assert row.payload["reason"] == "no phone licence"
        assert row.payload["cooldown_until"] == T0 + 1800  # the site clock at the ack
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        assert [c.agent for c in daemon.sites["main"].cooldowns] == [refused[0]]
        for ts in (T0 + 600, T0 + 900, T0 + 1500):
            assert refused not in await plan_at(p, ts)


async def test_done_ack_ends_the_flight(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url, topic_prefix, tmp_path, planner={"max_moves_per_cycle": 1}
    )
    async with serving(mosquitto, settings) as (daemon, p):
        [(agent_id, _)] = await plan_at(p, T0)
        cmd = first_command(p)
        await ack(p, cmd, cmd["moves"][0], "accepted", T0 + 1)
        await ack(p, cmd, cmd["moves"][0], "done", T0 + 60)
        flights = daemon.sites["main"].flights
        await until(lambda: agent_id not in flights.by_agent, "the flight to end")
        assert daemon.store is not None
        await until(lambda: not daemon.emit.outbox, "the write")
        assert (await daemon.store.load_in_flight()).get("main", []) == []
        assert sample(daemon, "staffer_move_acks_total", site="main", status="done") == 1


async def test_unknown_and_mismatched_acks_are_invalid_and_change_nothing(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url, topic_prefix, tmp_path, planner={"max_moves_per_cycle": 1}
    )
    async with serving(mosquitto, settings) as (daemon, p):
        await plan_at(p, T0)
        cmd = first_command(p)
        [move] = cmd["moves"]
        wrong_target = {**move, "to": "chat"}
        other_agent = {**move, "agent": "p0"}
        await ack(p, {"command_id": "main-99999999-000000"}, move, "rejected", T0 + 1)
        await ack(p, cmd, wrong_target, "rejected", T0 + 1)
        await ack(p, cmd, other_agent, "done", T0 + 1)
        await p.publish(f"main/agents/{move['agent']}/move", {"ts": iso(T0), "status": "done"})

        def invalid(reason: str) -> float:
            return sample(daemon, "staffer_invalid_messages_total", kind="move_ack", reason=reason)

        await until(lambda: invalid("unknown_command") == 3, "three unknown_command")
        await until(lambda: invalid("missing_field:command_id") == 1, "the malformed ack")
        site = daemon.sites["main"]
        assert site.flights.is_in_flight(move["agent"], move["to"])
        assert len(site.cooldowns) == 0
        assert sample(daemon, "staffer_messages_total", kind="move_ack", outcome="invalid") == 4
        assert sample(daemon, "staffer_move_acks_total", site="main", status="rejected") == 0
