"""A throwaway plan at start-up, so the first real plan does not pay first-call costs.

The first ``plan_site`` of a process takes 4-6 ms instead of ~2.5 (issue 17: in the
latency benchmark the run's first command was its slowest in 4 of 7 traced runs):
numpy's and scipy's first calls of each kernel and Python's first run of the planner's
code. ``warm_up`` decodes a made-up site snapshot for a copy of one configured site (its
queues and settings; one queue surging, so agents move), plans it once, encodes the plan
and its command, and drops it all: no served site, metric, store row or message is
touched, and a failure only logs.
"""

from __future__ import annotations

import json
import logging
import time

from staffer.codec import payloads
from staffer.codec.timefmt import format_ts
from staffer.core.planner import plan_site
from staffer.core.site import Site
from staffer.core.types import AgentState, Controls
from staffer.settings import Settings

log = logging.getLogger("staffer.app")

AGENTS_PER_QUEUE = 10


def warm_up(settings: Settings) -> float:
    """Plan a synthetic copy of the first configured site once; the seconds it took
    (0 when there is no site, or it failed: logged, the daemon starts anyway)."""
    if not settings.sites:
        return 0.0
    t0 = time.perf_counter()
    try:
        _plan_once(settings, time.time())
    except Exception as err:  # never in the way of starting: only slower first plan
        log.debug("warm-up plan failed: %s", err)
        return 0.0
    return time.perf_counter() - t0


def _plan_once(settings: Settings, now: float) -> None:
    cfg, planner = settings.sites[0], settings.planner
    site = Site.new(cfg, planner)
    queues = [q.id for q in cfg.queues]
    hot = next((q.id for q in cfg.queues if q.channel != "email"), queues[0])
    body = {
        "ts": format_ts(now),
        "queues": {
            q.id: {
                "interval_s": 60,
                "offered": 16 if q.id == hot else 2,
                "waiting": 6 if q.id == hot else 0,
                "aht_s": 240,
                **({"backlog": 5} if q.channel == "email" else {}),
            }
            for q in cfg.queues
        },
    }
    ts, snaps = payloads.decode_site_snapshot(json.dumps(body).encode())
    for qid, snap in snaps.items():
        site.state.apply_snapshot(qid, snap)
    for i, qid in enumerate(queues * AGENTS_PER_QUEUE):
        agent = AgentState(f"warm-up-{i}", ts - 600, "available", qid, frozenset(queues))
        site.state.apply_agent(agent)
    plan = plan_site(cfg, planner, site.state, Controls(), {}, ts, "warm-up")
    payloads.encode_plan(plan)
    payloads.encode_command("warm-up", plan.plan_id, cfg.id, ts, "auto", plan.moves)
