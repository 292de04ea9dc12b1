"""Run a scenario under one or more policies on identical contacts."""

from __future__ import annotations

from collections.abc import Callable

from staffer.core.types import Move
from staffer.sim.engine import Engine, SimTrace, staffed_seconds
from staffer.sim.kpis import DayKpis, compute_kpis
from staffer.sim.policies import Policy, make_policy
from staffer.sim.scenario import Scenario

Progress = Callable[[str, float], None]  # (policy, fraction done in [0, 1])
OnMoves = Callable[[float, list[Move]], None]  # (seconds from the day's start, moves decided)
PolicyFactory = Callable[[str, Scenario], Policy]


def trace_of(engine: Engine, policy: str) -> SimTrace:
    """Package a finished engine's records."""
    return SimTrace(
        engine.sc,
        policy,
        engine.seed,
        engine.contacts,
        engine.samples,
        engine.move_log,
        staffed_seconds(engine),
    )


def run_policy(
    scenario: Scenario,
    policy: str,
    seed: int | None = None,
    progress: Progress | None = None,
    on_moves: OnMoves | None = None,
    make: PolicyFactory = make_policy,
) -> tuple[SimTrace, DayKpis]:
    """Simulate the whole day (plus drain) under ``policy``; return trace and KPIs.

    ``on_moves(t, moves)`` sees every decision (with its reasons) as it is made; ``make``
    builds the policy from its name (a benchmark may add policies of its own).
    """
    engine = Engine(scenario, seed)
    pol = make(policy, scenario)
    end = engine.end_s
    t = 0.0
    while t < end:
        t = min(t + pol.period_s, end)
        engine.run_until(t)
        if t < end:
            moves = pol.decide(engine)
            if on_moves is not None:
                on_moves(t, moves)
            engine.apply_moves(moves)
        if progress is not None:
            progress(policy, t / end)
    trace = trace_of(engine, policy)
    predictions = getattr(pol, "predictions", None)
    if predictions is not None:
        trace.predictions = predictions()
    return trace, compute_kpis(trace, end)


def run_policies(
    scenario: Scenario,
    policies: list[str],
    seed: int | None = None,
    progress: Progress | None = None,
    make: PolicyFactory = make_policy,
) -> dict[str, tuple[SimTrace, DayKpis]]:
    """Each policy on the same seed, hence the same arrivals, handle times and patience."""
    return {p: run_policy(scenario, p, seed, progress, make=make) for p in policies}
