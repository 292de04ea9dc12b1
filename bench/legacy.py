"""Today's planner, runnable beside the new one under the same simulator (bench only).

``load_plan_site(ref)`` reads ``staffer/core/{forecast,moves,planner}.py`` as they were at
git revision ``ref`` (default: the branch point of issue 12) and returns that revision's
``plan_site``. Everything else (state, in-flight book, models, simulator, KPIs) is the
current code, so "before" and "after" differ only in forecasting and planning. The old
modules are executed under their own names while the current ones are set aside, so their
``from staffer.core... import`` lines bind to each other; afterwards the current modules
are back in ``sys.modules`` and nothing else sees the old ones.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LEGACY_REF = "9053a57"  # main when issue 12 started: today's planner
MODULES = ("staffer/core/forecast.py", "staffer/core/moves.py", "staffer/core/planner.py")


def _source(ref: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def load_plan_site(ref: str = LEGACY_REF) -> Callable[..., Any]:
    """``plan_site`` of revision ``ref`` (same signature as today's)."""
    for name in ("staffer.core.state", "staffer.core.site", "staffer.core.planner"):
        importlib.import_module(name)  # the current modules first: they keep their bindings
    names = [p[:-3].replace("/", ".") for p in MODULES]
    saved = {n: sys.modules[n] for n in names if n in sys.modules}
    try:
        for path, name in zip(MODULES, names, strict=True):
            mod = types.ModuleType(name)
            mod.__file__ = f"{ref}:{path}"
            sys.modules[name] = mod
            exec(compile(_source(ref, path), mod.__file__, "exec"), mod.__dict__)
        return sys.modules["staffer.core.planner"].plan_site  # type: ignore[no-any-return]
    finally:
        for n in names:
            if n in saved:
                sys.modules[n] = saved[n]
            else:
                sys.modules.pop(n, None)
