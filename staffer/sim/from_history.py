"""Turn an ACD export and a roster into the equivalent scenario (contract §15).

Arrival rates and handle times per interval come from the export; targets, patience and
concurrency from the configuration's site; skills, starting queues and shifts from the
roster (its starting queues are the static schedule); the forecast the ``staffer``
policy's planner starts from is FORECAST.csv or the history's daily mean. The real
day's outcomes travel along as the scenario's ``actuals``, for the calibration row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from staffer.settings import ConfigError, Settings, SiteSettings, load_settings
from staffer.sim.csvinput import zone_of
from staffer.sim.history import Forecast, History, flat_forecast, load_forecast, load_history
from staffer.sim.roster import RosterAgent, load_roster
from staffer.sim.scenario import Scenario, scenario_from_dict

DRAIN_S = 1800.0


@dataclass(frozen=True)
class HistoryInputs:
    """The files and options of ``--history`` (simulate) and ``from-history`` (scenario)."""

    history: Path
    roster: Path
    config: Path | None = None
    forecast: Path | None = None
    tz: str | None = None
    site: str | None = None
    name: str | None = None
    seed: int = 1


def pick_site(settings: Settings, site_id: str | None) -> SiteSettings:
    """The configured site to replay: ``--site``, else the only one."""
    if site_id is not None:
        site = settings.site(site_id)
        if site is None:
            ids = ", ".join(s.id for s in settings.sites)
            raise ConfigError(f"--site: no site {site_id!r} in the config (sites: {ids})")
        return site
    if len(settings.sites) > 1:
        ids = ", ".join(s.id for s in settings.sites)
        raise ConfigError(f"the config has several sites ({ids}): choose one with --site")
    return settings.sites[0]


def load_day(inputs: HistoryInputs) -> tuple[Scenario, list[str]]:
    """Read, check and convert the inputs; returns the scenario and the notes to show."""
    settings = load_settings(inputs.config)
    site = pick_site(settings, inputs.site)
    zone = zone_of(inputs.tz)
    configured = [q.id for q in site.queues]
    history = load_history(inputs.history, configured, site.id, zone)
    roster, roster_notes = load_roster(inputs.roster, history, configured, zone)
    if inputs.forecast is not None:
        forecast = load_forecast(inputs.forecast, history, site.id, zone)
    else:
        forecast = flat_forecast(history)
    notes = [*history.notes, *roster_notes, *_patience_notes(history, site)]
    data = scenario_data(history, roster, site, settings, forecast, inputs)
    return scenario_from_dict(data, str(inputs.history)), notes


def _patience_notes(history: History, site: SiteSettings) -> list[str]:
    out = []
    for qid in history.queues:
        q = site.queue(qid)
        abandons = sum(history.actuals.get(qid, {}).get("abandoned", []))
        if q is not None and q.channel != "email" and q.patience_s is None and abandons:
            out.append(
                f"{qid}: the export has {abandons} abandons but patience_s is unset in the "
                "config, so simulated customers never abandon (set patience_s for the queue)"
            )
    return out


def scenario_data(
    history: History,
    roster: list[RosterAgent],
    site: SiteSettings,
    settings: Settings,
    forecast: Forecast,
    inputs: HistoryInputs,
) -> dict:
    """The scenario as raw data (validated by the caller), per-hour rates at this edge."""
    per_hour = 3600.0
    demand: dict[str, dict] = {}
    for qid in history.queues:
        q = site.queue(qid)
        assert q is not None
        mean = history.mean_aht_s(qid) or q.aht_s
        f_mean = _mean_of(forecast.aht_s[qid]) or mean
        demand[qid] = {  # rounded: the TOML stays readable, and reads back identical
            "rates_per_hour": [round(r * per_hour, 4) for r in history.rates_per_s(qid)],
            "forecast_per_hour": [round(r * per_hour, 4) for r in forecast.rates_per_s[qid]],
            "aht_s": round(mean, 3),
            "aht_per_interval_s": [round(a or mean, 3) for a in history.aht_s[qid]],
            "forecast_aht_s": [round(a or f_mean, 3) for a in forecast.aht_s[qid]],
        }
    start = datetime.fromtimestamp(history.start_ts, history.zone)
    email = [q.id for q in site.queues if q.channel == "email" and q.id in history.queues]
    name = inputs.name or Path(inputs.history).stem
    data: dict = {
        "name": name,
        "description": _description(history, inputs),
        "start": start,
        "profile_interval_s": history.interval_s,
        "report_interval_s": history.interval_s,
        "drain_s": DRAIN_S,
        "seed": inputs.seed,
        "site": {
            "id": site.id,
            "queues": [
                q.model_dump(exclude_none=True) for q in site.queues if q.id in history.queues
            ],
        },
        "planner": settings.planner.model_dump(),
        "demand": demand,
        "agents": _groups(roster),
        "actuals": {
            q: {"offered": history.offered[q], **history.actuals[q]} for q in history.queues
        },
    }
    if inputs.tz is not None:
        data["time_zone"] = inputs.tz
    if email:
        data["threshold"] = {"pool": email[0]}
    return data


def _mean_of(values: list[float | None]) -> float | None:
    known = [v for v in values if v]
    return sum(known) / len(known) if known else None


def _description(history: History, inputs: HistoryInputs) -> str:
    day = datetime.fromtimestamp(history.start_ts, history.zone).strftime("%Y-%m-%d")
    span = f"{history.label(history.start_ts)}-{history.label(history.end_ts)}"
    fc = f"forecast {inputs.forecast}" if inputs.forecast else "forecast = the day's mean"
    return (
        f"Replay of {inputs.history} ({day} {span}, {history.interval_s / 60:g}-minute "
        f"intervals) with roster {inputs.roster}; {fc}."
    )


def _groups(roster: list[RosterAgent]) -> list[dict]:
    """Agents with the same skills, starting queue and shift form one named group."""
    groups: dict[tuple, list[str]] = {}
    for a in roster:
        groups.setdefault((a.skills, a.queue, a.shift_start_s, a.shift_end_s), []).append(a.id)
    out = []
    for i, ((skills, queue, start, end), names) in enumerate(groups.items()):
        g: dict = {"prefix": f"g{i + 1}", "names": names, "skills": list(skills), "queue": queue}
        if start:
            g["shift_start_s"] = start
        if end is not None:
            g["shift_end_s"] = end
        out.append(g)
    return out
