"""staffer.models against a discrete-event simulation (tests/unit/models/des.py).

Each case simulates 400,000 seeded arrivals (5% warm-up, 20 batches) and asserts that the
models' P(wait), service level (fraction of *all* arrivals answered within the target),
ASA (mean wait of answered contacts), abandon ratio and occupancy lie within 4 batch-means
standard errors plus a small absolute slack of the simulated values. Negative controls
check the comparison is sharp enough to reject a model that is off by one agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pytest

from staffer import models as m
from tests.unit.models.des import SimResult, simulate

ARRIVALS = 400_000
Z = 4.0  # standard errors allowed
SLACK = 0.004  # absolute slack on ratios
ASA_SLACK = 0.02  # relative slack on ASA (plus 0.05 s)


@dataclass(frozen=True)
class Case:
    """One queue: traffic in Erlangs, agents, aht/target/patience in seconds."""

    name: str
    traffic: float
    agents: int
    aht: float = 180.0
    target: float = 20.0
    patience: float | None = None
    concurrency: int = 1
    seed: int = 1

    @property
    def rate(self) -> float:
        return self.traffic / self.aht


CASES = [
    Case("erlang_c rho=0.8", 8.0, 10),
    Case("erlang_c rho=0.9 N=50", 45.0, 50, aht=240.0, seed=2),
    Case("erlang_a rho=1.0 short patience", 10.0, 10, patience=90.0, seed=3),
    Case("erlang_a overloaded rho=1.2", 24.0, 20, patience=180.0, seed=4),
    Case("erlang_a rho=0.9 long patience", 45.0, 50, aht=240.0, patience=480.0, seed=5),
    Case("chat k=2 no patience", 8.0, 5, concurrency=2, seed=6),
    Case("chat k=3 patience", 12.0, 4, aht=300.0, patience=120.0, concurrency=3, seed=7),
    Case("chat k=2 patience rho=0.9", 18.0, 10, aht=300.0, patience=60.0, concurrency=2, seed=8),
]


@cache
def sim(case: Case) -> SimResult:
    return simulate(
        case.rate,
        case.aht,
        case.agents,
        target=case.target,
        patience=case.patience,
        concurrency=case.concurrency,
        arrivals=ARRIVALS,
        seed=case.seed,
    )


def model_metrics(
    case: Case, agents: int | None = None, concurrency: int | None = None
) -> dict[str, float]:
    """The models' predictions for the case (optionally at another staffing)."""
    n = case.agents if agents is None else agents
    kw = {
        "patience": case.patience,
        "concurrency": case.concurrency if concurrency is None else concurrency,
    }
    out = {
        "p_wait": float(m.p_wait(case.rate, case.aht, n, **kw)),
        "service_level": float(m.service_level(case.rate, case.aht, n, case.target, **kw)),
        "asa": float(m.asa(case.rate, case.aht, n, **kw)),
        "occupancy": float(m.occupancy(case.rate, case.aht, n, **kw)),
        "abandon_ratio": 0.0,
    }
    if case.patience is not None:
        out["abandon_ratio"] = float(m.abandon_ratio(case.rate, case.aht, n, **kw))
    return out


def mismatches(case: Case, model: dict[str, float]) -> list[str]:
    """Metrics where the model falls outside the simulation's tolerance band."""
    res = sim(case)
    bad = []
    for name in ("p_wait", "service_level", "abandon_ratio", "occupancy"):
        est = res.estimate(name)
        if abs(model[name] - est.mean) > Z * est.se + SLACK:
            bad.append(f"{name}: model {model[name]:.5f} vs sim {est.mean:.5f} ± {est.se:.5f}")
    est = res.asa()
    if not abs(model["asa"] - est.mean) <= Z * est.se + ASA_SLACK * est.mean + 0.05:
        bad.append(f"asa: model {model['asa']:.3f} s vs sim {est.mean:.3f} ± {est.se:.3f} s")
    return bad


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_models_agree_with_simulation(case: Case) -> None:
    assert mismatches(case, model_metrics(case)) == []


@pytest.mark.parametrize("case", [CASES[0], CASES[3], CASES[6]], ids=lambda c: c.name)
def test_comparison_rejects_one_agent_off(case: Case) -> None:
    # Negative control: the tolerance band is tight enough to catch N - 1 and N + 1.
    assert mismatches(case, model_metrics(case, agents=case.agents - 1)) != []
    assert mismatches(case, model_metrics(case, agents=case.agents + 1)) != []


def test_comparison_rejects_ignoring_concurrency() -> None:
    case = CASES[5]
    assert mismatches(case, model_metrics(case, concurrency=1)) != []


def test_simulator_is_seeded_and_sane() -> None:
    case = CASES[0]
    a = simulate(case.rate, case.aht, case.agents, target=case.target, arrivals=20_000, seed=9)
    b = simulate(case.rate, case.aht, case.agents, target=case.target, arrivals=20_000, seed=9)
    assert (a.p_wait == b.p_wait).all() and (a.wait_answered == b.wait_answered).all()
    assert (a.abandon_ratio == 0).all()  # no patience: nobody abandons
    assert ((a.service_level >= 1 - a.p_wait) & (a.service_level <= 1)).all()
    with pytest.raises(ValueError):
        simulate(0.1, 180.0, 0, target=20.0)
