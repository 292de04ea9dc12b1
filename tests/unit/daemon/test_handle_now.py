"""``Daemon.handle_now``: the port's shortcut (``Session.apply_now``) applies exactly what
``Daemon.handle`` would apply at once, and hands everything else back (issue 17)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from staffer.codec.timefmt import format_ts
from tests.integration.harness import agent, queue_body, surge_snapshot
from tests.unit.daemon.test_daemon import PREFIX, memory_daemon


def _queue(ts: float, offered: int = 12) -> bytes:
    return json.dumps({"ts": format_ts(ts), **queue_body(offered, 3)}).encode()


async def test_a_queue_snapshot_is_applied_and_counted_at_once(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, _fake):
        ts = float(int(time.time()) - 60)
        assert daemon.handle_now(f"{PREFIX}/main/queues/phone/metrics", _queue(ts))
        latest = daemon.sites["main"].state.latest("phone")
        assert latest is not None and latest.ts == ts and latest.offered == 12
        # a bad one is handled too: refused and counted, as ``handle`` would
        assert daemon.handle_now(f"{PREFIX}/main/queues/phone/metrics", b"{not json")
        text = daemon.exposition().decode()
        assert 'staffer_messages_total{kind="queue_metrics",outcome="ok"} 1.0' in text
        assert 'staffer_invalid_messages_total{kind="queue_metrics",reason="not_json"} 1.0' in text


async def test_everything_else_is_handed_back(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, _fake):
        now = time.time()
        site = json.dumps(surge_snapshot(now)).encode()
        state = json.dumps(agent("available", "phone", ["phone"], ts=now)).encode()
        assert not daemon.handle_now(f"{PREFIX}/main/metrics", site)  # may plan: awaited
        assert not daemon.handle_now(f"{PREFIX}/main/agents/a1/state", state)
        assert not daemon.handle_now(f"{PREFIX}/elsewhere/queues/phone/metrics", _queue(now))
        assert not daemon.handle_now("not/ours", b"{}")
        text = daemon.exposition().decode()
        assert "staffer_invalid_messages_total{" not in text  # uncounted: ``handle`` counts
        assert daemon.sites["main"].state.clock < now - 1  # nothing applied


async def test_nothing_is_applied_while_a_job_holds_the_turn(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path) as (daemon, _fake):
        topic, ts = f"{PREFIX}/main/queues/phone/metrics", float(int(time.time()) - 60)
        async with daemon._busy:  # a plan or a sweep is running
            assert not daemon.handle_now(topic, _queue(ts))
        assert daemon.sites["main"].state.latest("phone") is None
        assert daemon.handle_now(topic, _queue(ts))
