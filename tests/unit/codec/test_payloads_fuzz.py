"""Property tests: no input makes a decoder raise anything but PayloadError."""

import json
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from staffer.codec.payloads import (
    PayloadError,
    decode_agent_state,
    decode_override_request,
    decode_override_request_or_error,
    decode_queue_snapshot,
    decode_site_snapshot,
)
from staffer.core.types import MalformedRequest, OverrideRequest

DECODERS: list[Callable[[bytes], object]] = [
    decode_queue_snapshot,
    decode_site_snapshot,
    lambda b: decode_agent_state("a1", b),
    decode_override_request,
]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.text(st.characters(blacklist_categories=()), max_size=4)  # incl. surrogates
    | st.sampled_from(["2026-11-22T10:15:00Z", "busy", "pin", "phone", "NaN"])
)
_keys = st.sampled_from(
    [
        "ts",
        "interval_s",
        "offered",
        "waiting",
        "answered",
        "answered_within_target",
        "aht_s",
        "queues",
        "phone",
        "status",
        "queue",
        "skills",
        "id",
        "action",
        "ttl_s",
        "reason",
        "min",
    ]
) | st.text(max_size=8)
_json = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(_keys, kids, max_size=8),
    max_leaves=20,
)
_small = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_keys, kids, max_size=3),
    max_leaves=4,
)


def _check(decoder: Callable[[bytes], object], payload: bytes) -> None:
    try:
        decoder(payload)
    except PayloadError as err:
        assert err.reason and len(err.reason) <= 64
        assert " " not in err.reason


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(payload: bytes) -> None:
    for decoder in DECODERS:
        _check(decoder, payload)


@settings(max_examples=80, deadline=None)
@given(_json)
def test_random_json(value: object) -> None:
    payload = json.dumps(value, allow_nan=True).encode()
    for decoder in DECODERS:
        _check(decoder, payload)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, _small, max_size=6))
def test_random_snapshot_like_objects(obj: dict) -> None:
    payload = json.dumps(
        {"ts": "2026-11-22T10:15:00Z", "interval_s": 60, "offered": 1, "waiting": 0, **obj},
        allow_nan=True,
    ).encode()
    for decoder in DECODERS:
        _check(decoder, payload)
    site = json.dumps({"ts": "2026-11-22T10:15:00Z", "queues": {"q": obj}}, allow_nan=True).encode()
    _check(decode_site_snapshot, site)


@settings(max_examples=50, deadline=None)
@given(_json)
def test_override_or_error_is_total(value: object) -> None:
    out = decode_override_request_or_error(json.dumps(value, allow_nan=True).encode())
    assert isinstance(out, OverrideRequest | MalformedRequest)


_count = st.integers(min_value=0, max_value=10**6)
_secs = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "interval_s": st.floats(min_value=1e-3, max_value=86400),
            "offered": _count,
            "waiting": _count,
        },
        optional={
            "abandoned": _count,
            "aht_s": _secs,
            "oldest_wait_s": _secs,
            "backlog": _count,
            "oldest_age_s": _secs,
        },
    )
)
def test_valid_snapshots_roundtrip_exactly(body: dict) -> None:
    snap = decode_queue_snapshot(json.dumps({"ts": "2026-11-22T10:15:00Z", **body}).encode())
    for key, value in body.items():
        assert getattr(snap, key) == value, key
    for key in {"abandoned", "aht_s", "oldest_wait_s", "backlog", "oldest_age_s"} - set(body):
        assert getattr(snap, key) is None
