"""``staffer run [-c FILE]``: the daemon (MQTT in, plans and moves out, /metrics).

Without ``-c`` the daemon reads ``config/staffer.toml`` when it exists, else built-in
defaults (broker ``mqtt://127.0.0.1:1883``). SIGTERM/SIGINT drain and exit; SIGHUP
re-reads the configuration (an invalid new file is logged and the old one kept).
Configuration errors exit 2 with one line naming the key.

The event loop is uvloop's when it is installed (the ``fast`` extra: ``pip install
'staffer[fast]'``, ~5 % less CPU per message), else asyncio's; which one is logged at
INFO once the daemon is up. Once connected and subscribed (configuration loaded, state restored) the
objects of start-up are moved out of the cyclic garbage collector's sight (``gc.freeze``),
so its collections no longer rescan them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from staffer.preflight import load_checked
from staffer.settings import DEFAULT_CONFIG_PATH, Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run the staffing daemon",
        description="Run the staffing daemon: subscribe to queue, agent and override topics, "
        "plan every interval and publish plans and agent moves. Prometheus metrics, "
        "/healthz and /readyz are served on [http] host:port. SIGTERM/SIGINT stop it "
        "cleanly; SIGHUP reloads the configuration without dropping state.",
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=None,
        help=f"TOML configuration (default: {DEFAULT_CONFIG_PATH} if present, "
        "else built-in defaults)",
    )
    p.add_argument(
        "--log-format", choices=("text", "json"), default=None, help="override [log] format"
    )
    p.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default=None,
        help="override [log] level",
    )
    p.add_argument(
        "--http-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="override [http] port (0 = ephemeral)",
    )
    p.set_defaults(func=run)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..65535")
    return value


def load(args: argparse.Namespace) -> Settings:
    """The configuration file (or defaults) plus this command line's overrides, with the
    files it names checked (ConfigError, as `staffer check-config` reports it)."""
    settings = load_checked(Path(args.config) if args.config else None)
    log = settings.log.model_copy(
        update={
            k: v
            for k, v in (("format", args.log_format), ("level", args.log_level))
            if v is not None
        }
    )
    http = (
        settings.http
        if args.http_port is None
        else settings.http.model_copy(update={"port": args.http_port})
    )
    return settings.model_copy(update={"log": log, "http": http})


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's ``new_event_loop`` when uvloop is importable, else None (asyncio's)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def event_loop_name() -> str:
    """Which event loop runs this coroutine, for the log."""
    loop = asyncio.get_running_loop()
    if type(loop).__module__.startswith("uvloop"):
        import uvloop

        return f"uvloop {uvloop.__version__}"
    return "asyncio (uvloop not installed: pip install 'staffer[fast]')"


def on_ready(_daemon: object) -> None:
    """The daemon is up (connected, subscribed, state restored): log the event loop once,
    and since what start-up allocated lives on, let the cyclic collector stop rescanning
    it (``gc.freeze``, after a last full collection)."""
    logging.getLogger("staffer").info("event loop: %s", event_loop_name())
    gc.collect()
    gc.freeze()


def run(args: argparse.Namespace) -> int:
    from staffer.adapters.log import setup_logging
    from staffer.adapters.store import StoreError
    from staffer.app import run_daemon

    settings = load(args)  # ConfigError -> exit 2 (staffer.cli.main)
    setup_logging(settings.log.level, settings.log.format)
    try:
        daemon = run_daemon(
            settings, handle_signals=True, reload=lambda: load(args), ready=on_ready
        )
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(daemon)
    except KeyboardInterrupt:
        return 130
    except (OSError, StoreError) as err:  # HTTP port taken, unusable state file, ...
        logging.getLogger("staffer").debug("start-up failed", exc_info=True)
        print(f"staffer: error: {err}", file=sys.stderr)
        return 1
    return 0
