"""`staffer check-config` checks what `staffer run` needs (contract §16): the broker URL and
every file the configuration names. One complete, valid configuration (mqtts with a CA,
a client certificate and key made by openssl, a password file, a forecast) passes; each
case below breaks exactly one thing and must exit 2 with one line naming the key.

`tests/integration/test_preflight_run.py` runs `staffer run` on the same cases.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from staffer.cli import main
from staffer.settings import ConfigError, parse_broker_url, settings_from_dict
from tests.integration.test_tls import OPENSSL, make_pki

FORECAST = "interval_start,queue,expected_contacts,aht_s\n08:00,phone,10,240\n08:30,phone,12,240\n"

Config = dict[str, Any]


def valid_config(d: Path, pki: dict[str, Path]) -> Config:
    """Every file-naming key set, every file present and usable."""
    (d / "mqtt.password").write_text("s3cret\n")
    (d / "paris.csv").write_text(FORECAST)
    return {
        "mqtt": {
            "url": "mqtts://127.0.0.1:8883",
            "username": "staffer",
            "password_file": str(d / "mqtt.password"),
            "ca_file": str(pki["ca.crt"]),
            "cert_file": str(pki["staffer.crt"]),
            "key_file": str(pki["staffer.key"]),
        },
        "http": {"port": 0},
        "state": {"path": str(d / "state.db")},
        "sites": [{"id": "main"}, {"id": "paris", "forecast_file": str(d / "paris.csv")}],
    }


def to_toml(cfg: Config) -> str:
    lines: list[str] = []
    for section, body in cfg.items():
        tables = body if isinstance(body, list) else [body]
        for table in tables:
            lines.append(f"[[{section}]]" if isinstance(body, list) else f"[{section}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"


def _mqtt(**values: Any) -> Callable[[Config, Path, dict[str, Path]], None]:
    def edit(cfg: Config, d: Path, pki: dict[str, Path]) -> None:
        for k, v in values.items():
            cfg["mqtt"][k] = v(d, pki) if callable(v) else v

    return edit


def _file(d: Path, name: str, content: bytes) -> str:
    (d / name).write_bytes(content)
    return str(d / name)


def _encrypted_key(d: Path, pki: dict[str, Path]) -> str:
    assert OPENSSL, "openssl is required"
    out = d / "encrypted.key"
    args = ["pkey", "-in", str(pki["staffer.key"]), "-out", str(out), "-aes256"]
    subprocess.run(
        [OPENSSL, *args, "-passout", "pass:secret"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(out)


def _forecast(path: Callable[[Path], str]) -> Callable[[Config, Path, dict[str, Path]], None]:
    def edit(cfg: Config, d: Path, pki: dict[str, Path]) -> None:
        cfg["sites"][1]["forecast_file"] = path(d)

    return edit


def _state(path: Callable[[Path], str]) -> Callable[[Config, Path, dict[str, Path]], None]:
    def edit(cfg: Config, d: Path, pki: dict[str, Path]) -> None:
        cfg["state"]["path"] = path(d)

    return edit


# (id, edit of the valid configuration, what the one-line error must contain)
CASES: list[tuple[str, Callable[[Config, Path, dict[str, Path]], None], str]] = [
    (
        "url-port-too-large",
        _mqtt(url="mqtts://127.0.0.1:99999"),
        "mqtt.url: Value error, bad port 99999: outside 1..65535",
    ),
    (
        "url-port-zero",
        _mqtt(url="mqtts://127.0.0.1:0"),
        "mqtt.url: Value error, bad port 0: outside",
    ),
    (
        "url-port-not-a-number",
        _mqtt(url="mqtts://broker:tls"),
        "mqtt.url: Value error, bad port 'tls': not a number",
    ),
    ("url-no-host", _mqtt(url="mqtts://:8883"), "mqtt.url: Value error, missing or malformed host"),
    (
        "url-scheme",
        _mqtt(url="tcp://broker:1883"),
        "mqtt.url: Value error, must start with mqtt://",
    ),
    ("url-path", _mqtt(url="mqtts://broker:8883/mqtt"), "mqtt.url: Value error, must be scheme://"),
    (
        "password-file-missing",
        _mqtt(password_file=lambda d, _: str(d / "nope.password")),
        "mqtt.password_file: cannot read ",
    ),
    (
        "password-file-is-a-directory",
        _mqtt(password_file=lambda d, _: str(d)),
        "mqtt.password_file: ",
    ),
    (
        "password-file-empty",
        _mqtt(password_file=lambda d, _: _file(d, "empty.password", b"\n")),
        "mqtt.password_file: ",
    ),
    (
        "password-without-username",
        _mqtt(username=None),
        "mqtt.password_file: set without mqtt.username",
    ),
    (
        "ca-file-missing",
        _mqtt(ca_file=lambda d, _: str(d / "nope.crt")),
        "mqtt.ca_file: cannot read ",
    ),
    (
        "ca-file-not-pem",
        _mqtt(ca_file=lambda d, _: _file(d, "junk.crt", b"not a certificate\n")),
        "mqtt.ca_file: ",
    ),
    (
        "cert-file-missing",
        _mqtt(cert_file=lambda d, _: str(d / "nope.crt")),
        "mqtt.cert_file: cannot read ",
    ),
    (
        "key-file-missing",
        _mqtt(key_file=lambda d, _: str(d / "nope.key")),
        "mqtt.key_file: cannot read ",
    ),
    (
        "key-of-another-certificate",
        _mqtt(key_file=lambda _, pki: str(pki["bridge.key"])),
        "mqtt.key_file: ",
    ),
    ("key-encrypted", _mqtt(key_file=_encrypted_key), "mqtt.key_file: the private key in "),
    ("key-without-cert", _mqtt(cert_file=None), "mqtt.key_file: set without mqtt.cert_file"),
    (
        "forecast-missing",
        _forecast(lambda d: str(d / "nope.csv")),
        "sites.1.forecast_file: cannot read ",
    ),
    (
        "forecast-malformed",
        _forecast(lambda d: _file(d, "bad.csv", b"interval_start,queue\n08:00,phone\n")),
        "sites.1.forecast_file: ",
    ),
    (
        "state-dir-missing",
        _state(lambda d: str(d / "nonexist" / "dir" / "x.db")),
        "state.path: directory ",
    ),
    ("state-path-a-directory", _state(str), "state.path: "),
]
CASE_IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


def write_case(d: Path, pki: dict[str, Path], case: str | None) -> Path:
    """The valid configuration, broken as ``case`` says (None: left valid), in ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    cfg = valid_config(d, pki)
    for name, edit, _ in CASES:
        if name == case:
            edit(cfg, d, pki)
    path = d / "staffer.toml"
    path.write_text(to_toml(cfg))
    return path


