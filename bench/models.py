"""Benchmark staffer.models against pyworkforce 0.5.4 and a 50-digit mpmath reference.

Run: ``.venv/bin/python bench/models.py [--json] [--peer-cap S] [--no-peer]`` (``make bench``).
On first run it creates ``.venv-peer/`` with a Python >= 3.12 (``$STAFFER_PEER_PYTHON`` or
pyenv's 3.12.1) and installs ``pyworkforce==0.5.4 mpmath`` there; the peer is then timed
inside its own interpreter by ``bench/peer_pyworkforce.py`` (one subprocess, JSON lines).
Both sides are timed in the same run on the same machine: median time per call, in process
CPU seconds by default (``--clock wall`` for wall time).
Progress goes to stderr; a markdown table (or one JSON object with ``--json``) to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from mp_reference import Queue  # noqa: E402

from staffer import models as m  # noqa: E402

AHT, TARGET, SL, PATIENCE, MAX_ABANDON = 240.0, 20.0, 0.8, 120.0, 0.05
LOADS = (10, 100, 1000, 10000)
FUNCS = ("p_wait", "service_level", "required")
PEER_PKGS = ("pyworkforce==0.5.4", "mpmath")


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


CLOCK: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCK["cpu"]


def median_time(
    fn: Callable[[], object], budget_s: float = 0.3, max_reps: int = 2000
) -> tuple[float, int]:
    """Median time (``clock``) of single calls after one warm-up call, and repetitions."""
    fn()
    times: list[float] = []
    spent = 0.0
    while len(times) < max_reps and spent < budget_s:
        t0 = clock()
        fn()
        dt = clock() - t0
        times.append(dt)
        spent += dt
    return statistics.median(times), len(times)


# ---------------------------------------------------------------- peer environment
def peer_python(venv: Path) -> Path | None:
    """The peer venv's interpreter, created on first use; None if impossible."""
    py = venv / "bin" / "python"
    if (
        py.exists()
        and subprocess.run([str(py), "-c", "import pyworkforce"], capture_output=True).returncode
        == 0
    ):
        return py
    base = os.environ.get("STAFFER_PEER_PYTHON") or next(
        (
            p
            for p in (
                "/root/.pyenv/versions/3.12.1/bin/python",
                shutil.which("python3.12"),
                shutil.which("python3.13"),
            )
            if p and Path(p).exists()
        ),
        None,
    )
    if base is None:
        log("no Python >= 3.12 found for pyworkforce (set STAFFER_PEER_PYTHON); skipping peer")
        return None
    log(f"creating {venv} with {base} and installing {' '.join(PEER_PKGS)} ...")
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        (venv / ".gitignore").write_text("*\n")
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PEER_PKGS], check=True)
    except (subprocess.CalledProcessError, OSError) as err:
        log(f"peer setup failed ({err}); skipping peer")
        return None
    return py


