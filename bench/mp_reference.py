"""50-digit mpmath reference values for Erlang C and Erlang A (M/M/N+M).

Independent of ``staffer.models``: Erlang B by its recursion, the Erlang A stationary
distribution summed term by term, and the Erlang A service level from the density of the
virtual waiting time V (Mandelbaum & Zeltyn, exponential patience with rate theta):

    f_V(x) = lam * pi_{N-1} * exp(lam * (1 - exp(-theta x)) / theta - N mu x),  x > 0,

so P(answered within T) = P(V = 0) + int_0^T f_V(x) exp(-theta x) dx. Units: seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath as mp

mp.mp.dps = 50


def erlang_b_table(traffic: float, n_max: int) -> list[mp.mpf]:
    """[B(traffic, 0), ..., B(traffic, n_max)] by the stable recursion."""
    a = mp.mpf(traffic)
    b = [mp.mpf(1)]
    for n in range(1, n_max + 1):
        b.append(a * b[-1] / (n + a * b[-1]))
    return b


@dataclass(frozen=True)
class Metrics:
    """Reference metrics at one staffing level."""

    p_wait: mp.mpf
    service_level: mp.mpf
    abandon_ratio: mp.mpf


class Queue:
    """One queue (rate per second, aht and target in seconds, optional mean patience)."""

    def __init__(
        self, rate: float, aht: float, target: float, patience: float | None = None
    ) -> None:
        self.lam = mp.mpf(rate)
        self.mu = 1 / mp.mpf(aht)
        self.a = self.lam / self.mu
        self.target = mp.mpf(target)
        self.theta = None if patience is None else 1 / mp.mpf(patience)
        self._b: list[mp.mpf] = [mp.mpf(1)]

    def erlang_b(self, n: int) -> mp.mpf:
        """Blocking probability with ``n`` servers (table grown on demand)."""
        while len(self._b) <= n:
            k = len(self._b)
            self._b.append(self.a * self._b[-1] / (k + self.a * self._b[-1]))
        return self._b[n]

    def metrics(self, n: int) -> Metrics:
        """P(wait), service level (all arrivals) and abandon ratio with ``n`` agents."""
        if n <= 0:
            return Metrics(mp.mpf(1), mp.mpf(0), mp.mpf(1 if self.theta else 0))
        b = self.erlang_b(n)
        if self.theta is None:
            if n <= self.a:
                return Metrics(mp.mpf(1), mp.mpf(0), mp.mpf(0))
            c = n * b / (n - self.a * (1 - b))
            sl = 1 - c * mp.exp(-(n - self.a) * self.mu * self.target)
            return Metrics(c, sl, mp.mpf(0))
        # Tail of the birth-death chain relative to pi_N: terms t_j, j >= 1.
        s2 = mp.mpf(0)
        q = mp.mpf(0)
        term = mp.mpf(1)
        j = 0
        eps = mp.mpf(10) ** -60
        while True:
            j += 1
            term *= self.lam / (n * self.mu + j * self.theta)
            s2 += term
            q += j * term
            if term < eps * s2 and j * self.theta > self.lam - n * self.mu:
                break
        pi_n = 1 / (1 / b + s2)
        p_wait = pi_n * (1 + s2)
        abandon = self.theta * pi_n * q / self.lam
        pi_n1 = pi_n * n / self.a
        lam, th, nmu = self.lam, self.theta, n * self.mu

        def f_answered(x: mp.mpf) -> mp.mpf:
            return lam * pi_n1 * mp.exp(lam * (1 - mp.exp(-th * x)) / th - nmu * x - th * x)

        sl = 1 - p_wait + mp.quad(f_answered, [0, self.target])
        return Metrics(p_wait, sl, abandon)

    def required(self, sl: float, max_abandon: float | None = None) -> int:
        """Fewest agents with service level >= sl (and abandon ratio <= max_abandon)."""

        def ok(n: int) -> bool:
            m = self.metrics(n)
            return m.service_level >= sl and (
                max_abandon is None or self.theta is None or m.abandon_ratio <= max_abandon
            )

        if self.a == 0 or ok(0):
            return 0
        lo = 0 if self.theta is not None else int(mp.floor(self.a))  # not ok(lo)
        hi = max(lo + 1, int(self.a + 10 * mp.sqrt(self.a) + 50))
        while not ok(hi):
            lo, hi = hi, 2 * hi
        while hi - lo > 1:  # invariant: not ok(lo), ok(hi)
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        return hi
