"""The ``staffer`` console script: one argparse front, one module per subcommand.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and
sets ``func(args) -> int``. Usage and configuration errors exit 2 with one line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from staffer import __version__
from staffer.cli.extras import MissingExtra
from staffer.cli.parser import OneLineParser
from staffer.settings import ConfigError

# Subcommand modules, in the order --help lists them.
COMMANDS: tuple[str, ...] = (
    "run",
    "demo",
    "check_config",
    "simulate",
    "scenario",
    "erlang",
    "bridge_check",
    "ctl",
    "audit",
)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="staffer",
        description="Real-time staffing for contact centers: forecasts queues with "
        "Erlang C/A models and moves agents between phone, chat and email.",
    )
    parser.add_argument("--version", action="version", version=f"staffer {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=OneLineParser
    )
    for name in COMMANDS:
        importlib.import_module(f"staffer.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except (ConfigError, MissingExtra) as err:
        print(f"staffer: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _broken_pipe()


def _broken_pipe() -> int:
    """The reader of stdout went away (``staffer ... | head -1``): exit quietly.

    The recipe of the Python docs (signal module, "Note on SIGPIPE"): point stdout at
    devnull so the interpreter's final flush does not raise a second BrokenPipeError,
    and exit 1, as the docs do ("Python exits with error code 1 on EPIPE").
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
