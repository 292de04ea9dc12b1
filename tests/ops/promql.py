"""Just enough PromQL reading for the deployment tests: which metric names an expression
selects, and Grafana's variables substituted so that Prometheus can run it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from .conftest import DEPLOY

# Contract §8: the metric families the daemon exports (names are part of the contract).
CONTRACT_METRICS = frozenset(
    {
        "staffer_queue_agents",
        "staffer_queue_predicted_service_level",
        "staffer_queue_predicted_asa_seconds",
        "staffer_queue_predicted_abandon_ratio",
        "staffer_queue_forecast_arrival_rate",
        "staffer_queue_waiting_contacts",
        "staffer_queue_observed_service_level",
        "staffer_moves_total",
        "staffer_plan_duration_seconds",
        "staffer_messages_total",
        "staffer_overrides_active",
        "staffer_mqtt_connected",
        "staffer_mode",
        "staffer_build_info",
    }
)
# Series Prometheus itself attaches to every scrape target.
SCRAPE_SERIES = frozenset({"up"})

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metric_names(expr: str) -> set[str]:
    """Metric names selected by a PromQL expression (series names, as written)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for m in re.finditer(r"(?<![\w:.$])([A-Za-z_:][\w:]*)\s*(\()?", text):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def family(name: str) -> str:
    """staffer_plan_duration_seconds_bucket -> staffer_plan_duration_seconds."""
    for suffix in _HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def recording_rules() -> set[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "staffer.rules.yml").read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def dashboards() -> dict[str, dict]:
    return {
        p.name: json.loads(p.read_text())
        for p in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    }


def all_panels(dashboard: dict) -> Iterator[dict]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows keep their panels inside


def panel_queries(dashboard: dict) -> Iterator[tuple[str, str]]:
    """(panel title, expr) for every query of every panel."""
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel["title"], target["expr"]


def variable_queries(dashboard: dict) -> Iterator[tuple[str, str]]:
    """(variable name, metric selector inside label_values(...)) for query variables."""
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q.strip())
        assert m, f"variable {var['name']}: unsupported query {q!r}"
        yield var["name"], m.group(1)


def substitute(expr: str, values: dict[str, str] | None = None) -> str:
    """Replace Grafana variables the way Grafana would before sending the query."""
    subs = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
    subs.update(values or {})
    return re.sub(r"\$\{?(\w+)\}?", lambda m: subs.get(m.group(1), ".*"), expr)


def dashboard_files() -> list[Path]:
    return sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
