"""The metrics the on-call alerts read (deploy/prometheus/rules), through the daemon's real
/metrics path: input freshness, the last plan, moves that were never confirmed."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from staffer.app import Daemon
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


def sample(daemon: Daemon, name: str, **labels: str) -> float | None:
    """One sample of the daemon's /metrics text (as Prometheus scrapes it), None if absent."""
    for line in daemon.exposition().decode().splitlines():
        m = re.match(r"^([\w:]+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                return float(m.group(3))
    return None


async def test_last_input_timestamp_moves_only_with_new_input(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    """StafferSiteNoMetrics reads this gauge: it must keep the time of the last snapshot,
    not advance at every scrape (it did: the alert could never fire once a site had
    reported)."""
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        assert sample(daemon, "staffer_site_last_input_timestamp_seconds", site="main") is None
        await p.publish("main/metrics", surge_snapshot(T0))
        await p.wait_for("main/plan")
        first = sample(daemon, "staffer_site_last_input_timestamp_seconds", site="main")
        assert first is not None and abs(first - time.time()) < 30
        await asyncio.sleep(1.2)  # scrapes without input leave it alone
        assert sample(daemon, "staffer_site_last_input_timestamp_seconds", site="main") == first
        assert sample(daemon, "staffer_site_last_input_timestamp_seconds", site="main") == first
        await p.publish("main/metrics", surge_snapshot(T0 + 60))
        deadline = time.monotonic() + 15
        while sample(daemon, "staffer_site_last_input_timestamp_seconds", site="main") == first:
            assert time.monotonic() < deadline, "a new snapshot did not move the gauge"
            await asyncio.sleep(0.05)
        later = sample(daemon, "staffer_site_last_input_timestamp_seconds", site="main")
        assert later is not None and later >= first + 1.0


async def test_last_plan_timestamp_and_move_timeouts(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    """StafferPlanOverdue and StafferMovesUnconfirmed read these: the wall time of a
    site's last plan, and moves that time out unconfirmed (the bridge never applied them)."""
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"move_timeout_s": 120})
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        assert sample(daemon, "staffer_site_last_plan_timestamp_seconds", site="main") is None
        assert sample(daemon, "staffer_move_timeouts_total", site="main") == 0  # from the start
        await staff_surge_site(p)
        before = time.time()
        await p.publish("main/metrics", surge_snapshot(T0))
        [command] = await p.wait_for("main/commands")
        planned = sample(daemon, "staffer_site_last_plan_timestamp_seconds", site="main")
        assert planned is not None and before - 1 <= planned <= time.time() + 1
        moved = len(command["moves"])
        assert moved >= 2 and sample(daemon, "staffer_moves_in_flight", site="main") == moved
        # 2 minutes of event time later the bridge has confirmed none of them
        await p.publish("main/metrics", surge_snapshot(T0 + 120))
        deadline = time.monotonic() + 15
        while sample(daemon, "staffer_moves_in_flight", site="main") != 0:
            assert time.monotonic() < deadline, "moves never timed out"
            await asyncio.sleep(0.05)
        assert sample(daemon, "staffer_move_timeouts_total", site="main") == moved
        # no plan at T0 + 120 (off the grid): the plan timestamp stays
        assert sample(daemon, "staffer_site_last_plan_timestamp_seconds", site="main") == planned
        await p.publish("main/metrics", surge_snapshot(T0 + 300))
        await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0 + 300))
        assert sample(daemon, "staffer_site_last_plan_timestamp_seconds", site="main") > planned
