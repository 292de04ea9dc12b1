"""A fast iteration loop for planner work: the busy scenarios on a few seeds, the targets.

    nice -n 10 .venv/bin/python bench/quick.py [--seeds 8] [--jobs 2]
        [--scenarios surge,chat_campaign,above_forecast,normal,quiet]

Runs ``static`` and ``staffer`` only (today's planner is slow to load and its numbers are
fixed: the moves-per-agent-hour goal uses today's 30-seed means from docs/results.md) on
seeds 1..N and prints, per scenario, the issue-12 measures: rescued phone and chat
intervals, email on time (worst seed), email open at close (mean; static's beside it),
reversals, moves per agent-hour (and the 0.6x goal), predicted-SL MAE phone and chat.
Not for results tables (8 seeds are +-5 points of noise): bench/results.py is. It refuses
the held-out scenarios (``results.HELD_OUT``: ``lunch_rush``, ``afternoon_incident``):
they are for bench/results.py only, never for tuning.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import results  # noqa: E402

from staffer.sim.kpis import DayKpis  # noqa: E402
from staffer.sim.run import run_policies  # noqa: E402
from staffer.sim.scenario import load_scenario  # noqa: E402

BUSY = ("surge", "chat_campaign", "above_forecast", "normal", "quiet")
# today's planner (9053a57), 30 seeds, docs/results.md of iteration 1
TODAY_MPAH = {"normal": 0.0361, "surge": 0.0857, "chat_campaign": 0.0752, "above_forecast": 0.155}


def one(args: tuple[str, int]) -> tuple[str, int, dict[str, DayKpis]]:
    name, seed = args
    sc = load_scenario(name)
    runs = run_policies(sc, ["static", "staffer"], seed)
    return name, seed, {p: k for p, (_, k) in runs.items()}


def report(name: str, r: dict[str, list[DayKpis]]) -> str:
    resc = [results._share(results.rescued(r, "staffer", q)) for q in ("phone", "chat")]
    worst = min(results.finite([k.queues["email"].on_time for k in r["staffer"]]))
    carry = results.mean_of(r, "staffer", results.carry)
    carry0 = results.mean_of(r, "static", results.carry)
    rv = results.reversal_share(r, "staffer")
    m = results.mean_of(r, "staffer", results.mpah)
    goal = 0.6 * TODAY_MPAH[name] if name in TODAY_MPAH else 0.01
    e = [results.mae(r, "staffer", q) for q in ("phone", "chat")]
    return (
        f"{name:15s} rescued phone {resc[0]:>13s} chat {resc[1]:>13s} | email worst "
        f"{100 * worst:5.1f}% open {carry:5.1f} (static {carry0:.1f}) | rev {100 * rv:4.1f}% "
        f"| mpah {m:.4f} (goal {goal:.4f}) | MAE {e[0]:.3f} {e[1]:.3f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scenarios", default=",".join(BUSY))
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="MODULE.NAME=VALUE",
        help="override a module constant for this run (e.g. staffer.core.planner.SLOPE=0.1)",
    )
    args = ap.parse_args()
    for item in args.set:  # the workers are forked: they inherit the overrides
        key, value = item.split("=", 1)
        mod, name = key.rsplit(".", 1)
        setattr(importlib.import_module(mod), name, float(value))
    names = args.scenarios.split(",")
    held = [n for n in names if n in results.HELD_OUT]
    if held:
        print(f"{', '.join(held)}: held out, not for tuning", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    res: dict[str, dict[str, list[DayKpis]]] = {n: {"static": [], "staffer": []} for n in names}
    work = [(n, s) for n in names for s in range(1, args.seeds + 1)]
    with ProcessPoolExecutor(max_workers=args.jobs) as ex:
        done = sorted(ex.map(one, work), key=lambda x: (names.index(x[0]), x[1]))
    for name, _, ks in done:
        for p, k in ks.items():
            res[name][p].append(k)
    for name in names:
        print(report(name, res[name]))
    print(f"({args.seeds} seeds, {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
