"""What ``staffer erlang`` computes and prints: one function per subcommand over
``staffer.models``, a readable table or one JSON object (``--json``).

The parser is in `staffer.cli.erlang`; a model error becomes a one-line exit 2
(`run_checked`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from typing import Any

# The largest load the calculator accepts. docs/models.md measures the models' accuracy
# over 0.01 ... 100,000 Erlangs; beyond it they are untested (and the float arithmetic
# overflows long before rate x aht is inf). 100,000 Erlangs is 100,000 agents busy at
# once on one queue: no real contact center comes near.
MAX_TRAFFIC_ERLANGS = 100_000.0


def traffic_problem(args: argparse.Namespace) -> str | None:
    """Why rate x aht is outside the models' range, or None."""
    traffic = _rate(args) * args.aht
    if traffic <= MAX_TRAFFIC_ERLANGS:
        return None
    rate = "--rate" if args.rate is not None else "--rate-per-hour"
    return (
        f"traffic {rate} x --aht = {traffic:.6g} Erlangs: expected at most "
        f"{MAX_TRAFFIC_ERLANGS:,.0f} (the models' range)"
    )


def _rate(args: argparse.Namespace) -> float:
    return args.rate if args.rate is not None else args.rate_per_hour / 3600.0


def _f(x: Any) -> float | None:
    """A finite float, or None (JSON null) for inf/NaN."""
    v = float(x)
    return v if math.isfinite(v) else None


def metrics(
    rate: float, aht: float, agents: int, target: float, patience: float | None, concurrency: int
) -> dict[str, Any]:
    """All metrics at one staffing level, as printed by ``--json``."""
    from staffer import models as m

    kw: dict[str, Any] = {"patience": patience, "concurrency": concurrency}
    out: dict[str, Any] = {
        "model": "erlang_c" if patience is None else "erlang_a",
        "agents": agents,
        "p_wait": _f(m.p_wait(rate, aht, agents, **kw)),
        "asa_s": _f(m.asa(rate, aht, agents, **kw)),
        "service_level": _f(m.service_level(rate, aht, agents, target, **kw)),
        "occupancy": _f(m.occupancy(rate, aht, agents, **kw)),
    }
    if patience is not None:
        out["abandon_ratio"] = _f(m.abandon_ratio(rate, aht, agents, **kw))
    out |= {
        "traffic_erlangs": rate * aht,
        "rate_per_s": rate,
        "aht_s": aht,
        "target_s": target,
        "concurrency": concurrency,
    }
    if patience is not None:
        out["patience_s"] = patience
    return out


def run_b(args: argparse.Namespace) -> int:
    from staffer import models as m

    rate = _rate(args)
    traffic = rate * args.aht
    return _emit(
        args,
        {
            "model": "erlang_b",
            "agents": args.agents,
            "blocking": _f(m.erlang_b(traffic, args.agents)),
            "traffic_erlangs": traffic,
            "rate_per_s": rate,
            "aht_s": args.aht,
        },
    )


def run_metrics(args: argparse.Namespace) -> int:
    return _emit(
        args,
        metrics(_rate(args), args.aht, args.agents, args.target, args.patience, args.concurrency),
    )


def run_required(args: argparse.Namespace) -> int:
    from staffer import models as m

    rate = _rate(args)
    mab = args.max_abandon
    if args.patience is not None and mab is None:
        mab = float(m.DEFAULT_MAX_ABANDON)
    kw: dict[str, Any] = {
        "patience": args.patience,
        "concurrency": args.concurrency,
        "max_abandon": mab,
    }
    if args.sl is not None:
        n = m.required_agents(rate, args.aht, args.target, args.sl, **kw)
    else:
        n = m.required_agents_asa(rate, args.aht, args.asa_goal, **kw)
    if int(n) < 0:
        raise ValueError("the models found no staffing for these inputs")
    out = metrics(rate, args.aht, int(n), args.target, args.patience, args.concurrency)
    out |= {"sl_goal": args.sl} if args.sl is not None else {"asa_goal_s": args.asa_goal}
    if mab is not None:
        out["max_abandon"] = mab
    return _emit(args, out)


def run_email(args: argparse.Namespace) -> int:
    from staffer import models as m

    rate = _rate(args)
    kw: dict[str, Any] = {"oldest_age_s": args.oldest_age, "horizon_s": args.horizon}
    n = int(m.email_required_agents(args.backlog, rate, args.aht, args.target, **kw))
    if n < 0:
        raise ValueError("the email model rejected these inputs")
    out: dict[str, Any] = {
        "model": "email",
        "agents": n,
        "on_time_ratio": _f(
            m.email_on_time_ratio(args.backlog, rate, args.aht, n, args.target, **kw)
        ),
    }
    if args.agents is not None:
        out["at_agents"] = {
            "agents": args.agents,
            "on_time_ratio": _f(
                m.email_on_time_ratio(args.backlog, rate, args.aht, args.agents, args.target, **kw)
            ),
        }
    out |= {
        "backlog": args.backlog,
        "rate_per_s": rate,
        "aht_s": args.aht,
        "target_s": args.target,
        "oldest_age_s": args.oldest_age,
    }
    if args.horizon is not None:
        out["horizon_s"] = args.horizon
    return _emit(args, out)


LABELS = {
    "agents": "agents",
    "blocking": "P(blocked)",
    "p_wait": "P(wait)",
    "asa_s": "ASA (s)",
    "service_level": "service level",
    "occupancy": "occupancy",
    "abandon_ratio": "abandon ratio",
    "on_time_ratio": "on-time ratio",
    "traffic_erlangs": "traffic (Erlangs)",
    "rate_per_s": "rate (/s)",
    "aht_s": "AHT (s)",
    "target_s": "target (s)",
    "patience_s": "patience (s)",
    "concurrency": "concurrency",
    "sl_goal": "SL goal",
    "asa_goal_s": "ASA goal (s)",
    "max_abandon": "max abandon",
    "backlog": "backlog",
    "oldest_age_s": "oldest age (s)",
    "horizon_s": "horizon (s)",
}


def _cell(v: Any) -> str:
    if v is None:
        return "inf"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def table(out: dict[str, Any]) -> str:
    """The readable (non-JSON) rendering: a title line and aligned key/value rows."""
    lines = [f"model: {out['model']}"]
    for k, v in out.items():
        if k == "model":
            continue
        if isinstance(v, dict):
            lines.append(f"  with {v['agents']} agents: on-time ratio {_cell(v['on_time_ratio'])}")
            continue
        lines.append(f"  {LABELS.get(k, k):<18} {_cell(v)}")
    return "\n".join(lines)


def _emit(args: argparse.Namespace, out: dict[str, Any]) -> int:
    print(json.dumps(out, allow_nan=False) if args.json else table(out))
    return 0


def run_checked(args: argparse.Namespace) -> int:
    """Run the subcommand; inputs outside the models' range and model errors become a
    one-line exit 2."""
    try:
        problem = traffic_problem(args)
        if problem is not None:
            raise ValueError(problem)
        # the models return inf/NaN/0 at the edges on purpose (shown as inf or null);
        # numpy's warnings about the intermediate values on the way are not the user's
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return int(args.erlang_func(args))
    except (ValueError, ArithmeticError) as err:
        print(f"staffer erlang {args.erlang_command}: error: {err}", file=sys.stderr)
        return 2
