"""Site sharding and the planning-time grid (pure helpers of the daemon)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staffer.core.clock import next_grid_time
from staffer.core.sharding import owned_sites, owns, resolve_shard_index, shard_of


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("now", "interval", "expected"),
    [
        ("2026-11-22T08:03:12", 300, "2026-11-22T08:05:00"),
        ("2026-11-22T08:05:00", 300, "2026-11-22T08:10:00"),  # on the grid -> next one
        ("2026-11-22T08:04:59.999", 300, "2026-11-22T08:05:00"),
        ("2026-11-22T23:58:00", 300, "2026-11-23T00:00:00"),  # crosses midnight
        ("2026-11-22T00:00:00", 300, "2026-11-22T00:05:00"),
        ("2026-11-22T08:00:00.5", 1, "2026-11-22T08:00:01"),
        ("2026-11-22T22:00:00", 25200, "2026-11-23T00:00:00"),  # 7 h: grid restarts at 0:00
        ("2026-11-22T20:59:59", 25200, "2026-11-22T21:00:00"),
        ("2026-11-22T12:00:00", 86400, "2026-11-23T00:00:00"),
        ("2026-11-22T08:00:00", 0.25, "2026-11-22T08:00:00.25"),
        ("1970-01-01T00:00:00", 60, "1970-01-01T00:01:00"),
        ("2024-02-28T23:59:30", 60, "2024-02-29T00:00:00"),  # leap day
    ],
)
def test_next_grid_time_table(now: str, interval: float, expected: str) -> None:
    assert next_grid_time(ts(now), interval) == ts(expected)


@pytest.mark.parametrize("interval", [0, -5, float("inf"), float("nan")])
def test_next_grid_time_rejects_bad_interval(interval: float) -> None:
    with pytest.raises(ValueError):
        next_grid_time(0.0, interval)


@given(t=st.floats(min_value=0, max_value=4e9), interval=st.sampled_from([1, 7, 60, 300, 900]))
def test_next_grid_time_properties(t: float, interval: int) -> None:
    nxt = next_grid_time(t, interval)
    assert t < nxt <= t + interval
    assert (nxt % 86400) % interval == pytest.approx(0, abs=1e-6) or nxt % 86400 == 0


@pytest.mark.parametrize("site", ["main", "paris", "site-42", "été"])
def test_hash_is_crc32_and_stable(site: str) -> None:
    assert shard_of(site, 7) == zlib.crc32(site.encode()) % 7


@given(
    ids=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=50, unique=True),
    count=st.integers(1, 8),
)
def test_every_site_owned_by_exactly_one_shard(ids: list[str], count: int) -> None:
    for site in ids:
        assert sum(owns(site, i, count) for i in range(count)) == 1
    assert sorted(s for i in range(count) for s in owned_sites(ids, i, count)) == sorted(ids)


def test_single_shard_owns_everything() -> None:
    assert owned_sites(["a", "b", "c"], 0, 1) == ["a", "b", "c"]


@pytest.mark.parametrize(("index", "count"), [(-1, 2), (2, 2), (0, 0)])
def test_owns_rejects_bad_index(index: int, count: int) -> None:
    with pytest.raises(ValueError):
        owns("main", index, count)


@pytest.mark.parametrize(
    ("setting", "hostname", "expected"),
    [
        ("auto", "staffer-3", 3),
        ("auto", "staffer-0", 0),
        ("auto", "my-staffer-12.staffer.prod.svc.cluster.local", 12),
        (2, "whatever", 2),
        (0, "staffer-5", 0),
    ],
)
def test_resolve_shard_index(setting: int | str, hostname: str, expected: int) -> None:
    assert resolve_shard_index(setting, hostname) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setting", "hostname"), [("auto", "staffer"), ("auto", "staffer-"), ("auto", ""), (-1, "x")]
)
def test_resolve_shard_index_errors(setting: int | str, hostname: str) -> None:
    with pytest.raises(ValueError):
        resolve_shard_index(setting, hostname)  # type: ignore[arg-type]
