"""``staffer audit``: the audit log of a state database, read-only (contract §12).

One row per entry: time, site, supervisor, action, outcome, details. Safe while the
daemon runs (``staffer.adapters.audit_log`` opens the file read-only). Filters combine:
``--site``, ``--since``/``--until`` (RFC 3339, or a duration back from now: ``2h``),
``--supervisor`` (who acted: a supervisor, ``planner`` for planner moves, ``system``
for expiries). Exit 0, or 2 with one line when the file or an argument is unusable.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from staffer.cli.durations import parse_time
from staffer.codec.audit import AuditEntry, describe, printable
from staffer.codec.timefmt import format_ts
from staffer.settings import DEFAULT_CONFIG_PATH, load_settings

COLUMNS = ("time", "site", "supervisor", "action", "outcome", "details")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit",
        help="print the audit log (read-only, safe while the daemon runs)",
        description="Print the audit log of the daemon's state database: every supervisor "
        "request (accepted or not), every expiry and every commanded move, one row each "
        "(time, site, supervisor, action, outcome, details). Reads the file read-only, "
        "so it is safe while the daemon runs.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help=f"read [state] path from this configuration (default: {DEFAULT_CONFIG_PATH} "
        "if present, else built-in defaults; STAFFER_STATE__PATH applies)",
    )
    src.add_argument("--state", metavar="PATH", help="the state database itself")
    p.add_argument("--site", help="only this site")
    p.add_argument("--since", metavar="TIME", help="from TIME: RFC 3339, or a duration back (2h)")
    p.add_argument("--until", metavar="TIME", help="before TIME: RFC 3339, or a duration back")
    p.add_argument(
        "--supervisor", metavar="NAME", help="only entries by NAME (planner, system, a user)"
    )
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"staffer audit: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from staffer.adapters.audit_log import AuditLogError, read_audit

    now = time.time()
    try:
        since = None if args.since is None else parse_time(args.since, now)
        until = None if args.until is None else parse_time(args.until, now)
    except ValueError as err:
        return _fail(str(err))
    path = Path(args.state) if args.state else load_settings(args.config).state.path
    if path.is_dir():
        return _fail(f"state database {path} is a directory, not a file (name the .db file)")
    try:
        records = read_audit(path, site=args.site, since=since, until=until)
    except AuditLogError as err:
        return _fail(str(err))
    if args.supervisor is not None:  # who acted: the stored actor (``system`` for expiries)
        records = [r for r in records if r.actor == args.supervisor]
    entries = [describe(r) for r in records]
    {"table": write_table, "json": write_json, "csv": write_csv}[args.format](entries, sys.stdout)
    return 0


def _row(e: AuditEntry) -> list[str]:
    """Table and CSV cells, each one printable line; the time to the second (``--format
    json`` keeps fractions)."""
    when = format_ts(math.floor(e.ts)) if math.isfinite(e.ts) else str(e.ts)
    return [printable(c) for c in (when, e.site, e.supervisor, e.action, e.outcome, e.details)]


def write_table(entries: Sequence[AuditEntry], out: TextIO) -> None:
    """Aligned columns; the last (details) is never cut."""
    rows = [list(COLUMNS), *(_row(e) for e in entries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r, widths, strict=False)]
        out.write("  ".join([*cells, r[-1]]).rstrip() + "\n")
    if not entries:
        out.write("(no entries)\n")


def write_json(entries: Sequence[AuditEntry], out: TextIO) -> None:
    """One JSON object: ``{"entries": [...], "count": n}``; each entry keeps its payload."""
    json.dump({"entries": [e.to_json() for e in entries], "count": len(entries)}, out)
    out.write("\n")


def write_csv(entries: Sequence[AuditEntry], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_row(e) for e in entries)
