"""Scenario files: a simulated day for one site (TOML, validated with pydantic).

A scenario names its site in the same format as staffer's ``[[sites.queues]]``, the
planner settings the ``staffer`` policy uses, per-queue demand profiles (arrivals per
hour for each profile interval), the agents (skills, starting queue, shift) and
events (unannounced outages, announced breaks). Times inside the day are seconds from
the day's ``start``. ``switch_cost_s`` is the simulated site's truth about a channel
switch (the switched agent takes no contact for that long), independent of what the
planner assumes (``[planner] switch_cost_s``).

Format history (all additive, older files load unchanged): ``events.kind = "break"``,
``events.stagger_s`` and ``switch_cost_s`` (default 60 s) came with issue 12.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from staffer.settings import ConfigError, PlannerSettings, SiteSettings, _describe, read_toml

# Bundled scenarios ship inside the package (config/scenarios links here), so a wheel
# install can run `staffer simulate surge` and `staffer demo` without the source tree.
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Demand(_Model):
    """Arrivals and handle times of one queue over the day."""

    rates_per_hour: list[float] = Field(min_length=1)
    forecast_per_hour: list[float] | None = None
    handle: Literal["exponential", "lognormal"] = "exponential"
    handle_cv: float = Field(1.0, gt=0, le=5)
    aht_s: float | None = Field(None, gt=0)
    patience_s: float | None = Field(None, gt=0)
    chat_slowdown: float = Field(0.0, ge=0, le=2)
    initial_backlog: int = Field(0, ge=0)
    initial_max_age_s: float = Field(3600.0, ge=0)

    @model_validator(mode="after")
    def _rates(self) -> Demand:
        for r in [*self.rates_per_hour, *(self.forecast_per_hour or [])]:
            if not r >= 0 or r == float("inf"):
                raise ValueError(f"rates must be finite and >= 0 (got {r!r})")
        if self.forecast_per_hour is not None and len(self.forecast_per_hour) != len(
            self.rates_per_hour
        ):
            raise ValueError("forecast_per_hour must have as many entries as rates_per_hour")
        return self


class AgentGroup(_Model):
    """``count`` agents with the same skills, starting queue and shift."""

    prefix: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")
    count: int = Field(ge=1, le=10000)
    skills: list[str] = Field(min_length=1)
    queue: str
    shift_start_s: float = Field(0.0, ge=0)
    shift_end_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _queue_in_skills(self) -> AgentGroup:
        if self.queue not in self.skills:
            raise ValueError(f"queue {self.queue!r} is not one of the group's skills")
        if self.shift_end_s is not None and self.shift_end_s <= self.shift_start_s:
            raise ValueError("shift_end_s must be after shift_start_s")
        return self


class Event(_Model):
    """The first ``agents`` agents of group ``prefix`` are away in [start, end).

    ``outage``: unannounced (a lost desktop): the agents just go offline. ``break``:
    scheduled, so the agents' states announce it beforehand (``available_until``,
    contract §11) and show status ``break`` meanwhile. Agent k of the event (0-based)
    is away ``k * stagger_s`` later than the first, e.g. staggered lunch breaks.
    """

    kind: Literal["outage", "break"] = "outage"
    prefix: str
    agents: int = Field(ge=1)
    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)
    stagger_s: float = Field(0.0, ge=0)

    def window(self, k: int) -> tuple[float, float]:
        """When agent ``k`` (0-based) of the event is away."""
        shift = k * self.stagger_s
        return self.start_s + shift, self.end_s + shift

    @model_validator(mode="after")
    def _order(self) -> Event:
        if self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self


class ThresholdParams(_Model):
    """The human real-time analyst's rule (``threshold`` policy)."""

    check_s: float = Field(60.0, gt=0)
    pull_waiting: int = Field(5, ge=1)
    release_waiting: int = Field(0, ge=0)
    release_after_s: float = Field(900.0, ge=0)
    pool: str = "email"
    max_borrowed: int = Field(10, ge=0)


