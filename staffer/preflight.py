"""Start-up checks of the files a configuration names: what ``staffer run`` needs on disk.

`load_checked` (settings, then `check_files`) is how both ``staffer check-config`` and
``staffer run`` read their configuration, so the two accept and refuse exactly the same
configurations with the same message. Every problem raises `ConfigError` with one line
naming the key: a file that is missing or cannot be read, an empty password, a password
that would never be sent (no username), a CA bundle, certificate or key that TLS would
refuse, a forecast that does not parse, a state database in a directory that does not
exist. The broker URL itself is checked when the settings are built (`parse_broker_url`).

Paths are used as ``run`` uses them: relative ones are relative to the working
directory, not to the configuration file.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from staffer.core.forecast import ForecastError, load_forecast_csv
from staffer.settings import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    MqttSettings,
    Settings,
    load_settings,
)


class _EncryptedKey(Exception):
    """OpenSSL asked for a passphrase: staffer has no setting to supply one."""


def _refuse_passphrase() -> bytes:
    raise _EncryptedKey


def _read(key: str, path: Path) -> bytes:
    """The file's bytes, or ConfigError naming the key (missing, a directory, no access)."""
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"{key}: {path} is a directory, not a file") from None
    except OSError as err:
        raise ConfigError(f"{key}: cannot read {path}: {err.strerror or err}") from None


def _ssl_reason(err: ssl.SSLError) -> str:
    return str(err.reason or err).lower().replace("_", " ")


def _check_tls_files(m: MqttSettings) -> None:
    """The CA bundle, certificate and key load the way the TLS handshake will load them."""
    for key, path in (("mqtt.ca_file", m.ca_file), ("mqtt.cert_file", m.cert_file)):
        if path is not None:
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
            except ssl.SSLError as err:
                raise ConfigError(
                    f"{key}: {path} holds no PEM certificate ({_ssl_reason(err)})"
                ) from None
    if m.key_file is not None and m.cert_file is None:
        raise ConfigError("mqtt.key_file: set without mqtt.cert_file (a key needs its certificate)")
    if m.cert_file is None:
        return
    key_path = m.key_file or m.cert_file
    key = "mqtt.key_file" if m.key_file is not None else "mqtt.cert_file"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(
            str(m.cert_file), str(key_path), password=_refuse_passphrase
        )
    except _EncryptedKey:
        raise ConfigError(
            f"{key}: the private key in {key_path} is encrypted; staffer cannot decrypt it "
            "(use an unencrypted key readable only by the daemon)"
        ) from None
    except ssl.SSLError as err:
        what = "holds no private key" if m.key_file is None else "is not the certificate's key"
        raise ConfigError(f"{key}: {key_path} {what} ({_ssl_reason(err)})") from None


def _check_mqtt_files(m: MqttSettings) -> None:
    if m.password_file is not None:
        if not _read("mqtt.password_file", m.password_file).rstrip(b"\r\n"):
            raise ConfigError(f"mqtt.password_file: {m.password_file} is empty")
        if not (m.username or m.broker.username):
            raise ConfigError(
                "mqtt.password_file: set without mqtt.username (the password would never be sent)"
            )
    for key, path in (
        ("mqtt.ca_file", m.ca_file),
        ("mqtt.cert_file", m.cert_file),
        ("mqtt.key_file", m.key_file),
    ):
        if path is not None:
            _read(key, path)
    _check_tls_files(m)


def _check_forecasts(settings: Settings) -> None:
    for i, site in enumerate(settings.sites):
        path = site.forecast_file
        if path is None:
            continue
        key = f"sites.{i}.forecast_file"
        try:
            load_forecast_csv(_read(key, path).decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"{key}: {path} is not UTF-8 text") from None
        except ForecastError as err:
            raise ConfigError(f"{key}: {path}: {err}") from None


def _check_state(path: Path) -> None:
    """``state.path`` can be opened (or created): not a directory, in one that exists."""
    if path.is_dir():
        raise ConfigError(f"state.path: {path} is a directory, not a database file")
    if not path.parent.is_dir():
        raise ConfigError(f"state.path: directory {path.parent} does not exist")


def check_files(settings: Settings) -> None:
    """Raise ConfigError (one line, naming the key) unless every named file is usable."""
    _check_mqtt_files(settings.mqtt)
    _check_forecasts(settings)
    _check_state(settings.state.path)


def load_checked(path: str | Path | None) -> Settings:
    """`load_settings` plus `check_files`; errors name the file and the key, one line."""
    settings = load_settings(path)
    try:
        check_files(settings)
    except ConfigError as err:
        raise ConfigError(f"{DEFAULT_CONFIG_PATH if path is None else path}: {err}") from None
    return settings
