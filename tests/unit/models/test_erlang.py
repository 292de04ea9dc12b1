"""Erlang B and C against 50-digit mpmath references, plus edge cases."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from staffer.models import erlang_b, erlang_c
from tests.unit.models._reference import ref_erlang_b
from tests.unit.models._reference import ref_erlang_b_fast as _ref_b
from tests.unit.models._reference import ref_erlang_c as _ref_c

ref_erlang_b_fast = functools.cache(_ref_b)
ref_erlang_c = functools.cache(_ref_c)

RTOL = 1e-12
TINY = 1e-300  # below this a float result may legitimately underflow

SMALL_LOADS = [0.01, 0.3, 1.0, 2.5, 7.7, 20.0, 55.5, 100.0, 333.3, 1000.0]
FACTORS = [0.0, 0.1, 0.5, 0.9, 0.99, 1.0, 1.01, 1.03, 1.1, 1.3, 1.5, 2.0, 3.0]
BIG_CASES = [  # (traffic, agents): a handful at the largest loads keeps the suite fast
    (2500.5, 2451),
    (2500.5, 2551),
    (10000.0, 9500),
    (10000.0, 10000),
    (10000.0, 10101),
    (10000.0, 10400),
    (100000.0, 99000),
    (100000.0, 100010),
    (100000.0, 100500),
    (100000.0, 101500),
]


def _cases() -> list[tuple[float, int]]:
    out = [(a, round(a * f)) for a in SMALL_LOADS for f in FACTORS]
    return out + BIG_CASES


def _rel(got: float, ref) -> float:
    return float(abs(got - ref) / ref)


@pytest.mark.parametrize(("traffic", "agents"), _cases())
def test_erlang_b_matches_mpmath(traffic: float, agents: int) -> None:
    ref = ref_erlang_b_fast(traffic, agents)
    got = erlang_b(traffic, agents)
    assert isinstance(got, float)
    if ref > TINY:
        assert _rel(got, ref) < RTOL
    else:
        assert 0.0 <= got < 1e-290


@pytest.mark.parametrize(("traffic", "agents"), _cases())
def test_erlang_c_matches_mpmath(traffic: float, agents: int) -> None:
    ref = ref_erlang_c(traffic, agents)
    got = erlang_c(traffic, agents)
    if ref > TINY:
        assert _rel(got, ref) < RTOL
    else:
        assert 0.0 <= got < 1e-290


def test_vectorised_path_matches_mpmath() -> None:
    cases = _cases()
    a = np.array([c[0] for c in cases])
    n = np.array([c[1] for c in cases], dtype=float)
    vb, vc = erlang_b(a, n), erlang_c(a, n)
    for i, (ai, ni) in enumerate(cases):
        for got, ref in ((vb[i], ref_erlang_b_fast(ai, ni)), (vc[i], ref_erlang_c(ai, ni))):
            if ref > TINY:
                assert _rel(got, ref) < RTOL, (ai, ni)
            else:
                assert 0.0 <= got < 1e-290


def test_fast_reference_agrees_with_recursion() -> None:
    for a, n in [(50.0, 60), (50.0, 30), (7.7, 8), (300.0, 301)]:
        assert abs(ref_erlang_b_fast(a, n) / ref_erlang_b(a, n) - 1) < 1e-40


def test_erlang_c_is_one_when_agents_do_not_exceed_traffic() -> None:
    assert erlang_c(10.0, 10) == 1.0
    assert erlang_c(10.5, 3) == 1.0
    assert erlang_c(1e5, 0) == 1.0
    assert erlang_c(0.0, 0) == 1.0  # literally agents <= traffic


def test_edges() -> None:
    assert erlang_b(5.0, 0) == 1.0
    assert erlang_b(0.0, 3) == 0.0
    assert erlang_c(0.0, 3) == 0.0
    assert erlang_b(5.0, math.inf) == 0.0
    assert math.isnan(erlang_b(-1.0, 3))
    assert math.isnan(erlang_c(2.0, math.nan))
    assert math.isnan(erlang_b(math.inf, 3))


def test_far_tails_are_finite_and_tiny() -> None:
    assert 0.0 <= erlang_b(1e5, 200000) < 1e-300
    assert erlang_b(1e5, 10) == pytest.approx(1.0 - 10 / 1e5, rel=1e-8)
    assert 0.0 < erlang_c(1e5, 110000) < 1e-100


def test_broadcasting_and_scalar_types() -> None:
    a = np.array([1.0, 10.0, 100.0])
    n = np.array([[2], [12], [120]])
    got = erlang_c(a, n)
    assert got.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            # scalar path: exact recursion for <= 64 servers; agree to a few ulps
            assert got[i, j] == pytest.approx(erlang_c(float(a[j]), int(n[i, 0])), rel=1e-14)
    assert isinstance(erlang_b(3, 4), float)


def test_non_integer_agents_interpolate_monotonically() -> None:
    """Continuous (Jagerman) extension: between the integer values, decreasing."""
    ns = np.linspace(10.0, 11.0, 11)
    vals = erlang_b(10.0, ns)
    assert vals[0] == pytest.approx(erlang_b(10.0, 10), rel=1e-14)
    assert vals[-1] == pytest.approx(erlang_b(10.0, 11), rel=1e-14)
    assert np.all(np.diff(vals) < 0)
