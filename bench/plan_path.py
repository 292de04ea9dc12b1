"""Where a plan's CPU goes, in-process, on the daemon's own plan_site inputs.

Capture them from a latency run (the trace hooks pickle every ``plan_site`` call):

    STAFFER_BENCH_TRACE=/tmp/t STAFFER_BENCH_CAPTURE=/tmp/t/inputs.pkl \\
        .venv/bin/python bench/daemon.py --only latency --quick
    .venv/bin/python bench/plan_path.py /tmp/t/inputs.pkl [--profile]

Prints the plan time (p50, p90, max, mean) over the captured calls, then each part of
``plan_site`` (forecast, roster, real-time curves and their transient model, email,
allocation), timed by wrapping the functions ``staffer.core.planner`` calls.
"""

from __future__ import annotations

import argparse
import cProfile
import pickle
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from staffer.core import planner, realtime

PARTS = (
    (planner, "forecast_queue"),
    (planner, "build_roster"),
    (planner, "realtime_curves"),
    (realtime, "evaluate"),  # the transient model, inside realtime_curves
    (planner, "email_curves"),
    (planner, "allocate"),
)


def _timed(spent: Counter[str], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            spent[name] += time.perf_counter() - t

    return wrapper


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", type=Path, help="a STAFFER_BENCH_CAPTURE file")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="also a cProfile, by own time")
    args = ap.parse_args()
    calls = [pickle.loads(b) for b in pickle.loads(args.inputs.read_bytes())]
    for call in calls:  # warm-up
        planner.plan_site(*call)
    times = []
    for _ in range(args.rounds):
        for call in calls:
            t = time.perf_counter()
            planner.plan_site(*call)
            times.append(time.perf_counter() - t)
    times.sort()
    n = len(times)
    print(
        f"{len(calls)} plans x {args.rounds}: plan_site p50 {1e3 * times[n // 2]:.2f} ms, "
        f"p90 {1e3 * times[int(0.9 * n)]:.2f}, max {1e3 * times[-1]:.2f}, "
        f"mean {1e3 * sum(times) / n:.2f}"
    )
    spent: Counter[str] = Counter()
    originals = [(mod, name, getattr(mod, name)) for mod, name in PARTS]
    for mod, name, fn in originals:
        setattr(mod, name, _timed(spent, name, fn))
    try:
        for call in calls:
            planner.plan_site(*call)
    finally:
        for mod, name, fn in originals:
            setattr(mod, name, fn)
    for name, s in spent.most_common():
        print(f"  {name:16s} {1e6 * s / len(calls):7.0f} us per plan")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(lambda: [planner.plan_site(*c) for c in calls])
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
