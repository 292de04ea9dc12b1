"""``staffer check-config FILE``: validate a configuration file (exit 0 or 2)."""

from __future__ import annotations

import argparse

from staffer.settings import load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check-config",
        help="validate a configuration file",
        description="Validate a TOML configuration file, including "
        "STAFFER_<SECTION>__<KEY> environment overrides. Exit 0 when "
        "valid, 2 with a one-line message naming the bad key when not.",
    )
    p.add_argument("file", help="path to the TOML configuration")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.file)
    queues = sum(len(s.queues) for s in settings.sites)
    print(
        f"{args.file}: OK ({len(settings.sites)} site(s), {queues} queue(s), "
        f"clock={settings.planner.clock}, mode={settings.planner.mode})"
    )
    return 0
