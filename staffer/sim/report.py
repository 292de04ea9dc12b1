"""Text tables of ``staffer simulate``: the day per queue and policy (with the real day as
an ``actual`` row when the scenario has actuals), rescued intervals, the per-interval
table and the moves with their reasons. With several seeds a cell is ``mean±sd``.
Percentages are shown in percent; everything else in SI units (seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from staffer.sim.intervals import ActualQueue
from staffer.sim.kpis import DayKpis
from staffer.sim.replay import Runs, Spread, interval_spreads, moves_spread, queue_spreads, rescued
from staffer.sim.scenario import Scenario

# (header, minimum width); the first two columns are left-aligned
DAY_COLUMNS = (
    ("queue", 8),
    ("policy", 10),
    ("offered", 7),
    ("SL", 6),
    ("target", 6),
    ("ASA s", 7),
    ("aband", 6),
    ("on-time", 7),
    ("met", 5),
    ("±5pt", 5),
)


def pct(v: float | None) -> str:
    return "-" if v is None or v != v else f"{v * 100:.1f}"


def num(v: float | None) -> str:
    return "-" if v is None or v != v or v == float("inf") else f"{v:.1f}"


def spread_cell(s: Spread, percent: bool, digits: int = 1) -> str:
    """``mean`` or ``mean±sd`` (percent: x100)."""
    if s.mean is None:
        return "-"
    f = 100.0 if percent else 1.0
    text = f"{s.mean * f:.{digits}f}"
    return text if s.sd is None else f"{text}±{s.sd * f:.{digits}f}"


def widths(rows: Sequence[Sequence[str]], minimum: Sequence[int]) -> list[int]:
    return [max([m, *(len(r[i]) for r in rows)]) for i, m in enumerate(minimum)]


def align(rows: Sequence[Sequence[str]], w: Sequence[int], left: int = 2) -> list[str]:
    """Rows of cells as lines, column ``i`` ``w[i]`` wide (the first ``left`` left-aligned)."""
    out = []
    for r in rows:
        cells = [c.ljust(w[i]) if i < left else c.rjust(w[i]) for i, c in enumerate(r)]
        out.append(" ".join(cells).rstrip())
    return out


def day_table(days: dict[str, list[DayKpis]], actual: dict[str, ActualQueue] | None = None) -> str:
    """KPIs per queue and policy (one DayKpis per seed); with ``actual``, the real day
    above the policies."""
    actual = actual or {}
    first = next(iter(days.values()))[0]
    rows: list[list[str]] = [[h for h, _ in DAY_COLUMNS]]
    for q, k in first.queues.items():
        email = k.channel == "email"
        a = actual.get(q)
        if a is not None:
            rows.append(
                [
                    *(q, "actual", str(a.offered), pct(a.service_level), pct(k.sl_target), "-"),
                    "" if email else pct(a.abandon_ratio),
                    pct(a.service_level) if email else "",
                    *(pct(a.intervals_met), pct(a.intervals_within_5pt)),
                ]
            )
        for name, ds in days.items():
            s = queue_spreads(ds, q)
            rows.append(
                [
                    *(q, name, f"{s['offered'].mean or 0:.0f}"),
                    spread_cell(s["service_level"], True),
                    pct(k.sl_target),
                    spread_cell(s["asa_s"], False),
                    "" if email else spread_cell(s["abandon_ratio"], True),
                    spread_cell(s["on_time"], True) if email else "",
                    spread_cell(s["intervals_met"], True),
                    spread_cell(s["intervals_within_5pt"], True),
                ]
            )
    lines = align(rows, widths(rows, [w for _, w in DAY_COLUMNS]))
    lines = [lines[0], "-" * len(lines[0]), *lines[1:]]
    lines.append("")
    for name, ds in days.items():
        moves, per_hour = moves_spread(ds)
        hours = ds[0].agent_hours
        count = f"{moves.mean:>4.0f}" if moves.sd is None else spread_cell(moves, False)
        rate = spread_cell(per_hour, False, 3)
        lines.append(
            f"{name:<10} moves {count}  ({rate} per agent-hour over {hours:.0f} agent-hours)"
        )
    return "\n".join(lines)


def rescued_lines(days: dict[str, list[DayKpis]]) -> list[str]:
    """Of the intervals static missed by more than 5 points, how many each policy rescued."""
    if "static" not in days:
        return []
    static = days["static"]
    n_seeds = len(static)
    out = []
    for q, k in static[0].queues.items():
        for name, ds in days.items():
            if name == "static":
                continue
            missed, done = rescued(static, ds, q)
            seeds = "" if n_seeds == 1 else f" (over {n_seeds} seeds)"
            if missed == 0:
                out.append(f"{q}: static never missed its target by more than 5 points{seeds}")
                break
            out.append(
                f"{q}: static missed the {pct(k.sl_target)}% target by more than 5 points in "
                f"{missed} interval(s){seeds}; {name} brought {done} of them "
                f"({done / missed:.0%}) within 5 points"
            )
    return out


def clock(sc: Scenario, s: float) -> str:
    """A time of the day (seconds from its start) in the scenario's display zone."""
    t = datetime.fromtimestamp(sc.start_ts + s, sc.display_zone())
    return t.strftime("%H:%M" if sc.day_s <= 86400 else "%m-%d %H:%M")


