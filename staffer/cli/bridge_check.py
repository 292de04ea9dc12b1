"""``staffer bridge-check``: the conformance test a bridge author runs (contract §14).

It plays the daemon's side of one site for ``--duration`` seconds (the real daemon must
not serve that site meanwhile: it would command moves too) and prints one PASS/FAIL/SKIP
line per check, with what was expected, what arrived and on which topic for each failure.
Progress goes to stderr. Exit 0 when every check passes (SKIP is not a failure), 1 when
one fails, 2 on usage errors, 3 when the bridge published nothing at all (or the broker
cannot be reached).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from pathlib import Path
from typing import TextIO

from staffer.bridge.conformance import evaluate
from staffer.bridge.recording import CheckResult, Thresholds


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bridge-check",
        help="test a running bridge against the protocol (plays the daemon on a site)",
        description="Play the staffer daemon's side of SITE for --duration seconds and check "
        "the bridge serving it: snapshots decode and arrive steadily, agent states decode, a "
        "move is acknowledged within --ack-timeout and carried out, a move to a queue the "
        "agent lacks the skill for is refused or ignored, and a malformed command does not "
        "stop the bridge. It commands real moves (and moves the agent back at the end): use "
        "a test site, and stop the daemon for that site meanwhile. Exit 0 all pass, 1 a check "
        "failed, 2 usage, 3 no bridge traffic at all.",
    )
    p.add_argument("--url", required=True, help="broker URL, mqtt://host:port or mqtts://...")
    p.add_argument("--site", required=True, help="the site id the bridge serves")
    p.add_argument(
        "--duration", type=float, default=180.0, metavar="S", help="seconds (default 180)"
    )
    p.add_argument("--agent", default=None, help="the agent to move (default: one it finds)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--prefix", default="staffer", help="topic prefix (default staffer)")
    p.add_argument("--username", default=None)
    p.add_argument(
        "--password-file", type=Path, default=None, help="file holding the broker password"
    )
    p.add_argument(
        "--ca-file", type=Path, default=None, help="CA bundle (PEM) of an mqtts:// broker"
    )
    p.add_argument(
        "--ack-timeout", type=float, default=30.0, metavar="S", help="(default 30, contract §14)"
    )
    p.add_argument(
        "--min-snapshots", type=int, default=3, metavar="N", help="per topic (default 3)"
    )
    p.add_argument(
        "--cadence-tolerance",
        type=float,
        default=2.0,
        metavar="X",
        help="every gap between snapshots within X times the median (default 2)",
    )
    p.add_argument("--no-restore", action="store_true", help="leave the moved agent where it went")
    p.set_defaults(func=run)


def _usage_error(args: argparse.Namespace) -> str | None:
    from staffer.adapters.mqtt_policy import parse_url
    from staffer.codec.topics import TopicError, Topics
    from staffer.vocabulary import valid_segment

    try:
        broker = parse_url(args.url)
    except ValueError as err:
        return f"--url: {err}"
    try:
        Topics(args.prefix)
    except TopicError:
        return (
            f"--prefix: expected one or more topic levels separated by /, none empty and "
            f"without + or # (got {args.prefix!r})"
        )
    checks = [
        (valid_segment(args.site), "--site: not a valid topic level"),
        (0 < args.duration < math.inf, "--duration: must be a number of seconds > 0"),
        (0 < args.ack_timeout < math.inf, "--ack-timeout: must be a number of seconds > 0"),
        (args.min_snapshots >= 2, "--min-snapshots: must be >= 2"),
        (1 <= args.cadence_tolerance < math.inf, "--cadence-tolerance: must be a number >= 1"),
        (args.agent is None or valid_segment(args.agent), "--agent: not a valid topic level"),
    ]
    problem = next((msg for ok, msg in checks if not ok), None)
    if problem is None and args.password_file is not None:
        problem = _file_problem("--password-file", args.password_file)
    if problem is None and args.ca_file is not None:
        problem = _file_problem("--ca-file", args.ca_file)
        if problem is None and not broker.tls:
            problem = f"--ca-file: needs an mqtts:// --url (got {args.url.split('://')[0]}://)"
    return problem


def _file_problem(option: str, path: Path) -> str | None:
    """Why the file an option names cannot be used (missing, a directory, unreadable,
    empty), or None."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        return f"{option}: {path} is a directory, not a file"
    except OSError as err:
        return f"{option}: cannot read {path}: {err.strerror or err}"
    return f"{option}: {path} is empty" if not data.strip() else None


def run(args: argparse.Namespace) -> int:
    from staffer.bridge.checker import Checker, CheckerConnectionError, CheckOptions

    problem = _usage_error(args)
    if problem is not None:
        print(f"staffer bridge-check: error: {problem}", file=sys.stderr)
        return 2
    opts = CheckOptions(
        url=args.url,
        site=args.site,
        duration_s=args.duration,
        agent=args.agent,
        prefix=args.prefix,
        username=args.username,
        password_file=args.password_file,
        ca_file=args.ca_file,
        ack_timeout_s=args.ack_timeout,
        restore=not args.no_restore,
    )
    th = Thresholds(args.ack_timeout, args.min_snapshots, args.cadence_tolerance)
    t0 = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f}s] {line}", file=sys.stderr, flush=True)

    try:
        rec = asyncio.run(Checker(opts, progress).run())
    except CheckerConnectionError as err:
        return _finish(args, [], 3, f"{err}", sys.stdout)
    results = evaluate(rec, th)
    if not rec.live():
        return _finish(args, results, 3, f"no bridge traffic at all on {rec.site}", sys.stdout)
    failed = sum(r.status == "FAIL" for r in results)
    summary = f"{failed} of {len(results)} checks failed" if failed else "all checks passed"
    return _finish(args, results, 1 if failed else 0, summary, sys.stdout)


def _finish(
    args: argparse.Namespace, results: list[CheckResult], code: int, summary: str, out: TextIO
) -> int:
    if args.json:
        out.write(
            json.dumps(
                {
                    "site": args.site,
                    "url": args.url,
                    "duration_s": args.duration,
                    "exit_code": code,
                    "ok": code == 0,
                    "summary": summary,
                    "checks": [_as_dict(r) for r in results],
                }
            )
            + "\n"
        )
        return code
    width = max((len(r.name) for r in results), default=0)
    for r in results:
        out.write(f"{r.status:4}  {r.name:{width}}  {r.summary}\n")
        if r.status == "FAIL":
            for label, text in (("expected", r.expected), ("got", r.got), ("topic", r.topic)):
                if text:
                    out.write(f"      {label + ':':9} {text}\n")
    out.write(f"result: {summary}\n")
    return code


def _as_dict(r: CheckResult) -> dict[str, str]:
    return {
        "name": r.name,
        "status": r.status,
        "summary": r.summary,
        "expected": r.expected,
        "got": r.got,
        "topic": r.topic,
    }
