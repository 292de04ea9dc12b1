"""``staffer demo``: the whole loop on one machine (embedded broker, simulator, daemon)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from staffer.cli.extras import require


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run broker, simulated contact center and daemon together",
        description="Start an embedded MQTT broker, the real staffer daemon (event clock) and "
        "a simulated 3-channel contact center with a mid-morning phone surge; the simulator "
        "publishes queue snapshots and agent states over MQTT and applies the daemon's moves. "
        "Ends with a static-vs-staffer KPI table and a PNG chart. Needs nothing beyond the "
        "package.",
    )
    p.add_argument(
        "--short", action="store_true", help="a two-hour day (about ten seconds; used by the tests)"
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: scenario's)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory for the chart (default: a new temp directory)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    require("demo", "simpy", "matplotlib", "amqtt")
    from staffer.cli.simulate import format_table
    from staffer.demo import run_demo
    from staffer.sim.bridge import BridgeError

    try:
        result = asyncio.run(run_demo(short=args.short, seed=args.seed, out_dir=args.out))
    except (BridgeError, TimeoutError, RuntimeError, OSError) as err:
        print(f"staffer: demo failed: {err}", file=sys.stderr)
        return 1
    out = sys.stdout
    out.write("\n" + format_table({"static": result.static, "staffer": result.staffer}) + "\n\n")
    for q, k in result.staffer.queues.items():
        s = result.static.queues[q]
        if k.channel != "email":
            out.write(
                f"{q}: service level {s.service_level:.1%} (static) -> "
                f"{k.service_level:.1%} (staffer), target {k.sl_target:.0%}\n"
            )
    out.write(f"daemon plans: {result.plans} ({result.missed_plans} missed)\n")
    b = result.bridge
    out.write(
        f"bridge: {b.commands} commands, {b.moves} moves accepted; acks "
        + ", ".join(f"{n} {status}" for status, n in b.acks.items())
        + "\n"
    )
    if result.chart is not None:
        out.write(f"chart: {result.chart}\n")
    out.write(
        "prometheus: "
        + (result.metrics_url or "the daemon's HTTP endpoint (port 0)")
        + " (stopped with the demo)\n"
    )
    out.write(f"done in {result.elapsed_s:.1f} s\n")
    return 0