def run_peer(py: Path, cases: list[dict], cap_s: float, clock_name: str) -> dict[str, dict]:
    """Time the cases inside the peer interpreter; results keyed by case id."""
    spec = json.dumps(
        {"cases": cases, "cap_s": cap_s, "budget_s": 1.0, "max_reps": 200, "clock": clock_name}
    )
    proc = subprocess.Popen(
        [str(py), str(HERE / "peer_pyworkforce.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(spec)
    proc.stdin.close()
    out: dict[str, dict] = {}
    for line in proc.stdout:
        res = json.loads(line)
        out[res["id"]] = res
        shown = (
            f"{res['median_s'] * 1e3:.3f} ms x{res['reps']}"
            if "median_s" in res
            else f"unfinished after {cap_s:g} s wall ({res['lower_bound_s']:.1f} s on "
            f"the bench clock)"
            if "timeout_s" in res
            else res.get("error")
        )
        log(f"peer {res['id']}: {shown}  ({len(out)}/{len(cases)})")
    proc.wait()
    return out


# ---------------------------------------------------------------- cases
def ours_call(func: str, rate: float, agents: int, patience: float | None) -> Callable[[], float]:
    """A zero-argument call of staffer.models for one case."""
    if func == "p_wait":
        if patience is None:
            return lambda: m.erlang_c(rate * AHT, agents)
        return lambda: m.p_wait(rate, AHT, agents, patience=patience)
    if func == "service_level":
        return lambda: m.service_level(rate, AHT, agents, TARGET, patience=patience)
    mab = None if patience is None else MAX_ABANDON
    return lambda: m.required_agents(rate, AHT, TARGET, SL, patience=patience, max_abandon=mab)


def build_cases(loads: tuple[int, ...]) -> list[dict]:
    """All (load, model, func) cases with their mpmath reference values."""
    cases = []
    for load in loads:
        rate = load / AHT
        for patience in (None, PATIENCE):
            model = "erlang_c" if patience is None else "erlang_a"
            t0 = time.perf_counter()
            q = Queue(rate, AHT, TARGET, patience)
            n_req = q.required(SL, MAX_ABANDON if patience else None)
            ref = q.metrics(n_req)
            log(f"reference {model} {load} E: N={n_req} ({time.perf_counter() - t0:.1f} s)")
            refs = {"p_wait": ref.p_wait, "service_level": ref.service_level, "required": n_req}
            for func in FUNCS:
                cases.append(
                    {
                        "id": f"{model}/{func}/{load}",
                        "model": model,
                        "func": func,
                        "load": load,
                        "rate": rate,
                        "aht": AHT,
                        "agents": n_req,
                        "target": TARGET,
                        "sl": SL,
                        "patience": patience,
                        "max_abandon": MAX_ABANDON,
                        "ref": refs[func],
                    }
                )
    return cases


def error(value: float | None, ref: object, func: str) -> float | None:
    """Relative error (P(wait), SL) or agents difference (required)."""
    if value is None:
        return None
    if func == "required":
        return float(value) - float(ref)
    return abs(float(value) - float(ref)) / abs(float(ref))


def throughput_rows() -> list[dict]:
    """Vectorised and small-scalar timings of ours (goals: < 50 ms, ~10 us)."""
    rng = np.random.default_rng(1)
    loads = np.sort(rng.uniform(1.0, 10_000.0, 10_000))
    rows = []
    calls: list[tuple[str, str, Callable[[], object], float | None, float]] = []
    for patience in (None, PATIENCE):
        mab = None if patience is None else MAX_ABANDON
        calls.append(
            (
                "required_agents, 10,000 queues of 1-10,000 E in one call",
                "erlang_c" if patience is None else "erlang_a",
                lambda p=patience, a=mab: m.required_agents(
                    loads / AHT, AHT, TARGET, SL, patience=p, max_abandon=a
                ),
                0.050 if patience is None else None,
                2.0,
            )
        )
    calls += [
        (
            "required_agents, scalar, 10 E",
            "erlang_c",
            lambda: m.required_agents(10 / AHT, AHT, TARGET, SL),
            10e-6,
            0.3,
        ),
        (
            "service_level, scalar, 10 E",
            "erlang_c",
            lambda: m.service_level(10 / AHT, AHT, 14, TARGET),
            10e-6,
            0.3,
        ),
        ("erlang_c, scalar, 10 E", "erlang_c", lambda: m.erlang_c(10.0, 14), 10e-6, 0.3),
    ]
    rows = []
    for what, model, call, goal, budget in calls:
        row = {"what": what, "model": model, "goal_s": goal}
        try:
            t, reps = median_time(call, budget_s=budget, max_reps=2000 if budget < 1 else 20)
            row |= {"median_s": t, "reps": reps}
        except Exception as err:  # a broken model call is a result, not a crash
            row["error"] = f"{type(err).__name__}: {err}"
        shown = fmt_t(row["median_s"]) if "median_s" in row else row["error"]
        log(f"ours {what} ({model}): {shown}")
        rows.append(row)
    return rows


# ---------------------------------------------------------------- output
GOALS = {("p_wait", 10000): 50, ("service_level", 10000): 50, ("required", 10000): 100}


def goal_for(case: dict) -> float | None:
    if case["model"] == "erlang_a" and case["load"] == 1000 and case["func"] != "p_wait":
        return 1000.0
    return GOALS.get((case["func"], case["load"]))


def fmt_t(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.1f} s"


def fmt_err(e: float | None, func: str) -> str:
    if e is None:
        return "-"
    return f"{e:+.0f}" if func == "required" else f"{e:.1e}"


def markdown(rows: list[dict], thr: list[dict]) -> str:
    lines = [
        "| function | model | load (E) | N | ours err | peer err | ours | pyworkforce "
        "| speed-up | goal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        peer_t = (
            f"> {fmt_t(r['peer_lower_bound_s'])}"
            if r.get("peer_timeout_s")
            else fmt_t(r.get("peer_s"))
            if "peer_error" not in r
            else "error"
        )
        sp = r.get("speedup")
        sp_s = (
            "-"
            if sp is None
            else (">" if r.get("peer_timeout_s") else "")
            + (f"{sp:.2f}x" if sp < 10 else f"{sp:,.0f}x")
        )
        goal = r.get("goal")
        mark = (
            (
                "?"
                if sp is None
                else "✅"
                if sp >= goal
                else "? (lower bound)"
                if r.get("peer_timeout_s")
                else "❌"
            )
            if goal
            else ""
        )
        goal_s = "-" if goal is None else f"≥ {goal:,.0f}x {mark}"
        lines.append(
            f"| {r['func']} | {r['model']} | {r['load']:,} | {r['agents']:,} "
            f"| {fmt_err(r['ours_err'], r['func'])} "
            f"| {fmt_err(r.get('peer_err'), r['func'])} | {fmt_t(r['ours_s'])} "
            f"| {peer_t} | {sp_s} | {goal_s} |"
        )
    lines += ["", "| throughput (ours) | model | median | goal |", "|---|---|---|---|"]
    for t in thr:
        g, med = t["goal_s"], t.get("median_s")
        approx = g is not None and g < 1e-3  # "~10 µs": within 1.5x shows ≈
        mark = (
            ""
            if g is None
            else "❌"
            if med is None
            else "✅"
            if med <= g
            else "≈"
            if approx and med <= 1.5 * g
            else "❌"
        )
        goal_s = "-" if g is None else f"{'~' if approx else '<'} {fmt_t(g)} {mark}"
        shown = fmt_t(med) if med is not None else f"error: {t['error']}"
        lines.append(f"| {t['what']} | {t['model']} | {shown} | {goal_s} |")
    return "\n".join(lines)


BEGIN, END = "<!-- bench/models.py: begin -->", "<!-- bench/models.py: end -->"


def update_doc(path: Path, meta: dict, table: str) -> None:
    """Replace the text between the bench markers in ``path`` with this run's table."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        log(f"{path}: no '{BEGIN}' / '{END}' markers; not updated")
        return
    cmd = " ".join(["bench/models.py", *[a for a in sys.argv[1:] if a != "--json"]])
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    body = (
        f"Measured {when} with `.venv/bin/python {cmd}` (run time {meta['run_s']} s; "
        f"Python {meta['python']}, numpy {meta['numpy']}; peer: {meta['peer']}; "
        f"times: median {meta['clock']} seconds per call).\n\n" + table
    )
    pre, rest = text.split(BEGIN, 1)
    post = rest.split(END, 1)[1]
    path.write_text(f"{pre}{BEGIN}\n{body}\n{END}{post}")
    log(f"{path}: table updated")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--no-peer", action="store_true", help="skip pyworkforce")
    ap.add_argument(
        "--peer-cap",
        type=float,
        default=30.0,
        help="wall seconds after which one pyworkforce call is abandoned (default 30)",
    )
    ap.add_argument("--peer-venv", type=Path, default=ROOT / ".venv-peer")
    ap.add_argument(
        "--clock",
        choices=sorted(CLOCK),
        default="cpu",
        help="time calls in process CPU seconds (default; robust on a shared "
        "machine) or wall seconds",
    )
    ap.add_argument(
        "--update-doc",
        type=Path,
        metavar="MD",
        help="also replace the measured table between the bench markers in MD",
    )
    ap.add_argument(
        "--loads",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        default=LOADS,
        help="comma-separated Erlangs (default 10,100,1000,10000)",
    )
    args = ap.parse_args(argv)
    global clock
    clock = CLOCK[args.clock]
    t_start = time.perf_counter()
    cases = build_cases(args.loads)
    rows = []
    for c in cases:
        call = ours_call(c["func"], c["rate"], c["agents"], c["patience"])
        row = {k: c[k] for k in ("func", "model", "load", "agents")} | {
            "ref": float(c["ref"]),
            "goal": goal_for(c),
            "ours_s": None,
            "ours_err": None,
        }
        try:
            value = float(call())
            t, reps = median_time(call)
            row |= {
                "ours": value,
                "ours_err": error(value, c["ref"], c["func"]),
                "ours_s": t,
                "ours_reps": reps,
            }
        except Exception as err:  # a broken model call is a result, not a crash
            row["ours_error"] = f"{type(err).__name__}: {err}"
        rows.append(row)
        log(f"ours {c['id']}: {fmt_t(row['ours_s']) if row['ours_s'] else row['ours_error']}")
    thr = throughput_rows()
    py = None if args.no_peer else peer_python(args.peer_venv)
    if py is not None:
        peer_cases = [{k: v for k, v in c.items() if k != "ref"} for c in cases]
        res = run_peer(py, peer_cases, args.peer_cap, args.clock)
        for c, r in zip(cases, rows, strict=True):
            p = res.get(c["id"], {"error": "no result"})
            if "median_s" in p:
                r |= {
                    "peer": p["value"],
                    "peer_err": error(p["value"], c["ref"], c["func"]),
                    "peer_s": p["median_s"],
                    "peer_reps": p["reps"],
                    "speedup": p["median_s"] / r["ours_s"] if r["ours_s"] else None,
                }
            elif "timeout_s" in p:
                low = p.get("lower_bound_s", p["timeout_s"])
                r |= {
                    "peer_timeout_s": p["timeout_s"],
                    "peer_lower_bound_s": low,
                    "speedup": low / r["ours_s"] if r["ours_s"] else None,
                }
            else:
                r["peer_error"] = p.get("error")
    meta = {
        "aht_s": AHT,
        "target_s": TARGET,
        "sl": SL,
        "patience_s": PATIENCE,
        "max_abandon": MAX_ABANDON,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "clock": args.clock,
        "peer": "pyworkforce 0.5.4" if py else None,
        "run_s": round(time.perf_counter() - t_start, 1),
    }
    head = (
        f"Queueing models: aht {AHT:g} s, target {TARGET:g} s, SL goal {SL:g}, "
        f"patience {PATIENCE:g} s (Erlang A, max abandon {MAX_ABANDON:g}); "
        f"N = reference required agents; errors vs mpmath 50 digits "
        f"(required: agents difference); run {meta['run_s']} s"
    )
    if args.json:
        print(json.dumps({"meta": meta, "rows": rows, "throughput": thr}))
    else:
        print(head + "\n")
        print(markdown(rows, thr))
    if args.update_doc:
        update_doc(args.update_doc, meta, markdown(rows, thr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
