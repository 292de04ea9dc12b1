"""Do two revisions of the planner make bit-identical plans? Replays captured plan cycles.

Run: ``.venv/bin/python bench/plan_identity.py [--baseline REF] [--rounds N]`` (default
baseline: the branch point, ``git merge-base HEAD main``).

1. Capture: simulate a few scenarios (``staffer/sim/scenarios``) under the staffer policy
   and pickle the exact ``plan_site`` inputs of every plan cycle (once, cached in
   ``--capture``; ``--recapture`` to redo).
2. Replay: a child process per revision runs ``plan_site`` on every captured input: the
   baseline from ``git archive REF`` unpacked into a temporary directory, the candidate
   from this working tree (each first on ``PYTHONPATH``). A child prints, per plan, the
   SHA-256 of ``repr(plan)`` (floats' repr round-trips, so equal digests mean equal
   fields) and its time; the two children alternate ``--rounds`` times so a loaded
   machine slows both alike.

Reports identical/different counts (exit status 1 on any difference) and the time ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("normal", "lunch_rush", "surge", "afternoon_incident", "chat_campaign")


def capture(out: Path, scenarios: list[str], seeds: list[int]) -> int:
    """Simulate ``scenarios`` x ``seeds``; pickle every plan_site call's inputs to ``out``."""
    sys.path.insert(0, str(ROOT))  # this tree's staffer, not the installed one
    import staffer
    from staffer.core.planner import plan_site
    from staffer.sim.policies import StafferPolicy
    from staffer.sim.run import run_policy
    from staffer.sim.scenario import Scenario, load_scenario

    print(f"  simulating with {staffer.__file__}", file=sys.stderr, flush=True)
    calls: list[bytes] = []

    def recording(*args: Any) -> Any:
        calls.append(pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL))
        return plan_site(*args)

    def make(name: str, sc: Scenario) -> StafferPolicy:
        return StafferPolicy(sc, plan_fn=recording)

    for name in scenarios:
        sc = load_scenario(ROOT / "staffer" / "sim" / "scenarios" / f"{name}.toml")
        for seed in seeds:
            t = time.perf_counter()
            before = len(calls)
            run_policy(sc, "staffer", seed, make=make)
            print(
                f"  captured {name} seed {seed}: {len(calls) - before} plans "
                f"({time.perf_counter() - t:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    out.write_bytes(pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL))
    return len(calls)


def replay(inputs: Path) -> None:
    """Child mode: one JSON line of per-plan digests and seconds, for the staffer imported."""
    import staffer
    from staffer.core.planner import plan_site

    calls = [pickle.loads(b) for b in pickle.loads(inputs.read_bytes())]
    for c in calls[:50]:  # warm-up (imports, caches of the first settings seen)
        plan_site(*pickle.loads(pickle.dumps(c)))
    digests, secs = [], []
    for c in calls:
        t = time.perf_counter()
        plan = plan_site(*c)
        secs.append(time.perf_counter() - t)
        digests.append(hashlib.sha256(repr(plan).encode()).hexdigest())
    print(json.dumps({"file": staffer.__file__, "digests": digests, "secs": secs}))


def baseline_tree(ref: str, into: Path) -> Path:
    """``git archive ref`` unpacked under ``into``; returns the tree's root."""
    tar = subprocess.run(
        ["git", "archive", ref, "staffer"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(into, filter="data")
    return into


def child(tree: Path, inputs: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--replay", str(inputs)]
    out = subprocess.run(cmd, cwd=tree, env=env, check=True, capture_output=True, text=True)
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if not res["file"].startswith(str(tree)):
        raise SystemExit(f"child imported {res['file']}, not the tree {tree}")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--baseline", help="git revision to compare with (default: merge-base of HEAD, main)"
    )
    ap.add_argument("--capture", type=Path, default=Path("/tmp/staffer_plan_inputs.pkl"))
    ap.add_argument("--recapture", action="store_true", help="simulate again")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--seeds", default="1,2", help="comma-separated simulator seeds")
    ap.add_argument("--rounds", type=int, default=3, help="alternating replays per side")
    ap.add_argument("--replay", type=Path, help=argparse.SUPPRESS)  # child mode
    args = ap.parse_args()
    if args.replay:
        replay(args.replay)
        return 0
    if args.baseline is None:
        args.baseline = subprocess.run(
            ["git", "merge-base", "HEAD", "main"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()[:12]
    if args.recapture or not args.capture.exists():
        print(f"capturing plan inputs into {args.capture}", file=sys.stderr, flush=True)
        n = capture(
            args.capture, args.scenarios.split(","), [int(s) for s in args.seeds.split(",")]
        )
        print(f"{n} plan cycles captured", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="plan_identity_") as tmp:
        base = baseline_tree(args.baseline, Path(tmp))
        sums: dict[str, list[float]] = {"baseline": [], "tree": []}
        per_plan: dict[str, list[list[float]]] = {"baseline": [], "tree": []}
        digests: dict[str, list[str]] = {}
        for r in range(args.rounds):
            for side, tree in (("baseline", base), ("tree", ROOT)):
                res = child(tree, args.capture)
                if side in digests and digests[side] != res["digests"]:
                    print(f"  {side} is not deterministic between rounds!", file=sys.stderr)
                digests[side] = res["digests"]
                sums[side].append(sum(res["secs"]))
                per_plan[side].append(res["secs"])
                print(
                    f"  round {r + 1}/{args.rounds} {side:8s}: "
                    f"{1e3 * sum(res['secs']) / len(res['secs']):.3f} ms per plan",
                    file=sys.stderr,
                    flush=True,
                )
    b, t = digests["baseline"], digests["tree"]
    same = sum(x == y for x, y in zip(b, t, strict=True))
    n = len(b)
    print(f"identity vs {args.baseline}: {same}/{n} plans identical, {n - same} different")
    if same < n:
        first = [i for i in range(n) if b[i] != t[i]][:10]
        print(f"  first differing plan indices: {first}")
    mb = statistics.median(sums["baseline"]) / n
    mt = statistics.median(sums["tree"]) / n
    ratios = [
        statistics.median(tp / bp for tp, bp in zip(ts, bs, strict=True) if bp > 0)
        for ts, bs in zip(per_plan["tree"], per_plan["baseline"], strict=True)
    ]
    print(
        f"mean plan_site time (median of {args.rounds} rounds): baseline {1e3 * mb:.3f} ms, "
        f"tree {1e3 * mt:.3f} ms, ratio {mt / mb:.3f}; median per-plan ratio by round: "
        + ", ".join(f"{x:.3f}" for x in ratios)
    )
    return 0 if same == n else 1


if __name__ == "__main__":
    raise SystemExit(main())
