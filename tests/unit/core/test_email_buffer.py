"""Email as a deadline-feasible buffer: the floor, its look-ahead, the close, on-time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staffer.core.email_buffer import (
    CLOSE_MARGIN_S,
    DEADLINE_MARGIN,
    EmailOutlook,
    feasible,
    floor_agents,
    on_time,
    served,
)

H = 1800.0  # the plan's horizon
EDGES = np.concatenate(([0.0], H + 1800.0 * np.arange(10)))  # 0, 0.5 h, ..., 5 h
D = 14400.0  # 4-hour deadline
AHT = 360.0


def outlook(
    backlog: float = 0.0,
    oldest: float = 0.0,
    rate_h: float = 0.0,
    supply: float = 20.0,
    capacity: float | list[float] = 0.0,
    close: float = math.inf,
    cap: float = 0.0,
) -> EmailOutlook:
    """As the planner builds it: the look-ahead ends at the close (what comes after is
    tomorrow's)."""
    close_at = max(close, EDGES[1])  # at least the horizon
    edges = EDGES if close_at >= EDGES[-1] else np.append(EDGES[close_at > EDGES], close_at)
    steps = len(edges) - 1
    cap_arr = np.broadcast_to(np.asarray(capacity, dtype=float), (len(EDGES) - 1,))[:steps]
    return EmailOutlook(
        backlog=backlog,
        oldest_age_s=oldest,
        aht_s=AHT,
        target_s=D,
        edges=edges,
        arrivals=rate_h / 3600.0 * np.diff(edges),
        supply=np.full(steps, supply),
        capacity=cap_arr.copy(),
        near_s=min(H, float(edges[-1])),
        close_s=close,
        carry_cap=cap,
    )


@pytest.mark.parametrize(
    ("case", "floor"),
    [
        (outlook(), 0),  # nothing to do
        # arrivals only, nothing more from the site later: keep what the first 2 h of
        # arrivals need by 5 h (180 items x 360 s / 5 h = 3.6 agents)
        (outlook(rate_h=90.0), 4),
        (outlook(rate_h=90.0, capacity=12.0), 0),  # the site gives 12 later: borrow all
        (outlook(rate_h=90.0, capacity=0.0, supply=0.0), 0),  # nobody can ever help
        # plus 60 open items (ages 0-1 h): 240 due by 5 h, 4.8 agents
        (outlook(backlog=60.0, oldest=3600.0, rate_h=90.0), 5),
        # the same, but the site gives email 12 agents after the horizon: borrow them all
        (outlook(backlog=60.0, oldest=3600.0, rate_h=90.0, capacity=12.0), 0),
        # items past the safety margin (ages 0-3h10) are due within the horizon: 4.2 items
        (outlook(backlog=20.0, oldest=D * (1 - DEADLINE_MARGIN) + 600.0), 1),
        # the close in 2 h: everything open done by then less the margin (100 / 17.5)
        (outlook(backlog=100.0, oldest=600.0, close=7200.0), 6),
        # ... unless the carry cap allows leaving some for tomorrow (50 / 17.5)
        (outlook(backlog=100.0, oldest=600.0, close=7200.0, cap=50.0), 3),
        # a close that is already due: all that can be had
        (outlook(backlog=100.0, oldest=600.0, close=600.0, supply=7.0), 7),
    ],
)
def test_floor(case: EmailOutlook, floor: int) -> None:
    n_max = int(case.supply[0])
    got = floor_agents(case, n_max)
    assert got == floor
    if 0 < got < n_max:  # the smallest feasible count
        assert feasible(case, np.array([got]))[0] and not feasible(case, np.array([got - 1]))[0]


def test_served_keeps_the_count_until_the_horizon_then_the_projection() -> None:
    o = outlook(capacity=[0, 4, 4, 4, 4, 4, 4, 4, 4, 4], supply=6.0)
    s = served(o, np.array([2, 10]))
    assert s[0, 1] == pytest.approx(2 * H / AHT)  # two agents over the horizon
    assert s[0, 2] - s[0, 1] == pytest.approx(4 * 1800 / AHT)  # then the site's four
    assert s[1, 2] - s[1, 1] == pytest.approx(6 * 1800 / AHT)  # ten now: six stay on shift


def test_on_time_ratio() -> None:
    assert on_time(outlook(), np.array([0]))[0] == 1.0  # nothing to answer
    late = outlook(backlog=50.0, oldest=2 * D)  # the older half is already past its deadline
    assert on_time(late, np.array([10]))[0] == pytest.approx(0.5, abs=0.05)
    o = outlook(backlog=100.0, oldest=7200.0, rate_h=90.0)
    few, many = on_time(o, np.array([1, 12]))
    assert few < many == pytest.approx(1.0)


def test_the_close_margin_applies() -> None:
    o = outlook(backlog=30.0, oldest=600.0, close=CLOSE_MARGIN_S + 1800.0)
    n = floor_agents(o, 20)
    assert n * 1800.0 / AHT >= 30.0 - 1e-9  # done a margin before the close
    assert (n - 1) * 1800.0 / AHT < 30.0


@settings(max_examples=80, deadline=None)
@given(
    st.floats(0.0, 400.0),
    st.floats(0.0, 20000.0),
    st.floats(0.0, 200.0),
    st.floats(0.0, 30.0),
    st.one_of(st.just(math.inf), st.floats(0.0, 20000.0)),
)
def test_properties(backlog: float, oldest: float, rate_h: float, cap: float, close: float) -> None:
    o = outlook(backlog, oldest, rate_h, supply=30.0, capacity=cap, close=close)
    f = floor_agents(o, 30)
    assert 0 <= f <= 30
    assert floor_agents(outlook(backlog + 50.0, oldest, rate_h, 30.0, cap, close), 30) >= f
    assert floor_agents(outlook(backlog, oldest, rate_h, 30.0, cap + 5.0, close), 30) <= f
    ok = on_time(o, np.array([0, 10, 30]))
    assert (np.diff(ok) >= -1e-9).all() and ((ok >= 0) & (ok <= 1)).all()
