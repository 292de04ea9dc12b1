"""deploy/grafana: provisioning files and dashboards are well-formed and query only the
metrics the daemon exports (contract §8 and the documented extras) or the shipped rules."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from staffer.adapters.metrics import Metrics

from .conftest import DEPLOY
from .promql import (
    CONTRACT_METRICS,
    SCRAPE_SERIES,
    all_panels,
    dashboard_files,
    dashboards,
    family,
    metric_names,
    panel_queries,
    recording_rules,
    variable_queries,
)


def exported_families() -> frozenset[str]:
    """Metric families in the daemon's real registry (its /metrics TYPE lines)."""
    text = Metrics("test", {"main": ["phone"]}).exposition().decode()
    return frozenset(re.findall(r"^# TYPE (\S+) ", text, re.M))


EXPORTED = exported_families()
# Additive metrics the deployment relies on (see docs/deploy.md, "Metrics").
EXTRA_METRICS = frozenset(
    {"staffer_queue_sl_target", "staffer_site_last_input_timestamp_seconds", "staffer_queue_stale"}
)


def test_daemon_exports_the_contract_and_the_extras_we_use() -> None:
    assert CONTRACT_METRICS <= EXPORTED, sorted(CONTRACT_METRICS - EXPORTED)
    assert EXTRA_METRICS <= EXPORTED, sorted(EXTRA_METRICS - EXPORTED)


def test_metric_name_extraction() -> None:
    assert metric_names(
        'sum by (site, le) (rate(x_bucket{a="b", c=~"$d"}[5m])) / on (site) '
        "group_left() y * 3600 > bool 0"
    ) == {"x_bucket", "y"}
    assert metric_names("staffer:queue_sl_target or up == 0") == {"staffer:queue_sl_target", "up"}
    assert family("staffer_plan_duration_seconds_count") == "staffer_plan_duration_seconds"


def test_there_are_dashboards() -> None:
    names = {p.name for p in dashboard_files()}
    assert {"staffer-site-overview.json", "staffer-daemon-health.json"} <= names


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_dashboard_is_valid_with_unique_panel_ids(path) -> None:
    board = json.loads(path.read_text())
    assert board["uid"] and board["title"] and board["schemaVersion"] >= 36
    ids = [p["id"] for p in all_panels(board)]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
    for panel in all_panels(board):
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["targets"], f"{panel['title']}: no query"
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), panel["title"]
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_dashboard_uids_are_unique() -> None:
    uids = [b["uid"] for b in dashboards().values()]
    assert len(uids) == len(set(uids))


def test_overview_has_site_and_queue_variables() -> None:
    board = dashboards()["staffer-site-overview.json"]
    names = [v["name"] for v in board["templating"]["list"]]
    assert {"datasource", "site", "queue"} <= set(names)
    exprs = [e for _, e in panel_queries(board)]
    assert all('site=~"$site"' in e for e in exprs), "every overview query filters on $site"


def test_overview_covers_the_issue() -> None:
    """Per-site overview: SL predicted/observed/goal, ASA, abandonment, waiting, agents of
    each kind, moves, overrides, mode."""
    exprs = " ".join(e for _, e in panel_queries(dashboards()["staffer-site-overview.json"]))
    for needle in (
        "staffer_queue_predicted_service_level",
        "staffer_queue_observed_service_level",
        "staffer:queue_sl_target",
        "staffer_queue_predicted_asa_seconds",
        "staffer_queue_predicted_abandon_ratio",
        "staffer_queue_waiting_contacts",
        'kind="assigned"',
        'kind="target"',
        'kind="required"',
        "staffer_moves_total",
        "staffer_overrides_active",
        "staffer_mode",
        "staffer_queue_data_age_seconds",  # contract §16
        "staffer_queue_stale",
    ):
        assert needle in exprs, needle
    health = " ".join(e for _, e in panel_queries(dashboards()["staffer-daemon-health.json"]))
    for needle in (
        "staffer_plan_duration_seconds_bucket",
        "staffer_messages_total",
        "staffer_mqtt_connected",
        'up{job="staffer"',
    ):
        assert needle in health, needle


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_dashboards_use_only_exported_metrics(path) -> None:
    allowed = EXPORTED | SCRAPE_SERIES | recording_rules()
    board = json.loads(path.read_text())
    used = {name for _, e in panel_queries(board) for name in metric_names(e)}
    used |= {name for _, sel in variable_queries(board) for name in metric_names(sel)}
    assert used, "no metric found: the extraction is broken"
    unknown = sorted(n for n in used if family(n) not in allowed)
    assert not unknown, f"{path.name} queries metrics nobody exports: {unknown}"


def test_rules_use_only_exported_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "staffer.rules.yml").read_text())
    allowed = EXPORTED | SCRAPE_SERIES | recording_rules()
    used = {n for g in rules["groups"] for r in g["rules"] for n in metric_names(r["expr"])}
    unknown = sorted(n for n in used if family(n) not in allowed)
    assert not unknown, unknown


def test_grafana_provisioning() -> None:
    prov = DEPLOY / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    dash = yaml.safe_load((prov / "dashboards" / "staffer.yml").read_text())
    (provider,) = dash["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert any(m.endswith(":" + provider["options"]["path"] + ":ro") for m in mounts), mounts
