"""The daemon end to end on a real mosquitto: surge -> moves, shadow, in flight, restart."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Broker
from tests.integration.harness import (
    T0,
    agent,
    fetch_retained,
    iso,
    make_settings,
    peer,
    queue_body,
    running_daemon,
    staff_surge_site,
    surge_snapshot,
)


def _phone_moves(command: dict) -> list[dict]:
    return [m for m in command["moves"] if m["to"] == "phone"]


async def test_surge_moves_idle_email_agents_to_phone(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"move_timeout_s": 900})
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        await p.publish("main/metrics", surge_snapshot(T0))  # T0 is on the grid: plans now
        [plan] = await p.wait_for("main/plan")
        [command] = await p.wait_for("main/commands")
        assert plan["as_of"] == iso(T0)
        assert plan["mode"] == "auto"
        assert plan["queues"]["phone"]["target"] > plan["queues"]["phone"]["assigned"] == 5
        moves = _phone_moves(command)
        assert moves, command
        assert all(m["agent"].startswith("e") and m["from"] == "email" for m in moves)
        assert command["plan_id"] == plan["plan_id"]
        assert command["site"] == "main" and command["mode"] == "auto"
        assert command["ts"] == iso(T0)
        assert plan["moves"] == len(command["moves"])
        kept = await fetch_retained(mosquitto.host, mosquitto.port, f"{topic_prefix}/main/plan")
        assert kept.retain and kept.json() == plan
        # the next grid time without confirmations: nothing in flight is re-issued
        await p.publish("main/metrics", surge_snapshot(T0 + 120))  # before the grid: no plan
        await p.publish("main/metrics", surge_snapshot(T0 + 300))
        await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0 + 300))
        await p.settle()
        later = [r.json() for r in p.on("main/commands")][1:]
        first = {(m["agent"], m["to"]) for m in command["moves"]}
        again = {(m["agent"], m["to"]) for c in later for m in c["moves"]}
        assert not first & again
        assert len(p.on("main/plan")) == 2
        # once the moves time out (900 s), the planner decides afresh and may move them again
        await p.publish("main/metrics", surge_snapshot(T0 + 900))
        await p.wait_for(
            "main/commands", lambda c: {(m["agent"], m["to"]) for m in c["moves"]} & first
        )


async def test_confirmed_move_ends_flight(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url,
        topic_prefix,
        tmp_path,
        planner={"max_moves_per_cycle": 1, "move_timeout_s": 3600},
    )
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        await staff_surge_site(p)
        await p.publish("main/metrics", surge_snapshot(T0))
        [command] = await p.wait_for("main/commands")
        [move] = command["moves"]
        site = daemon.sites["main"]
        assert site.flights.is_in_flight(move["agent"], "phone")
        # the bridge applies the move and reports the new queue
        await p.publish(
            f"main/agents/{move['agent']}/state",
            agent("busy", "phone", ["phone", "email"], ts=T0 + 10),
        )
        await p.publish("main/metrics", surge_snapshot(T0 + 300))
        await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0 + 300))
        assert not site.flights.is_in_flight(move["agent"], "phone")
        [_, second] = await p.wait_for("main/commands", count=2)  # the next agent moves
        assert second["moves"][0]["agent"] != move["agent"]
        assert daemon.store is not None
        assert (await daemon.store.load_in_flight()).get("main", []) == [f for f in site.flights]


async def test_shadow_mode_publishes_plans_but_no_commands(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"mode": "shadow"})
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        for k in range(3):
            await p.publish("main/metrics", surge_snapshot(T0 + 300 * k))
        plans = await p.wait_for("main/plan", count=3)
        assert all(x["mode"] == "shadow" for x in plans)
        assert plans[0]["moves"] > 0  # it would move agents...
        await p.settle()
        assert p.on("main/commands") == []  # ...but publishes no command


async def test_queue_snapshots_feed_the_plan(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        body = queue_body(12, 8, aht_s=240)
        await p.publish("main/queues/phone/metrics", {"ts": iso(T0 - 10), **body})
        # a site snapshot on the grid without phone: the plan still sees phone's demand
        await p.publish(
            "main/metrics",
            {"ts": iso(T0), "queues": {"email": queue_body(1, 0, aht_s=360, backlog=3)}},
        )
        [plan] = await p.wait_for("main/plan")
        assert plan["queues"]["phone"]["forecast_arrival_rate"] > 0


async def test_restart_keeps_overrides_and_flights(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mosquitto.url,
        topic_prefix,
        tmp_path,
        planner={"move_timeout_s": 3600, "max_moves_per_cycle": 3},
    )
    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        for i in range(5):  # retained, as a bridge would: a restarted daemon gets them back
            await p.publish(
                f"main/agents/p{i}/state", agent("busy", "phone", ["phone", "email"]), retain=True
            )
        for i in range(12):
            await p.publish(
                f"main/agents/e{i:02d}/state",
                agent("available", "email", ["phone", "email"]),
                retain=True,
            )
        await p.publish("main/override/alice", {"id": "r1", "action": "lock_agent", "agent": "e11"})
        await p.publish(
            "main/override/alice",
            {"id": "r2", "action": "pin", "queue": "chat", "max": 4, "ttl_s": 7200},
        )
        await p.wait_for("main/override/alice/reply", count=2)
        await p.publish("main/metrics", surge_snapshot(T0))
        [first] = await p.wait_for("main/commands")
    before = {(m["agent"], m["to"]) for m in first["moves"]}
    assert before and all(a != "e11" for a, _ in before)

    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        assert daemon.book.count("main", T0) == 2
        assert {f.agent for f in daemon.sites["main"].flights} == {a for a, _ in before}
        await p.publish("main/metrics", surge_snapshot(T0 + 300))
        await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0 + 300))
        overrides = (await p.wait_for("main/overrides", lambda x: len(x) == 2))[-1]
        assert {o["action"] for o in overrides} == {"lock_agent", "pin"}
        await p.settle()
        again = [(m["agent"], m["to"]) for r in p.on("main/commands") for m in r.json()["moves"]]
        assert not before & set(again)
        assert all(a != "e11" for a, _ in again)
