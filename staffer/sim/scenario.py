"""Scenario files: a simulated day for one site (TOML, validated with pydantic).

A scenario names its site in the same format as staffer's ``[[sites.queues]]``, the
planner settings the ``staffer`` policy uses, per-queue demand profiles (arrivals per
hour for each profile interval), the agents (skills, starting queue, shift) and
events (unannounced outages, announced breaks). Times inside the day are seconds from
the day's ``start``. ``switch_cost_s`` is the simulated site's truth about a channel
switch (the switched agent takes no contact for that long), independent of what the
planner assumes (``[planner] switch_cost_s``). A replayed ACD export (``staffer scenario
from-history``) also carries per-interval handle times, the real day's outcomes
(``actuals``) and named agents. The reference of every key, generated from these models,
is docs/scenario-format.md.

Format history (all additive, older files load unchanged): ``events.kind = "break"``,
``events.stagger_s`` and ``switch_cost_s`` (default 60 s) came with issue 12; names,
per-interval handle times, ``actuals`` and ``time_zone`` with issue 13.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from staffer.settings import ConfigError, PlannerSettings, SiteSettings, _describe, read_toml
from staffer.sim.scenario_agents import AgentGroup, Event, ScenarioModel

# Bundled scenarios ship inside the package (config/scenarios links here), so a wheel
# install can run `staffer simulate surge` and `staffer demo` without the source tree.
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

# Upper bounds no real contact center reaches, so a typo (an extra few zeros) is refused
# instead of exhausting memory (every contact of the day is drawn up front) or running
# for ever. The busiest queues take a few thousand contacts an hour: 100,000 an hour on
# one queue of one site is far beyond any of them.
MAX_RATE_PER_HOUR = 100_000.0
# Draining finishes the day's contacts: email targets are hours to a couple of days, so
# a week is more than any site needs.
MAX_DRAIN_S = 7 * 86400


class Demand(ScenarioModel):
    """Arrivals and handle times of one queue over the day."""

    rates_per_hour: list[float] = Field(min_length=1)
    """Actual arrivals per hour, one entry per profile interval (Poisson within each)."""
    forecast_per_hour: list[float] | None = None
    """What the site's scheduled forecast said (the ``staffer`` policy's schedule);
    unset = the actual rates."""
    handle: Literal["exponential", "lognormal"] = "exponential"
    """Distribution of handle times."""
    handle_cv: float = Field(1.0, gt=0, le=5)
    """Coefficient of variation of lognormal handle times."""
    aht_s: float | None = Field(None, gt=0)
    """Mean handle time, seconds; unset = the queue's ``aht_s``."""
    aht_per_interval_s: list[float] | None = None
    """Mean handle time per profile interval, seconds (an ACD export's AHT): a contact's
    drawn handle time is scaled by its arrival interval's entry over ``aht_s``."""
    forecast_aht_s: list[float] | None = None
    """Handle time per profile interval in the scheduled forecast, seconds."""
    patience_s: float | None = Field(None, gt=0)
    """Mean (exponential) patience of voice and chat, seconds; unset = the queue's."""
    chat_slowdown: float = Field(0.0, ge=0, le=2)
    """A chat that starts while its agent has ``k`` open lasts ``1 + chat_slowdown * k``
    times its drawn handle time."""
    initial_backlog: int = Field(0, ge=0)
    """Contacts already waiting at the start of the day (email)."""
    initial_max_age_s: float = Field(3600.0, ge=0)
    """Ages of the initial backlog are uniform in [0, this], seconds."""

    @model_validator(mode="after")
    def _rates(self) -> Demand:
        """Rates are finite, >= 0 and at most 100,000 per hour; every per-interval list has
        as many entries as ``rates_per_hour``; handle times are finite and > 0."""
        for key in ("rates_per_hour", "forecast_per_hour"):
            for i, r in enumerate(getattr(self, key) or []):
                if not 0 <= r <= MAX_RATE_PER_HOUR:
                    raise ValueError(
                        f"{key}[{i}]: expected a rate >= 0 and at most "
                        f"{MAX_RATE_PER_HOUR:,.0f} per hour (got {r!r})"
                    )
        n = len(self.rates_per_hour)
        for key in ("forecast_per_hour", "aht_per_interval_s", "forecast_aht_s"):
            values = getattr(self, key)
            if values is not None and len(values) != n:
                raise ValueError(f"{key} must have as many entries as rates_per_hour")
        for v in [*(self.aht_per_interval_s or []), *(self.forecast_aht_s or [])]:
            if not 0 < v < float("inf"):
                raise ValueError(f"handle times must be finite and > 0 (got {v!r})")
        return self


