"""JSON Schemas of staffer's MQTT payloads, shipped with the package (``<name>.json``).

Generated from the codec by ``python -m staffer.codec.schemas``; see docs/bridge-guide.md.
``load("agent_state")`` returns one as a dict.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

NAMES = (
    "queue_snapshot",
    "site_snapshot",
    "agent_state",
    "move_ack",
    "override_request",
    "command",
    "plan",
    "overrides",
    "override_reply",
    "status",
)


def load(name: str) -> dict[str, Any]:
    """The schema ``name`` (one of ``NAMES``)."""
    if name not in NAMES:
        raise KeyError(f"no schema {name!r}; choose from {', '.join(NAMES)}")
    data: dict[str, Any] = json.loads(
        files(__package__).joinpath(f"{name}.json").read_text("utf-8")
    )
    return data
