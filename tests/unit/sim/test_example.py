"""The shipped example (examples/lakeside, a made-up site) is what its generator makes,
and imports cleanly; its day replays (shortened here, to keep the suite fast)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from staffer.sim.from_history import HistoryInputs, load_day
from staffer.sim.replay import run_seeds

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lakeside"
FILES = ("intervals-2026-03-02.csv", "agents.csv", "agents-as-worked.csv", "forecast.csv")


def _inputs(**kw: object) -> HistoryInputs:
    return HistoryInputs(
        EXAMPLE / "intervals-2026-03-02.csv",
        EXAMPLE / "agents.csv",
        EXAMPLE / "staffer.toml",
        tz="Europe/Amsterdam",
        **kw,  # type: ignore[arg-type]
    )


def test_shipped_files_are_what_the_generator_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("make_example", EXAMPLE / "make_example.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_example", mod)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "HERE", tmp_path)
    mod.write_plan()
    mod.write_export()
    for name in FILES:
        assert (tmp_path / name).read_text() == (EXAMPLE / name).read_text(), name


def test_example_imports_and_replays() -> None:
    sc, notes = load_day(_inputs())
    assert notes == []
    assert [q.id for q in sc.site.queues] == ["phone", "chat", "email"]
    assert sc.profile_interval_s == 900 and len(sc.demand["phone"].rates_per_hour) == 48
    assert sc.time_zone == "Europe/Amsterdam" and sc.start.hour == 8
    assert sc.agent_count() == 57
    assert sum(sc.actuals["phone"].offered) == 2769
    fc, _ = load_day(_inputs(forecast=EXAMPLE / "forecast.csv"))
    # the 30-minute forecast on the 15-minute grid: 170/h at 08:00 and 08:15
    assert fc.demand["phone"].forecast_per_hour[:2] == [170.0, 170.0]
    runs = run_seeds(sc.shortened(4), ["static", "staffer"], [1], None)
    assert runs["static"][0].kpis.queues["phone"].offered > 0
