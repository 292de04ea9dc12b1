"""Allocation by augmenting paths: moves pay their way, chains, donor and release rules."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staffer.core.allocation import NONE_SRC, Problem, allocate, gain_table, loss_table

REACH = 3


def curve(now: float, per_agent: float, floor_at: float = 0.0) -> list[float]:
    """A queue's objective for -REACH..REACH agents: falling by ``per_agent`` per agent
    while above ``floor_at`` (then flat): convex, like a shortfall."""
    return [max(now - per_agent * k, floor_at) for k in range(-REACH, REACH + 1)]


def problem(
    J: list[list[float]],
    pools: dict[tuple[int, int], list[tuple[int, str]]],
    *,
    donor_ok: list[bool] | None = None,
    surplus_ok: list[bool] | None = None,
    deferred: list[bool] | None = None,
    floor: list[int] | None = None,
    pin_need: list[float] | None = None,
    budget: int = 6,
    min_gain: float = 0.01,
    hysteresis: float = 0.0,
) -> Problem:
    q = len(J)
    return Problem(
        np.array(J, dtype=float),
        REACH,
        pools,
        np.array(donor_ok if donor_ok is not None else [True] * q),
        np.array(surplus_ok if surplus_ok is not None else [True] * q),
        np.array(floor if floor is not None else [0] * q),
        np.array(deferred if deferred is not None else [False] * q),
        np.array(pin_need if pin_need is not None else [-np.inf] * q),
        np.full(q, np.inf),
        budget,
        min_gain,
        hysteresis,
    )


SHORT = curve(0.3, 0.1)  # every agent added is worth 0.1
SPARE = curve(0.0, 0.001)  # an agent taken costs 0.001
AT_GOAL = curve(0.0, 0.2)  # an agent taken costs 0.2, one more is worth nothing
AGENTS = [(0, "a1"), (2, "a2"), (1, "a3")]  # available, busy, wrap_up


def moved(p: Problem) -> list[tuple[str, int | None, int]]:
    steps, _ = allocate(p)
    return [(s.agent, s.src, s.dst) for s in steps]


@pytest.mark.parametrize(
    ("p", "want"),
    [
        # the best agent first (available, then wrap_up, then busy), while it pays
        (
            problem([SHORT, SPARE], {(1, 0): list(AGENTS)}),
            [("a1", 1, 0), ("a3", 1, 0), ("a2", 1, 0)],
        ),
        (problem([SHORT, SPARE], {(1, 0): list(AGENTS)}, budget=1), [("a1", 1, 0)]),
        # nothing is worth the move
        (problem([curve(0.3, 0.005), SPARE], {(1, 0): list(AGENTS)}), []),
        # the whole set must beat standing still by the hysteresis
        (problem([curve(0.02, 0.02), SPARE], {(1, 0): list(AGENTS)}, hysteresis=0.05), []),
        # a queue predicted short never gives ...
        (problem([SHORT, SPARE], {(1, 0): list(AGENTS)}, donor_ok=[True, False]), []),
        # ... except to a queue below a supervisor's pin minimum
        (
            problem(
                [SHORT, SPARE], {(1, 0): [(0, "a1")]}, donor_ok=[True, False], pin_need=[1, -np.inf]
            ),
            [("a1", 1, 0)],
        ),
        # agents without a queue lose nobody anything
        (problem([SHORT], {(NONE_SRC, 0): [(0, "u1")]}), [("u1", None, 0)]),
        # a chain: nobody of 2 can serve 0 and 1 cannot spare one, so 2 fills in for an
        # agent of 1 who goes to 0
        (
            problem([SHORT, AT_GOAL, SPARE], {(1, 0): [(0, "b1")], (2, 1): [(0, "c1")]}),
            [("c1", 2, 1), ("b1", 1, 0)],
        ),
        # ... but never through a middle queue that is short
        (
            problem(
                [SHORT, AT_GOAL, SPARE],
                {(1, 0): [(0, "b1")], (2, 1): [(0, "c1")]},
                donor_ok=[True, False, True],
            ),
            [],
        ),
    ],
)
def test_moves(p: Problem, want: list[tuple[str, int | None, int]]) -> None:
    assert moved(p) == want


def test_release_to_a_deferred_queue_needs_a_sustained_surplus() -> None:
    email_debt = curve(0.2, 0.05)  # a deferred queue above its floor: backlog to work down
    pools = {(1, 0): [(0, "x1")]}
    held = problem([email_debt, SPARE], pools, deferred=[True, False], surplus_ok=[True, False])
    assert moved(held) == []
    freed = problem([email_debt, SPARE], pools, deferred=[True, False], surplus_ok=[True, True])
    assert moved(freed) == [("x1", 1, 0)]
    # below its floor the deferred queue takes what it needs, surplus or not
    below = problem(
        [email_debt, SPARE], pools, deferred=[True, False], surplus_ok=[True, False], floor=[1, 0]
    )
    assert moved(below) == [("x1", 1, 0)]


def test_a_queue_that_needs_several_agents_before_it_improves_gets_them() -> None:
    stepwise = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1]  # only the third agent added helps
    p = problem([stepwise, SPARE], {(1, 0): [(0, "a"), (0, "b"), (0, "c")]})
    assert [m[0] for m in moved(p)] == ["a", "b", "c"]


def test_tables() -> None:
    J = np.array([[3.0, 2.0, 1.5, 1.4, 1.4]])
    g = gain_table(J)
    assert g[0, 0, 0] == 1.0 and g[0, 0, 1] == 1.0  # best average over the next 1, 2
    assert g[0, 2, 1] == pytest.approx(0.1 / 1)  # from 1.5: best is the next one
    assert np.isneginf(g[0, 4, 0])  # nothing beyond the window
    assert loss_table(J)[0].tolist() == [np.inf, 1.0, 0.5, pytest.approx(0.1), 0.0]


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_properties(data: st.DataObject) -> None:
    q = data.draw(st.integers(1, 4))
    J = [
        sorted(data.draw(st.lists(st.floats(0, 1), min_size=7, max_size=7)), reverse=True)
        for _ in range(q)
    ]
    pools: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for i in range(data.draw(st.integers(0, 8))):
        src = data.draw(st.integers(-1, q - 1))
        dst = data.draw(st.integers(0, q - 1))
        if src != dst:
            pools.setdefault((src, dst), []).append((data.draw(st.integers(0, 2)), f"a{i}"))
    donor_ok = data.draw(st.lists(st.booleans(), min_size=q, max_size=q))
    budget = data.draw(st.integers(0, 6))
    p = problem(J, pools, donor_ok=donor_ok, budget=budget, hysteresis=0.01)
    steps, col = allocate(p)
    assert len(steps) <= budget
    assert len({s.agent for s in steps}) == len(steps)  # an agent moves once
    net = Counter[int]()
    for s in steps:
        src = NONE_SRC if s.src is None else s.src
        assert s.agent in {a for _, a in pools.get((src, s.dst), [])}  # along its own arc
        net[s.dst] += 1
        if s.src is not None:
            net[s.src] -= 1
    assert all(col[i] - REACH == net[i] for i in range(q))
    gave = {s.src for s in steps if s.src is not None} - {s.dst for s in steps}
    assert all(donor_ok[i] for i in gave)  # only queues that may give end up giving
    if steps:
        total = sum(J[i][REACH] - J[i][col[i]] for i in range(q))
        assert total > 0.01
