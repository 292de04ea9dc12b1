"""``staffer simulate``: an offline simulated day (a scenario, or a real day replayed from an
ACD export and a roster, contract §15); KPIs as a table or JSON, per interval on request."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from staffer.cli.extras import require
from staffer.settings import ConfigError
from staffer.vocabulary import POLICIES

if TYPE_CHECKING:  # the simulator needs the demo extra: imported when a command runs
    from staffer.sim.from_history import HistoryInputs
    from staffer.sim.kpis import DayKpis
    from staffer.sim.scenario import Scenario

SIM_MODULES = ("simpy",)  # the simulator; --plot also needs matplotlib
PLOT_FORMATS = (".png", ".svg", ".pdf")  # --plot: matplotlib picks the format by the suffix


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate a day of a site offline and report KPIs",
        description="Simulate one day of a contact-center site (SimPy discrete-event "
        "simulation) under a staffing policy and print per-queue KPIs: service level, ASA, "
        "abandonment, email on time, moves per agent-hour, share of intervals that met "
        "target. Policies see identical contacts for a given seed. The day is a scenario "
        "file, or a real day replayed from an ACD interval export (--history) and a roster "
        "(--roster); see docs/history.md.",
    )
    p.add_argument(
        "scenario",
        nargs="?",
        help="scenario TOML file (or the name of a bundled one, e.g. surge); not with --history",
    )
    p.add_argument(
        "--policy",
        default=None,
        choices=[*POLICIES, "all"],
        help="staffing policy (default: staffer); all = the three side by side; a real "
        "day (--history, or a scenario with actuals) always runs static too, as scheduled",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    p.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="N",
        help="run seeds SEED..SEED+N-1 and show mean ± standard deviation (default 1)",
    )
    p.add_argument(
        "--intervals",
        action="store_true",
        help="also print a table per queue and interval (SL, ASA, abandons, agents per "
        "policy) and the moves with their reasons",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help="write a chart of service level and agents per queue over the day "
        f"(FILE ends in {', '.join(PLOT_FORMATS)}: the format)",
    )
    h = p.add_argument_group("a real day (contract §15)")
    add_history_arguments(h)
    p.set_defaults(func=run)


def add_history_arguments(g: argparse._ActionsContainer, required: bool = False) -> None:
    """The options that read a real day; shared with ``staffer scenario from-history``
    (where --history and --roster are ``required``)."""
    g.add_argument(
        "--history",
        metavar="INTERVALS.csv",
        type=Path,
        required=required,
        help="ACD interval export: interval_start,queue,offered,aht_s[,answered,abandoned,"
        "answered_within_target,interval_s]",
    )
    g.add_argument(
        "--roster",
        metavar="AGENTS.csv",
        type=Path,
        required=required,
        help="agents: agent,skills,queue[,shift_start,shift_end] (skills separated by ; or |)",
    )
    g.add_argument(
        "-c",
        "--config",
        metavar="staffer.toml",
        type=Path,
        help="targets, patience and concurrency of the queues, and the planner settings "
        "(default: config/staffer.toml, else the built-in defaults)",
    )
    g.add_argument(
        "--forecast",
        metavar="FORECAST.csv",
        type=Path,
        help="what the schedule expected (the export's format); default: the history "
        "flattened to its daily mean per queue",
    )
    g.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA time zone of local times (YYYY-MM-DD HH:MM) in the files, e.g. Europe/Berlin",
    )
    g.add_argument(
        "--site", metavar="ID", help="the site of the config to use (default: the only one)"
    )


class ProgressBar:
    """A plain-text progress bar on a TTY stream; silent otherwise."""

    def __init__(self, stream: TextIO, enabled: bool, total: int) -> None:
        self.stream, self.enabled, self.total = stream, enabled, max(total, 1)
        self.done = 0
        self._last = -1

    def __call__(self, policy: str, fraction: float) -> None:
        if not self.enabled:
            return
        overall = min((self.done + fraction) / self.total, 1.0)
        if fraction >= 1.0:  # counted before any early return: the next run starts here
            self.done += 1
        pct = int(overall * 100)
        if pct == self._last:
            return
        self._last = pct
        filled = int(overall * 30)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {pct:3d}% {policy:<10}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 50 + "\r")
            self.stream.flush()


def check_plot_path(path: str) -> None:
    """``--plot FILE`` names one of PLOT_FORMATS (ConfigError otherwise), checked before
    the day is simulated."""
    if Path(path).suffix.lower() not in PLOT_FORMATS:
        raise ConfigError(
            f"--plot: expected a file ending in {', '.join(PLOT_FORMATS)} (got {path!r})"
        )


def format_table(results: dict[str, DayKpis]) -> str:
    """KPIs of several policies as an aligned text table, one row per queue and policy."""
    from staffer.sim.report import day_table

    return day_table({p: [k] for p, k in results.items()})


def history_inputs(args: argparse.Namespace, name: str | None = None) -> HistoryInputs:
    """``--history`` and friends, checked (ConfigError naming the missing option)."""
    from staffer.sim.from_history import HistoryInputs

    if args.history is None or args.roster is None:
        raise ConfigError("a real day needs both --history INTERVALS.csv and --roster AGENTS.csv")
    return HistoryInputs(
        args.history,
        args.roster,
        args.config,
        args.forecast,
        args.tz,
        args.site,
        name,
        1 if getattr(args, "seed", None) is None else args.seed,
    )


def _day(args: argparse.Namespace) -> tuple[Scenario, list[str], list[str]]:
    """The scenario, the notes on its inputs and the policies to run."""
    from staffer.sim.from_history import load_day
    from staffer.sim.scenario import load_scenario

    replay = args.history is not None or args.roster is not None
    if replay and args.scenario is not None:
        raise ConfigError("give either a SCENARIO or --history/--roster, not both")
    if not replay and args.scenario is None:
        raise ConfigError(
            "give a SCENARIO (e.g. surge) or --history INTERVALS.csv --roster AGENTS.csv"
        )
    notes: list[str] = []
    if replay:
        scenario, notes = load_day(history_inputs(args))
    else:
        extra = [o for o in ("config", "forecast", "tz", "site") if getattr(args, o) is not None]
        if extra:
            raise ConfigError(f"--{extra[0]} only goes with --history")
        scenario = load_scenario(args.scenario)
    policy = args.policy or "staffer"
    # a real day is compared with its schedule: static runs beside the chosen policy
    before = ["static"] if scenario.actuals else []
    chosen = list(POLICIES) if policy == "all" else [*before, policy]
    return scenario, notes, list(dict.fromkeys(chosen))


def run(args: argparse.Namespace) -> int:
    require("simulate", *SIM_MODULES, *(("matplotlib",) if args.plot is not None else ()))
    from staffer.sim.intervals import actual_queues
    from staffer.sim.jsonout import result_json
    from staffer.sim.replay import days_of, mean_day, run_seeds
    from staffer.sim.report import day_table, interval_tables, moves_list, rescued_lines

    if args.seeds < 1:
        raise ConfigError(f"--seeds: expected a count >= 1 (got {args.seeds})")
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed: expected a whole number >= 0 (got {args.seed})")
    if args.plot is not None:
        check_plot_path(args.plot)
    scenario, notes, policies = _day(args)
    first = scenario.seed if args.seed is None else args.seed
    seeds = list(range(first, first + args.seeds))
    bar = ProgressBar(sys.stderr, sys.stderr.isatty() and not args.json, len(policies) * len(seeds))
    try:
        runs = run_seeds(scenario, policies, seeds, bar)
    finally:
        bar.close()
    actual = actual_queues(scenario)
    days = days_of(runs)
    chart = None
    if args.plot:
        from staffer.sim.plot import plot_day

        shown = {p: mean_day(ds) for p, ds in days.items()}
        chart = plot_day(
            shown, scenario, args.plot, {q: a.interval_sl for q, a in actual.items()}, seeds
        )
    if args.json:
        out = result_json(scenario, runs, actual, notes)
        if chart is not None:
            out["plot"] = str(chart)
        print(json.dumps(out, allow_nan=False))
        return 0
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    print(f"scenario {scenario.name} ({seed_text}): {scenario.description}")
    for note in notes:
        print(f"note: {note}")
    print(day_table(days, actual))
    rescued = rescued_lines(days)
    if rescued:
        print("\n" + "\n".join(rescued))
    if args.intervals:
        print("\n" + interval_tables(scenario, runs, actual))
        moves = moves_list(scenario, runs)
        if moves:
            print("\n" + moves)
    if chart is not None:
        print(f"chart: {chart}")
    return 0
