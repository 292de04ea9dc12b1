"""Where staffer's moves go: classify every switch and credit it with the rescues it bought.

    nice -n 10 .venv/bin/python bench/moves.py [--seeds 12] [--jobs 2]
        [--scenarios surge,chat_campaign,above_forecast,normal]

Runs ``static`` and ``staffer`` on seeds 1..N and classifies staffer's switches (the
engine's move log: when an agent actually changed queue):

* ``pull``: into a real-time queue from email (or from no queue);
* ``release``: from a real-time queue back to email;
* ``rt->rt``: between real-time queues;
* ``chained``: the agent switches again within CHAIN_S (a second move of the same agent);
* ``reversed``: the agent returns to the queue it left within REVERSE_S;
* ``not short``: a pull or rt->rt whose destination's report interval (the switch's and the
  next) static met within 5 points on this seed (the interval would have met goal anyway).

A rescued interval (static missed by more than 5 points, staffer within 5 points) is
credited in equal shares to the switches into that queue from one interval before its start
to its end; ``rescues`` per class is the sum of those shares. Releases buy no rescue by this
measure; what they buy is email on time, printed beside them. It refuses the held-out days.

``--by-half-hour`` prints instead when the switches happen: pulls, releases and rt->rt per
half hour of the day, the drain after it included (the moves KPI counts the day's only).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import results  # noqa: E402

from staffer.sim.kpis import DayKpis, rescued_intervals, within_floor  # noqa: E402
from staffer.sim.run import run_policies, run_policy  # noqa: E402
from staffer.sim.scenario import load_scenario  # noqa: E402

CHAIN_S = 3600.0
REVERSE_S = 7200.0
CLASSES = ("pull", "release", "rt->rt", "chained", "reversed", "not short")
Row = tuple[Counter[str], Counter[str], float]  # counts, rescue credit, agent-hours


def _kind(src: str | None, dst: str, email: set[str]) -> str:
    """``pull``, ``release`` or ``rt->rt`` (the module docstring)."""
    if dst in email:
        return "release"
    return "pull" if src is None or src in email else "rt->rt"


def _tags(
    log: list[tuple[float, str, str, str]], email: set[str], static: DayKpis, width: float
) -> list[set[str]]:
    """The classes of each switch of ``log`` (sorted by time)."""
    by_agent: dict[str, list[tuple[float, str, str]]] = {}
    for t, a, s, d in log:
        by_agent.setdefault(a, []).append((t, s, d))
    tags: list[set[str]] = []
    for t, a, s, d in log:
        rt_dst = d not in email
        tag = {_kind(s, d, email)}
        later = [(u, d2) for u, _, d2 in by_agent[a] if u > t]
        if later and later[0][0] - t < CHAIN_S:
            tag.add("chained")
        if any(u - t < REVERSE_S and d2 == s for u, d2 in later):
            tag.add("reversed")
        if rt_dst:
            q = static.queues[d]
            i = int(t // width)
            seen = [v for v in q.interval_sl[i : i + 2] if v is not None]
            if seen and min(seen) >= within_floor(q):
                tag.add("not short")
        tags.append(tag)
    return tags


def _credit(
    log: list[tuple[float, str, str, str]],
    tags: list[set[str]],
    email: set[str],
    static: DayKpis,
    mine: DayKpis,
    width: float,
) -> Counter[str]:
    """Rescued intervals, each split among the switches into its queue nearby."""
    credit: Counter[str] = Counter()
    for qid, q in static.queues.items():
        if qid in email:
            continue
        for i in rescued_intervals(q, mine.queues[qid]):
            lo, hi = (i - 1) * width, (i + 1) * width
            into = [k for k, (t, _, _, d) in enumerate(log) if d == qid and lo <= t < hi]
            credit["rescued"] += 1
            for k in into:
                for c in tags[k]:
                    credit[c] += 1.0 / len(into)
            if not into:
                credit["no move"] += 1
    return credit


def classify(name: str, seed: int) -> Row:
    """Counts and rescue credit per class of one seed's staffer switches."""
    sc = load_scenario(name)
    runs = run_policies(sc, ["static", "staffer"], seed)
    (_, ks), (tr, kf) = runs["static"], runs["staffer"]
    width = sc.report_interval_s
    email = {q.id for q in sc.site.queues if q.channel == "email"}
    log = sorted(m for m in tr.move_log if m[0] < sc.day_s)
    tags = _tags(log, email, ks, width)
    counts: Counter[str] = Counter()
    for tag in tags:
        counts.update(tag)
    counts["all"] = len(log)
    return counts, _credit(log, tags, email, ks, kf, width), kf.agent_hours


def timing(name: str, seed: int) -> Counter[tuple[int, str]]:
    """(half hour from the day's start, pull / release / rt->rt) -> switches, drain included."""
    sc = load_scenario(name)
    tr, _ = run_policy(sc, "staffer", seed)
    email = {q.id for q in sc.site.queues if q.channel == "email"}
    out: Counter[tuple[int, str]] = Counter()
    for t, _a, s, d in tr.move_log:
        out[int(t // 1800), _kind(s, d, email)] += 1
    return out


def print_timing(names: list[str], seeds: int, jobs: int, start_h: float) -> None:
    work = [(n, s) for n in names for s in range(1, seeds + 1)]
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        out = list(ex.map(timing, *zip(*work, strict=True)))
    print(f"switches per half hour (start of the half hour), {seeds} seeds")
    for n in names:
        c: Counter[tuple[int, str]] = sum(
            (o for (m, _), o in zip(work, out, strict=True) if m == n), Counter()
        )
        slots = range(max(i for i, _ in c) + 1) if c else range(0)
        print(f"{n}: {sum(c.values())} switches")
        print("         " + " ".join(f"{start_h + i / 2:5.1f}" for i in slots))
        for kind in ("pull", "release", "rt->rt"):
            print(f"  {kind:7s}" + " ".join(f"{c[i, kind]:5d}" for i in slots))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scenarios", default="surge,chat_campaign,above_forecast,normal")
    ap.add_argument("--by-half-hour", action="store_true", help="when the switches happen")
    args = ap.parse_args()
    names = args.scenarios.split(",")
    if any(n in results.HELD_OUT for n in names):
        print("held-out scenarios are not for tuning", file=sys.stderr)
        return 2
    if args.by_half_hour:
        start = load_scenario(names[0]).start_ts % 86400 / 3600
        print_timing(names, args.seeds, args.jobs, start)
        return 0
    work = [(n, s) for n in names for s in range(1, args.seeds + 1)]
    with ProcessPoolExecutor(max_workers=args.jobs) as ex:
        out = list(ex.map(classify, *zip(*work, strict=True)))
    print(f"moves per class (share of all) and rescues credited, {args.seeds} seeds")
    for n in names:
        rows = [o for (m, _), o in zip(work, out, strict=True) if m == n]
        c: Counter[str] = sum((r[0] for r in rows), Counter())
        r: Counter[str] = sum((r[1] for r in rows), Counter())
        h = sum(r[2] for r in rows)
        print(f"{n}: {c['all']} moves, {c['all'] / h:.4f}/agent-hour, {r['rescued']} rescued")
        print(f"  (rescued with no switch into the queue nearby: {r['no move']:.0f})")
        for k in CLASSES:
            share = c[k] / c["all"] if c["all"] else 0.0
            per = r[k] / c[k] if c[k] else 0.0
            print(f"  {k:10s} {c[k]:5d} ({100 * share:4.1f}%) rescues {r[k]:6.1f} ({per:.3f}/move)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
