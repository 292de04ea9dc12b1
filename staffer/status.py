"""``GET /status`` (contract §16): what an operator asks first, as one JSON object.

Read-only, built from the daemon's memory at request time (no store read, no MQTT)::

    {"version": "0.9.0", "connected": true, "clock": "wall", "ts": "...",
     "sites": {"main": {
        "mode": "auto",
        "last_plan": {"plan_id": "...", "as_of": "...", "moves": 3} | null,
        "queues": {"phone": {"data_age_s": 12.0, "stale": false}, ...},
        "stale_queues": ["email"],
        "overrides_active": 1,
        "open_proposals": [{"proposal_id": ..., "agent": ..., "from": ..., "to": ...,
                            "reason": ..., "expires_at": ...}],
        "moves_in_flight": [{"agent": ..., "to": ..., "command_id": ..., "issued_at": ...,
                             "accepted": false}]}}}

``mode`` is the active one (a supervisor's override over the configured mode). A queue's
``data_age_s`` and ``stale`` are measured now, on the site's clock (wall time, or with
``clock = "event"`` the site's latest inbound ts), by the same rule as the plan's
(``core.freshness``); the plan's own values are as of its ``as_of``. Times are RFC 3339.
"""

from __future__ import annotations

import json
import time
from typing import Any

from staffer.codec.outbound import _num, _ts_or_null
from staffer.codec.proposals import proposal_to_json
from staffer.core.site import Site
from staffer.runtime import Runtime


def status(runtime: Runtime, version: str, connected: bool) -> dict[str, Any]:
    """The whole ``/status`` object."""
    return {
        "version": version,
        "connected": connected,
        "clock": runtime.settings.planner.clock,
        "ts": _ts_or_null(time.time()),
        "sites": {sid: site_status(runtime, site) for sid, site in runtime.sites.items()},
    }


def site_status(runtime: Runtime, site: Site) -> dict[str, Any]:
    now = runtime.now(site)
    fresh = runtime.freshness(site, now)
    return {
        "mode": runtime.controls(site, now).mode,
        "last_plan": last_plan(site),
        "queues": {
            q: {"data_age_s": _num(age), "stale": fresh.is_stale(q)}
            for q, age in fresh.age_s.items()
        },
        "stale_queues": [q for q in fresh.age_s if fresh.is_stale(q)],
        "overrides_active": runtime.book.count(site.id, runtime.view_time(site)),
        "open_proposals": [proposal_to_json(p) for p in site.proposals.open(now)],
        "moves_in_flight": [
            {
                "agent": m.agent,
                "to": m.to_queue,
                "command_id": m.command_id,
                "issued_at": _ts_or_null(m.issued_at),
                "accepted": m.accepted_at is not None,
            }
            for m in sorted(site.flights, key=lambda m: (m.issued_at, m.agent))
        ],
    }


def last_plan(site: Site) -> dict[str, Any] | None:
    """plan_id, as_of and number of moves of the site's last plan (also one restored from
    the store after a restart); None before the first."""
    if site.last_plan_json is None:
        return None
    try:
        plan = json.loads(site.last_plan_json)
        return {"plan_id": plan["plan_id"], "as_of": plan["as_of"], "moves": plan["moves"]}
    except (ValueError, KeyError, TypeError):
        return None
