"""Multi-seed simulation results for docs/results.md (not part of the test suite).

    .venv/bin/python bench/results.py [--seeds 10] [--scenarios surge,quiet] [--out docs]

Runs every bundled scenario (except ``short``) under the three policies on seeds
1..N (each seed: identical contacts for the three policies), writes
``docs/results.md`` with mean and spread of every KPI, the goal checks and one chart per
scenario under ``docs/img/`` (``--json FILE``: the raw per-seed KPIs too).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from staffer.sim.kpis import DayKpis, rescue_share  # noqa: E402
from staffer.sim.plot import plot_day  # noqa: E402
from staffer.sim.policies import POLICIES  # noqa: E402
from staffer.sim.run import run_policies  # noqa: E402
from staffer.sim.scenario import load_scenario  # noqa: E402

SCENARIOS = ("normal", "surge", "chat_campaign", "above_forecast", "quiet")
NOTES_MARKER = "<!-- notes: hand-written below this line; bench/results.py keeps it -->"


def spread(xs: list[float]) -> str:
    """'mean ± sd' of the finite values."""
    v = [x for x in xs if x is not None and math.isfinite(x)]
    if not v:
        return "-"
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    m = statistics.mean(v)
    if abs(m) >= 100:
        return f"{m:.0f} ± {sd:.0f}"
    return f"{m:.3g} ± {sd:.2g}"


def pct(xs: list[float]) -> str:
    """'mean ± sd' of the finite values, in percent."""
    v = [x for x in xs if x is not None and math.isfinite(x)]
    if not v:
        return "-"
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{100 * statistics.mean(v):.1f} ± {100 * sd:.1f}"


def run_all(
    scenarios: list[str], seeds: list[int], img: Path, log: bool = True
) -> dict[str, dict[str, list[DayKpis]]]:
    """scenario -> policy -> KPIs per seed; writes one chart per scenario (first seed)."""
    out: dict[str, dict[str, list[DayKpis]]] = {}
    for name in scenarios:
        sc = load_scenario(name)
        out[name] = {p: [] for p in POLICIES}
        for seed in seeds:
            t0 = time.perf_counter()
            runs = run_policies(sc, list(POLICIES), seed)
            for p, (_, k) in runs.items():
                out[name][p].append(k)
            if seed == seeds[0]:
                plot_day({p: k for p, (_, k) in runs.items()}, sc, img / f"{name}.png")
            if log:
                print(
                    f"{name} seed {seed}: {time.perf_counter() - t0:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    return out


def kpi_table(name: str, res: dict[str, list[DayKpis]]) -> list[str]:
    """Markdown table: one row per queue and policy, mean ± sd over seeds."""
    lines = [
        "| queue | policy | SL / on-time % | ASA s | abandon % | 30-min met % | within 5 pt % |",
        "|---|---|---|---|---|---|---|",
    ]
    queues = list(res["static"][0].queues)
    for q in queues:
        for p in POLICIES:
            ks = [k.queues[q] for k in res[p]]
            email = ks[0].channel == "email"
            lines.append(
                f"| {q} | {p} | {pct([k.service_level for k in ks])} "
                f"| {spread([k.asa_s for k in ks])} "
                f"| {'-' if email else pct([k.abandon_ratio for k in ks])} "
                f"| {pct([k.intervals_met for k in ks])} "
                f"| {pct([k.intervals_within_5pt for k in ks])} |"
            )
    lines.append("")
    lines.append("| policy | moves per day | moves per agent-hour |")
    lines.append("|---|---|---|")
    for p in POLICIES:
        lines.append(
            f"| {p} | {spread([k.moves for k in res[p]])} "
            f"| {spread([k.moves_per_agent_hour for k in res[p]])} |"
        )
    return lines


def goals(name: str, res: dict[str, list[DayKpis]]) -> tuple[list[str], dict[str, object]]:
    """Goal checks for one scenario: rescued intervals, email, moves per agent-hour."""
    lines: list[str] = []
    summary: dict[str, object] = {}
    for q in ("phone", "chat"):
        missed = ok = 0
        for st, sf in zip(res["static"], res["staffer"], strict=True):
            n, share = rescue_share(st.queues[q], sf.queues[q])
            missed += n
            ok += 0 if n == 0 else round(share * n)
        share = ok / missed if missed else math.nan
        summary[f"{q}_rescued"] = (ok, missed)
        if missed:
            lines.append(
                f"- {q}: static missed target by more than 5 points in {missed} "
                f"30-minute intervals (all seeds); staffer brought {ok} of them "
                f"({100 * share:.0f}%) within 5 points "
                f"({'goal met' if share >= 0.9 else 'goal NOT met'}: >= 90%)."
            )
        else:
            lines.append(f"- {q}: static never missed by more than 5 points.")
    email = [k.queues["email"].on_time for k in res["staffer"]]
    target = res["staffer"][0].queues["email"].sl_target
    worst = min(e for e in email if e is not None)
    lines.append(
        f"- email on time with staffer: worst seed {100 * worst:.1f}% "
        f"(target {100 * target:.0f}%: {'met' if worst >= target else 'NOT met'})."
    )
    mpah = [k.moves_per_agent_hour for k in res["staffer"]]
    lines.append(
        f"- staffer moves per agent-hour: mean {statistics.mean(mpah):.3f}, max "
        f"{max(mpah):.3f} ({'<= 1: met' if max(mpah) <= 1 else '> 1: NOT met'})."
    )
    summary.update(email_worst=worst, mpah_max=max(mpah))
    return lines, summary


def _commit() -> str:
    """Short hash of the checked-out commit (``+dirty`` with local changes), or unknown."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _rescued(pair: object) -> str:
    ok, missed = pair  # type: ignore[misc]
    return "n/a (0)" if not missed else f"{100 * ok / missed:.0f}% ({ok}/{missed})"


