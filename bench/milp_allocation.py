"""What an integer program would cost for the allocation (issue 12 asked to measure it).

    nice .venv/bin/python bench/milp_allocation.py [--repeat 21] [--agents 1000] [--queues 10]

Takes the allocation problem ``plan_site`` builds for a synthetic site of ``bench/planner.py``
and solves it twice: with ``staffer.core.allocation.allocate`` (greedy augmenting paths) and
as a mixed-integer program with ``scipy.optimize.milp`` (HiGHS) over skill groups: integer
flows from each group of movers (same queue, same possible targets) to each target, each
queue's change split into unit increments priced by its objective curve, each move paying
``min_gain``, the move budget, and no agent taken from a queue that may not give. (The
release rule, chains' "middle gives one, gets one" and the set-level hysteresis are left
out: this is a timing comparison on the same curves.) Prints both times (median CPU ms) and
both objective improvements.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import planner as site_bench  # noqa: E402

import staffer.core.planner as core_planner  # noqa: E402
from staffer.core.allocation import Problem, allocate  # noqa: E402
from staffer.core.types import Controls  # noqa: E402
from staffer.settings import PlannerSettings  # noqa: E402


def capture(agents: int, queues: int) -> Problem:
    """The Problem ``plan_site`` hands to ``allocate`` on the synthetic site."""
    seen: list[Problem] = []
    real = core_planner.allocate

    def spy(p: Problem):  # type: ignore[no-untyped-def]
        seen.append(p)
        return real(p)

    site, state = site_bench.build(agents, queues)
    core_planner.allocate = spy  # type: ignore[assignment]
    try:
        core_planner.plan_site(site, PlannerSettings(), state, Controls(), {}, site_bench.NOW, "x")
    finally:
        core_planner.allocate = real
    return seen[0]


def milp_allocate(p: Problem) -> float:
    """Solve the allocation as an integer program; returns the objective improvement of
    the counts its flows give, priced on the true curves."""
    q, r = p.J.shape[0], p.reach
    groups: dict[tuple[int, frozenset[int]], int] = {}
    agent_dsts: dict[tuple[int, str], set[int]] = {}
    for (src, dst), movers in p.pools.items():
        for _, agent in movers:
            agent_dsts.setdefault((src, agent), set()).add(dst)
    for (src, _), dsts in agent_dsts.items():
        key = (src, frozenset(dsts))
        groups[key] = groups.get(key, 0) + 1
    arcs = [(g, src, d) for g, (src, dsts) in enumerate(groups) for d in sorted(dsts)]
    sizes = list(groups.values())
    n_flow, n_inc = len(arcs), q * r
    n = n_flow + 2 * n_inc  # flows, then unit additions, then unit removals per queue
    c = np.zeros(n)
    c[:n_flow] = p.min_gain
    lo, hi = np.zeros(n), np.ones(n)
    for qi in range(q):
        for k in range(r):
            add, rem = n_flow + qi * r + k, n_flow + n_inc + qi * r + k
            c[add] = p.J[qi, r + k + 1] - p.J[qi, r + k]  # negative: a gain
            c[rem] = p.J[qi, r - k - 1] - p.J[qi, r - k]  # positive: a loss
            hi[rem] = 1.0 if p.donor_ok[qi] else 0.0
    c = np.nan_to_num(c, posinf=1e6)
    rows, lb, ub = [], [], []
    for qi in range(q):  # flow balance: in - out = additions - removals
        row = np.zeros(n)
        for a, (_, src, d) in enumerate(arcs):
            row[a] += d == qi
            row[a] -= src == qi
        row[n_flow + qi * r : n_flow + (qi + 1) * r] = -1.0
        row[n_flow + n_inc + qi * r : n_flow + n_inc + (qi + 1) * r] = 1.0
        rows.append(row)
        lb.append(0.0)
        ub.append(0.0)
    for g, size in enumerate(sizes):  # each group gives at most its movers
        row = np.zeros(n)
        row[[a for a, arc in enumerate(arcs) if arc[0] == g]] = 1.0
        rows.append(row)
        lb.append(0.0)
        ub.append(float(size))
    budget = np.zeros(n)
    budget[:n_flow] = 1.0
    rows.append(budget)
    lb.append(0.0)
    ub.append(float(p.budget))
    hi[:n_flow] = [sizes[g] for g, _, _ in arcs]
    integrality = np.zeros(n)
    integrality[:n_flow] = 1
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lb, ub),
        integrality=integrality,
        bounds=Bounds(lo, hi),
    )
    if not res.success:
        return 0.0
    change = np.zeros(q, dtype=np.int64)  # the counts the flows give, priced on the true J
    for a, (_, src, d) in enumerate(arcs):
        f = round(float(res.x[a]))
        change[d] += f
        if src >= 0:
            change[src] -= f
    col = np.clip(r + change, 0, 2 * r)
    return float(p.J[np.arange(q), r].sum() - p.J[np.arange(q), col].sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--queues", type=int, default=10)
    args = ap.parse_args()
    p = capture(args.agents, args.queues)
    times: dict[str, list[float]] = {"greedy": [], "milp": []}
    gains: dict[str, float] = {}
    for _ in range(args.repeat):
        c0 = time.process_time()
        steps, col = allocate(p)
        times["greedy"].append((time.process_time() - c0) * 1000)
        rows = np.arange(p.J.shape[0])
        gains["greedy"] = float(p.J[rows, p.reach].sum() - p.J[rows, col].sum())
        c0 = time.process_time()
        gains["milp"] = milp_allocate(p)
        times["milp"].append((time.process_time() - c0) * 1000)
    print(
        f"allocation of {args.agents} agents x {args.queues} queues, budget {p.budget}, "
        f"{len(p.pools)} (from, to) pools, median of {args.repeat} runs (CPU ms):"
    )
    for name in ("greedy", "milp"):
        print(
            f"  {name:6s} {statistics.median(times[name]):8.2f} ms   objective improvement "
            f"{gains[name]:.4f}" + ("" if name == "milp" else f"  ({len(steps)} moves)")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
