"""The msgspec fast path of the snapshot decoders (issue 17) agrees with the pydantic path:
same value (and field types) when it answers, and the public decoders give the same value
or the same error (reason and detail) as the pydantic path alone, on random payloads."""

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staffer.codec import fast_inbound, inbound
from staffer.codec.jsonio import PayloadError
from staffer.core.types import QueueSnapshot

FIELDS = [f.name for f in dataclasses.fields(QueueSnapshot) if f.name != "ts"]
TS = ["2026-11-23T08:00:00Z", "2026-11-23T08:00:00.250Z", "2026-11-23T08:00:00+01:00", "nope", ""]
values = st.one_of(
    st.integers(-3, 20),
    st.sampled_from([0, 10**9, 10**9 + 1, 2**63, -(2**70), 86400, 86401, 1e9, 1e10]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
    st.sampled_from(["5", "", [], {}, [1], {"a": 1}]),
)


def bodies(ts: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly valid bodies (a valid base plus valid optional fields), half of them with
    up to two changes drawn from anything (a bad value, an unknown field, a bad ts)."""
    good = st.one_of(st.integers(0, 20), st.floats(0, 1000), st.none())
    base = st.fixed_dictionaries(
        {"interval_s": st.sampled_from([60, 60.0, 900]), "offered": st.integers(0, 20)},
        optional={"waiting": st.integers(0, 5), **dict.fromkeys(FIELDS[3:], good)},
    )
    keys = st.sampled_from([*FIELDS, "zz"] + (["ts"] * 3 if ts else []))
    changes = st.one_of(
        st.just({}), st.dictionaries(keys, values | st.sampled_from(TS), max_size=2)
    )
    stamp = st.fixed_dictionaries({"ts": st.sampled_from(TS[:2])} if ts else {})
    parts = st.tuples(stamp, base, changes)
    return parts.map(lambda ds: {k: v for d in ds for k, v in d.items()})


def text(obj: object) -> st.SearchStrategy[bytes]:
    raw = json.dumps(obj).encode()
    return st.sampled_from([raw, raw.replace(b" ", b""), raw + b" ", b"\xef\xbb\xbf" + raw])


def outcome(fn: Callable[[bytes], object], data: bytes) -> object:
    try:
        value = fn(data)
    except PayloadError as err:
        return ("error", err.reason, err.detail)
    return ("ok", value, _types(value))


def _types(value: object) -> object:
    if isinstance(value, QueueSnapshot):
        return tuple(type(v).__name__ for v in dataclasses.astuple(value))
    if isinstance(value, tuple):
        return tuple(_types(v) for v in value)
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    return type(value).__name__


def guarded_only(
    monkeypatch: pytest.MonkeyPatch, fn: Callable[[bytes], object], data: bytes
) -> object:
    with monkeypatch.context() as m:
        m.setattr(fast_inbound, "queue_snapshot", lambda _d: None)
        m.setattr(fast_inbound, "site_snapshot", lambda _d, _q, _i: None)
        return outcome(fn, data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_queue_snapshot_paths_agree(data: st.DataObject) -> None:
    payload = data.draw(bodies(ts=True).flatmap(text))
    with pytest.MonkeyPatch.context() as mp:
        expected = guarded_only(mp, inbound.decode_queue_snapshot, payload)
    assert outcome(inbound.decode_queue_snapshot, payload) == expected
    fast = fast_inbound.queue_snapshot(payload)
    if fast is not None:
        assert expected == ("ok", fast, _types(fast))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_site_snapshot_paths_agree(data: st.DataObject) -> None:
    queues = data.draw(
        st.dictionaries(st.sampled_from(["phone", "chat", "", "a/b", "x" * 257]), bodies(ts=False))
    )
    top = {"ts": data.draw(st.sampled_from(TS)), "queues": queues}
    top.update(data.draw(st.dictionaries(st.sampled_from(["extra"]), values, max_size=1)))
    payload = data.draw(text(top))
    with pytest.MonkeyPatch.context() as mp:
        expected = guarded_only(mp, inbound.decode_site_snapshot, payload)
    assert outcome(inbound.decode_site_snapshot, payload) == expected
    fast = fast_inbound.site_snapshot(payload, inbound.MAX_QUEUES, inbound.MAX_ID_CHARS)
    if fast is not None:
        assert expected == ("ok", fast, _types(fast))


def test_the_plain_case_takes_the_fast_path() -> None:
    raw = b'{"ts":"2026-11-23T08:00:00Z","interval_s":60,"offered":5,"waiting":1,"aht_s":240}'
    fast = fast_inbound.queue_snapshot(raw)
    assert fast == inbound.decode_queue_snapshot(raw)
    assert fast is not None and fast.aht_s == 240.0 and type(fast.aht_s) is float
    site = (
        b'{"ts":"2026-11-23T08:00:00Z","queues":'
        b'{"phone":{"interval_s":60,"offered":5,"waiting":1}}}'
    )
    assert fast_inbound.site_snapshot(site, 1000, 256) == inbound.decode_site_snapshot(site)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"ts":"2026-11-23T08:00:00Z","interval_s":60,"offered":5,"waiting":1,"x":{"a":[[[1]]]}}',
        b'{"ts":"2026-11-23T08:00:00Z","interval_s":60,"offered":-1,"waiting":1}',
        b'{"ts":"2026-11-23T08:00:00Z","interval_s":60,"offered":5,"waiting":1,"answered":1,'
        b'"answered_within_target":2}',
        b'{"ts":"\\ud800","interval_s":60,"offered":5,"waiting":1}',
        b'{"ts":"2026-11-23T08:00:00Z","interval_s":60,"offered":5,"waiting":1,"aht_s":1e400}',
    ],
)
def test_anything_but_the_plain_valid_case_takes_the_guarded_path(raw: bytes) -> None:
    assert fast_inbound.queue_snapshot(raw) is None
