"""Build small stationary scenarios for simulator tests."""

from __future__ import annotations

from typing import Any

from staffer.sim.scenario import Scenario, scenario_from_dict


def stationary(
    rate_per_h: float,
    aht_s: float,
    agents: int,
    *,
    hours: int = 100,
    patience_s: float | None = None,
    channel: str = "voice",
    concurrency: int = 1,
    target_s: float = 20.0,
    handle: str = "exponential",
) -> Scenario:
    """One queue, constant arrivals, ``agents`` agents all day, no planner moves."""
    queue: dict[str, Any] = {"id": "q", "channel": channel, "target_s": target_s, "aht_s": aht_s}
    if patience_s is not None:
        queue["patience_s"] = patience_s
    if channel == "chat":
        queue["concurrency"] = concurrency
    return scenario_from_dict(
        {
            "name": "stationary",
            "start": "2026-11-23T00:00:00Z",
            "profile_interval_s": 3600,
            "report_interval_s": 3600,
            "drain_s": 0,
            "site": {"id": "s", "queues": [queue]},
            "demand": {"q": {"rates_per_hour": [rate_per_h] * hours, "handle": handle}},
            "agents": [{"prefix": "a", "count": agents, "skills": ["q"], "queue": "q"}],
        }
    )
