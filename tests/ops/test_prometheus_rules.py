"""deploy/prometheus: the config and rules pass promtool, and the rules' unit tests show
every alert both firing and staying quiet."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from staffer.adapters.metrics import Metrics

from .conftest import DEPLOY, require_tool
from .promql import SCRAPE_SERIES, family, metric_names, recording_rules

PROM = DEPLOY / "prometheus"
RULES = PROM / "rules" / "staffer.rules.yml"
RULE_TESTS = PROM / "tests" / "rules.test.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("promtool"), *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("what", "path"), [("config", PROM / "prometheus.yml"), ("rules", RULES)])
def test_promtool_check(what: str, path) -> None:
    proc = promtool("check", what, str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_promtool_test_rules() -> None:
    proc = promtool("test", "rules", str(RULE_TESTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_test_rules_can_fail(tmp_path) -> None:
    """The unit tests have teeth: the same tests against a rule file whose threshold was
    loosened fail."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    loosened = RULES.read_text().replace("for: 10m", "for: 1m", 1)
    assert loosened != RULES.read_text()
    (tmp_path / "rules" / RULES.name).write_text(loosened)
    (tmp_path / "tests" / RULE_TESTS.name).write_text(RULE_TESTS.read_text())
    proc = promtool("test", "rules", str(tmp_path / "tests" / RULE_TESTS.name))
    assert proc.returncode != 0
    assert "StafferPredictedServiceLevelBelowTarget" in proc.stdout + proc.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    alerts = {
        r["alert"]
        for g in yaml.safe_load(RULES.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    assert {
        "StafferPredictedServiceLevelBelowTarget",
        "StafferObservedServiceLevelBelowTarget",
        "StafferSiteNoMetrics",
        "StafferDown",
        "StafferBrokerDisconnected",
        "StafferInvalidMessagesHigh",
        "StafferMoveRejectionsHigh",
        # the on-call set of issue 15
        "StafferModeNotAuto",
        "StafferBrokerFlapping",
        "StafferMovesUnconfirmed",
        "StafferPlanOverdue",
        "StafferQueueStale",  # contract §16
    } <= alerts
    fired: set[str] = set()
    quiet: set[str] = set()
    for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert alerts <= fired, f"never shown firing: {sorted(alerts - fired)}"
    assert alerts <= quiet, f"never shown quiet: {sorted(alerts - quiet)}"


def test_rules_carry_severity_and_summary() -> None:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule
                assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_rules_select_only_metrics_the_daemon_exports() -> None:
    """A renamed or misspelt metric would leave its alert silent forever."""
    text = Metrics("test", {"main": ["phone"]}).exposition().decode()
    exported = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    known = exported | recording_rules() | SCRAPE_SERIES
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            names = {family(n) for n in metric_names(rule["expr"])}
            assert names <= known, (rule.get("alert") or rule.get("record"), names - known)
