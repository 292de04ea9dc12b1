"""``staffer scenario from-history``: write the scenario file equivalent to a real day
(an ACD interval export and a roster, contract §15), for ``staffer simulate FILE``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from staffer.cli.simulate import add_history_arguments, history_inputs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "scenario",
        help="write scenario files (from an ACD export and a roster)",
        description="Scenario files for `staffer simulate`; the format is documented "
        "in docs/scenario-format.md.",
    )
    inner = p.add_subparsers(dest="scenario_command", metavar="SUBCOMMAND", required=True)
    f = inner.add_parser(
        "from-history",
        help="the scenario of a real day: an ACD interval export plus a roster",
        description="Read an ACD interval export (--history) and a roster (--roster), check "
        "them against the config's queues (-c), and write the equivalent scenario: "
        "`staffer simulate FILE` then gives what `staffer simulate --history ... --roster "
        "...` gives. Bad rows are reported by file, line and column (exit 2).",
    )
    add_history_arguments(f, required=True)
    f.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        required=True,
        help="where to write the scenario TOML (- = stdout)",
    )
    f.add_argument("--name", help="the scenario's name (default: the export's file name)")
    f.add_argument("--seed", type=int, default=None, help="the scenario's seed (default 1)")
    f.set_defaults(func=run_from_history)


def run_from_history(args: argparse.Namespace) -> int:
    from staffer.sim.from_history import load_day
    from staffer.sim.tomlout import scenario_to_toml

    inputs = history_inputs(args, args.name)
    scenario, notes = load_day(inputs)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    comment = (
        f"written by `staffer scenario from-history` from {inputs.history} and "
        f"{inputs.roster}\nformat: docs/scenario-format.md; run: staffer simulate THIS_FILE"
    )
    text = scenario_to_toml(scenario, comment)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        from staffer.settings import ConfigError

        raise ConfigError(f"{out}: cannot write: {err.strerror or err}") from None
    n = len(next(iter(scenario.demand.values())).rates_per_hour)
    print(
        f"wrote {out}: {len(scenario.site.queues)} queue(s), {n} intervals of "
        f"{scenario.profile_interval_s / 60:g} min, {scenario.agent_count()} agents in "
        f"{len(scenario.agents)} group(s)"
    )
    return 0
