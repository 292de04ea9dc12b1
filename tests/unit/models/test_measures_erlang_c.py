"""Service level, ASA, P(wait) and occupancy without patience (Erlang C)."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from staffer.models import abandon_ratio, asa, occupancy, p_wait, service_level
from tests.unit.models._reference import ref_erlang_c, ref_erlang_c_asa, ref_erlang_c_sl

RTOL = 1e-12
AHT = 300.0

CASES = [  # (traffic, agents)
    (0.01, 1),
    (0.3, 1),
    (0.3, 2),
    (2.5, 3),
    (2.5, 5),
    (20.0, 21),
    (20.0, 25),
    (100.0, 101),
    (100.0, 110),
    (100.0, 150),
    (1000.0, 1001),
    (1000.0, 1030),
    (10000.5, 10002),
    (10000.5, 10100),
    (100000.0, 100001),
    (100000.0, 100010),
    (100000.0, 100300),
]
TARGETS = [0.0, 0.5, 20.0, 3600.0, 1e9]


def _rel(got: float, ref) -> float:
    return float(abs(got - ref) / ref)


@pytest.mark.parametrize(("traffic", "agents"), CASES)
def test_sl_asa_pwait_match_mpmath(traffic: float, agents: int) -> None:
    rate = traffic / AHT
    for t in TARGETS:
        ref = ref_erlang_c_sl(rate, AHT, agents, t)
        assert _rel(service_level(rate, AHT, agents, t), ref) < RTOL, t
    assert _rel(asa(rate, AHT, agents), ref_erlang_c_asa(rate, AHT, agents)) < RTOL
    ref_c = ref_erlang_c(mp.mpf(rate) * AHT, agents)
    assert _rel(p_wait(rate, AHT, agents), ref_c) < RTOL


def test_unstable_queue_edges() -> None:
    rate = 10.0 / AHT
    for n in (0, 5, 10):
        assert p_wait(rate, AHT, n) == 1.0
        assert service_level(rate, AHT, n, 20.0) == 0.0
        assert asa(rate, AHT, n) == math.inf
    assert occupancy(rate, AHT, 10) == 1.0
    assert occupancy(rate, AHT, 0) == 0.0
    assert abandon_ratio(rate, AHT, 5, None) == 0.0
    assert abandon_ratio(rate, AHT, 5, math.inf) == 0.0


def test_zero_traffic_is_perfect_service() -> None:
    for n in (0, 1, 7):
        assert p_wait(0.0, AHT, n) == 0.0
        assert service_level(0.0, AHT, n, 20.0) == 1.0
        assert asa(0.0, AHT, n) == 0.0
        assert occupancy(0.0, AHT, n) == 0.0


def test_long_target_and_zero_target() -> None:
    rate = 8.0 / AHT
    assert service_level(rate, AHT, 10, math.inf) == 1.0
    assert service_level(rate, AHT, 10, 1e12) == 1.0
    expected = 1.0 - p_wait(rate, AHT, 10)
    assert service_level(rate, AHT, 10, 0.0) == pytest.approx(expected, rel=1e-14)


def test_occupancy_is_load_over_agents() -> None:
    assert occupancy(8.0 / AHT, AHT, 10) == pytest.approx(0.8, rel=1e-14)
    assert occupancy(8.0 / AHT, AHT, 10, concurrency=2) == pytest.approx(0.4, rel=1e-14)


def test_invalid_inputs_give_nan_not_errors() -> None:
    assert math.isnan(service_level(-1.0, AHT, 3, 20.0))
    assert math.isnan(asa(1.0, 0.0, 3))
    assert math.isnan(p_wait(1.0, AHT, -2))
    assert math.isnan(p_wait(math.nan, AHT, 2))
    got = service_level(np.array([0.01, -1.0]), AHT, 5, 20.0)
    assert np.isfinite(got[0]) and math.isnan(got[1])