class Scenario(_Model):
    """One simulated day of one site."""

    name: str
    description: str = ""
    start: datetime
    profile_interval_s: float = Field(1800.0, gt=0, le=86400)
    report_interval_s: float = Field(1800.0, gt=0, le=86400)
    drain_s: float = Field(1800.0, ge=0)
    seed: int = Field(1, ge=0)
    switch_cost_s: float = Field(60.0, ge=0, le=3600)  # a switched agent takes no contact
    site: SiteSettings
    planner: PlannerSettings = PlannerSettings()
    demand: dict[str, Demand]
    agents: list[AgentGroup] = Field(min_length=1)
    events: list[Event] = Field(default_factory=list)
    threshold: ThresholdParams = ThresholdParams()

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.start.tzinfo is None:
            raise ValueError("start must carry a time zone, e.g. 2026-11-23T08:00:00Z")
        queues = {q.id for q in self.site.queues}
        for qid in self.demand:
            if qid not in queues:
                raise ValueError(f"demand.{qid}: not a queue of site {self.site.id!r}")
        missing = sorted(queues - set(self.demand))
        if missing:
            raise ValueError(f"demand: no profile for queue(s) {', '.join(missing)}")
        lengths = {len(d.rates_per_hour) for d in self.demand.values()}
        if len(lengths) != 1:
            raise ValueError("every demand profile must have the same number of intervals")
        prefixes = [g.prefix for g in self.agents]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("agent group prefixes must be unique")
        for g in self.agents:
            bad = sorted(set(g.skills) - queues)
            if bad:
                raise ValueError(f"agents.{g.prefix}: unknown skill(s) {', '.join(bad)}")
        by_prefix = {g.prefix: g for g in self.agents}
        for e in self.events:
            if e.prefix not in by_prefix:
                raise ValueError(f"events: unknown agent group {e.prefix!r}")
            if e.agents > by_prefix[e.prefix].count:
                raise ValueError(f"events: group {e.prefix!r} has fewer than {e.agents} agents")
        return self

    @property
    def start_ts(self) -> float:
        """POSIX seconds of the day's start."""
        return self.start.timestamp()

    @property
    def day_s(self) -> float:
        """Length of the arrival day (the profile), seconds."""
        n = len(next(iter(self.demand.values())).rates_per_hour)
        return n * self.profile_interval_s

    def aht_of(self, queue_id: str) -> float:
        """Mean handle time of a queue: the demand's, else the queue config's."""
        d = self.demand[queue_id]
        q = self.site.queue(queue_id)
        assert q is not None
        return d.aht_s if d.aht_s is not None else q.aht_s

    def patience_of(self, queue_id: str) -> float | None:
        """Mean patience of a real-time queue (None: callers never abandon)."""
        d = self.demand[queue_id]
        q = self.site.queue(queue_id)
        assert q is not None
        if q.channel == "email":
            return None
        return d.patience_s if d.patience_s is not None else q.patience_s

    def agent_count(self) -> int:
        return sum(g.count for g in self.agents)

    def forecast_csv(self) -> str:
        """The scheduled forecast (``forecast_per_hour``, else the actual rates) as the CSV
        ``staffer.core.forecast.load_forecast_csv`` reads (absolute RFC 3339 starts)."""
        lines = ["interval_start,queue,expected_contacts,aht_s"]
        for qid, d in self.demand.items():
            rates = d.forecast_per_hour if d.forecast_per_hour is not None else d.rates_per_hour
            q = self.site.queue(qid)
            assert q is not None
            # a forecast built from history sees chats slowed by concurrency: count half of
            # the worst-case slowdown, as for an agent with a typical half-full desk
            aht = self.aht_of(qid) * (1.0 + d.chat_slowdown * (q.concurrency - 1) / 2)
            for i, r in enumerate(rates):
                t = datetime.fromtimestamp(self.start_ts + i * self.profile_interval_s, UTC)
                n = r * self.profile_interval_s / 3600.0
                lines.append(f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{qid},{n:.6g},{aht:.6g}")
        return "\n".join(lines) + "\n"

    def shortened(self, intervals: int) -> Scenario:
        """The first ``intervals`` profile intervals only (for tests and ``--short``)."""
        demand = {
            k: d.model_copy(
                update={
                    "rates_per_hour": d.rates_per_hour[:intervals],
                    "forecast_per_hour": None
                    if d.forecast_per_hour is None
                    else d.forecast_per_hour[:intervals],
                }
            )
            for k, d in self.demand.items()
        }
        return self.model_copy(update={"demand": demand})


def scenario_from_dict(data: dict, source: str = "scenario") -> Scenario:
    """Validate raw data into a Scenario or raise ConfigError with one line."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{source}: {_describe(err)}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file (ConfigError with one line on any problem)."""
    p = Path(path)
    if not p.is_file():
        bundled = SCENARIO_DIR / f"{path}.toml"
        if not bundled.is_file():
            raise ConfigError(f"{p}: no such scenario file")
        p = bundled
    return scenario_from_dict(read_toml(p), str(p))
