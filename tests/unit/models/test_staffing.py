"""required_agents / required_agents_asa return exactly the smallest meeting N."""

from __future__ import annotations

import math

import numpy as np
import pytest

from staffer.models import (
    DEFAULT_MAX_ABANDON,
    SL_GOAL_MAX,
    SL_GOAL_MAX_PATIENCE,
    abandon_ratio,
    asa,
    required_agents,
    required_agents_asa,
    service_level,
)


def _meets_sl(rate, aht, n, target, sl, patience, k, max_ab) -> bool:
    if n < 0:
        return False
    no_patience = patience is None or math.isinf(patience)
    sl = min(sl, SL_GOAL_MAX if no_patience else SL_GOAL_MAX_PATIENCE)  # documented clip
    if patience is None or math.isinf(patience):
        if n * k <= rate * aht:
            return False
        return service_level(rate, aht, n, target, concurrency=k) >= sl
    cap = DEFAULT_MAX_ABANDON if max_ab is None else max_ab
    return (
        service_level(rate, aht, n, target, patience, k) >= sl
        and abandon_ratio(rate, aht, n, patience, k) <= cap
    )


def _meets_asa(rate, aht, n, goal, patience, k, max_ab) -> bool:
    if n < 0:
        return False
    ok = asa(rate, aht, n, patience, k) <= goal
    if patience is not None and not math.isinf(patience):
        cap = DEFAULT_MAX_ABANDON if max_ab is None else max_ab
        ok = ok and abandon_ratio(rate, aht, n, patience, k) <= cap
    return ok


SL_CASES = [  # rate, aht, target, sl, patience, concurrency, max_abandon
    (0.07, 240.0, 20.0, 0.8, None, 1, None),
    (0.07, 240.0, 20.0, 0.8, 60.0, 1, None),
    (0.001, 300.0, 20.0, 0.9, None, 1, None),
    (0.001, 300.0, 20.0, 0.9, 30.0, 1, 0.5),
    (0.5, 180.0, 10.0, 0.95, 90.0, 1, 0.02),
    (0.2, 480.0, 60.0, 0.8, None, 2, None),
    (0.2, 480.0, 60.0, 0.8, 300.0, 3, None),
    (3.0, 300.0, 30.0, 0.5, 5.0, 1, 0.3),
    (10.0, 300.0, 0.0, 0.7, None, 1, None),
    (0.05, 240.0, 20.0, 0.0, 60.0, 1, 1.0),
    (0.05, 240.0, 20.0, 1.0, None, 1, None),
]


@pytest.mark.parametrize("case", SL_CASES)
def test_required_agents_is_exact_by_scan(case) -> None:
    rate, aht, target, sl, pat, k, cap = case
    n = required_agents(rate, aht, target, sl, pat, k, cap)
    assert isinstance(n, int)
    assert _meets_sl(rate, aht, n, target, sl, pat, k, cap)
    assert not _meets_sl(rate, aht, n - 1, target, sl, pat, k, cap)
    if n < 400:  # brute-force scan from zero: nothing smaller meets
        first = next(m for m in range(n + 1) if _meets_sl(rate, aht, m, target, sl, pat, k, cap))
        assert first == n


ASA_CASES = [
    (0.07, 240.0, 15.0, None, 1, None),
    (0.07, 240.0, 15.0, 60.0, 1, None),
    (2.0, 300.0, 5.0, None, 1, None),
    (2.0, 300.0, 5.0, 120.0, 2, 0.1),
    (0.01, 600.0, 0.0, 30.0, 1, 1.0),
]


@pytest.mark.parametrize("case", ASA_CASES)
def test_required_agents_asa_is_exact(case) -> None:
    rate, aht, goal, pat, k, cap = case
    n = required_agents_asa(rate, aht, goal, pat, k, cap)
    assert _meets_asa(rate, aht, n, goal, pat, k, cap)
    assert not _meets_asa(rate, aht, n - 1, goal, pat, k, cap)


def test_abandonment_cap_is_always_enforced_with_patience() -> None:
    """The contract's example: 20,000 Erlangs, 60 s patience, 80% in 20 s."""
    rate, aht = 20000.0 / 240.0, 240.0
    capped = required_agents(rate, aht, 20.0, 0.8, 60.0)
    uncapped = required_agents(rate, aht, 20.0, 0.8, 60.0, max_abandon=1.0)
    assert uncapped <= 0.81 * 20000  # SL alone is "met" by letting callers hang up
    assert abandon_ratio(rate, aht, uncapped, 60.0) > 0.15
    assert (
        abandon_ratio(rate, aht, capped, 60.0) <= 0.05 < abandon_ratio(rate, aht, capped - 1, 60.0)
    )
    assert capped > 0.94 * 20000


def test_goal_of_one_is_honoured_literally() -> None:
    """SL is computed as 1 - miss near 1 (monotone), so sl = 1.0 has a well-defined answer."""
    n = required_agents(0.05, 240.0, 20.0, 1.0)
    assert service_level(0.05, 240.0, n, 20.0) == 1.0
    assert service_level(0.05, 240.0, n - 1, 20.0) < 1.0
    assert required_agents(0.05, 240.0, 20.0, 1.5) == n  # goals are clipped to [0, 1]
    sls = service_level(0.05, 240.0, np.arange(13, n + 5), 20.0)
    assert np.all(np.diff(sls) >= 0.0)


def test_zero_traffic_needs_no_agents_and_invalid_gives_minus_one() -> None:
    assert required_agents(0.0, 300.0, 20.0, 0.8) == 0
    assert required_agents(0.0, 300.0, 20.0, 0.8, 60.0) == 0
    assert required_agents_asa(0.0, 300.0, 10.0) == 0
    assert required_agents(-1.0, 300.0, 20.0, 0.8) == -1
    assert required_agents(1.0, math.nan, 20.0, 0.8) == -1
    assert required_agents(1.0, 300.0, 20.0, math.nan) == -1


def test_erlang_c_requires_a_stable_queue() -> None:
    assert required_agents(10.0 / 300.0, 300.0, 20.0, 0.0) == 11
    assert required_agents(10.0 / 300.0, 300.0, 20.0, 0.0, concurrency=2) == 6


def test_vectorised_matches_scalar_and_is_exact_on_many_queues() -> None:
    rng = np.random.default_rng(7)
    load = np.exp(rng.uniform(0.0, np.log(1e4), 400))
    aht = rng.uniform(60.0, 600.0, 400)
    rate = load / aht
    for pat in (None, 90.0):
        ns = required_agents(rate, aht, 20.0, 0.8, pat)
        assert ns.shape == (400,) and ns.dtype.kind == "i"
        ptmp = math.inf if pat is None else pat
        sl_n = service_level(rate, aht, ns, 20.0, pat)
        sl_m = service_level(rate, aht, ns - 1, 20.0, pat)
        ab_n = abandon_ratio(rate, aht, ns, ptmp)
        ab_m = abandon_ratio(rate, aht, ns - 1, ptmp)
        ok_n = (sl_n >= 0.8) & (ab_n <= 0.05)
        ok_m = (sl_m >= 0.8) & (ab_m <= 0.05)
        if pat is None:
            ok_n &= ns > load
            ok_m &= ns - 1 > load
        assert ok_n.all() and not ok_m.any()
        for i in range(0, 400, 40):
            assert ns[i] == required_agents(float(rate[i]), float(aht[i]), 20.0, 0.8, pat)
