"""Reading an analyst's CSV files (ACD interval exports, rosters) with exact error locations.

Every problem names the file, the line and the column, says what was expected and
shows what was found (``intervals.csv:7: column offered: expected a whole number >= 0,
got '-3'``). All problems of a file are collected and raised together as one
:class:`InputError`; no row is ever skipped silently. This module knows CSV and the
time formats; what the columns mean is the caller's (``history``, ``roster``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from staffer.codec.inbound import MAX_COUNT
from staffer.codec.timefmt import TimeFormatError, parse_ts
from staffer.settings import ConfigError

MAX_SHOWN = 20  # problem lines listed; the rest are counted
SAME_SHOWN = 2  # rows shown of one problem repeated on many rows
_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?"
)
TIME_FORMATS = "RFC 3339 with a zone (2026-03-02T08:00:00+01:00) or YYYY-MM-DD HH:MM"


class InputError(ConfigError):
    """Bad input files: one line per problem, each with file, line and column."""

    def __init__(self, lines: Sequence[str], count: int | None = None) -> None:
        self.problems = list(lines)
        super().__init__(_summary(self.problems, len(lines) if count is None else count))


def _summary(lines: list[str], count: int) -> str:
    if count == 1:
        return lines[0]
    out = [f"{count} problems in the input:", *(f"  {p}" for p in lines[:MAX_SHOWN])]
    if len(lines) > MAX_SHOWN:
        out.append(f"  ... and {len(lines) - MAX_SHOWN} more")
    return "\n".join(out)


class Problems:
    """Collects the problems of one file; :meth:`check` raises them all at once, in line
    order. The same problem on many rows (a column in the wrong format all the way down)
    is shown on its first SAME_SHOWN rows plus one line listing the others."""

    def __init__(self, path: Path | str) -> None:
        self.name = str(path)
        self._found: list[tuple[int, str, str]] = []  # (line, kind, text)

    def at(self, line: int, column: str | None, expected: str, got: str | None = None) -> None:
        where = f"{self.name}:{line}:" + (f" column {column}:" if column else "")
        shown = "" if got is None else f", got {got!r}"
        self._found.append((line, f"{column}: {expected}", f"{where} expected {expected}{shown}"))

    def file(self, message: str) -> None:
        self._found.append((0, "", f"{self.name}: {message}"))

    def line(self, line: int, message: str) -> None:
        self._found.append((line, "", f"{self.name}:{line}: {message}"))

    def __len__(self) -> int:
        return len(self._found)

    @property
    def items(self) -> list[str]:
        found = sorted(self._found, key=lambda p: p[0])
        lines: dict[str, list[int]] = {}
        for line, kind, _ in found:
            if kind:
                lines.setdefault(kind, []).append(line)
        out = []
        for line, kind, text in found:
            same = lines.get(kind, [])
            if len(same) <= SAME_SHOWN + 1 or line in same[:SAME_SHOWN]:
                out.append(text)
            elif line == same[SAME_SHOWN]:
                rest = same[SAME_SHOWN:]
                listed = ", ".join(map(str, rest[:5])) + (
                    f", ... {rest[-1]}" if len(rest) > 5 else ""
                )
                out.append(f"{self.name}: the same on {len(rest)} more rows (lines {listed})")
        return out

    def check(self) -> None:
        if self._found:
            raise InputError(self.items, len(self._found))


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its line number and its cells by (lower-case) column name."""

    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


