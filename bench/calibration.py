"""The transient predictor alone, against the simulator: model error without forecast error.

    nice .venv/bin/python bench/calibration.py [--seeds 5] [--scenarios surge,normal]

Runs each scenario under the static policy. At every 30-minute boundary it takes the
simulated site's state (contacts in service and waiting, the agents on shift and when they
leave or arrive) and the scenario's *true* arrival rates for the next half hour, predicts
the interval's service level with ``staffer.core.transient`` (chat with the AHT the forecast
file carries) and, for comparison, with the steady-state model at the interval's mean rate
and the agents on shift now; then compares both with the interval's realised service level.
Prints the mean absolute error and the mean bias (predicted - realised) per queue.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from staffer import models  # noqa: E402
from staffer.core.transient import Rows, predict  # noqa: E402
from staffer.sim.engine import Engine  # noqa: E402
from staffer.sim.kpis import compute_kpis  # noqa: E402
from staffer.sim.run import trace_of  # noqa: E402
from staffer.sim.scenario import Scenario, load_scenario  # noqa: E402

STEP_S = 60.0


def _predict(eng: Engine, sc: Scenario, qid: str, t: float) -> tuple[float, float]:
    """(transient, steady-state) service level of the 30 minutes from ``t``."""
    q = sc.site.queue(qid)
    assert q is not None
    cap = q.concurrency if q.channel == "chat" else 1
    agents = [a for a in eng.by_queue[qid] if a.online or (a.shift_start >= t and not a.outage)]
    steps = int(sc.report_interval_s / STEP_S)
    mids = t + STEP_S * (np.arange(steps) + 0.5)
    servers = np.array(
        [sum(1 for a in agents if a.shift_start <= m < a.shift_end) * cap for m in mids], float
    )
    rates_h = sc.demand[qid].rates_per_hour
    idx = np.minimum((mids // sc.profile_interval_s).astype(int), len(rates_h) - 1)
    rates = np.array(rates_h)[idx] / 3600.0
    aht = sc.aht_of(qid) * (1 + sc.demand[qid].chat_slowdown * (cap - 1) / 2)
    patience = sc.patience_of(qid) or math.inf
    x0 = sum(a.active for a in eng.by_queue[qid]) + eng.n_waiting[qid]
    one = lambda v: np.array([v], dtype=float)  # noqa: E731
    rows = Rows(
        rates[None, :],
        servers[None, :],
        one(x0),
        one(aht),
        one(patience),
        one(q.target_s),
        np.array([0]),
        np.full(steps, STEP_S),
    )
    steady = models.service_level(rates.mean(), aht, servers[0], q.target_s, patience=patience)
    return float(predict(rows).service_level[0]), float(steady)


def run(name: str, seed: int) -> dict[str, list[tuple[float, float, float]]]:
    """Per real-time queue: (transient, steady, realised) for every interval after the first."""
    sc = load_scenario(name)
    eng = Engine(sc, seed)
    width = sc.report_interval_s
    queues = [q.id for q in sc.site.queues if q.channel != "email"]
    preds: list[tuple[int, dict[str, tuple[float, float]]]] = []
    t = width
    while t < sc.day_s:
        eng.run_until(t)
        preds.append((int(t // width), {q: _predict(eng, sc, q, t) for q in queues}))
        t += width
    eng.run_until(eng.end_s)
    k = compute_kpis(trace_of(eng, "static"), eng.end_s)
    out: dict[str, list[tuple[float, float, float]]] = {q: [] for q in queues}
    for i, row in preds:
        for q in queues:
            real = k.queues[q].interval_sl[i]
            if real is not None:
                out[q].append((*row[q], real))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--scenarios", default="normal,surge,chat_campaign,above_forecast")
    args = ap.parse_args()
    print("scenario        queue  transient MAE  steady MAE  transient bias")
    for name in args.scenarios.split(","):
        rows: dict[str, list[tuple[float, float, float]]] = {}
        for seed in range(1, args.seeds + 1):
            for q, vals in run(name, seed).items():
                rows.setdefault(q, []).extend(vals)
        for q, vals in rows.items():
            a = np.array(vals)
            err_t, err_s = a[:, 0] - a[:, 2], a[:, 1] - a[:, 2]
            print(
                f"{name:15s} {q:6s} {np.abs(err_t).mean():13.3f} {np.abs(err_s).mean():11.3f}"
                f" {err_t.mean():+15.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
