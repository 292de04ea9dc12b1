"""A ``ts`` from the future is refused (issue 14, item 5; contract §16 ``future_ts``).

Before the fix one agent state stamped an hour ahead froze the agent under the wall
clock (later real states were older, so dropped as stale but counted ok), and a site
snapshot from the future jumped an event-clock site.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from staffer.codec.timefmt import future_ts_detail
from tests.integration.harness import agent, surge_snapshot
from tests.unit.daemon.test_daemon import PREFIX, memory_daemon, settled

FUTURE = 'staffer_invalid_messages_total{kind="%s",reason="future_ts"} 1.0'


async def test_wall_clock_an_agent_state_from_the_future_is_refused(tmp_path: Path) -> None:
    async with memory_daemon(tmp_path, clock="wall") as (daemon, fake):
        now = time.time()
        topic = f"{PREFIX}/main/agents/a1/state"
        await fake.deliver(topic, agent("busy", "phone", ["phone"], ts=now + 3600))
        await fake.deliver(topic, agent("available", "email", ["phone", "email"], ts=now))
        await settled(daemon)
        a1 = daemon.sites["main"].state.roster["a1"]
        assert a1.status == "available" and a1.queue == "email"  # the real state applied
        assert FUTURE % "agent_state" in daemon.metrics.exposition().decode()


async def test_event_clock_a_snapshot_from_the_future_does_not_move_the_clock(
    tmp_path: Path,
) -> None:
    async with memory_daemon(tmp_path) as (daemon, fake):
        now = time.time()
        await fake.deliver(f"{PREFIX}/main/metrics", surge_snapshot(now + 86400))
        await settled(daemon)
        assert daemon.sites["main"].state.clock < now  # not a day ahead
        assert FUTURE % "site_metrics" in daemon.metrics.exposition().decode()


@pytest.mark.parametrize(
    ("ahead_s", "max_skew_s", "refused"),
    [(301, 300, True), (299, 300, False), (10**6, 0, False), (-5, 300, False)],
)
def test_the_shared_rule(ahead_s: float, max_skew_s: float, refused: bool) -> None:
    now = 1.8e9
    assert (future_ts_detail(now + ahead_s, now, max_skew_s) is not None) is refused
