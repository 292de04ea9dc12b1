"""The transient predictor: stationary limits, backlogs, staffing paths, edges, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staffer import models
from staffer.core.transient import Probes, Rows, evaluate, predict

EDGES = np.array([0.0, 60, 180, 360, 600, 900, 1200, 1500, 1800])
INF = math.inf


def rows(
    rate: float | list[float],
    servers: float | list[float],
    x0: float,
    aht: float = 240.0,
    patience: float = INF,
    target: float = 20.0,
) -> Rows:
    """One case: constant (or per-step) rate and servers over EDGES."""
    s = len(EDGES) - 1
    r = np.broadcast_to(np.asarray(rate, dtype=float), (s,))[None, :].copy()
    n = np.broadcast_to(np.asarray(servers, dtype=float), (s,))[None, :].copy()
    one = lambda v: np.array([v], dtype=float)  # noqa: E731
    return Rows(r, n, one(x0), one(aht), one(patience), one(target), np.array([0]), np.diff(EDGES))


def stationary_x(rate: float, servers: float, aht: float, patience: float) -> float:
    """Mean number in system of the stationary queue (Little)."""
    if math.isinf(patience):
        return rate * aht + rate * float(models.asa(rate, aht, servers))
    pab = float(models.abandon_ratio(rate, aht, servers, patience))
    return rate * aht * (1 - pab) + rate * patience * pab


@pytest.mark.parametrize(
    ("rate", "servers", "aht", "patience", "target"),
    [
        (0.1, 28, 240.0, INF, 20.0),  # Erlang C near 80/20
        (0.1, 32, 240.0, INF, 20.0),  # comfortable
        (0.05, 30, 480.0, 300.0, 60.0),  # chat-like slots with patience
        (0.12, 28, 240.0, 120.0, 20.0),  # Erlang A, overloaded
        (2.0, 520, 240.0, INF, 20.0),  # large
    ],
)
def test_started_at_equilibrium_it_stays_near_the_steady_state(
    rate: float, servers: int, aht: float, patience: float, target: float
) -> None:
    x0 = stationary_x(rate, servers, aht, patience)
    p = predict(rows(rate, servers, x0, aht, patience, target))
    steady = float(models.service_level(rate, aht, servers, target, patience=patience))
    assert p.service_level[0] == pytest.approx(steady, abs=0.03)
    if math.isfinite(patience):
        ab = float(models.abandon_ratio(rate, aht, servers, patience))
        assert p.abandon[0] == pytest.approx(ab, abs=0.02)


@pytest.mark.parametrize(
    ("case", "sl", "abandon", "asa"),
    [
        (rows(0.0, 10, 0.0), 1.0, 0.0, 0.0),  # nobody calls
        (rows(0.0, 0, 5.0), 1.0, 0.0, 0.0),  # nobody calls, nobody to answer (a leftover)
        (rows(0.1, 0, 0.0), 0.0, 0.0, INF),  # calls, nobody to answer them (Erlang C)
        (rows(0.1, 0, 0.0, patience=60.0), 0.0, 1.0, None),  # ... with patience: all leave
        (rows(0.001, 50, 0.0), 1.0, 0.0, 0.0),  # a trickle into a big team
    ],
)
def test_edges(case: Rows, sl: float, abandon: float, asa: float | None) -> None:
    p = predict(case)
    assert p.service_level[0] == pytest.approx(sl, abs=1e-3)
    assert p.abandon[0] == pytest.approx(abandon, abs=1e-3)
    if asa is not None:
        assert (
            p.asa_s[0] == pytest.approx(asa, abs=1e-3)
            if math.isfinite(asa)
            else (math.isinf(p.asa_s[0]))
        )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.001, 5.0), min_size=len(EDGES) - 1, max_size=len(EDGES) - 1))
def test_with_nobody_to_answer_the_wait_is_unbounded_whatever_the_rates(rates: list[float]) -> None:
    """Not 999999999.9999999 s: the arrival-weighted mean of capped waits rounds below
    the cap for about a third of random rate paths."""
    assert math.isinf(predict(rows(rates, 0, 0.0)).asa_s[0])


def test_a_backlog_now_costs_service_level_then_drains() -> None:
    empty = predict(rows(0.1, 30, 24.0)).service_level[0]
    backlog = predict(rows(0.1, 30, 30 + 40.0)).service_level[0]  # 40 waiting
    assert backlog < empty - 0.1  # the first minutes are lost to the queue
    more = predict(rows(0.1, 34, 30 + 40.0)).service_level[0]
    assert backlog < more  # more agents drain it sooner
    with_patience = predict(rows(0.1, 30, 70.0, patience=60.0))
    assert with_patience.abandon[0] > 0.05  # impatient callers leave the queue


def test_agents_count_from_when_they_arrive() -> None:
    now = predict(rows(0.11, 32, 26.0)).service_level[0]
    never = predict(rows(0.11, 28, 26.0)).service_level[0]
    later = predict(rows(0.11, [28, 28, 28, 28, 32, 32, 32, 32], 26.0)).service_level[0]
    assert never < later < now


def test_rows_are_independent_and_share_tables() -> None:
    a, b = rows(0.1, 28, 20.0), rows(0.06, 20, 10.0, patience=90.0)
    both = Rows(
        np.vstack((a.rate, b.rate)),
        np.vstack((a.servers, b.servers)),
        np.concatenate((a.x0, b.x0)),
        np.concatenate((a.aht, b.aht)),
        np.concatenate((a.patience, b.patience)),
        np.concatenate((a.target_s, b.target_s)),
        np.array([0, 1]),
        a.dt,
    )
    p = predict(both)
    assert p.service_level[0] == pytest.approx(predict(a).service_level[0])
    assert p.service_level[1] == pytest.approx(predict(b).service_level[0])


def test_probes_are_the_models_steady_state() -> None:
    probes = Probes(
        np.array([0.1, 0.1]),
        np.array([240.0, 240.0]),
        np.array([26.0, 30.0]),
        np.array([INF, 90.0]),
        np.array([20.0, 20.0]),
    )
    _, sl, ab = evaluate(rows(0.1, 28, 20.0), probes)
    assert sl[0] == pytest.approx(float(models.service_level(0.1, 240.0, 26, 20.0)))
    assert sl[1] == pytest.approx(float(models.service_level(0.1, 240.0, 30, 20.0, patience=90.0)))
    assert ab[1] == pytest.approx(float(models.abandon_ratio(0.1, 240.0, 30, 90.0)))


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.0, 0.5),
    st.integers(0, 60),
    st.floats(0.0, 120.0),
    st.sampled_from([INF, 60.0, 300.0]),
)
def test_properties(rate: float, servers: int, x0: float, patience: float) -> None:
    p = predict(rows(rate, servers, x0, patience=patience))
    sl, ab, asa = p.service_level[0], p.abandon[0], p.asa_s[0]
    assert 0.0 <= sl <= 1.0 and 0.0 <= ab <= 1.0 and asa >= 0.0 and not math.isnan(asa)
    assert sl + ab <= 1.0 + 1e-6  # an abandoned contact is never answered in time
    more = predict(rows(rate, servers + 2, x0, patience=patience)).service_level[0]
    assert more >= sl - 0.02  # more agents never hurt (up to interpolation)
    busier = predict(rows(rate, servers, x0 + 20.0, patience=patience)).service_level[0]
    assert busier <= sl + 0.02  # a longer queue now never helps
