"""``staffer ctl``: the supervisor's command line over MQTT (contract §12).

Every §4/§9 action is a subcommand with human arguments (``pin phone --min 3 --ttl 15m``);
``plan``, ``overrides``, ``proposals`` and ``status`` show the retained topics as tables;
``watch`` streams commands, proposals and replies. Connection options (``-c FILE``,
``--url``, ``--username``, ``--password-file``, ``--ca-file``, ``--site``, ``--as``,
``--timeout``, ``--json``, ...) may stand before or after the subcommand; they default to
the ``[mqtt]`` section of ``-c FILE`` (or ``config/staffer.toml``) and the usual
``STAFFER_MQTT__*`` variables, like the daemon.

Exit codes: 0 the daemon said ok; 1 it answered ``ok: false`` (code and message printed);
2 usage or configuration error (one line); 3 no reply within ``--timeout``, or the broker
is unreachable or refused the login (one line saying which).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import secrets
import sys
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from staffer.cli.durations import argparse_type, parse_duration, positive_duration
from staffer.codec.proposals import selection_fields
from staffer.codec.topics import Topics
from staffer.core.proposals import Selection
from staffer.settings import DEFAULT_CONFIG_PATH, ConfigError, MqttSettings, load_settings
from staffer.vocabulary import MODES, valid_segment

OK, REFUSED, USAGE, NO_REPLY = 0, 1, 2, 3
READ_COMMANDS = ("plan", "overrides", "proposals", "status")
# subcommand -> the §4/§9 action it sends
ACTIONS = {
    "pin": "pin",
    "unpin": "unpin",
    "lock": "lock_agent",
    "unlock": "unlock_agent",
    "assign": "assign",
    "replan": "replan",
    "cancel": "cancel",
    "mode": "mode",
    "target": "target",
    "approve": "approve",
    "reject": "reject",
}
TTL_COMMANDS = ("pin", "lock", "assign", "mode", "target")


# -- the parser ------------------------------------------------------------------------------------


def _connection_options(p: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every subcommand accepts, before or after it. Below the top level
    their default is SUPPRESS, so a value given before the subcommand is kept."""

    def add(*names: str, **kw: Any) -> None:
        if not top:
            kw["default"] = argparse.SUPPRESS
        p.add_argument(*names, **kw)

    add("-c", "--config", metavar="FILE", help=f"configuration (default: {DEFAULT_CONFIG_PATH})")
    add("--url", help="broker URL, mqtt[s]://host[:port] ([mqtt] url)")
    add("--username", help="broker username ([mqtt] username)")
    add("--password-file", metavar="FILE", help="file holding the password ([mqtt] password_file)")
    add("--ca-file", metavar="FILE", help="CA bundle for mqtts:// ([mqtt] ca_file)")
    add("--protocol", choices=("auto", "5", "3.1.1"), help="MQTT version ([mqtt] protocol)")
    add("--topic-prefix", metavar="PREFIX", help="first topic level(s) ([mqtt] topic_prefix)")
    add("--site", type=_name, help="the site (default: the only site of the configuration)")
    add(
        "--as",
        dest="as_",
        type=_name,
        metavar="NAME",
        help="your identity (default: the MQTT username, else your login)",
    )
    add("--timeout", type=positive_duration, metavar="S", help="seconds to wait for a reply (10)")
    add("--json", action="store_true", help="print the reply or payload as one JSON object")


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help)
    _connection_options(p, top=False)
    if name in ACTIONS:
        p.add_argument("--reason", default=None, help="free text for the audit log")
    if name in TTL_COMMANDS:
        p.add_argument(
            "--ttl",
            metavar="DURATION",
            type=_ttl,
            default=argparse.SUPPRESS,
            help="how long it lasts: 90s, 15m, 2h (default: the daemon's override_ttl_s)"
            + ("; permanent for no end" if name == "mode" else ""),
        )
    return p


