"""Email fluid deadline model and the chat slot model."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from staffer.models import (
    asa,
    effective_aht,
    email_on_time_ratio,
    email_required_agents,
    p_wait,
    required_agents,
    service_level,
)


def test_email_required_agents_formula() -> None:
    # backlog clears by its newest item's deadline; sustained rate needs rate * aht
    assert email_required_agents(100, 0.01, 360.0, 14400.0) == 4  # max(2.5, 3.6)
    assert email_required_agents(400, 0.001, 360.0, 14400.0) == 10  # max(10, 0.36)
    # finite horizon: (B + rate H) aht / (D + H)
    assert email_required_agents(0, 0.01, 360.0, 14400.0, horizon_s=14400.0) == 2  # 1.8
    assert email_required_agents(0, 0.0, 360.0, 14400.0) == 0
    assert email_required_agents(-1, 0.0, 360.0, 14400.0) == -1


def test_email_vectorised() -> None:
    got = email_required_agents(np.array([0, 100, 400]), 0.01, 360.0, 14400.0)
    assert got.tolist() == [4, 4, 10]


@pytest.mark.parametrize(
    ("backlog", "rate", "oldest"), [(100, 0.01, 0.0), (500, 0.002, 7200.0), (50, 0.05, 3600.0)]
)
def test_required_agents_are_exactly_enough_for_the_ratio(backlog, rate, oldest) -> None:
    aht, d, h = 360.0, 14400.0, 28800.0
    n = email_required_agents(backlog, rate, aht, d, oldest, horizon_s=h)
    assert email_on_time_ratio(backlog, rate, aht, n, d, oldest, horizon_s=h) == 1.0
    assert email_on_time_ratio(backlog, rate, aht, n - 1, d, oldest, horizon_s=h) < 1.0


def test_email_ratio_edges() -> None:
    assert email_on_time_ratio(0, 0.0, 360.0, 0, 14400.0) == 1.0
    assert email_on_time_ratio(10, 0.0, 360.0, 0, 14400.0) == 0.0
    assert email_on_time_ratio(10, 0.0, 360.0, 5, 100.0, oldest_age_s=200.0) < 1.0
    assert math.isnan(email_on_time_ratio(10, -1.0, 360.0, 5, 100.0))


def _discrete_on_time(
    backlog: int, oldest: float, rate: float, aht: float, n: int, d: float, horizon: float
) -> float:
    """FIFO with n agents, deterministic service, evenly spread ages and arrivals."""
    ages = [oldest * (1 - (i + 0.5) / backlog) for i in range(backlog)]
    arrivals = [-a for a in ages]
    m = int(rate * horizon)
    arrivals += [(j + 0.5) / rate for j in range(m)]
    free = [0.0] * n
    heapq.heapify(free)
    on_time = 0
    for t_arr in arrivals:
        start = max(heapq.heappop(free), t_arr, 0.0)
        heapq.heappush(free, start + aht)
        on_time += start + aht - t_arr <= d
    return on_time / len(arrivals)


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_email_fluid_close_to_discrete_fifo(n) -> None:
    backlog, oldest, rate, aht, d, hz = 2000, 20000.0, 0.02, 300.0, 28800.0, 28800.0
    fluid = email_on_time_ratio(backlog, rate, aht, n, d, oldest, horizon_s=hz)
    assert fluid == pytest.approx(_discrete_on_time(backlog, oldest, rate, aht, n, d, hz), abs=0.02)


def test_chat_slot_model_is_erlang_with_n_times_k_servers() -> None:
    rate, aht = 0.05, 480.0
    for k in (1, 2, 3):
        for pat in (None, 120.0):
            assert service_level(rate, aht, 9, 60.0, pat, k) == service_level(
                rate, aht, 9 * k, 60.0, pat
            )
            assert asa(rate, aht, 9, pat, k) == asa(rate, aht, 9 * k, pat)
            assert p_wait(rate, aht, 9, pat, k) == p_wait(rate, aht, 9 * k, pat)
    # staffing counts agents, not slots: the smallest N whose 2N slots meet the goal
    n2 = required_agents(rate, aht, 60.0, 0.8, concurrency=2)
    assert (
        service_level(rate, aht, 2 * n2, 60.0) >= 0.8 > service_level(rate, aht, 2 * n2 - 2, 60.0)
    )


def test_effective_aht() -> None:
    assert effective_aht(300.0, 1, 0.5) == 300.0
    assert effective_aht(300.0, 3, 0.5) == 600.0
    assert effective_aht(300.0, 2) == 300.0
