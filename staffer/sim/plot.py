"""PNG chart of a simulated day: service level and agents per queue, policies side by side."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from staffer.sim.kpis import DayKpis
from staffer.sim.scenario import Scenario

COLORS = {"voice": "tab:blue", "chat": "tab:orange", "email": "tab:green"}


def plot_day(
    results: dict[str, DayKpis],
    scenario: Scenario,
    path: str | Path,
    actual: dict[str, list[float | None]] | None = None,
    seeds: list[int] | None = None,
) -> Path:
    """Write the chart (matplotlib, Agg backend) and return its path. ``actual``: the real
    day's service level per interval and queue, drawn dashed on every panel; ``seeds``:
    the seeds the (averaged) results come from, for the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    fig, axes = plt.subplots(2, n, figsize=(5.2 * n, 6.4), sharex=True, sharey="row", squeeze=False)
    start = datetime.fromtimestamp(scenario.start_ts, scenario.display_zone())
    h0 = start.hour + start.minute / 60
    width_h = scenario.report_interval_s / 3600
    for col, (name, k) in enumerate(results.items()):
        ax_sl, ax_ag = axes[0][col], axes[1][col]
        x = [h0 + s / 3600 + width_h / 2 for s in k.interval_starts_s]
        for i, (qid, q) in enumerate(k.queues.items()):
            color = COLORS.get(q.channel) if i < 3 else None
            ys = [float("nan") if v is None else v for v in q.interval_sl]
            ax_sl.plot(x, ys, marker="o", ms=3, color=color, label=qid)
            if actual and qid in actual:
                real = [float("nan") if v is None else v for v in actual[qid]]
                ax_sl.plot(
                    x, real, ls="--", lw=1, marker="x", ms=3, color=color, label=f"{qid} actual"
                )
            ax_sl.axhline(q.sl_target, color=color, ls=":", lw=1)
            ax_ag.step(
                [h0 + s / 3600 for s in k.interval_starts_s],
                q.interval_agents,
                where="post",
                color=color,
                label=qid,
            )
        ax_sl.set_title(f"{name}: {k.moves} moves")
        ax_sl.set_ylim(0, 1.05)
        ax_ag.set_xlabel(f"time of day ({start.tzname() or 'UTC'}, h)")
        ax_sl.grid(alpha=0.3)
        ax_ag.grid(alpha=0.3)
    minutes = f"{scenario.report_interval_s / 60:g} min"
    axes[0][0].set_ylabel(f"service level per {minutes}\n(email: on time)")
    axes[1][0].set_ylabel("agents assigned (mean)")
    axes[0][0].legend(loc="lower left", fontsize=8)
    seeds = seeds or [next(iter(results.values())).seed]
    which = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean of seeds {seeds[0]}-{seeds[-1]}"
    fig.suptitle(f"scenario {scenario.name}, {which}")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