def _name(text: str) -> str:
    """argparse type of ``--site`` and ``--as``: not empty (an empty one is not a default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _count(text: str) -> int:
    """argparse type of ``watch --count``: a whole number of events, at least 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(
            f"{n} must be at least 1 (leave --count out to watch until Ctrl-C)"
        )
    return n


def _ttl(text: str) -> float | None:
    if text.strip().lower() == "permanent":
        return None
    return positive_duration(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ctl",
        help="steer a running daemon: pin, lock, assign, approve, watch ...",
        description="Send supervisor requests to the daemon over MQTT and show what it "
        "publishes. Exit 0 ok, 1 refused by the daemon, 2 usage, 3 no reply or no broker.",
    )
    _connection_options(p, top=True)
    cmds = p.add_subparsers(dest="ctl_command", metavar="COMMAND", required=True)
    q = _add(cmds, "pin", "keep a queue's target within [min, max]")
    q.add_argument("queue")
    q.add_argument("--min", type=int, default=None)
    q.add_argument("--max", type=int, default=None)
    _add(cmds, "unpin", "remove the pin on a queue").add_argument("queue")
    _add(cmds, "lock", "never move an agent").add_argument("agent")
    _add(cmds, "unlock", "allow moving an agent again").add_argument("agent")
    q = _add(cmds, "assign", "move an agent now (even in shadow mode), then lock it")
    q.add_argument("agent")
    q.add_argument("queue")
    q.add_argument("--now", action="store_true", help="do not wait for the current contact")
    _add(cmds, "replan", "plan the site at once")
    _add(cmds, "cancel", "end an override early").add_argument("override_id")
    _add(cmds, "mode", "set the site's mode").add_argument("mode", choices=MODES)
    q = _add(cmds, "target", "set a temporary service-level goal")
    q.add_argument("queue")
    q.add_argument("--sl", type=float, default=None, help="service-level goal in [0, 1]")
    q.add_argument("--target-s", type=argparse_type(parse_duration), default=None, metavar="S")
    q = _add(cmds, "approve", "command open proposals (ids, or --all)")
    q.add_argument("proposal_ids", nargs="*", metavar="PROPOSAL_ID")
    q.add_argument("--all", action="store_true", help="every open proposal")
    q = _add(cmds, "reject", "refuse open proposals (and do not propose them again for a while)")
    q.add_argument("proposal_ids", nargs="*", metavar="PROPOSAL_ID")
    q.add_argument("--all", action="store_true", help=argparse.SUPPRESS)  # to say: no --all
    for name, what in zip(
        READ_COMMANDS,
        ("the current plan", "the active overrides", "the open proposals", "the daemon status"),
        strict=True,
    ):
        _add(cmds, name, f"show {what}")
    q = _add(cmds, "watch", "print commands, proposals and replies as they happen")
    q.add_argument("--count", type=_count, default=None, metavar="N", help="stop after N events")
    p.set_defaults(func=run, _parser=p)


# -- requests --------------------------------------------------------------------------------------


class UsageError(ValueError):
    """A combination of arguments argparse cannot check (exit 2)."""