def interval_tables(sc: Scenario, runs: Runs, actual: dict[str, ActualQueue] | None) -> str:
    """One table per queue: a row per interval, actual then each policy's SL, ASA,
    abandons and agents (means over seeds; ``±sd`` with several)."""
    actual = actual or {}
    first = next(iter(runs.values()))[0]
    blocks = []
    for q, k in first.kpis.queues.items():
        per = {name: interval_spreads(rs, q) for name, rs in runs.items()}
        a = actual.get(q)
        groups = [("", 2)] + ([("actual", 3)] if a else []) + [(p, 4) for p in runs]
        rows = [["time", "offered"] + (["offered", "SL", "aband"] if a else [])]
        rows[0] += ["SL", "ASA s", "aband", "agents"] * len(runs)
        offered = next(iter(per.values()))["offered"]
        for i, sp in enumerate(offered):
            row = [clock(sc, i * sc.report_interval_s), f"{sp.mean or 0:.0f}"]
            if a:
                ab = "-" if a.interval_abandoned is None else str(a.interval_abandoned[i])
                row += [str(a.interval_offered[i]), pct(a.interval_sl[i]), ab]
            for s in per.values():
                row += [spread_cell(s["service_level"][i], True), spread_cell(s["asa_s"][i], False)]
                row += [spread_cell(s["abandoned"][i], False), spread_cell(s["agents"][i], False)]
            rows.append(row)
        w = widths(rows, [5] * len(rows[0]))
        queue = sc.site.queue(q)
        target = f"{pct(k.sl_target)}% within {queue.target_s:g} s" if queue else ""
        title = f"{q} ({k.channel}, target {target})"
        blocks.append("\n".join([title, _group_line(w, groups), *align(rows, w, left=1)]))
    return "\n\n".join(blocks)


def _group_line(w: list[int], groups: list[tuple[str, int]]) -> str:
    """Names of column groups, each left-aligned over its columns."""
    out, col = "", 0
    for name, span in groups:
        start = sum(w[:col]) + col
        out = out.ljust(start) + name
        col += span
    return out.rstrip()


def moves_list(sc: Scenario, runs: Runs) -> str:
    """Every policy's moves on the first seed: when, who, where, and the decision's reason."""
    blocks = []
    for name, rs in runs.items():
        r = rs[0]
        if name == "static":
            continue
        drain = sum(1 for m in r.moves if m.at_s >= sc.day_s)
        after = f", {drain} more in the drain after it" if drain else ""
        lines = [f"moves of {name} (seed {r.seed}): {len(r.moves) - drain} during the day{after}"]
        for m in r.moves:
            decided = "" if m.decided_s is None else f" (decided {clock(sc, m.decided_s)})"
            lines.append(
                f"  {clock(sc, m.at_s)}  {m.agent:<10} {m.from_queue} -> {m.to_queue}"
                f"{decided}: {m.reason}"
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
