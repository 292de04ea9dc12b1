"""``staffer erlang``: a queueing calculator over ``staffer.models`` (contract §6).

Subcommands: ``b`` (blocking), ``c`` (Erlang C), ``a`` (Erlang A, with patience),
``chat`` (agents serving several contacts at once), ``required`` (fewest agents for a
service-level or ASA goal) and ``email`` (deferred backlog). A readable table by default,
one JSON object with ``--json``. Bad arguments exit 2 with one line naming the option.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from staffer.cli.erlang_calc import run_b, run_checked, run_email, run_metrics, run_required
from staffer.cli.parser import OneLineParser

UNITS = (
    "Units: rates per second (or --rate-per-hour), times in seconds, ratios in [0, 1]. "
    "Traffic (Erlangs) = rate x aht, at most 100,000 (the models' range)."
)


def _number(
    kind: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False
) -> Callable[[str], float]:
    """argparse type: a finite float within [lo, hi] (lo excluded when lo_open)."""

    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if lo is not None and (x < lo or (lo_open and x == lo)):
            raise argparse.ArgumentTypeError(f"{text} must be {kind}")
        if hi is not None and x > hi:
            raise argparse.ArgumentTypeError(f"{text} must be {kind}")
        return x

    return parse


def _integer(lo: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if n < lo:
            raise argparse.ArgumentTypeError(f"{text} must be an integer >= {lo}")
        return n

    return parse


NONNEG = _number("a number >= 0", lo=0.0)
POSITIVE = _number("a number > 0", lo=0.0, lo_open=True)
RATIO = _number("a ratio in [0, 1]", lo=0.0, hi=1.0)


def _add_rate(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--rate", type=NONNEG, metavar="PER_S", help="arrival rate, contacts per second")
    g.add_argument(
        "--rate-per-hour",
        type=NONNEG,
        metavar="PER_H",
        help="arrival rate, contacts per hour (instead of --rate)",
    )
    p.add_argument(
        "--aht",
        type=POSITIVE,
        required=True,
        metavar="S",
        help="average handle time, seconds (under concurrency for chat)",
    )


def _add_queue(
    p: argparse.ArgumentParser, *, patience: str, agents: bool = True, concurrency_default: int = 1
) -> None:
    _add_rate(p)
    if agents:
        p.add_argument(
            "--agents",
            type=_integer(0),
            required=True,
            metavar="N",
            help="number of agents (an integer)",
        )
    p.add_argument(
        "--target",
        type=NONNEG,
        default=20.0,
        metavar="S",
        help="service-level answer time, seconds (default 20)",
    )
    if patience == "required":
        p.add_argument(
            "--patience",
            type=POSITIVE,
            required=True,
            metavar="S",
            help="mean caller patience, seconds (exponential)",
        )
    elif patience == "optional":
        p.add_argument(
            "--patience",
            type=POSITIVE,
            metavar="S",
            help="mean patience, seconds; absent = infinitely patient (Erlang C)",
        )
    p.add_argument(
        "--concurrency",
        type=_integer(1),
        default=concurrency_default,
        metavar="K",
        help=f"contacts one agent serves at once (default {concurrency_default})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "erlang",
        help="queueing calculator (Erlang B/C/A, chat, email)",
        description="Queueing calculator over staffer.models. " + UNITS,
        epilog="Example: staffer erlang required --rate-per-hour 360 --aht 240 "
        "--target 20 --sl 0.8 --patience 120 --json",
    )
    ss = p.add_subparsers(
        dest="erlang_command", metavar="MODEL", required=True, parser_class=OneLineParser
    )

    def add(name: str, help_: str, desc: str) -> argparse.ArgumentParser:
        return ss.add_parser(name, help=help_, description=f"{desc} {UNITS}")

    b = add(
        "b",
        "Erlang B: blocking probability (no queue)",
        "Erlang B: probability that an arrival finds all agents busy and is lost.",
    )
    _add_rate(b)
    b.add_argument(
        "--agents",
        type=_integer(0),
        required=True,
        metavar="N",
        help="number of agents (an integer)",
    )
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=run_checked, erlang_func=run_b)
    c = add(
        "c",
        "Erlang C: P(wait), ASA, service level, occupancy",
        "Erlang C (M/M/N, infinitely patient callers) at a given staffing; with "
        "--patience the result is Erlang A (as from 'staffer erlang a').",
    )
    _add_queue(c, patience="optional")
    c.set_defaults(func=run_checked, erlang_func=run_metrics)
    a = add(
        "a",
        "Erlang A: Erlang C plus abandonment (needs --patience)",
        "Erlang A (M/M/N+M): callers hang up after an exponential patience of mean "
        "--patience. Service level counts abandoned contacts as misses; ASA is the mean "
        "wait of answered contacts.",
    )
    _add_queue(a, patience="required")
    a.set_defaults(func=run_checked, erlang_func=run_metrics)
    ch = add(
        "chat",
        "chat: agents serving --concurrency contacts at once",
        "Chat queue: each agent serves up to --concurrency contacts at once (see "
        "docs/models.md for the model); optional --patience.",
    )
    _add_queue(ch, patience="optional", concurrency_default=2)
    ch.set_defaults(func=run_checked, erlang_func=run_metrics)
    r = add(
        "required",
        "fewest agents meeting --sl (or --asa) [and --max-abandon]",
        "Fewest agents whose service level within --target is at least --sl (or whose "
        "ASA is at most --asa). With --patience (Erlang A) the abandon ratio must also "
        "stay <= --max-abandon (default 0.05), since abandonment alone can meet an SL goal.",
    )
    _add_queue(r, patience="optional", agents=False)
    goal = r.add_mutually_exclusive_group(required=True)
    goal.add_argument(
        "--sl",
        type=RATIO,
        metavar="RATIO",
        help="service-level goal in [0, 1], e.g. 0.8 for 80%% within --target",
    )
    goal.add_argument(
        "--asa",
        type=POSITIVE,
        metavar="S",
        dest="asa_goal",
        help="ASA goal, seconds (instead of --sl)",
    )
    r.add_argument(
        "--max-abandon",
        type=RATIO,
        metavar="RATIO",
        help="abandon-ratio cap with --patience (default 0.05)",
    )
    r.set_defaults(func=run_checked, erlang_func=run_required)
    e = add(
        "email",
        "deferred email backlog: agents to answer within --target",
        "Deferred (email) queue, fluid deadline model: agents needed so the backlog and "
        "new arrivals are answered within --target seconds (e.g. 14400 = 4 h).",
    )
    _add_rate(e)
    e.add_argument(
        "--target", type=POSITIVE, required=True, metavar="S", help="answer deadline, seconds"
    )
    e.add_argument(
        "--backlog", type=_integer(0), default=0, metavar="N", help="open items now (default 0)"
    )
    e.add_argument(
        "--oldest-age",
        type=NONNEG,
        default=0.0,
        metavar="S",
        help="age of the oldest open item, seconds (default 0)",
    )
    e.add_argument(
        "--horizon",
        type=NONNEG,
        metavar="S",
        help="arrivals are planned over this horizon, seconds (default: sustained)",
    )
    e.add_argument(
        "--agents",
        type=_integer(0),
        metavar="N",
        help="also report the on-time ratio with this many agents",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=run_checked, erlang_func=run_email)