class ThresholdParams(ScenarioModel):
    """The human real-time analyst's rule (``threshold`` policy)."""

    check_s: float = Field(60.0, gt=0)
    """How often the analyst looks, seconds."""
    pull_waiting: int = Field(5, ge=1)
    """Pull one agent from ``pool`` when a real-time queue has this many waiting."""
    release_waiting: int = Field(0, ge=0)
    """A queue with at most this many waiting counts as quiet."""
    release_after_s: float = Field(900.0, ge=0)
    """Give one borrowed agent back after this long quiet, seconds."""
    pool: str = "email"
    """The queue agents are borrowed from."""
    max_borrowed: int = Field(10, ge=0)
    """At most this many agents borrowed at once."""


class Actuals(ScenarioModel):
    """A replayed day's real outcomes per profile interval (the calibration row)."""

    offered: list[int]
    """Contacts offered in each interval."""
    answered: list[int] | None = None
    """Contacts answered in each interval."""
    abandoned: list[int] | None = None
    """Contacts abandoned in each interval."""
    answered_within_target: list[int] | None = None
    """Contacts answered within the queue's ``target_s`` in each interval."""

    @model_validator(mode="after")
    def _counts(self) -> Actuals:
        """Every list has as many entries as ``offered``; counts are >= 0."""
        for key in ("answered", "abandoned", "answered_within_target"):
            values = getattr(self, key)
            if values is not None and len(values) != len(self.offered):
                raise ValueError(f"{key} must have as many entries as offered")
        for v in self.offered + (self.answered or []) + (self.abandoned or []):
            if v < 0:
                raise ValueError(f"counts must be >= 0 (got {v})")
        return self


