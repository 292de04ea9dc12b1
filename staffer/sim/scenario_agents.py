"""Scenario files: the agents of the day (groups) and their absences (events).

Split from ``staffer.sim.scenario``, which holds the day as a whole; the reference page
(docs/scenario-format.md) is generated from these models' field docstrings.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AGENT_ID = r"^[A-Za-z0-9_.@\-]+$"


class ScenarioModel(BaseModel):
    # attribute docstrings become field descriptions: the reference page is made from them
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class AgentGroup(ScenarioModel):
    """``count`` agents with the same skills, starting queue and shift."""

    prefix: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")
    """Group name; its agents are ``<prefix>001``, ``<prefix>002``, ... unless ``names``
    is given."""
    count: int = Field(ge=1, le=10000)
    """Number of agents (may be left out when ``names`` is given)."""
    names: list[str] | None = None
    """Agent ids of the group (a roster), ``count`` of them; unique across the scenario."""
    skills: list[str] = Field(min_length=1)
    """Queue ids the agents may serve."""
    queue: str
    """The queue they start on (the static schedule); one of ``skills``."""
    shift_start_s: float = Field(0.0, ge=0)
    """Shift start, seconds from the day's start."""
    shift_end_s: float | None = Field(None, gt=0)
    """Shift end, seconds from the day's start; unset = they stay to the end of the run."""

    @model_validator(mode="before")
    @classmethod
    def _count_from_names(cls, data: object) -> object:
        """Without ``count``, ``count`` is the number of ``names``."""
        if isinstance(data, dict) and "count" not in data and isinstance(data.get("names"), list):
            return {**data, "count": len(data["names"])}
        return data

    @field_validator("names")
    @classmethod
    def _agent_ids(cls, names: list[str] | None) -> list[str] | None:
        """Agent ids are 1-64 characters of A-Z a-z 0-9 _ . @ -."""
        for n in names or []:
            if not 0 < len(n) <= 64 or re.fullmatch(AGENT_ID, n) is None:
                raise ValueError(f"agent id {n!r} must be 1-64 of A-Z a-z 0-9 _ . @ -")
        return names

    @model_validator(mode="after")
    def _queue_in_skills(self) -> AgentGroup:
        """``queue`` is one of ``skills``; the shift ends after it starts; ``names`` has
        ``count`` entries."""
        if self.queue not in self.skills:
            raise ValueError(f"queue {self.queue!r} is not one of the group's skills")
        if self.shift_end_s is not None and self.shift_end_s <= self.shift_start_s:
            raise ValueError("shift_end_s must be after shift_start_s")
        if self.names is not None and len(self.names) != self.count:
            raise ValueError(f"count is {self.count} but names has {len(self.names)} entries")
        return self

    def agent_ids(self) -> list[str]:
        """The group's agent ids, in order."""
        if self.names is not None:
            return list(self.names)
        return [f"{self.prefix}{i + 1:03d}" for i in range(self.count)]


class Event(ScenarioModel):
    """The first ``agents`` agents of group ``prefix`` are away in [start, end).

    ``outage``: unannounced (a lost desktop): the agents just go offline. ``break``:
    scheduled, so the agents' states announce it beforehand (``available_until``,
    contract §11) and show status ``break`` meanwhile. Agent k of the event (0-based)
    is away ``k * stagger_s`` later than the first, e.g. staggered lunch breaks.
    """

    kind: Literal["outage", "break"] = "outage"
    """``outage`` (unannounced: offline) or ``break`` (announced, status ``break``)."""
    prefix: str
    """The agent group."""
    agents: int = Field(ge=1)
    """How many of its agents (the first ones)."""
    start_s: float = Field(ge=0)
    """Start, seconds from the day's start."""
    end_s: float = Field(gt=0)
    """End, seconds from the day's start."""
    stagger_s: float = Field(0.0, ge=0)
    """Agent k (0-based) is away ``k * stagger_s`` later than the first, seconds."""

    def window(self, k: int) -> tuple[float, float]:
        """When agent ``k`` (0-based) of the event is away."""
        shift = k * self.stagger_s
        return self.start_s + shift, self.end_s + shift

    @model_validator(mode="after")
    def _order(self) -> Event:
        """``end_s`` is after ``start_s``."""
        if self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self
