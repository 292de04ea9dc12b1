"""A roster (contract §15): header ``agent,skills,queue`` plus optional ``shift_start,shift_end``.

``skills`` are queue ids separated by ``;`` or ``|``; ``queue`` is where the agent starts
(the static schedule). Shift times are ``HH:MM`` on the export's first day in its zone
(an end at or before the start crosses midnight; ``24:00`` is midnight) or full times as
in the export; blank = the whole day. Skills on configured queues the export does not
cover are dropped with a note; everything else that does not fit is a problem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from staffer.sim.csvinput import Problems, Row, parse_time, read_table
from staffer.sim.history import History
from staffer.sim.scenario_agents import AGENT_ID

REQUIRED = ("agent", "skills", "queue")
OPTIONAL = ("shift_start", "shift_end")
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_SPLIT = re.compile(r"[;|]")


@dataclass(frozen=True, slots=True)
class RosterAgent:
    """One agent: skills, starting queue, shift in seconds from the export's start."""

    id: str
    skills: tuple[str, ...]
    queue: str
    shift_start_s: float
    shift_end_s: float | None


def load_roster(
    path: Path | str, history: History, configured: Sequence[str], zone: tzinfo | None
) -> tuple[list[RosterAgent], list[str]]:
    """Agents of a roster checked against the export and the config's queue ids; returns
    them and notes (InputError on any problem)."""
    problems = Problems(path)
    rows, ignored = read_table(path, REQUIRED, OPTIONAL, problems)
    notes = [f"{path}: ignored column(s) {', '.join(ignored)}"] if ignored else []
    agents: list[RosterAgent] = []
    first_line: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for row in rows:
        a = _agent(row, history, configured, zone, problems, dropped)
        if a is None:
            continue
        if a.id in first_line:
            problems.at(
                row.line, "agent", f"a new agent id (first on line {first_line[a.id]})", a.id
            )
            continue
        first_line[a.id] = row.line
        agents.append(a)
    problems.check()
    for q in history.queues:
        if not any(q in a.skills for a in agents):
            n = sum(history.offered[q])
            problems.file(
                f"no agent has skill {q!r} (expected at least one: {history.source} has "
                f"{n} {q} contacts)"
            )
    problems.check()
    for q, n in dropped.items():
        notes.append(
            f"{path}: skill {q!r} dropped from {n} agent(s): {history.source} has no {q} rows"
        )
    return agents, notes


def _agent(
    row: Row,
    history: History,
    configured: Sequence[str],
    zone: tzinfo | None,
    problems: Problems,
    dropped: dict[str, int],
) -> RosterAgent | None:
    before = len(problems)
    aid = row.get("agent")
    if not 0 < len(aid) <= 64 or re.fullmatch(AGENT_ID, aid) is None:
        problems.at(row.line, "agent", "an agent id of 1-64 of A-Z a-z 0-9 _ . @ -", aid)
    skills = [s.strip() for s in _SPLIT.split(row.get("skills")) if s.strip()]
    if not skills:
        problems.at(row.line, "skills", "queue ids separated by ; or |", row.get("skills"))
    for s in skills:
        if s not in configured:
            problems.at(row.line, "skills", f"queue ids of the config ({', '.join(configured)})", s)
    queue = row.get("queue")
    if queue not in skills:
        problems.at(row.line, "queue", "one of the agent's skills", queue)
    elif queue not in history.queues:
        problems.at(
            row.line,
            "queue",
            f"a queue with rows in {history.source} ({', '.join(history.queues)})",
            queue,
        )
    start, end = _shift(row, history, zone, problems)
    if len(problems) > before:
        return None
    kept = tuple(s for s in skills if s in history.queues)
    for s in skills:
        if s not in kept:
            dropped[s] = dropped.get(s, 0) + 1
    return RosterAgent(aid, kept, queue, start, end)


def _shift(
    row: Row, history: History, zone: tzinfo | None, problems: Problems
) -> tuple[float, float | None]:
    """Shift start/end in seconds from the export's start (start clamped at 0)."""
    times: dict[str, float | None] = {}
    for col in OPTIONAL:
        raw = row.get(col)
        times[col] = None
        if raw:
            try:
                times[col] = _when(raw, history, zone)
            except ValueError as err:
                problems.at(row.line, col, str(err), raw)
    t0, t1 = times["shift_start"], times["shift_end"]
    if t0 is not None and t1 is not None and t1 <= t0:
        if _HHMM.fullmatch(row.get("shift_end")):
            t1 += 86400.0  # a night shift: the end is on the next day
        else:
            problems.at(row.line, "shift_end", "a time after shift_start", row.get("shift_end"))
            return 0.0, None
    start = max(0.0, (t0 if t0 is not None else history.start_ts) - history.start_ts)
    end = None if t1 is None else t1 - history.start_ts
    if end is not None and end <= 0:
        first = history.label(history.start_ts)
        problems.at(
            row.line,
            "shift_end",
            f"a time after the export's first interval ({first})",
            row.get("shift_end"),
        )
    elif start >= history.n * history.interval_s:
        last = history.label(history.end_ts)
        problems.at(
            row.line,
            "shift_start",
            f"a time before the export's end ({last})",
            row.get("shift_start"),
        )
    return start, end


def _when(raw: str, history: History, zone: tzinfo | None) -> float:
    """POSIX seconds of ``HH:MM`` on the export's first day (its zone) or of a full time."""
    m = _HHMM.fullmatch(raw)
    if m is None:
        return parse_time(raw, zone)
    hh, mm = int(m.group(1)), int(m.group(2))
    if mm > 59 or hh > 24 or (hh == 24 and mm):
        raise ValueError("HH:MM between 00:00 and 24:00")
    day = datetime.fromtimestamp(history.start_ts, history.zone).replace(
        hour=0, minute=0, second=0, microsecond=0, tzinfo=None
    )
    local = (day + timedelta(hours=hh, minutes=mm)).replace(tzinfo=history.zone)
    return local.timestamp()
