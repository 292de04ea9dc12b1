"""The console's package data: what the page loads is served, shipped in the wheel, and the
vendored MQTT.js is the version and file VENDOR.md says."""

from __future__ import annotations

import fnmatch
import hashlib
import re
import tomllib
from pathlib import Path

from staffer import console
from staffer.settings import settings_from_dict

ROOT = Path(__file__).resolve().parents[2]
VENDOR_MD = (ROOT / "staffer" / "console" / "vendor" / "VENDOR.md").read_text()


def test_the_page_loads_only_served_files() -> None:
    page = console.read(console.PAGE).decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    local = [r for r in refs if not r.startswith("data:")]
    assert local and all(r.startswith("console/") for r in local), local  # relative: proxies
    assert {r.removeprefix("console/") for r in local} <= set(console.ASSETS)
    assert not re.search(r"https?://", page)  # no CDN


def test_every_console_file_is_package_data() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["staffer.console"]
    for name in [console.PAGE, *console.ASSETS]:
        assert any(fnmatch.fnmatch(name, g) for g in globs), name
        assert console.read(name)


def test_vendored_mqtt_js_is_what_vendor_md_pins() -> None:
    version = re.search(r"\*\*mqtt (\d+\.\d+\.\d+)\*\*", VENDOR_MD)
    digest = re.search(r"`([0-9a-f]{64})`", VENDOR_MD)
    assert version and digest
    bundle = console.read("vendor/mqtt.min.js")
    assert hashlib.sha256(bundle).hexdigest() == digest.group(1)
    assert f'version:"{version.group(1)}"'.encode() in bundle
    assert b"MIT License" in console.read("vendor/mqtt.LICENSE.md")


def test_page_config_comes_from_the_settings() -> None:
    settings = settings_from_dict(
        {
            "mqtt": {"topic_prefix": "acme"},
            "console": {"mqtt_ws_url": "wss://mqtt.example.com/mqtt"},
            "sites": [{"id": "paris"}, {"id": "lyon"}],
        },
        env={},
    )
    cfg = console.page_config(settings)
    assert cfg["mqtt_ws_url"] == "wss://mqtt.example.com/mqtt"
    assert cfg["topic_prefix"] == "acme"
    assert cfg["sites"] == ["paris", "lyon"]
    assert cfg["interval_s"] == settings.planner.interval_s
    assert cfg["override_ttl_s"] == settings.planner.override_ttl_s
