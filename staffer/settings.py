"""Configuration: TOML plus ``STAFFER_<SECTION>__<KEY>`` environment overrides.

Validated once at start-up into frozen pydantic models and passed down; nothing
reads configuration from globals. Every value is in SI units (seconds, per-second
rates, ratios in [0, 1]).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from staffer.vocabulary import Channel, Clock, Mode

DEFAULT_CONFIG_PATH = Path("config/staffer.toml")
ENV_PREFIX = "STAFFER_"
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the key."""


class _Section(BaseModel):
    # attribute docstrings become field descriptions (docs/scenario-format.md shows them)
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where and how to connect, parsed from ``[mqtt] url`` (see `parse_broker_url`)."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line

    @property
    def display(self) -> str:
        """The URL without credentials, safe to log."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt[s]://[user[:password]@]host[:port]`` -> BrokerAddress; ValueError saying what
    is wrong. The one parser of the broker URL: settings validate with it, the MQTT
    adapter connects with its result, so ``check-config`` and ``run`` cannot disagree."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError("must start with mqtt:// or mqtts://")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port
    except ValueError:
        raw = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        if raw.isdigit():
            raise ValueError(f"bad port {raw}: outside 1..65535") from None
        raise ValueError(f"bad port {raw!r}: not a number") from None
    if port is None:
        port = 8883 if tls else 1883
    elif not 1 <= port <= 65535:
        raise ValueError(f"bad port {port}: outside 1..65535")
    host = parts.hostname
    if not host or any(c.isspace() or c in "/?#@" for c in host):
        raise ValueError("missing or malformed host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must be scheme://host:port only (no path, query or fragment)")
    return BrokerAddress(host, port, tls, parts.username, parts.password)


class MqttSettings(_Section):
    url: str = "mqtt://127.0.0.1:1883"
    topic_prefix: Identifier = "staffer"
    client_id: str = "staffer"
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    protocol: Literal["auto", "5", "3.1.1"] = "auto"
    keepalive_s: float = Field(30.0, gt=0)
    reconnect_min_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30.0, gt=0)
    max_payload_bytes: int = Field(65536, gt=0)
    max_backlog: int = Field(10000, ge=100)
    max_clock_skew_s: float = Field(300.0, ge=0)
    session_expiry_s: int = Field(0, ge=0, le=0xFFFFFFFF)
    """Broker-side session kept this long after a disconnect (subscriptions and queued
    QoS 1 messages); 0: a clean session at every connect. MQTT 3.1.1: > 0 is
    ``clean_session = false`` (the broker's own expiry applies)."""

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parse_broker_url(v)
        return v

    @property
    def broker(self) -> BrokerAddress:
        """``url`` parsed (validated when the settings were built, so this never raises)."""
        return parse_broker_url(self.url)


class HttpSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class StateSettings(_Section):
    path: Path = Path("staffer-state.db")
    audit_retention_s: float = Field(90 * 86400.0, gt=0)


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class PlannerSettings(_Section):
    interval_s: float = Field(300.0, gt=0, le=86400)
    """Plans fall due at whole multiples of this, seconds, counted from midnight UTC."""
    horizon_s: float = Field(900.0, gt=0, le=86400)
    """Forecasts and predictions cover this horizon, seconds."""
    clock: Clock = "wall"
    """``wall``: plan every ``interval_s`` of real time; ``event``: the latest inbound
    timestamp is the clock."""
    mode: Mode = "auto"
    """``auto`` publishes commands, ``approve`` publishes proposals a supervisor approves,
    ``shadow`` plans (and read-only proposals) only, ``manual`` no planner moves."""
    min_dwell_s: float = Field(600.0, ge=0)
    """An agent stays at least this long in a queue before the planner moves them again, seconds."""
    max_moves_per_cycle: int = Field(10, ge=0)
    """At most this many moves per plan."""
    move_timeout_s: float = Field(300.0, gt=0)
    """A commanded move not confirmed within this time is dropped, seconds."""
    hysteresis: float = Field(0.02, ge=0, le=1)
    """A move must improve the weighted objective by at least this much."""
    override_ttl_s: float = Field(3600.0, gt=0)
    """Default lifetime of supervisor overrides, seconds."""
    smoothing_half_life_s: float = Field(900.0, gt=0)
    """Half-life of the smoothing of live arrival rate and handle time, seconds."""
    forecast_weight: float = Field(0.5, ge=0, le=1)
    """Weight of the scheduled forecast against the live estimate."""
    proposal_ttl_s: float = Field(600.0, gt=0)
    """Approve mode: an open proposal expires after this long, seconds."""
    reject_cooldown_s: float = Field(1800.0, ge=0)
    """After a rejected move the planner does not repeat it for this long, seconds."""
    accepted_timeout_s: float = Field(1800.0, gt=0)
    """A move the bridge accepted stays in flight up to this long, seconds."""
    switch_cost_s: float = Field(60.0, ge=0)
    """Seconds of capacity a channel switch costs; a move must be worth more."""
    min_return_s: float = Field(1800.0, ge=0)
    """The planner never moves an agent back to the queue they left less than this long
    ago, seconds."""
    min_remaining_s: float = Field(900.0, ge=0)
    """The planner never moves an agent whose ``available_until`` is less than this far
    ahead, seconds."""
    stale_after_s: float = Field(300.0, gt=0)
    """A queue whose last snapshot is older than this is stale, seconds."""


class ConsoleSettings(_Section):
    mqtt_ws_url: str = "ws://127.0.0.1:8080"


class ClusterSettings(_Section):
    shard_index: int | Literal["auto"] = 0
    shard_count: int = Field(1, ge=1)


class QueueSettings(_Section):
    id: Identifier
    """Queue id (the ``queue`` of agents, snapshots and moves)."""
    channel: Channel
    """``voice``, ``chat`` (several contacts per agent) or ``email`` (deferred backlog)."""
    sl_target: float = Field(0.8, ge=0, le=1)
    """Service-level goal: fraction answered within ``target_s`` (email: on time)."""
    target_s: float = Field(20.0, gt=0)
    """Answer-time target, seconds (email: the deadline, e.g. 14400)."""
    patience_s: float | None = Field(None, gt=0)
    """Mean caller patience, seconds; unset = Erlang C (nobody abandons)."""
    max_abandon: float | None = Field(None, ge=0, le=1)
    """Abandonment cap; unset = 0.05 when patience is known."""
    concurrency: int = Field(1, ge=1, le=20)
    """Chat only: contacts one agent serves at once."""
    weight: float = Field(1.0, gt=0)
    """Relative importance of the queue in the planner."""
    aht_s: float = Field(300.0, gt=0)
    """Mean handle time used until live data arrives, seconds."""

    @model_validator(mode="after")
    def _channel_rules(self) -> QueueSettings:
        """``concurrency`` > 1 only on chat queues."""
        if self.concurrency > 1 and self.channel != "chat":
            raise ValueError("concurrency > 1 is only meaningful for chat queues")
        return self


def default_queues() -> list[QueueSettings]:
    """The contract's default: one queue per channel named phone, chat, email."""
    return [
        QueueSettings(id="phone", channel="voice", sl_target=0.8, target_s=20.0, aht_s=240.0),
        QueueSettings(
            id="chat", channel="chat", sl_target=0.8, target_s=60.0, aht_s=480.0, concurrency=2
        ),
        QueueSettings(id="email", channel="email", sl_target=0.9, target_s=14400.0, aht_s=360.0),
    ]


class SiteSettings(_Section):
    id: Identifier
    """Site id (the ``{site}`` topic segment)."""
    queues: list[QueueSettings] = Field(
        default_factory=default_queues, min_length=1, max_length=200
    )
    """The site's queues (default: phone, chat, email)."""
    forecast_file: Path | None = None
    """Optional scheduled forecast (CSV) blended with the live estimate."""
    max_agents: int = Field(5000, ge=1, le=100000)
    """Roster bound: states of new agents beyond this many are refused."""

    @model_validator(mode="after")
    def _unique_queues(self) -> SiteSettings:
        """Queue ids are unique within the site."""
        ids = [q.id for q in self.queues]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate queue id(s): {', '.join(dup)}")
        return self

    def queue(self, queue_id: str) -> QueueSettings | None:
        return next((q for q in self.queues if q.id == queue_id), None)


class Settings(_Section):
    mqtt: MqttSettings = MqttSettings()
    http: HttpSettings = HttpSettings()
    state: StateSettings = StateSettings()
    log: LogSettings = LogSettings()
    planner: PlannerSettings = PlannerSettings()
    cluster: ClusterSettings = ClusterSettings()
    console: ConsoleSettings = ConsoleSettings()
    sites: list[SiteSettings] = Field(
        default_factory=lambda: [SiteSettings(id="main")], min_length=1, max_length=10000
    )

    @model_validator(mode="after")
    def _unique_sites(self) -> Settings:
        ids = [s.id for s in self.sites]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate site id(s): {', '.join(dup)}")
        return self

    def site(self, site_id: str) -> SiteSettings | None:
        return next((s for s in self.sites if s.id == site_id), None)


def _parse_env_value(raw: str) -> Any:
    """Env values are TOML/JSON literals when they parse as one, else strings."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Overlay ``STAFFER_<SECTION>__<KEY>=value`` variables onto raw config data."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].partition("__")
        section, key = section.lower(), key.lower()
        if not section or not key:
            continue
        if section == "sites":
            raise ConfigError(f"{name}: sites cannot be set from the environment")
        table = out.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: [{section}] is not a table")
        table[key] = _parse_env_value(raw)
    return out


_CREDENTIALS = re.compile(r"(://[^/@:]*:)[^/@]*@")


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "config"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    extra = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    value = first.get("input")
    if isinstance(value, str):
        value = _CREDENTIALS.sub(r"\1***@", value)  # a password in a URL is never echoed
    shown = (
        ""
        if first["type"] in ("missing", "extra_forbidden") or isinstance(value, dict | list)
        else f" (got {value!r})"
    )
    return f"{loc}: {msg}{shown}{extra}"


class EnvConfigError(ConfigError):
    """A bad value from an environment variable (the message names it, not the file)."""


def _env_name(err: ValidationError, data: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """The ``STAFFER_*`` variable behind the first error, when it came from one."""
    loc = [str(p).lower() for p in err.errors()[0]["loc"]]
    for name in env:
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if loc[:2] == [section, key] or (loc == [section] and section not in data):
            return name
    return None


def settings_from_dict(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Validate raw config data (with env overrides) into Settings or raise ConfigError
    (``EnvConfigError`` naming the variable when an environment override is at fault)."""
    env = os.environ if env is None else env
    merged = apply_env(dict(data), env)
    try:
        return Settings.model_validate(merged)
    except ValidationError as err:
        name = _env_name(err, data, env)
        if name is not None:
            raise EnvConfigError(f"environment variable {name}: {_describe(err)}") from None
        raise ConfigError(_describe(err)) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, or raise ConfigError with one line naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read a TOML file (or defaults when ``path`` is None and the default file is absent)."""
    explicit = path is not None
    p = DEFAULT_CONFIG_PATH if path is None else Path(path)
    if not p.exists():
        if explicit:
            raise ConfigError(f"{p}: no such configuration file")
        return settings_from_dict({}, env)
    data = read_toml(p)
    try:
        return settings_from_dict(data, env)
    except EnvConfigError:
        raise
    except ConfigError as err:
        raise ConfigError(f"{p}: {err}") from None
