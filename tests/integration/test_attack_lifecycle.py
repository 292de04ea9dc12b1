"""Issue 14 items 9, 12, 13: the daemon's lifecycle under attack (real mosquitto).

* 9: SIGTERM under a flood of requests: every request gets exactly one reply.
* 12: under the event clock, one quiet site must not hold back override expiry of
  another: each site expires its overrides on its own clock (retained list, gauge,
  expiry audit row).
* 13: a SIGHUP reload keeps the ``staffer_mode`` gauge of a site whose mode a supervisor
  overrode, and a site removed and added back by reloads does not re-issue its moves
  in flight.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path
from typing import Any

from staffer.app import Daemon
from staffer.core.override_records import EXPIRY_KIND
from staffer.settings import Settings
from tests.conftest import Broker, free_port
from tests.integration.harness import (
    T0,
    Peer,
    iso,
    make_settings,
    peer,
    running_daemon,
    spawn_daemon,
    staff_surge_site,
    surge_snapshot,
)
from tests.integration.test_process import _config, _http, _wait


def _settings(broker: Broker, prefix: str, tmp_path: Path, sites: list[str], **planner: Any):
    return make_settings(
        broker.url,
        prefix,
        tmp_path,
        planner={"move_timeout_s": 3600, **planner},
        sites=[{"id": s} for s in sites],
    )


def _gauge(daemon: Daemon, line_start: str) -> float | None:
    for line in daemon.exposition().decode().splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


async def _ask(p: Peer, site: str, request: dict) -> dict:
    await p.publish(f"{site}/override/alice", request)
    [reply] = await p.wait_for(
        f"{site}/override/alice/reply", lambda r: r.get("id") == request["id"]
    )
    return reply


# -- item 12 -------------------------------------------------------------------------------------


async def test_a_quiet_site_does_not_stop_expiry_elsewhere(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = _settings(mosquitto, topic_prefix, tmp_path, ["main", "quiet"], mode="manual")
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        await p.publish("quiet/metrics", surge_snapshot(T0))  # then nothing more from it
        await p.publish("main/metrics", surge_snapshot(T0))
        await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0))
        reply = await _ask(
            p, "main", {"id": "q1", "action": "pin", "queue": "chat", "max": 2, "ttl_s": 60}
        )
        assert reply["ok"], reply
        await p.wait_for("main/overrides", lambda x: len(x) == 1)
        empty = len([r for r in p.on("main/overrides") if r.json() == []])
        await p.publish("main/metrics", surge_snapshot(T0 + 120))  # main's clock passes it
        await p.wait_for("main/overrides", lambda x: x == [], count=empty + 1)
        assert _gauge(daemon, 'staffer_overrides_active{site="main"}') == 0
        assert daemon.store is not None
        await daemon.emit.drain(5.0)
        audit = await daemon.store.audit("main")
        assert [a.actor for a in audit if a.kind == EXPIRY_KIND] == ["system"], audit


# -- item 13 -------------------------------------------------------------------------------------


async def test_reload_keeps_the_mode_gauge_of_a_mode_override(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = _settings(mosquitto, topic_prefix, tmp_path, ["main"])
    async with (
        running_daemon(settings, reload=lambda: settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        await p.publish("main/metrics", surge_snapshot(T0))
        assert (await _ask(p, "main", {"id": "m1", "action": "mode", "mode": "manual"}))["ok"]
        manual = 'staffer_mode{mode="manual",site="main"}'
        assert _gauge(daemon, manual) == 1
        await daemon.reload()  # what SIGHUP does
        assert _gauge(daemon, manual) == 1
        assert _gauge(daemon, 'staffer_mode{mode="auto",site="main"}') == 0


async def test_a_site_removed_and_added_back_does_not_reissue_moves(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    both = _settings(mosquitto, topic_prefix, tmp_path, ["main", "other"])
    other_only = _settings(mosquitto, topic_prefix, tmp_path, ["other"])
    current: list[Settings] = [both]
    async with (
        running_daemon(both, reload=lambda: current[0]) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        await staff_surge_site(p)
        await p.publish("main/metrics", surge_snapshot(T0))
        [first] = await p.wait_for("main/commands")
        assert first["moves"], first
        current[0] = other_only
        await daemon.reload()
        assert "main" not in daemon.sites
        current[0] = both
        await daemon.reload()
        await staff_surge_site(p)  # the bridge reports the same agents, not yet moved
        await p.publish("main/metrics", surge_snapshot(T0 + 300))
        await p.wait_for("main/plan", lambda x: x["as_of"] == iso(T0 + 300))
        await p.settle(0.5)
        sent = {(m["agent"], m["to"]) for m in first["moves"]}
        later = [c for c in (r.json() for r in p.on("main/commands")) if c != first]
        again = sent & {(m["agent"], m["to"]) for c in later for m in c["moves"]}
        assert not again, f"moves in flight re-issued after the site came back: {again}"


# -- item 9 --------------------------------------------------------------------------------------


async def test_sigterm_mid_flood_answers_every_request_once(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    """A real ``staffer run`` under a flood of QoS 1 requests gets SIGTERM mid-flood
    (the flood goes on), exits 0 and is restarted: every request the broker accepted
    (PUBACK) before the signal was sent gets exactly one reply, every later one at most
    one. Before the fix the daemon dropped its backlog of received requests unanswered.
    (Requests the broker accepts once the daemon has unsubscribed have no subscriber:
    a clean session, nothing to answer; docs/reliability.md "Shutdown".)"""
    n, term_after, window = 2000, 600, 200
    http_port = free_port()
    conf = tmp_path / "staffer.toml"
    conf.write_text(_config(mosquitto, topic_prefix, tmp_path / "state.db", http_port), "utf-8")
    log = tmp_path / "daemon.log"
    ready = f"http://127.0.0.1:{http_port}/readyz"
    accepted: list[str] = []  # in PUBACK order
    before_term: set[str] = set()
    async with peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        proc = spawn_daemon(conf, log)
        try:
            await asyncio.to_thread(_wait, lambda: _http(ready) == 200)
            await p.publish("main/metrics", surge_snapshot(T0))  # the site has a clock
            await p.wait_for("main/plan")
            slots = asyncio.Semaphore(window)  # a pipelined flood, not one at a time

            async def request(i: int) -> None:
                async with slots:
                    rid = f"r{i}"
                    body = {"id": rid, "action": "pin", "queue": "chat", "max": i % 5 + 1}
                    await p.publish("main/override/alice", body)
                    accepted.append(rid)

            flood = [asyncio.create_task(request(i)) for i in range(n)]
            while len(accepted) < term_after:
                await asyncio.sleep(0.005)
            before_term.update(accepted)
            proc.send_signal(signal.SIGTERM)  # mid-flood: the publishes go on
            await asyncio.gather(*flood)
            assert await asyncio.to_thread(proc.wait, 60) == 0
            proc = spawn_daemon(conf, log)  # a restart must not answer anything twice
            await asyncio.to_thread(_wait, lambda: _http(ready) == 200)
            await p.settle(1.0)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.to_thread(proc.wait, 60)
        answered = Counter(r.json()["id"] for r in p.on("main/override/alice/reply"))
    missing = sorted(before_term - set(answered), key=lambda r: int(r[1:]))
    assert not missing, (
        f"{len(missing)} of {len(before_term)} requests accepted before SIGTERM never "
        f"answered (first: {missing[:5]}); {len(answered)} of {n} answered in all"
    )
    assert {k: v for k, v in answered.items() if v > 1} == {}


async def test_a_reload_republishes_the_status_with_the_sites_served(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    """`staffer ctl status` reads the retained status: after a reload that adds a site it
    named the old sites until the next restart."""
    one = _settings(mosquitto, topic_prefix, tmp_path, ["main"])
    both = _settings(mosquitto, topic_prefix, tmp_path, ["main", "other"])
    current: list[Settings] = [one]
    async with (
        running_daemon(one, reload=lambda: current[0]) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        [first] = await p.wait_for("status", lambda s: s.get("status") == "online")
        assert first["sites"] == ["main"]
        current[0] = both
        await daemon.reload()
        [status] = await p.wait_for("status", lambda s: s.get("sites") == ["main", "other"])
        assert status["status"] == "online"
