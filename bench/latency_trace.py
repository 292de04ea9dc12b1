"""Where a command's time goes: join the latency phase's trace (``STAFFER_BENCH_TRACE``).

Run: ``STAFFER_BENCH_TRACE=/tmp/t .venv/bin/python bench/daemon.py --only latency --quick``
then ``.venv/bin/python bench/latency_trace.py /tmp/t``. For every command matched to its
triggering snapshot: sent -> plan start -> plan end -> its write starts on the store's
thread -> write ends -> publish -> received, in ms, and what else the store ran meanwhile.
"""

from __future__ import annotations

import json
import sys
from bisect import bisect_left
from pathlib import Path


def _first(events: list[tuple[str, float, str]], step: str, key: str, after: float) -> float:
    for s, t, k in events:
        if t >= after and s == step and k == key:
            return t
    return float("nan")


def analyse(bench: Path, daemon: Path) -> list[dict[str, object]]:
    data = json.loads(bench.read_text(encoding="utf-8"))
    sent = {(s, ts): t for s, ts, t in data["sent"]}
    events = [tuple(json.loads(line)) for line in daemon.read_text(encoding="utf-8").splitlines()]
    events.sort(key=lambda e: e[1])
    times = [e[1] for e in events]
    rows = []
    for site, ts, t_recv in data["received"]:
        t0 = sent[(site, ts)]
        key = f"{site}@{ts}"
        p0 = _first(events, "plan_start", key, t0 - 1)
        p1 = _first(events, "plan_end", key, p0)
        w0 = _first(events, "_op_record_decision_start", site, p1)
        w1 = _first(events, "_op_record_decision_end", site, w0)
        pub = _first(events, "publish", site, w1)
        lo, hi = bisect_left(times, t0), bisect_left(times, t_recv)
        between = [e for e in events[lo:hi] if e[0].endswith("_start") and e[2] != key]
        others = sorted(
            {
                f"{s.removeprefix('_op_').removesuffix('_start')}:{k}"
                for s, _, k in between
                if not (s == "_op_record_decision_start" and k == site)
            }
        )
        gcs = [e for e in events[lo:hi] if e[0] == "gc_start"]
        ms = lambda a, b: round(1000 * (b - a), 2)  # noqa: E731
        rows.append(
            {
                "site": site,
                "total": ms(t0, t_recv),
                "to_plan": ms(t0, p0),
                "plan": ms(p0, p1),
                "to_write": ms(p1, w0),
                "write": ms(w0, w1),
                "to_pub": ms(w1, pub),
                "to_recv": ms(pub, t_recv),
                "gc": [g[2] for g in gcs],
                "others": others,
            }
        )
    return rows


def main() -> int:
    trace = Path(sys.argv[1])
    for bench in sorted(trace.glob("*-bench.json")):
        daemon = trace / bench.name.replace("-bench.json", "-daemon.jsonl")
        rows = analyse(bench, daemon)
        print(f"\n## {bench.name}: {len(rows)} commands")
        for r in sorted(rows, key=lambda r: -float(r["total"]))[
            : int(sys.argv[2]) if len(sys.argv) > 2 else 12
        ]:
            print(r)
        for col in ("total", "to_plan", "plan", "to_write", "write", "to_pub", "to_recv"):
            vals = sorted(float(r[col]) for r in rows)  # type: ignore[arg-type]
            print(f"{col:9s} p50 {vals[len(vals) // 2]:6.2f}  max {vals[-1]:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