def _some(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


def _pin(args: argparse.Namespace) -> dict[str, object]:
    if args.min is None and args.max is None:
        raise UsageError("pin needs --min and/or --max")
    return _some(min=args.min, max=args.max)


def _target(args: argparse.Namespace) -> dict[str, object]:
    if args.sl is None and args.target_s is None:
        raise UsageError("target needs --sl and/or --target-s")
    return _some(sl_target=args.sl, target_s=args.target_s)


def _selection(args: argparse.Namespace) -> dict[str, object]:
    every = getattr(args, "all", False)
    if args.ctl_command == "reject" and (every or not args.proposal_ids):
        raise UsageError("reject takes proposal ids (PROPOSAL_ID ...; there is no reject --all)")
    if every == bool(args.proposal_ids):
        raise UsageError(f"{args.ctl_command} needs proposal ids or --all (not both)")
    return selection_fields(Selection(all=True) if every else Selection(tuple(args.proposal_ids)))


def _assign(args: argparse.Namespace) -> dict[str, object]:
    return {"after_current_contact": False} if args.now else {}


_FIELDS = {
    "pin": _pin,
    "target": _target,
    "assign": _assign,
    "approve": _selection,
    "reject": _selection,
}
_POSITIONAL = ("agent", "queue", "override_id", "mode")  # same names as the request fields


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    """The §4/§9 request body (without ``id``) for a request subcommand."""
    cmd = args.ctl_command
    body: dict[str, Any] = {"action": ACTIONS[cmd]}
    body.update({k: getattr(args, k) for k in _POSITIONAL if getattr(args, k, None) is not None})
    body.update(_FIELDS[cmd](args) if cmd in _FIELDS else {})
    if "ttl" in args:  # absent: the daemon's default; None: permanent (mode only)
        if args.ttl is None and cmd != "mode":
            raise UsageError("--ttl permanent is only allowed for mode")
        body["ttl_s"] = args.ttl
    if args.reason:
        body["reason"] = args.reason
    return body


# -- connection ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where requests go and who sends them."""

    mqtt: MqttSettings
    topics: Topics
    site: str
    supervisor: str
    timeout_s: float
    json: bool


_MQTT_FLAGS = ("url", "username", "password_file", "ca_file", "protocol", "topic_prefix")


def resolve(args: argparse.Namespace) -> Target:
    """Configuration file + environment + flags -> Target; ConfigError names the bad one."""
    settings = load_settings(args.config)
    updates = {k: getattr(args, k) for k in _MQTT_FLAGS if getattr(args, k) is not None}
    try:
        mqtt = MqttSettings.model_validate({**settings.mqtt.model_dump(), **updates})
    except ValidationError as err:
        first = err.errors()[0]
        raise ConfigError(f"mqtt.{first['loc'][0]}: {first['msg']}") from None
    if mqtt.password_file is not None and not mqtt.password_file.is_file():
        raise ConfigError(f"mqtt.password_file: {mqtt.password_file} is not a readable file")
    if args.site is None and len(settings.sites) != 1:
        names = ", ".join(s.id for s in settings.sites)
        raise ConfigError(f"--site: the configuration has several sites ({names}); name one")
    site = args.site if args.site is not None else settings.sites[0].id
    supervisor = args.as_
    if supervisor is None:
        supervisor = mqtt.username or _url_user(mqtt.url) or getpass.getuser()
    for what, value in (("--site", site), ("--as", supervisor)):
        if not valid_segment(value):
            raise ConfigError(f"{what}: {value!r} cannot be a topic level (no /, + or #)")
    return Target(
        mqtt, Topics(mqtt.topic_prefix), site, supervisor, args.timeout or 10.0, args.json
    )


def _url_user(url: str) -> str | None:
    from staffer.adapters.mqtt_policy import parse_url

    try:
        return parse_url(url).username
    except ValueError as err:
        raise ConfigError(str(err)) from None


# -- running ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    try:
        body = build_request(args) if args.ctl_command in ACTIONS else None
    except UsageError as err:
        args._parser.error(str(err))
    target = resolve(args)  # ConfigError -> exit 2 (staffer.cli.main)
    from staffer.cli.ctl_session import session

    return asyncio.run(session(args, target, body))


def new_request_id() -> str:
    return f"ctl-{secrets.token_hex(6)}"


def emit(target: Target, obj: Any, text: str) -> None:
    """Print ``text`` for a person, or ``obj`` as one JSON line with ``--json``."""
    if target.json:
        print(json.dumps(obj, ensure_ascii=False))
    else:
        print(text)


def fail(code: int, message: str) -> int:
    print(f"staffer ctl: {message}", file=sys.stderr)
    return code
