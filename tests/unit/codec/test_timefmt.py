"""RFC 3339 parsing and formatting at the codec edge."""

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staffer.codec.timefmt import TimeFormatError, format_ts, parse_ts

T0 = 1795342500.0  # 2026-11-22T10:15:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T10:15:00Z", T0),
        ("2026-11-22t10:15:00z", T0),
        ("2026-11-22 10:15:00Z", T0),
        ("2026-11-22T11:15:00+01:00", T0),
        ("2026-11-22T05:45:00-04:30", T0),
        ("2026-11-22T10:15:00.25Z", T0 + 0.25),
        ("2026-11-22T10:15:00.000000001Z", T0 + 1e-9),
        ("2016-12-31T23:59:60Z", 1483228800.0),  # leap second = next second
        ("1970-01-01T00:00:00Z", 0.0),
    ],
)
def test_parse_valid(text: str, expected: float) -> None:
    assert parse_ts(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-22T10:15:00",  # naive
        "2026-11-22",  # date only
        "NaN",
        "",
        "2026-11-22T10:15Z",  # no seconds
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-22T24:00:00Z",
        "2026-11-22T10:15:00+24:00",
        "2026-11-22T10:15:00+0100",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00+01:00",  # before the epoch
        "20261122T101500Z",  # basic format: ISO 8601 but not RFC 3339
        " 2026-11-22T10:15:00Z",
        "2026-11-22T10:15:00Z\n",
        "２０２６-11-22T10:15:00Z",  # non-ASCII digits
        "2026-11-22T10:15:00.Z",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_ts(text)


@pytest.mark.parametrize("value", [None, 5, 5.0, b"2026-11-22T10:15:00Z", ["x"]])
def test_parse_rejects_non_strings(value: object) -> None:
    with pytest.raises(TimeFormatError):
        parse_ts(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ts", "text"),
    [
        (T0, "2026-11-22T10:15:00Z"),
        (T0 + 0.5, "2026-11-22T10:15:00.5Z"),
        (T0 + 0.123456, "2026-11-22T10:15:00.123456Z"),
        (T0 + 1e-9, "2026-11-22T10:15:00Z"),  # below microsecond resolution
        (T0 + 0.9999999, "2026-11-22T10:15:01Z"),  # rounds up across the second
        (0, "1970-01-01T00:00:00Z"),
    ],
)
def test_format(ts: float, text: str) -> None:
    assert format_ts(ts) == text


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -1.0, 1e12, True])
def test_format_rejects(bad: float) -> None:
    with pytest.raises(ValueError):
        format_ts(bad)


@given(st.integers(min_value=0, max_value=7_000_000_000 * 10**6 - 1))
def test_roundtrip_microseconds(micros: int) -> None:
    ts = micros / 1e6
    text = format_ts(ts)
    assert text.endswith("Z")
    back = parse_ts(text)
    assert abs(back - ts) <= 1e-6
    assert format_ts(back) == text


@given(st.text(max_size=40))
def test_parse_never_raises_other_errors(text: str) -> None:
    try:
        value = parse_ts(text)
    except TimeFormatError:
        return
    assert math.isfinite(value) and value >= 0


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2199, 12, 30)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
def test_parse_agrees_with_datetime_for_any_offset(naive: datetime, offset_min: int) -> None:
    aware = naive.replace(tzinfo=timezone(timedelta(minutes=offset_min)))
    assert parse_ts(aware.isoformat()) == pytest.approx(aware.timestamp(), abs=1e-6)
