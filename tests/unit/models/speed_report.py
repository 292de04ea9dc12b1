"""CPU time of typical staffer.models calls (a script, not a test: no timing asserts).

Run: ``.venv/bin/python -m tests.unit.models.speed_report``. Reports the best of several
runs in process CPU time (robust to other processes sharing the machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from staffer import models as m


def best_cpu(fn: Callable[[], object], repeat: int) -> float:
    """Best process CPU time of ``fn`` over ``repeat`` runs, in seconds."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def per_call(fn: Callable[[], object], calls: int = 2000) -> float:
    """Mean CPU seconds per call over ``calls`` calls (best of 3 batches)."""
    return best_cpu(lambda: [fn() for _ in range(calls)], 3) / calls


def main() -> None:
    rng = np.random.default_rng(0)
    load = np.exp(rng.uniform(0.0, np.log(1e4), 10_000))
    aht = 300.0
    rate = load / aht
    n = np.ceil(load * 1.05)
    rows = [
        ("erlang_b scalar (A=10, N=12)", per_call(lambda: m.erlang_b(10.0, 12)), "us"),
        ("erlang_c scalar (A=10, N=12)", per_call(lambda: m.erlang_c(10.0, 12)), "us"),
        (
            "service_level scalar, Erlang C",
            per_call(lambda: m.service_level(0.07, 240, 20, 20)),
            "us",
        ),
        (
            "service_level scalar, Erlang A",
            per_call(lambda: m.service_level(0.07, 240, 20, 20, 60)),
            "us",
        ),
        ("asa scalar, Erlang A", per_call(lambda: m.asa(0.07, 240, 20, 60)), "us"),
        (
            "required_agents scalar, Erlang C",
            per_call(lambda: m.required_agents(0.07, 240, 20, 0.8), 500),
            "us",
        ),
        (
            "required_agents scalar, Erlang A",
            per_call(lambda: m.required_agents(0.07, 240, 20, 0.8, 60), 500),
            "us",
        ),
        (
            "service_level 10k queues, Erlang C",
            best_cpu(lambda: m.service_level(rate, aht, n, 20.0), 5),
            "ms",
        ),
        (
            "service_level 10k queues, Erlang A",
            best_cpu(lambda: m.service_level(rate, aht, n, 20.0, 120.0), 5),
            "ms",
        ),
        (
            "required_agents 10k queues (1..1e4 Erl), Erlang C",
            best_cpu(lambda: m.required_agents(rate, aht, 20.0, 0.8), 5),
            "ms",
        ),
        (
            "required_agents 10k queues (1..1e4 Erl), Erlang A",
            best_cpu(lambda: m.required_agents(rate, aht, 20.0, 0.8, 120.0), 3),
            "ms",
        ),
        (
            "required_agents_asa 10k queues, Erlang C",
            best_cpu(lambda: m.required_agents_asa(rate, aht, 15.0), 5),
            "ms",
        ),
        (
            "required_agents_asa 10k queues, Erlang A",
            best_cpu(lambda: m.required_agents_asa(rate, aht, 15.0, 120.0), 3),
            "ms",
        ),
    ]
    for name, secs, unit in rows:
        scale = 1e6 if unit == "us" else 1e3
        print(f"{name:52s} {secs * scale:8.1f} {unit}")


if __name__ == "__main__":
    main()
