"""``staffer simulate SCENARIO``: an offline simulated day; KPIs as a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from staffer.cli.extras import require
from staffer.vocabulary import POLICIES

if TYPE_CHECKING:
    from staffer.sim.kpis import DayKpis

SIM_MODULES = ("simpy",)  # the simulator; --plot also needs matplotlib


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate a day of a site offline and report KPIs",
        description="Simulate one day of a contact-center site (SimPy discrete-event "
        "simulation) under a staffing policy and print per-queue KPIs: service level, ASA, "
        "abandonment, email on time, moves per agent-hour, share of 30-minute intervals "
        "that met target. Policies see identical contacts for a given seed.",
    )
    p.add_argument("scenario", help="scenario TOML file (or the name of a bundled one, e.g. surge)")
    p.add_argument(
        "--policy",
        default="staffer",
        choices=[*POLICIES, "all"],
        help="staffing policy (default: staffer); all = the three side by side",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help="write a PNG of service level and agents per queue over the day",
    )
    p.set_defaults(func=run)


class ProgressBar:
    """A plain-text progress bar on a TTY stream; silent otherwise."""

    def __init__(self, stream: TextIO, enabled: bool, total: int) -> None:
        self.stream, self.enabled, self.total = stream, enabled, max(total, 1)
        self.done = 0
        self._last = -1

    def __call__(self, policy: str, fraction: float) -> None:
        if not self.enabled:
            return
        overall = (self.done + fraction) / self.total
        pct = int(overall * 100)
        if pct == self._last:
            return
        self._last = pct
        filled = int(overall * 30)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {pct:3d}% {policy:<10}")
        self.stream.flush()
        if fraction >= 1.0:
            self.done += 1

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 50 + "\r")
            self.stream.flush()


def format_table(results: dict[str, DayKpis]) -> str:
    """KPIs of several policies as an aligned text table, one row per queue and policy."""
    head = (
        f"{'queue':<8} {'policy':<10} {'offered':>7} {'SL':>6} {'target':>6} "
        f"{'ASA s':>7} {'aband':>6} {'on-time':>7} {'met':>5} {'±5pt':>5}"
    )
    lines = [head, "-" * len(head)]
    first = next(iter(results.values()))
    for q in first.queues:
        for name, k in results.items():
            kq = k.queues[q]
            on_time = "" if kq.on_time is None else _pct(kq.on_time)
            aband = "" if kq.channel == "email" else _pct(kq.abandon_ratio)
            lines.append(
                f"{q:<8} {name:<10} {kq.offered:>7d} {_pct(kq.service_level):>6} "
                f"{_pct(kq.sl_target):>6} {_num(kq.asa_s):>7} {aband:>6} "
                f"{on_time:>7} {_pct(kq.intervals_met):>5} "
                f"{_pct(kq.intervals_within_5pt):>5}"
            )
    lines.append("")
    for name, k in results.items():
        lines.append(
            f"{name:<10} moves {k.moves:>4d}  ({k.moves_per_agent_hour:.3f} per "
            f"agent-hour over {k.agent_hours:.0f} agent-hours)"
        )
    return "\n".join(lines)


def _pct(v: float | None) -> str:
    return "-" if v is None or v != v else f"{v * 100:.1f}"


def _num(v: float) -> str:
    return "-" if v != v or v == float("inf") else f"{v:.1f}"


def run(args: argparse.Namespace) -> int:
    require("simulate", *SIM_MODULES, *(("matplotlib",) if args.plot else ()))
    from staffer.sim.run import run_policies
    from staffer.sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    policies = list(POLICIES) if args.policy == "all" else [args.policy]
    bar = ProgressBar(sys.stderr, sys.stderr.isatty() and not args.json, len(policies))
    try:
        runs = run_policies(scenario, policies, args.seed, bar)
    finally:
        bar.close()
    kpis = {p: k for p, (_, k) in runs.items()}
    if args.plot:
        from staffer.sim.plot import plot_day

        plot_day(kpis, scenario, args.plot)
    if args.json:
        out = {
            "scenario": scenario.name,
            "seed": next(iter(kpis.values())).seed,
            "policies": {p: k.as_dict() for p, k in kpis.items()},
        }
        if args.plot:
            out["plot"] = args.plot
        print(json.dumps(out, allow_nan=False))
    else:
        seed = next(iter(kpis.values())).seed
        print(f"scenario {scenario.name} (seed {seed}): {scenario.description}")
        print(format_table(kpis))
        if args.plot:
            print(f"chart: {args.plot}")
    return 0
