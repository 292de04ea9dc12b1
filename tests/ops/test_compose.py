"""deploy/compose.yaml and the configuration it mounts: validated by docker-compose's own
schema check (no container engine needed for `config`) and by reading what it wires."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from staffer.settings import load_settings

from .conftest import DEPLOY, require_tool

COMPOSE = DEPLOY / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_config(path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRAFANA_ADMIN_PASSWORD": "test-only"}
    return subprocess.run(
        [require_tool("docker-compose"), "-f", str(path), *extra, "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=path.parent,
    )


def test_docker_compose_validates_the_file() -> None:
    proc = compose_config(COMPOSE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = compose_config(COMPOSE, "--profile", "demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_docker_compose_rejects_a_broken_copy(tmp_path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        COMPOSE.read_text().replace(
            "    restart: unless-stopped\n", "    restart: [unless-stopped]\n", 1
        )
    )
    proc = compose_config(broken)
    assert proc.returncode != 0
    assert "restart" in proc.stdout + proc.stderr


def test_services_and_demo_profile(compose) -> None:
    services = compose["services"]
    assert {"mosquitto", "staffer", "prometheus", "grafana", "bridge-sim"} <= set(services)
    assert services["bridge-sim"]["profiles"] == ["demo"]
    assert all("profiles" not in s for n, s in services.items() if n != "bridge-sim")
    assert services["bridge-sim"]["entrypoint"][:3] == ["python", "-m", "staffer.sim.bridge"]


def test_ports_are_published_on_loopback_only(compose) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on all interfaces"


def test_mounted_files_exist(compose) -> None:
    generated = {"./mosquitto/passwd"}  # written by make-users.sh
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert source in generated or (DEPLOY / source).exists(), f"{name}: {source}"
    for secret in compose["secrets"].values():
        assert re.fullmatch(r"\./mosquitto/secrets/[\w.-]+\.password", secret["file"])


def test_secrets_belong_to_acl_users(compose) -> None:
    acl_users = set(re.findall(r"^user (\S+)$", (DEPLOY / "mosquitto" / "acl").read_text(), re.M))
    for secret in compose["secrets"].values():
        user = secret["file"].rsplit("/", 1)[1].removesuffix(".password")
        assert user in acl_users, user
    assert compose["services"]["staffer"]["environment"]["STAFFER_MQTT__USERNAME"] == "staffer"


def test_staffer_config_is_valid_and_matches_the_wiring(compose) -> None:
    env = {k: str(v) for k, v in compose["services"]["staffer"]["environment"].items()}
    settings = load_settings(DEPLOY / "staffer" / "staffer.toml", env=env)
    assert settings.mqtt.url == "mqtt://mosquitto:1883"
    assert str(settings.mqtt.password_file) == "/run/secrets/mqtt_password"
    assert str(settings.state.path).startswith("/var/lib/staffer/")
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = [j for j in prom["scrape_configs"] if j["job_name"] == "staffer"]
    assert job["static_configs"][0]["targets"] == [f"staffer:{settings.http.port}"]
    state_mounts = [
        v for v in compose["services"]["staffer"]["volumes"] if v.endswith(":/var/lib/staffer")
    ]
    assert state_mounts, "state must live on a volume"


def test_console_websocket_listener_is_published_and_configured(compose) -> None:
    """The broker's WebSocket listener (mosquitto.conf) is published on the host's loopback,
    and the daemon's console points browsers at exactly that port."""
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    listeners = re.findall(r"^listener (\d+)\n(?:protocol (\w+))?", conf, re.M)
    ws = [int(port) for port, proto in listeners if proto == "websockets"]
    assert len(ws) == 1 and any(proto == "" for _, proto in listeners), listeners
    published = {p.rsplit(":", 1)[1]: p for p in compose["services"]["mosquitto"]["ports"]}
    assert published[str(ws[0])] == f"127.0.0.1:{ws[0]}:{ws[0]}"
    env = {k: str(v) for k, v in compose["services"]["staffer"]["environment"].items()}
    settings = load_settings(DEPLOY / "staffer" / "staffer.toml", env=env)
    assert settings.console.mqtt_ws_url == f"ws://127.0.0.1:{ws[0]}"
