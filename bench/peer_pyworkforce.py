"""Time pyworkforce 0.5.4 calls inside its own interpreter (run by bench/models.py).

Usage: ``.venv-peer/bin/python bench/peer_pyworkforce.py < cases.json``. Reads a JSON list
of cases, each ``{"id", "func": "p_wait" | "service_level" | "required", "rate", "aht",
"agents", "target", "sl", "patience" (or null), "max_abandon"}`` in SI units (per second,
seconds), and prints one JSON line per case: ``{"id", "value", "median_s", "reps"}`` or
``{"id", "timeout_s", "lower_bound_s"}`` when one call exceeded the wall-time cap.
Times are CPU seconds of this process (``"clock": "cpu"``, the default; robust on a
shared machine) or wall seconds.
Each timed call includes building the pyworkforce object (its API needs one per queue);
units are converted to its per-interval minutes (interval = 60 min). Standard library +
pyworkforce only.
"""

from __future__ import annotations

import json
import signal
import statistics
import sys
import time

from pyworkforce.queuing import ErlangA, ErlangC


class CallTimeout(Exception):
    """Raised by SIGALRM when one peer call runs past the cap."""


def _alarm(signum: int, frame: object) -> None:
    raise CallTimeout


def make_call(case: dict):
    """Return a zero-argument callable computing the case's value with pyworkforce."""
    interval = 60.0
    kw = {
        "transactions": case["rate"] * 3600.0,
        "aht": case["aht"] / 60.0,
        "asa": case["target"] / 60.0,
        "interval": interval,
    }
    n = int(case["agents"]) if case.get("agents") is not None else None
    if case.get("patience") is None:
        if case["func"] == "p_wait":
            return lambda: ErlangC(**kw).waiting_probability(n)
        if case["func"] == "service_level":
            return lambda: ErlangC(**kw).service_level(n)
        return lambda: ErlangC(**kw).required_positions(case["sl"])["raw_positions"]
    kw["patience"] = case["patience"] / 60.0
    if case["func"] == "p_wait":
        return lambda: ErlangA(**kw).waiting_probability(n)
    if case["func"] == "service_level":
        return lambda: ErlangA(**kw).service_level(n)
    return lambda: ErlangA(**kw).required_positions(
        case["sl"], max_abandonment=case["max_abandon"]
    )["raw_positions"]


def run_case(case: dict, cap_s: float, budget_s: float, max_reps: int, cpu: bool = True) -> dict:
    """Median time per call (CPU or wall): one call first, more only while cheap."""
    call = make_call(case)
    times: list[float] = []
    value = None
    clock = time.process_time if cpu else time.perf_counter
    # The cap is wall time: an armed ITIMER_PROF makes Linux account process CPU time
    # in ticks, which would zero out short CPU-time measurements.
    timer = signal.ITIMER_REAL
    signal.signal(signal.SIGALRM, _alarm)
    t0 = clock()
    try:
        spent = 0.0
        while len(times) < max_reps and (not times or spent + times[-1] < budget_s):
            signal.setitimer(timer, cap_s)
            t0 = clock()
            value = call()
            dt = clock() - t0
            signal.setitimer(timer, 0)
            times.append(dt)
            spent += dt
    except CallTimeout:  # lower_bound_s: time (on our clock) the unfinished call used
        return {"id": case["id"], "timeout_s": cap_s, "lower_bound_s": clock() - t0}
    except Exception as err:  # report, do not die: the parent prints it in the table
        signal.setitimer(timer, 0)
        return {"id": case["id"], "error": f"{type(err).__name__}: {err}"}
    return {
        "id": case["id"],
        "value": float(value),
        "median_s": statistics.median(times),
        "reps": len(times),
    }


def main() -> None:
    spec = json.load(sys.stdin)
    for case in spec["cases"]:
        out = run_case(
            case,
            spec.get("cap_s", 20.0),
            spec.get("budget_s", 1.0),
            spec.get("max_reps", 200),
            spec.get("clock", "cpu") == "cpu",
        )
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