def summary_table(res: dict[str, dict[str, list[DayKpis]]]) -> list[str]:
    """One row per scenario: the goal checks for the staffer policy."""
    lines = [
        "## Goals at a glance (staffer policy)",
        "",
        "Rescued = of the 30-minute intervals where `static` missed the service-level "
        "target by more than 5 points, the share where `staffer` was within 5 points "
        "(goal: >= 90% on the surge, chat-campaign and above-forecast days); email on "
        "time (goal: >= its 90% target); moves per agent-hour (goal: <= 1; quiet day: "
        "almost none).",
        "",
        "| scenario | phone rescued | chat rescued | email on time, worst seed "
        "| moves / agent-hour, max | moves / day, mean |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in res.items():
        _, g = goals(name, r)
        moves = statistics.mean(k.moves for k in r["staffer"])
        lines.append(
            f"| {name} | {_rescued(g['phone_rescued'])} | {_rescued(g['chat_rescued'])} "
            f"| {100 * g['email_worst']:.1f}% | {g['mpah_max']:.3f} | {moves:.1f} |"
        )
    return [*lines, ""]


def write_markdown(
    res: dict[str, dict[str, list[DayKpis]]], seeds: list[int], path: Path, elapsed_s: float
) -> None:
    lines = [
        "# Simulation results",
        "",
        "Generated by `bench/results.py` (do not edit by hand; rerun it). "
        f"{len(seeds)} seeds ({seeds[0]}..{seeds[-1]}) per scenario; on each seed the three "
        "policies see identical contacts (common random numbers). Values are mean ± standard "
        "deviation over seeds. Wall time "
        f"{elapsed_s:.0f} s on {platform.machine()} / Python {platform.python_version()}, "
        f"code at commit {_commit()}.",
        "",
        "Policies: `static` (the schedule never changes), `threshold` (a real-time analyst's "
        "rule: pull an email agent to a real-time queue with 5 or more contacts waiting, give "
        "it back after 15 quiet minutes), `staffer` (the daemon's `SiteState` + `plan_site` "
        "in-process, fed the same snapshots and agent states as over MQTT, every 300 s, "
        "mode auto, moves applied after the current contact).",
        "",
        "KPI definitions are in `staffer/sim/kpis.py`: service level counts abandoned "
        "contacts as misses; email on-time = handling started within `target_s` (4 h); "
        '"within 5 pt" = share of 30-minute intervals (by arrival) whose service level '
        "reached target - 0.05.",
        "",
    ]
    lines += summary_table(res)
    for name, r in res.items():
        sc = load_scenario(name)
        lines += [f"## {name}", "", sc.description, "", *kpi_table(name, r), ""]
        g, _ = goals(name, r)
        lines += ["Goals:", "", *g, "", f"![{name}](img/{name}.png)", ""]
    notes = ""
    if path.exists():  # hand-written discussion below the marker survives a rerun
        old = path.read_text(encoding="utf-8")
        if NOTES_MARKER in old:
            notes = old[old.index(NOTES_MARKER) :]
    path.write_text("\n".join(lines) + "\n" + (notes or NOTES_MARKER + "\n"), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--json", type=Path, default=None, help="also write raw per-seed KPIs")
    args = ap.parse_args()
    seeds = list(range(1, args.seeds + 1))
    img = args.out / "img"
    img.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = run_all(args.scenarios.split(","), seeds, img)
    elapsed = time.perf_counter() - t0
    write_markdown(res, seeds, args.out / "results.md", elapsed)
    if args.json:
        raw = {n: {p: [k.as_dict() for k in ks] for p, ks in r.items()} for n, r in res.items()}
        args.json.write_text(json.dumps(raw, indent=1, allow_nan=False), encoding="utf-8")
    print(f"wrote {args.out / 'results.md'} in {elapsed:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
