"""deploy/k8s and deploy/nats manifests: schema-valid (kubernetes-validate, strict) and
wired consistently: shards = replicas, every site owned by exactly one replica, probes,
ports, volumes, selectors, and the NATS routes and secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from staffer.core.sharding import owned_sites, resolve_shard_index
from staffer.settings import load_settings

from .conftest import DEPLOY

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
                continue  # a CRD: checked by hand below
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
