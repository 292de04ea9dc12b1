"""deploy/k8s and deploy/nats manifests: schema-valid (kubernetes-validate, strict) and
wired consistently: shards = replicas, every site owned by exactly one replica, probes,
ports, volumes, selectors, the NATS routes and secrets, the NetworkPolicy; the
PrometheusRule generated from the rule file and checked against the operator's CRD."""

from __future__ import annotations

import copy
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from staffer.core.sharding import owned_sites, resolve_shard_index
from staffer.settings import load_settings

from .conftest import DEPLOY, require_tool

K8S = DEPLOY / "k8s"
NATS = DEPLOY / "nats"


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def by_kind(directory: Path) -> dict[str, dict]:
    kust = yaml.safe_load((directory / "kustomization.yaml").read_text())
    out: dict[str, dict] = {}
    for res in kust["resources"]:
        for d in docs(directory / res):
            out[d["kind"]] = d
    return out


@pytest.fixture(scope="module")
def k8s() -> dict[str, dict]:
    return by_kind(K8S)


@pytest.fixture(scope="module")
def sts(k8s) -> dict:
    return k8s["StatefulSet"]


def container_env(sts: dict) -> dict[str, str]:
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in c["env"] if "value" in e}


@pytest.mark.parametrize("directory", [K8S, NATS], ids=["k8s", "nats"])
def test_manifests_are_schema_valid(directory: Path) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail(
            "kubernetes-validate is not installed: .venv/bin/pip install "
            "kubernetes-validate (dev dependency)",
            pytrace=False,
        )
    kust = yaml.safe_load((directory / "kustomization.yaml").read_text())
    checked = 0
    for res in kust["resources"]:
        for d in docs(directory / res):
            if d["apiVersion"].startswith("monitoring.coreos.com/"):
                continue  # CRDs: ServiceMonitor by hand, PrometheusRule against its CRD below
            kubernetes_validate.validate(d, "1.30.0", strict=True)
            checked += 1
    for gen in kust.get("configMapGenerator", []):
        for f in gen["files"]:
            assert (directory / f).is_file(), f
    assert checked >= 3


def test_schema_validation_has_teeth(sts) -> None:
    import copy

    import kubernetes_validate

    bad = copy.deepcopy(sts)
    bad["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.30.0", strict=True)


def test_shard_count_follows_replicas_and_every_site_has_one_owner(sts) -> None:
    env = container_env(sts)
    replicas = sts["spec"]["replicas"]
    assert env["STAFFER_CLUSTER__SHARD_INDEX"] == "auto"
    assert int(env["STAFFER_CLUSTER__SHARD_COUNT"]) == replicas
    settings = load_settings(K8S / "staffer.toml", env=env)
    assert settings.cluster.shard_count == replicas
    sites = [s.id for s in settings.sites]
    owners: dict[str, list[int]] = {s: [] for s in sites}
    for ordinal in range(replicas):
        pod = f"{sts['metadata']['name']}-{ordinal}"
        index = resolve_shard_index(settings.cluster.shard_index, pod)
        assert index == ordinal
        mine = owned_sites(sites, index, replicas)
        assert mine, f"{pod} would own no site: pick example sites that spread"
        for s in mine:
            owners[s].append(ordinal)
    assert all(len(o) == 1 for o in owners.values()), owners