def test_the_valid_configuration_passes(
    tmp_path: Path, pki: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_case(tmp_path, pki, None)
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"{path}: OK (2 site(s), 6 queue(s), clock=wall, mode=auto, "
        "broker=mqtts://127.0.0.1:8883)\n"
    )


@pytest.mark.parametrize(("case", "needle"), [(c[0], c[2]) for c in CASES], ids=CASE_IDS)
def test_check_config_names_the_broken_key(
    tmp_path: Path, pki: dict[str, Path], capsys: pytest.CaptureFixture[str], case: str, needle: str
) -> None:
    path = write_case(tmp_path, pki, case)
    assert main(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"staffer: error: {path}: {needle}"), captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "s3cret" not in captured.err


def test_a_password_in_the_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"mqtt": {"url": "mqtt://staffer:hunter2@broker:70000"}}, env={})
    assert "hunter2" not in str(err.value) and "staffer:***@broker" in str(err.value)


@pytest.mark.parametrize(
    ("url", "host", "port", "tls"),
    [
        ("mqtt://broker", "broker", 1883, False),
        ("mqtts://broker", "broker", 8883, True),
        ("mqtt://10.0.0.7:1884/", "10.0.0.7", 1884, False),
        ("mqtts://[::1]:65535", "::1", 65535, True),
        ("mqtt://u:p@broker:1", "broker", 1, False),
    ],
)
def test_broker_url_parsed_once_in_settings(url: str, host: str, port: int, tls: bool) -> None:
    """What the MQTT adapter connects to is `MqttSettings.broker`, the parse that
    validated the URL."""
    broker = settings_from_dict({"mqtt": {"url": url}}, env={}).mqtt.broker
    assert (broker.host, broker.port, broker.tls) == (host, port, tls)
    assert broker == parse_broker_url(url)
    assert "p@" not in repr(broker)


def test_adapter_connects_where_settings_say() -> None:
    from staffer.adapters.mqtt import AiomqttPort
    from staffer.adapters.port import Session

    settings = settings_from_dict({}, env={"STAFFER_MQTT__URL": "mqtts://[::1]:9883"})
    port = AiomqttPort(settings.mqtt, Session(client_id="x", status_topic="s"))
    assert port._address == settings.mqtt.broker
    assert port._address.display == "mqtts://[::1]:9883"
