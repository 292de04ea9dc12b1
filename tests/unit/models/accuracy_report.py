"""Worst relative error of staffer.models against the 50-digit references (a script).

Run: ``.venv/bin/python -m tests.unit.models.accuracy_report`` (about a minute).
Prints, per measure, the worst relative error over a grid of loads from 0.01 to
100,000 Erlangs, through both the scalar and the vectorised code paths. Values the
references put below 1e-300 (float underflow) or, for Erlang A service levels, below
1e-30 (where the 50-digit reference itself loses digits) are skipped.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

from staffer import models as m
from tests.unit.models._reference import (
    ref_erlang_a,
    ref_erlang_b_fast,
    ref_erlang_c,
    ref_erlang_c_asa,
    ref_erlang_c_sl,
)

AHT = 300.0
LOADS = [0.01, 0.1, 0.5, 1.0, 3.3, 10.0, 33.3, 100.0, 333.3, 1000.0, 3333.3, 1e4, 3e4, 1e5]
FACTORS = [0.5, 0.9, 0.99, 1.0, 1.001, 1.01, 1.05, 1.2, 1.5, 2.0]


class Worst:
    """Tracks the largest relative error per measure and where it happened."""

    def __init__(self) -> None:
        self.err: dict[str, tuple[float, str]] = {}

    def add(self, name: str, got: float, ref, where: str, floor: float = 1e-300) -> None:
        if ref == mp.inf or ref <= floor:
            return
        e = float(abs(mp.mpf(got) - ref) / ref)
        if e >= self.err.get(name, (-1.0, ""))[0]:
            self.err[name] = (e, where)

    def show(self) -> None:
        for name, (e, where) in sorted(self.err.items()):
            print(f"{name:28s} {e:9.2e}   at {where}")


def erlang_bc(w: Worst) -> None:
    for a in LOADS:
        ns = sorted({max(1, round(a * f)) for f in FACTORS})
        vb = m.erlang_b(a, np.array(ns, dtype=float))
        vc = m.erlang_c(a, np.array(ns, dtype=float))
        for i, n in enumerate(ns):
            rb = ref_erlang_b_fast(a, n)
            w.add("erlang_b scalar", m.erlang_b(a, n), rb, f"A={a} N={n}")
            w.add("erlang_b vector", vb[i], rb, f"A={a} N={n}")
            rc = ref_erlang_c(a, n)
            w.add("erlang_c scalar", m.erlang_c(a, n), rc, f"A={a} N={n}")
            w.add("erlang_c vector", vc[i], rc, f"A={a} N={n}")


def erlang_c_measures(w: Worst) -> None:
    for a in LOADS:
        rate = a / AHT
        ns = sorted({n for f in FACTORS if (n := max(1, round(a * f))) > a} | {int(a) + 1})
        for t in (0.0, 20.0, 3600.0):
            vec = m.service_level(rate, AHT, np.array(ns, dtype=float), t)
            for i, n in enumerate(ns):
                ref = ref_erlang_c_sl(rate, AHT, n, t)
                w.add("erlang_c SL scalar", m.service_level(rate, AHT, n, t), ref, f"A={a} N={n}")
                w.add("erlang_c SL vector", vec[i], ref, f"A={a} N={n} T={t}")
        vec = m.asa(rate, AHT, np.array(ns, dtype=float))
        for i, n in enumerate(ns):
            ref = ref_erlang_c_asa(rate, AHT, n)
            w.add("erlang_c ASA scalar", m.asa(rate, AHT, n), ref, f"A={a} N={n}")
            w.add("erlang_c ASA vector", vec[i], ref, f"A={a} N={n}")


def erlang_a(w: Worst) -> None:
    cases = []
    for a in [0.01, 0.5, 3.0, 12.5, 80.0, 400.0, 2000.0]:
        for ratio in [0.1, 0.5, 1.0, 3.0, 20.0]:
            for f in [0.5, 0.9, 1.0, 1.1, 1.3, 2.0]:
                n = max(1, round(a * f))
                if a * ratio * max(0.0, 1 - f) <= 4000:
                    cases.append((a, ratio, n))
    cases += [(1e4, 0.2, 10000), (1e4, 1.0, 10100), (1e5, 0.2, 101000), (1e5, 1.0, 100300)]
    for a, ratio, n in cases:
        rate, pat = a / AHT, AHT * ratio
        ref = ref_erlang_a(rate, AHT, n, pat, 20.0)
        where = f"A={a} patience/aht={ratio} N={n}"
        arr = np.array([float(n)])
        w.add("erlang_a P(wait)", m.p_wait(rate, AHT, n, pat), ref["p_wait"], where)
        w.add("erlang_a abandon", m.abandon_ratio(rate, AHT, n, pat), ref["p_abandon"], where)
        w.add(
            "erlang_a SL scalar",
            m.service_level(rate, AHT, n, 20.0, pat),
            ref["service_level"],
            where,
            1e-30,
        )
        w.add(
            "erlang_a SL vector",
            m.service_level(rate, AHT, arr, 20.0, pat)[0],
            ref["service_level"],
            where,
            1e-30,
        )
        w.add("erlang_a ASA scalar", m.asa(rate, AHT, n, pat), ref["asa"], where)
        w.add("erlang_a ASA vector", m.asa(rate, AHT, arr, pat)[0], ref["asa"], where)


def main() -> None:
    w = Worst()
    erlang_bc(w)
    erlang_c_measures(w)
    erlang_a(w)
    w.show()


if __name__ == "__main__":
    main()
