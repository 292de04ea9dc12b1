"""Two `staffer run` replicas with shard_count = 2 on one broker (the StatefulSet's
design): every site is planned by exactly one replica, and a replica that stops and
comes back with its state file resumes its own sites, overrides included."""

from __future__ import annotations

import contextlib
import json
import queue
import time
from pathlib import Path

from tests.conftest import Broker, free_port

from .mqtt_client import Client
from .stack import (
    Daemon,
    daemon_toml,
    iso,
    staff_surge,
    staffer_run,
    surge_site_snapshot,
    wait_json,
)

SITES = ["paris", "lyon", "lille", "bordeaux", "nice", "toulouse"]
# Event clock, but close to wall time (the two rounds at most 10 minutes in the past):
# overrides' time to live counts on both clocks, and no snapshot is from the future.
T0 = time.time() // 300 * 300 - 300


def eventually_metric(daemon: Daemon, name: str, value: float, **labels: str) -> None:
    """The daemon's /metrics shows ``value`` (gauges follow the reply by a moment)."""
    deadline = time.monotonic() + 10
    while (got := daemon.metric(name, **labels)) != value:
        assert time.monotonic() < deadline, (name, labels, got)
        time.sleep(0.05)


def plans_at(observer: Client, ts: float) -> dict[str, dict]:
    """Wait for every site's plan as of ``ts`` (other plans, e.g. republished ones,
    are skipped)."""
    got: dict[str, dict] = {}
    while len(got) < len(SITES):
        try:
            topic, payload, _ = observer.next_message(20)
        except queue.Empty:
            raise AssertionError(
                f"no plan as of {iso(ts)} for {sorted(set(SITES) - set(got))}"
            ) from None
        plan = json.loads(payload)
        if topic.endswith("/plan") and plan["as_of"] == iso(ts):
            assert topic == f"staffer/{plan['site']}/plan"
            got[plan["site"]] = plan
    return got


def test_every_site_is_planned_by_exactly_one_replica(mosquitto: Broker, tmp_path: Path) -> None:
    ports = [free_port(), free_port()]

    def replica(i: int):
        toml = daemon_toml(
            mosquitto.url, ports[i], tmp_path / f"state-{i}.db", SITES, username=None, shard=(i, 2)
        )
        return staffer_run(tmp_path / f"replica-{i}", toml, ports[i])

    bridge = Client(mosquitto.port)
    observer = Client(mosquitto.port)
    supervisor = Client(mosquitto.port, "alice")
    with contextlib.ExitStack() as stack:
        for c in (bridge, observer, supervisor):
            stack.callback(c.close)
        observer.subscribe("staffer/+/plan")
        supervisor.subscribe("staffer/+/override/alice/reply")
        r0, r1 = (stack.enter_context(replica(i)) for i in (0, 1))
        daemons = [r0, r1]
        for site in SITES:
            staff_surge(bridge, site, T0 - 60)
            bridge.publish(f"staffer/{site}/metrics", surge_site_snapshot(T0))
        plans_at(observer, T0)

        owner: dict[str, int] = {}
        for site in SITES:
            planned = [
                i
                for i, d in enumerate(daemons)
                if (d.metric("staffer_plan_duration_seconds_count", site=site) or 0) > 0
            ]
            assert len(planned) == 1, (site, planned)
            owner[site] = planned[0]
        assert set(owner.values()) == {0, 1}, f"one replica planned nothing: {owner}"
        for site, i in owner.items():  # the other replica does not even count its inputs
            other = daemons[1 - i]
            assert other.metric("staffer_site_last_input_timestamp_seconds", site=site) is None

        # A pin on one of replica 1's sites, then replica 1 stops (its pod died).
        site1 = next(s for s, i in owner.items() if i == 1)
        supervisor.publish(
            f"staffer/{site1}/override/alice",
            json.dumps({"id": "keep-me", "action": "pin", "queue": "chat", "min": 1}),
        )
        reply = wait_json(supervisor, f"staffer/{site1}/override/alice/reply")
        assert reply["ok"] is True, reply
        eventually_metric(r1, "staffer_overrides_active", 1, site=site1)
        r1.proc.terminate()
        assert r1.proc.wait(10) == 0, r1.log.read_text()[-2000:]

        # Replica 1 comes back with the same state file (its volume): it resumes its sites
        # and its override, and each site is still planned by its one owner.
        back = stack.enter_context(replica(1))
        eventually_metric(back, "staffer_overrides_active", 1, site=site1)
        for site in SITES:
            bridge.publish(f"staffer/{site}/metrics", surge_site_snapshot(T0 + 300))
        plans_at(observer, T0 + 300)
        now = [r0, back]
        for site, i in owner.items():
            assert (now[i].metric("staffer_plan_duration_seconds_count", site=site) or 0) > 0
            assert now[1 - i].metric("staffer_plan_duration_seconds_count", site=site) is None
