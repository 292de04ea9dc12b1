"""Benchmark the pure planning core: plan_site time versus site size, and ingest throughput.

Run: ``nice .venv/bin/python bench/planner.py [--repeat N] [--json] [--baseline REF]``.
Synthetic sites have ``queues`` queues (voice, chat and email in turn), agents skilled for
2-3 queues, a load that leaves some queues short and others with slack (so the planner has
real work), and the default guardrails. Each size times today's planner (git revision
``--baseline``, loaded by ``bench/legacy.py``) and the current one in alternating runs of
the same process, so a loaded machine slows both alike; reports medians and p90 of wall
time and the process's CPU time. Goals: 1,000 agents x 10 queues <= 10 ms (issue 12), and
>= 10,000 snapshots/s ingested.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from legacy import LEGACY_REF, load_plan_site

from staffer.core.planner import plan_site
from staffer.core.state import SiteState
from staffer.core.types import AgentState, Controls, Plan, QueueSnapshot
from staffer.settings import PlannerSettings, QueueSettings, SiteSettings

SIZES = [(100, 3), (500, 5), (1000, 10), (2000, 20), (5000, 40)]
NOW = 1_795_000_000.0
CHANNELS = ("voice", "chat", "email")
GOAL, GOAL_MS = (1000, 10), 10.0


def build(agents: int, queues: int, seed: int = 1) -> tuple[SiteSettings, SiteState]:
    """A synthetic site: per-queue load proportional to its share of skilled agents, +-40%."""
    rnd = random.Random(seed)
    qs = []
    for i in range(queues):
        ch = CHANNELS[i % 3]
        qs.append(
            QueueSettings(
                id=f"q{i:02d}",
                channel=ch,
                aht_s={"voice": 240.0, "chat": 480.0}.get(ch, 360.0),
                target_s=14400.0 if ch == "email" else (60.0 if ch == "chat" else 20.0),
                concurrency=2 if ch == "chat" else 1,
                patience_s=120.0 if i % 6 == 3 else None,
            )
        )
    site = SiteSettings(id="bench", queues=qs)
    state = SiteState("bench")
    per_queue = agents / queues
    for q in qs:
        erlangs = per_queue * 0.85 * rnd.uniform(0.6, 1.4)
        offered = max(1, round(erlangs / q.aht_s * 300.0 * q.concurrency))
        for k in range(6):
            state.apply_snapshot(
                q.id,
                QueueSnapshot(
                    ts=NOW - 300.0 * (5 - k),
                    interval_s=300.0,
                    offered=offered,
                    waiting=rnd.randint(0, 5),
                    aht_s=q.aht_s,
                    backlog=rnd.randint(0, 200),
                    oldest_age_s=float(rnd.randint(0, 7200)),
                ),
            )
    ids = [q.id for q in qs]
    statuses = ("available", "busy", "busy", "busy", "wrap_up", "break")
    for a in range(agents):
        home = ids[a % queues]
        skills = frozenset({home, *rnd.sample(ids, k=min(2, queues))})
        state.apply_agent(
            AgentState(
                f"a{a:05d}",
                NOW - 7200.0,
                rnd.choice(statuses),  # type: ignore[arg-type]
                home,
                skills,
            )
        )
    return site, state


def _stats(wall: list[float], cpu: list[float]) -> dict[str, float]:
    wall = sorted(wall)
    return {
        "median_ms": statistics.median(wall),
        "p90_ms": wall[int(0.9 * (len(wall) - 1))],
        "cpu_median_ms": statistics.median(cpu),
    }


def time_plan(
    agents: int, queues: int, repeat: int, planners: dict[str, Callable[..., Plan]]
) -> dict[str, object]:
    """Each planner ``repeat`` times on one site, in alternating order."""
    site, state = build(agents, queues)
    pl = PlannerSettings()
    controls = Controls()
    moves = {
        name: len(fn(site, pl, state, controls, {}, NOW, "warm-up").moves)
        for name, fn in planners.items()
    }
    wall: dict[str, list[float]] = {n: [] for n in planners}
    cpu: dict[str, list[float]] = {n: [] for n in planners}
    for _ in range(repeat):
        for name, fn in planners.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn(site, pl, state, controls, {}, NOW, "bench")
            wall[name].append((time.perf_counter() - t0) * 1000.0)
            cpu[name].append((time.process_time() - c0) * 1000.0)
    out: dict[str, object] = {"agents": agents, "queues": queues}
    for name in planners:
        out[name] = {**_stats(wall[name], cpu[name]), "moves": moves[name]}
    return out


def ingest_rate(n: int = 200_000, queues: int = 20) -> dict[str, float]:
    """Snapshots and agent states applied per second (pre-built messages, one site)."""
    state = SiteState("bench")
    snaps = [
        QueueSnapshot(
            ts=NOW + i,
            interval_s=60.0,
            offered=i % 17,
            waiting=i % 5,
            answered=i % 13,
            abandoned=i % 3,
            aht_s=200.0,
        )
        for i in range(n)
    ]
    names = [f"q{i % queues:02d}" for i in range(n)]
    t0 = time.perf_counter()
    for q, s in zip(names, snaps, strict=True):
        state.apply_snapshot(q, s)
    snap_rate = n / (time.perf_counter() - t0)
    people = [
        AgentState(f"a{i % 2000:05d}", NOW + i, "busy", f"q{i % 7:02d}", frozenset({"q00"}))
        for i in range(n)
    ]
    t0 = time.perf_counter()
    for a in people:
        state.apply_agent(a)
    return {"snapshots_per_s": snap_rate, "agent_states_per_s": n / (time.perf_counter() - t0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=31, help="timed runs per size (median)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--baseline", default=LEGACY_REF, help="git revision of `today`")
    args = ap.parse_args()
    planners = {"today": load_plan_site(args.baseline), "staffer": plan_site}
    rows = [time_plan(a, q, args.repeat, planners) for a, q in SIZES]
    ingest = ingest_rate()
    if args.json:
        print(json.dumps({"plan": rows, "ingest": ingest}))
        return 0
    print(
        f"plan_site, median of {args.repeat} runs each, today ({args.baseline}) and staffer "
        f"(goal: {GOAL[0]} agents x {GOAL[1]} queues <= {GOAL_MS} ms)"
    )
    print(
        f"{'agents':>7} {'queues':>6} | {'today ms':>8} {'cpu':>6} {'moves':>5} | "
        f"{'staffer ms':>10} {'p90':>6} {'cpu':>6} {'moves':>5} | {'cpu ratio':>9}"
    )
    for r in rows:
        t, n = r["today"], r["staffer"]
        ratio = n["cpu_median_ms"] / t["cpu_median_ms"]
        print(
            f"{r['agents']:>7} {r['queues']:>6} | {t['median_ms']:>8.2f} "
            f"{t['cpu_median_ms']:>6.2f} {t['moves']:>5} | {n['median_ms']:>10.2f} "
            f"{n['p90_ms']:>6.2f} {n['cpu_median_ms']:>6.2f} {n['moves']:>5} | {ratio:>9.2f}"
        )
    print(
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall times "
        "include waiting for a CPU; 'cpu' is this process's CPU time)"
    )
    print(
        f"ingest: {ingest['snapshots_per_s']:,.0f} snapshots/s, "
        f"{ingest['agent_states_per_s']:,.0f} agent states/s (goal >= 10,000/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
