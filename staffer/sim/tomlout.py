"""Write a scenario as TOML (``staffer scenario from-history -o day.toml``).

A small emitter for what a scenario holds (strings, numbers, booleans, datetimes with a
zone, lists, tables and arrays of tables); the standard library reads TOML but does not
write it, and the file must read back into the identical scenario (tested).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from staffer.sim.scenario import Scenario

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
PER_LINE = 12  # list items per line in long arrays


def scenario_to_toml(scenario: Scenario, comment: str = "") -> str:
    """The scenario as TOML text (unset keys left out, so their defaults apply)."""
    data = scenario.model_dump(mode="python", exclude_none=True)
    head = [f"# {line}" for line in comment.splitlines()]
    return "\n".join([*head, *_table(data, [])]).rstrip() + "\n"


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def _is_table(v: Any) -> bool:
    return isinstance(v, dict)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _table(data: dict[str, Any], path: list[str]) -> list[str]:
    """Scalars first, then sub-tables and arrays of tables, each under its dotted header."""
    lines = [
        f"{_key(k)} = {_value(v)}"
        for k, v in data.items()
        if not _is_table(v) and not _is_table_array(v) and v != []
    ]
    for k, v in data.items():
        sub = [*path, _key(k)]
        if _is_table(v) and v:
            scalars = any(not _is_table(x) and not _is_table_array(x) for x in v.values())
            lines += ["", f"[{'.'.join(sub)}]"] if scalars else []
            lines += _table(v, sub)
        elif _is_table_array(v):
            for item in v:
                lines += ["", f"[[{'.'.join(sub)}]]", *_table(item, sub)]
    return lines


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"TOML cannot hold {v!r} here")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, datetime):
        if v.tzinfo is None:
            raise ValueError("datetimes need a zone")
        return v.isoformat()
    if isinstance(v, list | tuple):
        items = [_value(x) for x in v]
        if len(items) <= PER_LINE:
            return "[" + ", ".join(items) + "]"
        rows = [", ".join(items[i : i + PER_LINE]) for i in range(0, len(items), PER_LINE)]
        return "[\n" + "".join(f"    {r},\n" for r in rows) + "]"
    raise ValueError(f"cannot write {type(v).__name__} as TOML")
