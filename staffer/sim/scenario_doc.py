"""Generate docs/scenario-format.md from the models that validate scenario files.

Every key's type, default and bounds come from the pydantic fields, its meaning from the
field's docstring, and the cross-key rules from the validators' docstrings, so the page
cannot drift from what ``load_scenario`` accepts. ``tests/unit/sim/test_scenario_doc.py``
fails when the page is stale or a key lacks a description. Regenerate with

    .venv/bin/python -m staffer.sim.scenario_doc > docs/scenario-format.md
"""

from __future__ import annotations

import inspect
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from staffer.settings import PlannerSettings, QueueSettings, SiteSettings
from staffer.sim.scenario import (
    Actuals,
    AgentGroup,
    Demand,
    Event,
    Scenario,
    ThresholdParams,
)

# (TOML table, model, what the section is for beyond the model's docstring) in page order
SECTIONS: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("top level", Scenario, ""),
    (
        "[site]",
        SiteSettings,
        "The site, as one `[[sites]]` table of staffer.toml. The simulator uses `id` and "
        "`queues`; `forecast_file` and `max_agents` are accepted and ignored (the scheduled "
        "forecast is `forecast_per_hour`).",
    ),
    ("[[site.queues]]", QueueSettings, "One queue of the site, as in staffer.toml."),
    (
        "[planner]",
        PlannerSettings,
        "The `staffer` policy's planner settings, as `[planner]` in staffer.toml. The "
        "policy always plans in mode auto on the simulated clock, so `clock`, `mode`, "
        "`override_ttl_s`, `proposal_ttl_s` and `stale_after_s` do not change a run.",
    ),
    ("[demand.QUEUE]", Demand, ""),
    ("[[agents]]", AgentGroup, ""),
    ("[[events]]", Event, ""),
    ("[threshold]", ThresholdParams, ""),
    ("[actuals.QUEUE]", Actuals, ""),
)
TABLE_OF = {model: table for table, model, _ in SECTIONS}

INTRO = """\
# Scenario file reference

A scenario is one simulated day of one site, a TOML file that `staffer simulate FILE` runs
(`staffer simulate surge` finds the bundled ones in `staffer/sim/scenarios/`).
`staffer scenario from-history` writes one from an ACD export and a roster
([history.md](history.md)). Units: seconds, ratios in [0, 1]; demand profiles are the one
exception, in contacts per hour (as a planner reads them), converted to per-second rates on
loading. Times inside the day are seconds from `start`. Unknown keys are errors.

Generated from the models that validate the files (`staffer/sim/scenario.py`, and
`staffer/settings.py` for `[site]` and `[planner]`, which are exactly `[[sites]]` and
`[planner]` of `staffer.toml`) by `python -m staffer.sim.scenario_doc`; do not edit by hand.
"""

# a minimal valid scenario (tests/unit/sim/test_scenario_doc.py loads it)
EXAMPLE = """\
name = "tiny"
description = "Two hours of one phone queue, eight agents, a busier second hour."
start = 2026-11-23T08:00:00+01:00
time_zone = "Europe/Berlin"

[site]
id = "main"

[[site.queues]]
id = "phone"
channel = "voice"
target_s = 20
patience_s = 120
aht_s = 240

[demand.phone]
rates_per_hour = [90, 100, 160, 160]
forecast_per_hour = [90, 100, 100, 100]

[[agents]]
prefix = "p"
count = 6
skills = ["phone"]
queue = "phone"

[[agents]]
prefix = "roster"
names = ["ann", "bob"]
skills = ["phone"]
queue = "phone"
shift_start_s = 3600
"""


def type_name(ann: Any) -> str:
    """A TOML-ish reading of a field's annotation."""
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(type_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"table of {type_name(args[1])}"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        table = TABLE_OF.get(ann)
        return f"[`{table}`](#{_anchor(table)})" if table else ann.__name__
    names = {str: "string", float: "number", int: "integer", bool: "boolean", Path: "path"}
    if ann is datetime:
        return "date-time with zone"
    return names.get(ann, getattr(ann, "__name__", str(ann)))


def bounds(metadata: list[Any]) -> str:
    """Constraints of a field: ``> 0``, ``<= 5``, ``1-64 characters``, a pattern."""
    out = []
    for m in metadata:
        if isinstance(m, Gt):
            out.append(f"> {m.gt}")
        elif isinstance(m, Ge):
            out.append(f">= {m.ge}")
        elif isinstance(m, Lt):
            out.append(f"< {m.lt}")
        elif isinstance(m, Le):
            out.append(f"<= {m.le}")
        elif isinstance(m, MinLen):
            out.append(f"at least {m.min_length}")
        elif isinstance(m, MaxLen):
            out.append(f"at most {m.max_length}")
        elif getattr(m, "pattern", None):
            out.append(f"`{m.pattern}`")
    return ", ".join(out)


def default_text(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, list) and value and isinstance(value[0], BaseModel):
            return ", ".join(getattr(v, "id", "?") for v in value)
        return f"`{value!r}`" if value not in ([], {}) else "none"
    if field.default is PydanticUndefined:
        return "**required**"
    if field.default is None:
        return "unset"
    if isinstance(field.default, BaseModel):
        return "all defaults"
    return f"`{field.default!r}`" if not isinstance(field.default, str) else f'`"{field.default}"`'


def _anchor(table: str) -> str:
    return "".join(c for c in table.lower() if c.isalnum() or c in " -").strip().replace(" ", "-")


def _cell(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split()).replace("``", "`").replace("|", "\\|")


def rules(model: type[BaseModel]) -> list[str]:
    """The docstrings of the model's validators: the rules that span several keys."""
    decorators = model.__pydantic_decorators__
    out = []
    for group in (decorators.field_validators, decorators.model_validators):
        for dec in group.values():
            doc = getattr(dec.func, "__doc__", None) or getattr(
                getattr(dec.func, "__func__", None), "__doc__", None
            )
            if doc:
                out.append(_cell(doc))
    return out


def undocumented() -> list[str]:
    """``Model.key`` of every field without a description (must stay empty)."""
    return [
        f"{model.__name__}.{name}"
        for _, model, _ in SECTIONS
        for name, f in model.model_fields.items()
        if not f.description
    ]


def render() -> str:
    """The whole reference page (Markdown)."""
    lines = [INTRO]
    for table, model, about in SECTIONS:
        lines += [f"## {table}", "", _cell(" ".join([model.__doc__ or "", about])), ""]
        lines += ["| key | type | default | bounds | meaning |", "|---|---|---|---|---|"]
        for name, f in model.model_fields.items():
            row = [f"`{name}`", type_name(f.annotation), default_text(f), bounds(f.metadata)]
            lines.append("| " + " | ".join([*row, _cell(f.description or "")]) + " |")
        found = rules(model)
        if found:
            lines += ["", "Rules:", *(f"- {r}" for r in found)]
        lines.append("")
    lines += ["## A minimal scenario", "", "```toml", EXAMPLE.rstrip(), "```"]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
