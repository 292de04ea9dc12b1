"""A diagnostic: the planner with the true arrival rates instead of its forecast.

    nice .venv/bin/python bench/oracle.py [--seeds 8] [--scenarios surge,chat_campaign]

Every forecast the planner makes is replaced by the scenario's actual rates over the same
steps (no uncertainty), everything else unchanged; the rescued intervals, moves and email
left open are then what the planning machinery achieves when forecasting is perfect, and
knows a surge before it starts. It separates what the forecast costs from what allocation
and the email rules cost. Not a policy: the daemon cannot know the future.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import results  # noqa: E402

import staffer.core.planner as core_planner  # noqa: E402
from staffer.sim.run import run_policies  # noqa: E402
from staffer.sim.scenario import Scenario, load_scenario  # noqa: E402


def true_rates(sc: Scenario, qid: str, now: float, edges: np.ndarray) -> np.ndarray:
    """The scenario's mean arrival rate in each step [now + edges[i], now + edges[i+1])."""
    per_h = np.array(sc.demand[qid].rates_per_hour) / 3600.0
    t = now - sc.start_ts + (edges[:-1] + edges[1:]) / 2
    i = np.clip((t // sc.profile_interval_s).astype(int), 0, per_h.size - 1)
    return np.where((t >= 0) & (t < sc.day_s), per_h[i], 0.0)


def with_true_rates(sc: Scenario):  # type: ignore[no-untyped-def]
    real = core_planner.forecast_queue

    def oracle(q, planner, estimate, latest, history, now, schedule, edges, ahead):  # type: ignore[no-untyped-def]
        f = real(q, planner, estimate, latest, history, now, schedule, edges, ahead)
        steps, later = true_rates(sc, q.id, now, edges), true_rates(sc, q.id, now, ahead)
        lengths = np.diff(edges)
        rate = float(steps @ lengths / lengths.sum())
        return dataclasses.replace(
            f, step_rates=steps, ahead_rates=later, arrival_rate=rate, rel_sd=0.0, shift=False
        )

    return oracle


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--scenarios", default="surge,chat_campaign,above_forecast")
    args = ap.parse_args()
    real = core_planner.forecast_queue
    for name in args.scenarios.split(","):
        sc = load_scenario(name)
        core_planner.forecast_queue = with_true_rates(sc)
        try:
            res: dict[str, list] = {"static": [], "staffer": []}  # type: ignore[type-arg]
            for seed in range(1, args.seeds + 1):
                runs = run_policies(sc, ["static", "staffer"], seed)
                for p in res:
                    res[p].append(runs[p][1])
        finally:
            core_planner.forecast_queue = real
        rescued = [results._share(results.rescued(res, "staffer", q)) for q in ("phone", "chat")]
        print(
            f"{name:15s} true rates: phone rescued {rescued[0]}, chat rescued {rescued[1]}, "
            f"moves/agent-hour {results.mean_of(res, 'staffer', results.mpah):.3f}, "
            f"email open at close {results.mean_of(res, 'staffer', results.carry):.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