def test_pod_wiring(k8s, sts) -> None:
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    (c,) = pod["containers"]
    settings = load_settings(K8S / "staffer.toml", env=container_env(sts))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["http"] == settings.http.port
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["args"] == ["-c", "/etc/staffer/staffer.toml"]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["state"] == "/var/lib/staffer"
    assert str(settings.state.path).startswith(mounts["state"] + "/")
    assert str(settings.mqtt.password_file).startswith(mounts["mqtt-password"] + "/")
    assert [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]] == ["state"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert volumes["config"]["configMap"]["name"] == kust["configMapGenerator"][0]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    labels = spec["template"]["metadata"]["labels"]
    svc = k8s["Service"]
    assert svc["spec"]["clusterIP"] == "None" and spec["serviceName"] == svc["metadata"]["name"]
    for selector in (
        svc["spec"]["selector"],
        spec["selector"]["matchLabels"],
        k8s["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= labels.items()
    mon = k8s["ServiceMonitor"]
    assert mon["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert [e["port"] for e in mon["spec"]["endpoints"]] == ["http"]
    assert "http" in [p["name"] for p in svc["spec"]["ports"]]
    assert svc["metadata"]["name"] == "staffer"  # job="staffer" in rules and dashboards


def test_staffer_talks_to_the_nats_service(sts) -> None:
    settings = load_settings(K8S / "staffer.toml", env=container_env(sts))
    nats = by_kind(NATS)
    svc = nats["Service"]
    mqtt_port = {p["name"]: p["port"] for p in svc["spec"]["ports"]}["mqtt"]
    assert settings.mqtt.url == f"mqtt://{svc['metadata']['name']}:{mqtt_port}"
    assert settings.mqtt.protocol == "3.1.1"


def test_nats_routes_secrets_and_replicas() -> None:
    nats = by_kind(NATS)
    conf = (NATS / "nats.conf").read_text()
    sts = nats["StatefulSet"]
    routes = re.findall(r"nats-route://([\w-]+)-(\d+)\.([\w-]+):6222", conf)
    assert [(n, int(i), s) for n, i, s in routes] == [
        (sts["metadata"]["name"], i, sts["spec"]["serviceName"])
        for i in range(sts["spec"]["replicas"])
    ]
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    env = {e["name"] for e in c["env"]}
    needed = set(re.findall(r"\$([A-Z_]+)", conf)) - {"MQTT"}
    assert needed <= env, needed - env
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert re.search(rf"store_dir: {mounts['data']}/", conf)
    assert f"pid_file: {mounts['run']}/" in conf


def test_console_reaches_the_nats_websocket_listener(sts) -> None:
    """NATS's MQTT-over-WebSocket listener (nats.conf) is a container and Service port, and
    the console's default URL is that port on the /mqtt path (via port-forward)."""
    nats = by_kind(NATS)
    conf = (NATS / "nats.conf").read_text()
    [ws_port] = re.findall(r"websocket \{\s*listen: 0\.0\.0\.0:(\d+)", conf)
    (c,) = nats["StatefulSet"]["spec"]["template"]["spec"]["containers"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]}["websocket"] == int(ws_port)
    svc = {p["name"]: p for p in nats["Service"]["spec"]["ports"]}["websocket"]
    assert (svc["port"], svc["targetPort"]) == (int(ws_port), "websocket")
    settings = load_settings(K8S / "staffer.toml", env=container_env(sts))
    assert settings.console.mqtt_ws_url == f"ws://127.0.0.1:{svc['port']}/mqtt"
    assert '"MQTT_WS"' in conf  # supervisors may connect over WebSocket at all


# -- NetworkPolicy ------------------------------------------------------------------------------


def test_network_policy_admits_prometheus_and_reaches_broker_and_dns(k8s, sts) -> None:
    pol = k8s["NetworkPolicy"]["spec"]
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert pol["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert sorted(pol["policyTypes"]) == ["Egress", "Ingress"]  # both directions closed
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    (ingress,) = pol["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [p["name"] for p in c["ports"]] == ["http"]
    (source,) = ingress["from"]  # Prometheus in the monitoring namespace, nobody else
    assert source["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    assert source["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}

    broker, dns = pol["egress"]
    nats = by_kind(NATS)
    nats_pod = nats["StatefulSet"]["spec"]["template"]["metadata"]["labels"]
    (to_nats,) = broker["to"]
    assert "namespaceSelector" not in to_nats  # the staffer namespace, where deploy/nats runs
    assert to_nats["podSelector"]["matchLabels"].items() <= nats_pod.items()
    settings = load_settings(K8S / "staffer.toml", env=container_env(sts))
    (nats_c,) = nats["StatefulSet"]["spec"]["template"]["spec"]["containers"]
    mqtt_port = {p["name"]: p["containerPort"] for p in nats_c["ports"]}["mqtt"]
    assert [p["port"] for p in broker["ports"]] == [settings.mqtt.broker.port] == [mqtt_port]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}


# -- PrometheusRule -------------------------------------------------------------------------------

RULES = DEPLOY / "prometheus" / "rules" / "staffer.rules.yml"
# What the Prometheus Operator's PrometheusRule CRD (monitoring.coreos.com/v1, operator
# v0.82) accepts. Its structural schema *prunes* unknown fields instead of refusing them,
# so a misspelt key would vanish silently: the keys are checked exactly.
CRD_GROUP_KEYS = {
    "name",
    "interval",
    "labels",
    "limit",
    "partial_response_strategy",
    "query_offset",
    "rules",
}
CRD_RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
CRD_DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)


def generator():
    spec = importlib.util.spec_from_file_location("gen", K8S / "gen_prometheusrule.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def crd_problems(doc: dict) -> list[str]:
    """Where ``doc`` breaks the PrometheusRule CRD's schema (empty when it does not)."""
    problems = []
    if (doc.get("apiVersion"), doc.get("kind")) != ("monitoring.coreos.com/v1", "PrometheusRule"):
        problems.append("apiVersion/kind")
    if set(doc) - {"apiVersion", "kind", "metadata", "spec"} or set(doc["spec"]) != {"groups"}:
        problems.append("top-level keys")
    names = [g.get("name") for g in doc["spec"]["groups"]]
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        problems.append(f"group names {names}")  # a list-map keyed by name
    for g in doc["spec"]["groups"]:
        problems += [f"{g.get('name')}: key {k}" for k in set(g) - CRD_GROUP_KEYS]
        for r in g["rules"]:
            name = r.get("alert") or r.get("record")
            problems += [f"{name}: key {k}" for k in set(r) - CRD_RULE_KEYS]
            if ("alert" in r) == ("record" in r) or not isinstance(r.get("expr"), str | int):
                problems.append(f"{name}: needs expr and exactly one of alert/record")
            for key in ("for", "keep_firing_for"):
                if key in r and not CRD_DURATION.fullmatch(str(r[key])):
                    problems.append(f"{name}: {key} {r[key]!r}")
            for key in ("labels", "annotations"):
                if not all(isinstance(v, str) for v in r.get(key, {}).values()):
                    problems.append(f"{name}: {key} must be strings")
    return problems


def test_prometheusrule_is_generated_from_the_rule_file(k8s) -> None:
    """Fails when the rules changed and `make k8s-rules` was not run."""
    assert (K8S / "prometheusrule.yaml").read_text() == generator().render(RULES.read_text()), (
        "deploy/k8s/prometheusrule.yaml is out of date: run `make k8s-rules`"
    )
    rule = k8s["PrometheusRule"]
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_prometheusrule_is_valid(k8s, tmp_path) -> None:
    """The parts that can be checked without a cluster: the CRD's schema (by hand, above),
    the metadata (kubernetes-validate on the same metadata in a core kind) and the rules
    themselves (promtool, on spec.groups written out as a rule file)."""
    import kubernetes_validate

    rule = k8s["PrometheusRule"]
    assert crd_problems(rule) == []
    stand_in = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": rule["metadata"]}
    kubernetes_validate.validate(stand_in, "1.30.0", strict=True)
    extracted = tmp_path / "rules.yml"
    extracted.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    proc = subprocess.run(
        [require_tool("promtool"), "check", "rules", str(extracted)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_crd_check_has_teeth(k8s) -> None:
    good = k8s["PrometheusRule"]
    for breakage in (
        lambda r: r["spec"]["groups"][1]["rules"][0].update({"expression": "up"}),
        lambda r: r["spec"]["groups"][1]["rules"][0].update({"for": "10 minutes"}),
        lambda r: r["spec"]["groups"][1]["rules"][0].update({"record": "x"}),
        lambda r: r["spec"]["groups"][0].update({"name": r["spec"]["groups"][1]["name"]}),
        lambda r: r["spec"]["groups"][1]["rules"][0]["labels"].update({"severity": 1}),
    ):
        bad = copy.deepcopy(good)
        breakage(bad)
        assert crd_problems(bad), breakage