class Scenario(ScenarioModel):
    """One simulated day of one site."""

    name: str
    """Short name, shown in reports and charts."""
    description: str = ""
    """One line on what the day is about."""
    start: datetime
    """When the day starts, with a zone (``2026-11-23T08:00:00Z``)."""
    time_zone: str | None = None
    """IANA zone reports and charts show times in (``Europe/Berlin``); unset = the zone
    of ``start``."""
    profile_interval_s: float = Field(1800.0, gt=0, le=86400)
    """Length of one entry of the demand profiles, seconds."""
    report_interval_s: float = Field(1800.0, gt=0, le=86400)
    """Length of the intervals KPIs are reported for, seconds."""
    drain_s: float = Field(1800.0, ge=0, le=MAX_DRAIN_S)
    """After the last arrival the run goes on this long to finish contacts, seconds."""
    seed: int = Field(1, ge=0)
    """Default random seed (``--seed`` overrides)."""
    switch_cost_s: float = Field(60.0, ge=0, le=3600)
    """A switched agent takes no contact for this long (the site's truth), seconds."""
    site: SiteSettings
    """The site and its queues, exactly as ``[[sites]]`` in staffer.toml."""
    planner: PlannerSettings = PlannerSettings()
    """The ``staffer`` policy's planner settings, as ``[planner]`` in staffer.toml."""
    demand: dict[str, Demand]
    """One profile per queue of the site, all of the same length."""
    agents: list[AgentGroup] = Field(min_length=1)
    """The agents, in groups."""
    events: list[Event] = Field(default_factory=list)
    """Outages and breaks."""
    threshold: ThresholdParams = ThresholdParams()
    """Parameters of the ``threshold`` policy."""
    actuals: dict[str, Actuals] = Field(default_factory=dict)
    """The real day's outcomes per queue, for calibration (replayed exports)."""

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        """``time_zone`` is a known IANA zone."""
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        """``start`` has a zone; ``demand`` has exactly one profile per queue of the site,
        all of the same length; ``actuals`` name queues of the site and have one entry per
        profile interval; group prefixes and agent ids are unique; skills are queues of
        the site; events name a group with at least ``agents`` agents."""
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
        self._check_replay_keys(queues, lengths.pop())
        return self

    def _check_replay_keys(self, queues: set[str], n: int) -> None:
        """Agent ids (``names``) unique; ``actuals`` on queues of the site, ``n`` long."""
        ids = Counter(a for g in self.agents for a in g.agent_ids())
        dup = sorted(a for a, k in ids.items() if k > 1)
        if dup:
            raise ValueError(f"agents: duplicate agent id(s) {', '.join(dup[:5])}")
        for qid, a in self.actuals.items():
            if qid not in queues:
                raise ValueError(f"actuals.{qid}: not a queue of site {self.site.id!r}")
            if len(a.offered) != n:
                raise ValueError(f"actuals.{qid}: needs one entry per profile interval")

    @property
    def start_ts(self) -> float:
        """POSIX seconds of the day's start."""
        return self.start.timestamp()

    @property
    def day_s(self) -> float:
        """Length of the arrival day (the profile), seconds."""
        n = len(next(iter(self.demand.values())).rates_per_hour)
        return n * self.profile_interval_s

    def display_zone(self) -> tzinfo:
        """The zone reports show times in: ``time_zone``, else ``start``'s own."""
        if self.time_zone is not None:
            return ZoneInfo(self.time_zone)
        return self.start.tzinfo or UTC

    def aht_of(self, queue_id: str) -> float:
        """Mean handle time of a queue: the demand's, else the queue config's."""
        d = self.demand[queue_id]
        q = self.site.queue(queue_id)
        assert q is not None
        return d.aht_s if d.aht_s is not None else q.aht_s

    def handle_scale(self, queue_id: str, arrivals_s: np.ndarray) -> np.ndarray | float:
        """Factor on each contact's drawn handle time: its interval's ``aht_per_interval_s``
        over the day's mean (1 without per-interval handle times)."""
        per = self.demand[queue_id].aht_per_interval_s
        if per is None:
            return 1.0
        idx = np.clip((arrivals_s // self.profile_interval_s).astype(int), 0, len(per) - 1)
        return np.asarray(per)[idx] / self.aht_of(queue_id)

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
            slowdown = 1.0 + d.chat_slowdown * (q.concurrency - 1) / 2
            ahts = d.forecast_aht_s or [self.aht_of(qid)] * len(rates)
            for i, r in enumerate(rates):
                t = datetime.fromtimestamp(self.start_ts + i * self.profile_interval_s, UTC)
                n = r * self.profile_interval_s / 3600.0
                aht = ahts[i] * slowdown
                lines.append(f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{qid},{n:.6g},{aht:.6g}")
        return "\n".join(lines) + "\n"

    def shortened(self, intervals: int) -> Scenario:
        """The first ``intervals`` profile intervals only (for tests and ``--short``)."""

        def cut(model: BaseModel, keys: tuple[str, ...]) -> BaseModel:
            values = {k: getattr(model, k) for k in keys}
            return model.model_copy(
                update={k: None if v is None else v[:intervals] for k, v in values.items()}
            )

        per_interval = ("rates_per_hour", "forecast_per_hour", "aht_per_interval_s")
        demand = {k: cut(d, (*per_interval, "forecast_aht_s")) for k, d in self.demand.items()}
        actual_keys = ("offered", "answered", "abandoned", "answered_within_target")
        actuals = {k: cut(a, actual_keys) for k, a in self.actuals.items()}
        return self.model_copy(update={"demand": demand, "actuals": actuals})


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
            names = ", ".join(sorted(f.stem for f in SCENARIO_DIR.glob("*.toml")))
            raise ConfigError(f"{p}: no such scenario file (bundled scenarios: {names})")
        p = bundled
    return scenario_from_dict(read_toml(p), str(p))
