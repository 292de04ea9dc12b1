"""Approve mode (contract §9) in the daemon, on the in-memory MQTT port: proposals after
plans, nothing commanded without an approval, one transaction before the command and the
reply, one reply per request, rejections, expiry, withdrawal, restarts, storage failure,
the audit rows of every commanded move (§16) and audit retention.

The store is the real SQLite store; `MemoryMqtt.on_publish` reads it at the moment of
each publish, so "written before published" is checked against the disk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from staffer.adapters.mqtt_fake import MemoryMqtt, Published
from staffer.adapters.state_file import StoreError
from staffer.app import Daemon
from staffer.core.types import AuditRecord
from tests.integration.harness import T0, agent, iso, surge_snapshot
from tests.unit.daemon.test_daemon import (
    PREFIX,
    json_on,
    memory_daemon,
    settled,
    staff_surge,
)

REQUESTS = f"{PREFIX}/main/override/ann"


async def propose(daemon: Daemon, fake: MemoryMqtt) -> list[dict[str, Any]]:
    """The surge site planned once at T0; its open proposals as published."""
    await staff_surge(fake)
    await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))
    await settled(daemon)
    return json_on(fake, "main/proposals")[-1]["proposals"]


async def ask(daemon: Daemon, fake: MemoryMqtt, request: dict[str, Any]) -> dict[str, Any]:
    await fake.deliver(REQUESTS, request)
    await settled(daemon)
    return json_on(fake, "main/override/ann/reply")[-1]


def metric(daemon: Daemon, line: str) -> bool:
    return line in daemon.exposition().decode()


async def test_approve_mode_proposes_and_commands_nothing_until_approved(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        [at_connect] = json_on(fake, "main/proposals")  # replaces a stale retained list
        assert (at_connect["site"], at_connect["proposals"]) == ("main", [])
        proposals = await propose(daemon, fake)
        [plan] = json_on(fake, "main/plan")
        assert plan["mode"] == "approve" and len(proposals) == plan["moves"] > 0
        assert all(p.retain for p in fake.on(f"{PREFIX}/main/proposals"))
        first = proposals[0]
        assert (first["plan_id"], first["from"], first["to"]) == (plan["plan_id"], "email", "phone")
        assert first["created_at"] == iso(T0) and first["expires_at"] == iso(T0 + 600)
        assert json_on(fake, "main/commands") == []
        assert metric(daemon, 'staffer_mode{mode="approve",site="main"} 1.0')
        assert metric(daemon, f'staffer_proposals_open{{site="main"}} {len(proposals)}.0')
        # the next plan still wants the same moves: same ids, still nothing commanded
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0 + 300))
        await settled(daemon)
        again = json_on(fake, "main/proposals")[-1]["proposals"]
        assert [p["proposal_id"] for p in again] == [p["proposal_id"] for p in proposals]
        assert {p["plan_id"] for p in again} == {json_on(fake, "main/plan")[-1]["plan_id"]}
        assert json_on(fake, "main/commands") == []


async def test_an_approval_is_written_whole_before_its_command_and_its_reply(
    tmp_path: Path,
) -> None:
    async with memory_daemon(tmp_path, mode="approve", move_timeout_s=900) as (daemon, fake):
        store = daemon.store
        assert store is not None
        seen: dict[str, Any] = {}

        def on_disk(p: Published) -> None:
            if p.topic.endswith(("/commands", "/reply")):
                seen[p.topic.rsplit("/", 1)[1]] = {
                    "pending": [c.command_id for c in store.load_pending_commands_sync()],
                    "flights": {m.agent: m.command_id for m in store.load_in_flight_sync()["main"]},
                    "audit": [(r.kind, r.actor) for r in store.audit_sync("main")],
                    "open": [
                        r["proposal_id"] for r in store.load_proposals_sync()["main"]["proposals"]
                    ],
                }

        fake.on_publish = on_disk
        proposals = await propose(daemon, fake)
        chosen = [p["proposal_id"] for p in proposals[:2]]
        reply = await ask(daemon, fake, {"id": "r1", "action": "approve", "proposal_ids": chosen})
        [command] = json_on(fake, "main/commands")
        cid = command["command_id"]
        assert reply["ok"] is True and reply["command_id"] == cid
        assert [a["proposal_id"] for a in reply["approved"]] == chosen
        assert command["mode"] == "approve" and command["plan_id"] == proposals[0]["plan_id"]
        assert [(m["proposal_id"], m["approved_by"]) for m in command["moves"]] == [
            (pid, "ann") for pid in chosen
        ]
        # when the command went out, everything was on disk already (and still pending)
        at_command = seen["commands"]
        assert at_command["pending"] == [cid]
        assert {a: c for a, c in at_command["flights"].items() if c == cid} == {
            m["agent"]: cid for m in command["moves"]
        }
        assert at_command["audit"][-3:] == [("override", "ann"), ("move", "ann"), ("move", "ann")]
        assert not set(chosen) & set(at_command["open"])
        # the reply came after the command; once the broker acknowledged it, not pending
        topics = [p.topic.rsplit("/", 1)[1] for p in fake.published]
        assert topics.index("commands") < topics.index("reply")
        await settled(daemon)
        assert store.load_pending_commands_sync() == []
        assert daemon.sites["main"].flights.by_agent[command["moves"][0]["agent"]].command_id == cid
        rows = store.audit_sync("main")
        [decision] = [r for r in rows if r.kind == "override"]
        assert decision.payload["approved"] == chosen and decision.payload["command_id"] == cid
        moved = [r.payload for r in rows if r.kind == "move"]
        assert [(m["proposal_id"], m["mode"], m["decided_by"], m["command_id"]) for m in moved] == [
            (pid, "approve", "ann", cid) for pid in chosen
        ]
        assert metric(daemon, 'staffer_proposals_total{outcome="approved",site="main"} 2.0')
        open_now = json_on(fake, "main/proposals")[-1]["proposals"]
        assert [p["proposal_id"] for p in open_now] == [p["proposal_id"] for p in proposals[2:]]


async def test_one_reply_per_request_and_a_redelivery_changes_nothing(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        proposals = await propose(daemon, fake)
        request = {"id": "r1", "action": "approve", "proposal_id": proposals[0]["proposal_id"]}
        first = await ask(daemon, fake, request)
        again = await ask(daemon, fake, request)  # a QoS 1 redelivery
        assert first == again and first["ok"] is True
        assert len(json_on(fake, "main/commands")) == 1
        second = await ask(daemon, fake, {**request, "id": "r2"})  # approving twice
        assert second["ok"] is False and second["error"]["code"] == "unknown_proposal"
        assert "already approved by ann" in second["error"]["message"]
        conflict = await ask(daemon, fake, {**request, "proposal_id": "p-other"})
        assert conflict["error"]["code"] == "conflict"
        assert len(json_on(fake, "main/override/ann/reply")) == 4
        assert len(json_on(fake, "main/commands")) == 1
        assert daemon.store is not None
        outcomes = [r.payload["outcome"] for r in daemon.store.audit_sync() if r.kind == "override"]
        assert outcomes == ["accepted", "duplicate", "rejected", "rejected"]


@pytest.mark.parametrize(
    ("request_fields", "code"),
    [
        ({"all": True}, "no_proposals"),
        ({"proposal_id": "p-000000000000"}, "unknown_proposal"),
        ({"proposal_id": "p-1", "all": True}, "invalid"),
        ({"proposal_ids": []}, "invalid"),
    ],
)
async def test_refusals_get_their_code_and_command_nothing(
    tmp_path: Path, request_fields: dict[str, Any], code: str
) -> None:
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))  # a clock, no agents
        reply = await ask(daemon, fake, {"id": "x", "action": "approve", **request_fields})
        assert reply["ok"] is False and reply["error"]["code"] == code
        assert json_on(fake, "main/commands") == []


async def test_approving_a_proposal_whose_agent_was_locked_is_stale(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        [first, second, *_] = await propose(daemon, fake)
        await ask(daemon, fake, {"id": "l", "action": "lock_agent", "agent": first["agent"]})
        reply = await ask(
            daemon, fake, {"id": "a", "action": "approve", "proposal_id": first["proposal_id"]}
        )
        assert reply["error"]["code"] == "stale_proposal"
        assert f"agent {first['agent']} is locked" in reply["error"]["message"]
        # --all skips the stale one (already closed) and approves the rest
        everything = await ask(daemon, fake, {"id": "b", "action": "approve", "all": True})
        assert everything["ok"] is True
        [command] = json_on(fake, "main/commands")
        agents = {m["agent"] for m in command["moves"]}
        assert first["agent"] not in agents and second["agent"] in agents
        assert metric(daemon, 'staffer_proposals_total{outcome="withdrawn",site="main"} 1.0')


async def test_shadow_mode_publishes_read_only_proposals(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, mode="shadow") as (daemon, fake):
        proposals = await propose(daemon, fake)
        assert proposals
        for action in ("approve", "reject"):
            pid = proposals[0]["proposal_id"]
            reply = await ask(daemon, fake, {"id": action, "action": action, "proposal_id": pid})
            assert reply["error"]["code"] == "shadow_mode"
        assert json_on(fake, "main/commands") == []
        # switching to approve mode makes the very same proposals approvable
        await ask(daemon, fake, {"id": "m", "action": "mode", "mode": "approve"})
        reply = await ask(
            daemon,
            fake,
            {"id": "go", "action": "approve", "proposal_id": proposals[0]["proposal_id"]},
        )
        assert reply["ok"] is True and len(json_on(fake, "main/commands")) == 1


async def test_reject_cools_the_pair_down_on_disk_and_the_planner_skips_it(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, mode="approve", reject_cooldown_s=900) as (daemon, fake):
        [first, *_] = await propose(daemon, fake)
        reply = await ask(
            daemon,
            fake,
            {"id": "r", "action": "reject", "proposal_id": first["proposal_id"], "reason": "VIP"},
        )
        assert reply["ok"] is True and reply["rejected"] == [first["proposal_id"]]
        assert reply["cooldown_until"] == iso(T0 + 900)
        assert daemon.store is not None
        [cooldown] = daemon.store.load_cooldowns_sync()["main"]
        assert (cooldown.agent, cooldown.queue, cooldown.source) == (first["agent"], "phone", "ann")
        assert cooldown.reason.endswith(": VIP")
        assert daemon.sites["main"].cooldowns.blocks(first["agent"], "phone", T0 + 1)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0 + 300))  # a new plan
        await settled(daemon)
        later = json_on(fake, "main/proposals")[-1]["proposals"]
        assert later and first["agent"] not in {p["agent"] for p in later}
        assert metric(daemon, 'staffer_proposals_total{outcome="rejected",site="main"} 1.0')


async def test_proposals_expire_and_leaving_approve_mode_withdraws_them(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, mode="approve", proposal_ttl_s=100) as (daemon, fake):
        proposals = await propose(daemon, fake)
        snapshot = surge_snapshot(T0 + 150)  # off the grid: a sweep, no plan
        await fake.deliver(f"{PREFIX}/main/metrics", snapshot)
        await settled(daemon)
        assert json_on(fake, "main/proposals")[-1]["proposals"] == []
        n = len(proposals)
        assert metric(daemon, f'staffer_proposals_total{{outcome="expired",site="main"}} {n}.0')
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0 + 300))  # plans again
        await settled(daemon)
        fresh = json_on(fake, "main/proposals")[-1]["proposals"]
        assert fresh and not {p["proposal_id"] for p in fresh} & {
            p["proposal_id"] for p in proposals
        }
        await ask(daemon, fake, {"id": "m", "action": "mode", "mode": "auto"})
        assert json_on(fake, "main/proposals")[-1]["proposals"] == []  # at once, not next plan
        assert metric(
            daemon, f'staffer_proposals_total{{outcome="withdrawn",site="main"}} {len(fresh)}.0'
        )
        assert metric(daemon, 'staffer_proposals_open{site="main"} 0.0')


async def test_proposals_and_an_unsent_approved_command_survive_a_restart(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        proposals = await propose(daemon, fake)
        fake.disconnect()  # the command cannot reach the broker before the daemon stops
        pid = proposals[0]["proposal_id"]
        await fake.deliver(REQUESTS, {"id": "r", "action": "approve", "proposal_id": pid})
        await settled(daemon)
        assert json_on(fake, "main/commands") == []
        assert daemon.store is not None
        [pending] = daemon.store.load_pending_commands_sync()
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        await settled(daemon)
        await asyncio.sleep(0)  # the reconnect's republish runs in the background
        await settled(daemon)
        [command] = json_on(fake, "main/commands")  # once, under the same command id
        assert command["command_id"] == pending.command_id
        assert command["moves"][0]["proposal_id"] == proposals[0]["proposal_id"]
        assert daemon.store is not None and daemon.store.load_pending_commands_sync() == []
        [restored] = json_on(fake, "main/proposals")  # the rest are still open, same ids
        assert [p["proposal_id"] for p in restored["proposals"]] == [
            p["proposal_id"] for p in proposals[1:]
        ]
        await staff_surge(fake)  # the bridge reports again (the roster is live state)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0 + 60))  # off the grid
        pid = proposals[1]["proposal_id"]
        reply = await ask(daemon, fake, {"id": "again", "action": "approve", "proposal_id": pid})
        assert reply["ok"] is True and len(json_on(fake, "main/commands")) == 2
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        await settled(daemon)
        assert json_on(fake, "main/commands") == []  # sent ones are never sent again


async def test_an_approval_during_an_outage_is_commanded_once_after_the_reconnect(
    tmp_path: Path,
) -> None:
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        assert daemon.store is not None
        proposals = await propose(daemon, fake)
        fake.disconnect()
        pid = proposals[0]["proposal_id"]
        await fake.deliver(REQUESTS, {"id": "r", "action": "approve", "proposal_id": pid})
        await settled(daemon)
        assert json_on(fake, "main/commands") == []
        [pending] = daemon.store.load_pending_commands_sync()
        fake.reconnect()
        await asyncio.wait_for(daemon.connected.wait(), 10)
        await asyncio.sleep(0)  # the reconnect's republish runs in the background
        await settled(daemon)
        await settled(daemon)
        [command] = json_on(fake, "main/commands")
        assert command["command_id"] == pending.command_id
        [reply] = json_on(fake, "main/override/ann/reply")
        assert reply["command_id"] == pending.command_id
        assert daemon.store.load_pending_commands_sync() == []


async def test_an_unsent_approved_command_older_than_move_timeout_is_dropped(
    tmp_path: Path,
) -> None:
    """A daemon down for longer than a move may stay in flight does not wake up and move
    an agent on old advice; that approval was never acknowledged (no reply went out)."""
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        proposals = await propose(daemon, fake)
        fake.disconnect()
        pid = proposals[0]["proposal_id"]
        await fake.deliver(REQUESTS, {"id": "r", "action": "approve", "proposal_id": pid})
        await settled(daemon)
        assert json_on(fake, "main/override/ann/reply") == []  # held: never acknowledged
    async with memory_daemon(tmp_path, mode="approve", move_timeout_s=0.001) as (daemon, fake):
        await settled(daemon)
        await asyncio.sleep(0)
        await settled(daemon)
        assert json_on(fake, "main/commands") == []
        assert daemon.store is not None and daemon.store.load_pending_commands_sync() == []


async def test_a_failed_write_is_answered_storage_and_commands_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        proposals = await propose(daemon, fake)
        assert daemon.store is not None

        async def broken(*_args: object) -> None:
            raise StoreError("disk full")

        monkeypatch.setattr(daemon.store, "record_decision", broken)
        reply = await ask(daemon, fake, {"id": "r", "action": "approve", "all": True})
        assert reply["ok"] is False and reply["error"]["code"] == "storage"
        assert json_on(fake, "main/commands") == [] and len(daemon.sites["main"].flights) == 0
        monkeypatch.undo()
        retry = await ask(daemon, fake, {"id": "r", "action": "approve", "all": True})
        assert retry["error"]["code"] == "no_proposals"  # a fresh answer, not the stored one
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0 + 300))
        await settled(daemon)
        assert len(json_on(fake, "main/proposals")[-1]["proposals"]) == len(proposals)


async def test_every_commanded_move_is_audited_with_who_decided(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        await staff_surge(fake)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0))
        await ask(daemon, fake, {"id": "a", "action": "assign", "agent": "e11", "queue": "phone"})
        assert daemon.store is not None
        moves = [r for r in daemon.store.audit_sync("main") if r.kind == "move"]
        [planner, assign] = json_on(fake, "main/commands")
        by_command = {(r.payload["command_id"], r.payload["agent"]): r for r in moves}
        for m in planner["moves"]:
            row = by_command[(planner["command_id"], m["agent"])]
            assert (row.actor, row.payload["mode"], row.payload["plan_id"]) == (
                "planner",
                "auto",
                planner["plan_id"],
            )
            assert (row.payload["from"], row.payload["to"], row.payload["reason"]) == (
                m["from"],
                m["to"],
                m["reason"],
            )
        row = by_command[(assign["command_id"], "e11")]
        assert (row.actor, row.payload["mode"], row.payload["plan_id"]) == ("ann", "assign", None)
        assert len(moves) == len(planner["moves"]) + 1


async def test_housekeeping_prunes_audit_rows_older_than_the_retention(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        assert daemon.store is not None
        rows = [AuditRecord(T0 - age, "main", "override", "ann", {"n": age}) for age in (10, 1000)]
        daemon.store.append_audit_sync(rows)
        await daemon.runtime.prune_audit()  # the event clock has not started: nothing yet
        await settled(daemon)
        assert len(daemon.store.audit_sync()) == 2
        await fake.deliver(f"{PREFIX}/main/agents/a1/state", agent("busy", "phone", ["phone"], T0))
        daemon.settings = daemon.runtime.settings = daemon.settings.model_copy(
            update={"state": daemon.settings.state.model_copy(update={"audit_retention_s": 500})}
        )
        await daemon._housekeeping()
        await settled(daemon)
        assert [r.payload["n"] for r in daemon.store.audit_sync()] == [10]


async def test_a_sweep_before_the_first_timestamp_after_a_restart_expires_nothing(
    tmp_path: Path,
) -> None:
    """Event clock: until a restarted site sees a timestamp, its clock is unknown; a sweep
    then must not fall back to wall time (days after the replayed T0), which expired every
    restored proposal, flight and cool-down at once."""
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        ids = [p["proposal_id"] for p in await propose(daemon, fake)]
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        await settled(daemon)
        await daemon.runtime.sweep_all()
        await settled(daemon)
        assert [p.proposal_id for p in daemon.runtime.open_proposals("main")] == ids
        published = json_on(fake, "main/proposals")[-1]["proposals"]
        assert [p["proposal_id"] for p in published] == ids


async def test_a_mode_change_is_planned_at_once_and_its_end_too(tmp_path: Path) -> None:
    """Setting, expiring and cancelling a mode override: each time the plan (what the
    console shows) and the gauge give the mode in force at once, and it acts at once."""
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        await propose(daemon, fake)
        assert json_on(fake, "main/commands") == []
        reply = await ask(daemon, fake, {"id": "a", "action": "mode", "mode": "auto", "ttl_s": 100})
        assert reply["ok"]
        assert json_on(fake, "main/plan")[-1]["mode"] == "auto"
        assert json_on(fake, "main/commands"), "auto mode commands without waiting a cycle"
        assert metric(daemon, 'staffer_mode{mode="auto",site="main"} 1.0')
        plans = len(json_on(fake, "main/plan"))
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0 + 150))  # no plan
        await settled(daemon)
        assert len(json_on(fake, "main/plan")) == plans
        await daemon.runtime.sweep_all()  # the scheduled sweep: the override expired
        await settled(daemon)
        assert len(json_on(fake, "main/plan")) == plans + 1
        assert json_on(fake, "main/plan")[-1]["mode"] == "approve"
        assert metric(daemon, 'staffer_mode{mode="approve",site="main"} 1.0')
        reply = await ask(daemon, fake, {"id": "s", "action": "mode", "mode": "shadow"})
        assert json_on(fake, "main/plan")[-1]["mode"] == "shadow"
        await ask(
            daemon, fake, {"id": "c", "action": "cancel", "override_id": reply["override_id"]}
        )
        assert json_on(fake, "main/plan")[-1]["mode"] == "approve"
        assert metric(daemon, 'staffer_mode{mode="approve",site="main"} 1.0')
        assert metric(daemon, 'staffer_mode{mode="shadow",site="main"} 0.0')


async def test_after_a_restart_a_mode_change_is_planned_at_once_too(tmp_path: Path) -> None:
    """The restored plan's mode is the last plan's: a different mode plans at once."""
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        await propose(daemon, fake)
    async with memory_daemon(tmp_path, mode="approve") as (daemon, fake):
        await staff_surge(fake)
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(T0 + 60))  # off the grid
        await settled(daemon)
        assert [p["mode"] for p in json_on(fake, "main/plan")] == ["approve"]  # republished
        await ask(daemon, fake, {"id": "m", "action": "mode", "mode": "shadow"})
        assert json_on(fake, "main/plan")[-1]["mode"] == "shadow"