def read_table(
    path: Path | str, required: Sequence[str], optional: Sequence[str], problems: Problems
) -> tuple[list[Row], list[str]]:
    """Rows of a CSV file with a header (comma, semicolon or tab separated; UTF-8, an
    Excel BOM is fine). Returns the rows and the header's columns nobody asked for.
    Raises InputError at once for an unreadable or empty file or missing columns."""
    p = Path(path)
    text = _read_text(p, problems)
    lines = text.splitlines()
    header_line = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    wanted = ",".join(required) + (f" plus optional {','.join(optional)}" if optional else "")
    if header_line is None:
        raise InputError([f"{problems.name}: empty file (expected a header {wanted})"])
    head = lines[header_line]
    delim = "," if "," in head else ";" if ";" in head else "\t" if "\t" in head else ","
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    header: list[str] = []
    for raw in reader:
        if raw and any(c.strip() for c in raw):
            header = [c.strip().lower() for c in raw]
            break
    hline = reader.line_num
    dup = sorted({c for c in header if header.count(c) > 1 and c})
    missing = [c for c in required if c not in header]
    if dup:
        problems.line(hline, f"column(s) {', '.join(dup)} appear more than once in the header")
    if missing:
        problems.line(
            hline,
            f"missing column(s) {', '.join(missing)} (expected a header {wanted}; "
            f"got {','.join(header)})",
        )
    problems.check()
    rows: list[Row] = []
    for raw in reader:
        if not any(c.strip() for c in raw):
            continue  # blank line
        n = len(header)
        if len(raw) > n and not any(c.strip() for c in raw[n:]):
            raw = raw[:n]  # trailing empty fields (a spreadsheet's extra separator)
        if len(raw) != n:
            problems.at(reader.line_num, None, f"{n} fields ({','.join(header)})", delim.join(raw))
            continue
        rows.append(Row(reader.line_num, {h: c.strip() for h, c in zip(header, raw, strict=True)}))
    if not rows and not problems:
        problems.file(f"no data rows after the header (expected one row per line: {wanted})")
        problems.check()
    known = {*required, *optional}
    return rows, [c for c in header if c and c not in known]


def _read_text(p: Path, problems: Problems) -> str:
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError([f"{problems.name}: no such file"]) from None
    except OSError as err:
        raise InputError([f"{problems.name}: cannot read: {err.strerror or err}"]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        msg = "expected UTF-8 text (save the export as CSV UTF-8)"
        raise InputError([f"{problems.name}:{line}: {msg}"]) from None


def whole(problems: Problems, row: Row, column: str, required: bool = True) -> int | None:
    """A count >= 0 (``12`` or ``12.0``) and at most the daemon's MAX_COUNT; None when
    blank and not required, or bad."""
    raw = row.get(column)
    if not raw:
        if required:
            problems.at(row.line, column, "a whole number >= 0", raw)
        return None
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v >= 0 and v == int(v)):
        problems.at(row.line, column, "a whole number >= 0", raw)
        return None
    if v > MAX_COUNT:
        problems.at(row.line, column, f"a whole number at most {MAX_COUNT:,}", raw)
        return None
    return int(v)


def number(
    problems: Problems, row: Row, column: str, *, positive: bool = False, required: bool = True
) -> float | None:
    """A finite number >= 0 (> 0 when ``positive``); None when blank and allowed, or bad."""
    raw = row.get(column)
    what = "a number > 0" if positive else "a number >= 0"
    if not raw:
        if required:
            problems.at(row.line, column, what, raw)
        return None
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and (v > 0 if positive else v >= 0)):
        problems.at(row.line, column, what, raw)
        return None
    return v


def zone_of(name: str | None) -> ZoneInfo | None:
    """``--tz`` as a zone (ConfigError naming it when unknown)."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"--tz: unknown time zone {name!r} (expected an IANA name such as Europe/Berlin)"
        ) from None


def parse_time(raw: str, zone: tzinfo | None) -> float:
    """POSIX seconds of an RFC 3339 time with a zone, or of a local ``YYYY-MM-DD HH:MM[:SS]``
    in ``zone``. ValueError with what was expected otherwise."""
    m = _TIME.fullmatch(raw)
    if m is None:
        raise ValueError(TIME_FORMATS)
    date, hh, mm, ss, frac, offset = m.groups()
    if offset is not None:
        try:
            return parse_ts(f"{date}T{hh}:{mm}:{ss or '00'}{frac or ''}{offset}")
        except TimeFormatError as err:
            raise ValueError(f"a valid date and time ({err})") from None
    if zone is None:
        raise ValueError("a time with a zone (local times need --tz ZONE)")
    try:
        naive = datetime.fromisoformat(f"{date}T{hh}:{mm}:{ss or '00'}{frac or ''}")
    except ValueError as err:
        raise ValueError(f"a valid date and time ({err})") from None
    local = naive.replace(tzinfo=zone)
    ts = local.timestamp()
    if datetime.fromtimestamp(ts, zone).replace(tzinfo=None) != naive:
        raise ValueError(f"a time that exists in {zone} (clocks skip it)")
    return ts


def time_cell(problems: Problems, row: Row, column: str, zone: tzinfo | None) -> float | None:
    """:func:`parse_time` of a cell, recording a problem when it is not a time."""
    raw = row.get(column)
    try:
        return parse_time(raw, zone)
    except ValueError as err:
        problems.at(row.line, column, str(err), raw)
        return None
