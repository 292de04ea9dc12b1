"""Stale data and ``GET /status`` (contract §16) on the real daemon and a real Mosquitto:
a queue whose bridge went quiet shows as stale in the plan, /metrics and /status, and the
planner moves nobody out of it until it reports again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from staffer import __version__
from staffer.app import Daemon
from tests.conftest import Broker
from tests.integration.harness import (
    T0,
    iso,
    make_settings,
    peer,
    queue_body,
    running_daemon,
    staff_surge_site,
    surge_snapshot,
)
from tests.integration.test_operator_metrics import sample

PREDICTIONS = (
    "staffer_queue_predicted_service_level",
    "staffer_queue_predicted_asa_seconds",
    "staffer_queue_predicted_abandon_ratio",
)


async def get_status(daemon: Daemon) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"http://127.0.0.1:{daemon.http_port}/status") as r,
    ):
        assert r.status == 200 and r.content_type == "application/json"
        return await r.json()


async def test_stale_queue_in_plan_metrics_and_status(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        # nothing reported yet: every queue stale, no plan
        st = await get_status(daemon)
        assert st["version"] == __version__ and st["connected"] is True
        assert st["clock"] == "event"
        main = st["sites"]["main"]
        assert main["mode"] == "auto" and main["last_plan"] is None
        assert main["queues"] == {
            q: {"data_age_s": None, "stale": True} for q in ("phone", "chat", "email")
        }
        assert main["stale_queues"] == ["phone", "chat", "email"]
        assert main["open_proposals"] == [] and main["moves_in_flight"] == []
        assert sample(daemon, "staffer_queue_stale", site="main", queue="email") == 1.0
        assert sample(daemon, "staffer_queue_data_age_seconds", site="main", queue="email") is None

        # a phone surge; email's bridge last reported 15 minutes before the plan
        await staff_surge_site(p)
        email = queue_body(1, 0, aht_s=360, backlog=3, oldest_age_s=600)
        await p.publish("main/queues/email/metrics", {"ts": iso(T0 - 900), **email})
        snap = surge_snapshot(T0)
        del snap["queues"]["email"]
        await p.publish("main/metrics", snap)
        [plan] = await p.wait_for("main/plan")
        q = plan["queues"]
        assert (q["email"]["stale"], q["email"]["data_age_s"]) == (True, 900.0)
        assert q["email"]["predicted_service_level"] is None
        assert q["email"]["predicted_asa_s"] is None
        assert q["email"]["predicted_abandon_ratio"] is None
        assert (q["phone"]["stale"], q["phone"]["data_age_s"]) == (False, 0.0)
        assert q["phone"]["predicted_service_level"] is not None
        assert plan["moves"] == 0  # the only donors serve the stale email queue
        assert q["email"]["target"] == q["email"]["assigned"] == 12
        for name in PREDICTIONS:
            assert sample(daemon, name, site="main", queue="email") is None, name
            assert sample(daemon, name, site="main", queue="phone") is not None, name
        assert sample(daemon, "staffer_queue_data_age_seconds", site="main", queue="email") == 900
        assert sample(daemon, "staffer_queue_stale", site="main", queue="email") == 1.0
        assert sample(daemon, "staffer_queue_stale", site="main", queue="phone") == 0.0
        st = await get_status(daemon)
        main = st["sites"]["main"]
        assert main["last_plan"] == {"plan_id": plan["plan_id"], "as_of": iso(T0), "moves": 0}
        assert main["queues"]["email"] == {"data_age_s": 900.0, "stale": True}
        assert main["queues"]["phone"] == {"data_age_s": 0.0, "stale": False}
        assert main["stale_queues"] == ["email"]
        assert not p.on("main/commands")

        # email reports again: the next plan moves email agents to phone
        await p.publish("main/metrics", surge_snapshot(T0 + 300))
        [command] = await p.wait_for("main/commands")
        assert command["moves"] and all(m["from"] == "email" for m in command["moves"])
        [_, plan2] = await p.wait_for("main/plan", count=2)
        assert not any(v["stale"] for v in plan2["queues"].values())
        assert plan2["queues"]["email"]["predicted_service_level"] is not None
        assert sample(daemon, PREDICTIONS[0], site="main", queue="email") is not None
        main = (await get_status(daemon))["sites"]["main"]
        assert main["stale_queues"] == [] and main["last_plan"]["as_of"] == iso(T0 + 300)
        flying = {(m["agent"], m["to"], m["command_id"]) for m in main["moves_in_flight"]}
        assert flying == {(m["agent"], "phone", command["command_id"]) for m in command["moves"]}
        assert all(m["accepted"] is False for m in main["moves_in_flight"])


async def test_status_lists_open_proposals_and_is_read_only(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path, planner={"mode": "approve"})
    async with (
        running_daemon(settings) as daemon,
        peer(mosquitto.host, mosquitto.port, topic_prefix) as p,
    ):
        await staff_surge_site(p)
        await p.publish("main/metrics", surge_snapshot(T0))
        [listing] = await p.wait_for("main/proposals", lambda m: bool(m["proposals"]))
        main = (await get_status(daemon))["sites"]["main"]
        assert main["mode"] == "approve" and main["moves_in_flight"] == []
        assert [x["proposal_id"] for x in main["open_proposals"]] == [
            x["proposal_id"] for x in listing["proposals"]
        ]
        assert all(x["from"] == "email" and x["to"] == "phone" for x in main["open_proposals"])
        url = f"http://127.0.0.1:{daemon.http_port}/status"
        async with aiohttp.ClientSession() as s:
            for method in ("POST", "PUT", "DELETE"):
                async with s.request(method, url, data=b"{}") as r:
                    assert r.status == 405, method
        assert (await get_status(daemon))["sites"]["main"] == main
