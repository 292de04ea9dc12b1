"""Human time arguments of the supervisor's commands (contract §12).

A DURATION is seconds (``90``, ``2.5``) or numbers with units ``s``, ``m``, ``h``, ``d``,
also combined (``90s``, ``15m``, ``2h``, ``1h30m``). A TIME is an RFC 3339 date-time
with a zone, or a DURATION meaning that long before now (``--since 2h``).

>>> parse_duration("1h30m")
5400.0
>>> parse_time("2h", now=10_000.0)
2800.0
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

from staffer.codec.timefmt import TimeFormatError, parse_ts

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; ValueError naming the text when it is not a duration."""
    raw = text.strip().lower()
    if _NUMBER.fullmatch(raw):
        seconds = float(raw)
    else:
        parts = _PART.findall(raw)
        if not parts or "".join(n + u for n, u in parts) != raw:
            raise ValueError(f"{text!r} is not a duration (examples: 90, 90s, 15m, 2h, 1h30m)")
        seconds = sum(float(n) * UNITS[u] for n, u in parts)
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is too long")
    return seconds


def parse_time(text: str, now: float) -> float:
    """POSIX seconds of an RFC 3339 time, or of ``now`` minus a duration."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_ts(text.strip())
    except TimeFormatError:
        raise ValueError(
            f"{text!r} is neither an RFC 3339 time (2026-11-22T10:15:00Z) nor a duration (2h)"
        ) from None


def positive_duration(text: str) -> float:
    """argparse type: a duration above zero."""
    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 seconds")
    return seconds


def argparse_type(parse: Callable[[str], float]) -> Callable[[str], float]:
    """Wrap a parser so its ValueError becomes argparse's one-line usage error."""

    def convert(text: str) -> float:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return convert
