"""RFC 3339 timestamps <-> POSIX float seconds (UTC), strictly.

Only the codec sees wall-clock strings; everything inside the daemon uses POSIX
seconds. Parsing is deliberately narrower than ``datetime.fromisoformat``: the
RFC 3339 ``date-time`` production only, a zone is required (``Z`` or ``±HH:MM``),
and years outside [MIN_YEAR, MAX_YEAR] are rejected so that a typo'd or garbage
timestamp cannot move an event clock decades away.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

MIN_YEAR = 1970
MAX_YEAR = 2200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TEXT = 64

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
# The form bridges send almost always (UTC, "Z", optional fraction): parsed without the
# general regex and datetime arithmetic; anything else takes the strict path above.
_FAST = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z", re.ASCII)
_DAY_S = 86400
_DAYS: dict[str, int] = {}  # "YYYY-MM-DD" -> days since the epoch (valid dates only)
_MAX_DAYS_CACHED = 4096


class TimeFormatError(ValueError):
    """A timestamp string is not an acceptable RFC 3339 date-time."""


def parse_ts(text: str) -> float:
    """Parse an RFC 3339 date-time with a zone into POSIX seconds.

    Accepts a leap second (``:60``) as the following second. Raises
    ``TimeFormatError`` for anything else: naive times, date-only, ``NaN``,
    non-strings, out-of-range fields or years.
    """
    if not isinstance(text, str) or len(text) > _MAX_TEXT:
        raise TimeFormatError("timestamp must be an RFC 3339 string")
    if _FAST.fullmatch(text) is not None:
        date = text[:10]
        days = _DAYS.get(date)
        if days is None:
            days = _epoch_days(date)
            if days is not None and len(_DAYS) < _MAX_DAYS_CACHED:
                _DAYS[date] = days
        hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
        if days is not None and hour < 24 and minute < 60 and second <= 60:
            whole = days * _DAY_S + hour * 3600 + minute * 60 + second  # :60 = next second
            return float(whole) + (float(text[19:-1]) if len(text) > 20 else 0.0)
    return _parse_strict(text)  # every other form, and every error message


def _epoch_days(date: str) -> int | None:
    """``YYYY-MM-DD`` (digits already checked) -> days since 1970-01-01, None if invalid."""
    year = int(date[:4])
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return (datetime(year, int(date[5:7]), int(date[8:10]), tzinfo=UTC) - _EPOCH).days
    except ValueError:
        return None


def _parse_strict(text: str) -> float:
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise TimeFormatError(f"not an RFC 3339 date-time with a zone: {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zulu, sign, oh, om = m.group(7), m.group(8), m.group(9), m.group(10), m.group(11)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise TimeFormatError(f"year {year} outside [{MIN_YEAR}, {MAX_YEAR}]")
    leap = second == 60
    try:
        base = datetime(year, month, day, hour, minute, 59 if leap else second, tzinfo=UTC)
    except ValueError as err:
        raise TimeFormatError(f"invalid date-time {text[:40]!r}: {err}") from None
    offset = 0
    if not zulu:
        oh_i, om_i = int(oh), int(om)
        if oh_i > 23 or om_i > 59:
            raise TimeFormatError(f"invalid zone offset in {text[:40]!r}")
        offset = (oh_i * 3600 + om_i * 60) * (1 if sign == "+" else -1)
    whole = (base - _EPOCH) // timedelta(seconds=1) + (1 if leap else 0) - offset
    if whole < 0:
        raise TimeFormatError(f"timestamp before the POSIX epoch: {text[:40]!r}")
    return float(whole) + (float(frac) if frac else 0.0)


def format_ts(ts: float) -> str:
    """Format POSIX seconds as ``2026-11-22T10:15:00Z`` (UTC).

    Fractional seconds appear only when non-zero at microsecond resolution,
    without trailing zeros (``...:00.25Z``). Raises ``ValueError`` for
    non-finite input or a year outside [MIN_YEAR, MAX_YEAR].
    """
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise ValueError(f"cannot format non-finite or non-numeric timestamp {ts!r}")
    micros = round(ts * 1_000_000) if isinstance(ts, float) else ts * 1_000_000
    whole, frac = divmod(int(micros), 1_000_000)
    try:
        dt = _EPOCH + timedelta(seconds=whole)
    except OverflowError:
        raise ValueError(f"timestamp {ts!r} out of range") from None
    if not MIN_YEAR <= dt.year <= MAX_YEAR:
        raise ValueError(f"timestamp {ts!r} outside years [{MIN_YEAR}, {MAX_YEAR}]")
    out = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        out += "." + f"{frac:06d}".rstrip("0")
    return out + "Z"


FUTURE_TS = "future_ts"  # the reason code of a ts too far ahead (contract §16)


def future_ts_detail(ts: float, now: float, max_skew_s: float) -> str | None:
    """The one rule for timestamps from the future (contract §16), shared by the daemon's
    router and the bridge kit (``staffer.bridge``): None when ``ts`` is at most
    ``max_skew_s`` ahead of ``now`` (0 disables the check), else why it is refused."""
    ahead = ts - now
    if max_skew_s <= 0 or not ahead > max_skew_s:
        return None
    return f"ts {format_ts(ts)} is {ahead:.0f} s ahead of this host's clock"
