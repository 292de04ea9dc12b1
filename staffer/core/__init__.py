"""The pure core: live state, forecasts, planning, moves, supervisor overrides, move acks
and cool-downs, and approve mode's proposals.

No I/O, no asyncio, no clocks (time is passed in). The names below are the core's
public API; they are imported on first use, so ``import staffer.core.types`` stays
cheap for callers that need only the value types (the codec, a bridge).
"""

from __future__ import annotations

import importlib
from typing import Any

from staffer.core import types as _types  # cheap: dataclasses and the vocabulary

_EXPORTS = {
    **dict.fromkeys(_types.__all__, "staffer.core.types"),  # the value types
    "Applied": "staffer.core.state",
    "SiteState": "staffer.core.state",
    "InFlightBook": "staffer.core.inflight",
    "AckEffect": "staffer.core.acks",
    "settle_ack": "staffer.core.acks",
    "Cooldown": "staffer.core.cooldowns",
    "CooldownBook": "staffer.core.cooldowns",
    "ProposalBook": "staffer.core.proposals",
    "Site": "staffer.core.site",
    "Outcome": "staffer.core.overrides",
    "OverrideBook": "staffer.core.overrides",
    "next_grid_time": "staffer.core.clock",
    "owned_sites": "staffer.core.sharding",
    "plan_site": "staffer.core.planner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'staffer.core' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
