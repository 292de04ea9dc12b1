"""``staffer check-config FILE``: validate a configuration file (exit 0 or 2)."""

from __future__ import annotations

import argparse

from staffer.preflight import load_checked


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check-config",
        help="validate a configuration file",
        description="Validate a TOML configuration file, including "
        "STAFFER_<SECTION>__<KEY> environment overrides, as `staffer run` would: every "
        "value, the broker URL (scheme, host, port 1-65535) and the files it names "
        "(password, CA, certificate, key, forecasts: present, readable, usable; the state "
        "database's directory: present). Exit 0 "
        "when valid, 2 with a one-line message naming the bad key when not.",
    )
    p.add_argument("file", help="path to the TOML configuration")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_checked(args.file)  # exactly what `staffer run` reads and checks
    queues = sum(len(s.queues) for s in settings.sites)
    print(
        f"{args.file}: OK ({len(settings.sites)} site(s), {queues} queue(s), "
        f"clock={settings.planner.clock}, mode={settings.planner.mode}, "
        f"broker={settings.mqtt.broker.display})"
    )
    return 0
