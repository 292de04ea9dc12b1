"""Independent 50-digit mpmath references for the queueing models (test helper).

Nothing here shares code with staffer.models: Erlang B comes from the classic
recursion, Erlang A from explicit sums over the birth-death chain (states 0..inf,
death rate min(k, n) mu + max(k - n, 0) theta), truncated where terms fall below 1e-60
of the running sum.
"""

from __future__ import annotations

import mpmath as mp

DPS = 50


def ref_erlang_b(traffic: float, agents: int) -> mp.mpf:
    """Erlang B by the recursion B_k = A B_{k-1} / (k + A B_{k-1}) (O(N) steps)."""
    with mp.workdps(DPS):
        a = mp.mpf(traffic)
        b = mp.mpf(1)
        for k in range(1, agents + 1):
            b = a * b / (k + a * b)
        return b


def ref_erlang_b_fast(traffic: float | mp.mpf, agents: int) -> mp.mpf:
    """Erlang B via 1/B = sum_j prod_{i<j} (N - i)/A, stopping once terms are negligible."""
    with mp.workdps(DPS):
        a = mp.mpf(traffic)
        total = mp.mpf(1)
        term = mp.mpf(1)
        for j in range(1, agents + 1):
            term = term * (agents - j + 1) / a
            total += term
            if agents - j + 1 < a and term < total * mp.mpf(10) ** (-DPS - 5):
                break
        return 1 / total


def ref_erlang_c(traffic: float | mp.mpf, agents: int) -> mp.mpf:
    """Erlang C from Erlang B: C = N B / (N - A (1 - B)); 1 when N <= A."""
    with mp.workdps(DPS):
        if agents <= traffic:
            return mp.mpf(1)
        b = ref_erlang_b_fast(traffic, agents)
        a = mp.mpf(traffic)
        return agents * b / (agents - a * (1 - b))


def ref_erlang_c_sl(rate: float, aht: float, agents: int, target: float) -> mp.mpf:
    """Erlang C service level 1 - C exp(-(N - A) T / aht)."""
    with mp.workdps(DPS):
        a = mp.mpf(rate) * mp.mpf(aht)
        c = ref_erlang_c(a, agents)
        return 1 - c * mp.exp(-(agents - a) * mp.mpf(target) / mp.mpf(aht))


def ref_erlang_c_asa(rate: float, aht: float, agents: int) -> mp.mpf:
    """Erlang C mean wait C aht / (N - A)."""
    with mp.workdps(DPS):
        a = mp.mpf(rate) * mp.mpf(aht)
        return ref_erlang_c(a, agents) * mp.mpf(aht) / (agents - a)


def ref_erlang_a(
    rate: float, aht: float, agents: int, patience: float, target: float = 20.0
) -> dict[str, mp.mpf]:
    """P(wait), P(abandon), SL(target) and ASA of M/M/n+M by summing the chain.

    A tagged arrival that finds n + j in system is answered iff the j + 1 departures
    ahead of it (queue-ahead death rates n mu + i theta, i = j..1, then n mu) happen
    before its own Exp(theta) patience runs out: P = prod_i r_i / (r_i + theta). Given
    that, its wait is a sum of Exp(r_i + theta) = Exp(theta (a + m)), m = 1..j+1, whose
    cdf is that of the (j+1)-th of a + j + 1 iid Exp(theta) order statistics, the
    regularized incomplete beta I_{1-u}(j+1, a+1), u = e**(-theta T), summed here by
    its exact recursion in m. E[W e**(-theta W)] = P * sum_i 1 / (r_i + theta).
    """
    with mp.workdps(DPS):
        lam = mp.mpf(rate)
        mu = 1 / mp.mpf(aht)
        th = 1 / mp.mpf(patience)
        n = agents
        traffic = lam / mu
        tiny = mp.mpf(10) ** (-DPS - 10)
        # idle-server states, weights relative to pi_n = 1
        e_sum = mp.mpf(0)
        w = mp.mpf(1)
        for k in range(n, 0, -1):
            w = w * k / traffic
            e_sum += w
            if k < traffic and w < tiny * e_sum:
                break
        # all-busy states n + j
        a = n * mu / th
        z = -mp.expm1(-th * mp.mpf(target))
        u = 1 - z
        t = mp.mpf(1)
        g = mp.mpf(0)
        ab = mp.mpf(0)
        ans = mp.mpf(0)
        sl = mp.mpf(0)
        wait_ans = mp.mpf(0)
        p_ans = mp.mpf(1)
        harm = mp.mpf(0)
        cdf = 1 - u ** (a + 1)  # I_z(1, a+1)
        c_m = z * u ** (a + 1) * (a + 1)  # z^m u^(a+1) Gamma(m+a+1)/(m! Gamma(a+1)) at m=1
        j = 0
        x = lam / th
        while True:
            r_j = n * mu + j * th  # rate at which the queue ahead shrinks with j ahead
            p_ans = (
                p_ans * (n * mu + j * th) / (n * mu + (j + 1) * th)
                if j
                else (n * mu / (n * mu + th))
            )
            harm += 1 / (r_j + th) if j else 1 / (n * mu + th)
            g += t
            ab += t * (1 - p_ans)
            ans += t * p_ans
            sl += t * p_ans * cdf
            wait_ans += t * p_ans * harm
            # next j: m = j + 2 for the beta recursion
            m = j + 1
            cdf = cdf - c_m
            c_m = c_m * z * (m + a + 1) / (m + 1)
            j += 1
            t = t * lam / (n * mu + j * th)
            if j > x - a and t < tiny * g:
                break
        total = e_sum + g
        return {
            "p_wait": g / total,
            "p_abandon": ab / total,
            "service_level": (e_sum + sl) / total,
            "asa": wait_ans / (e_sum + ans) if (e_sum + ans) > 0 else mp.inf,
        }


def ref_tr_log(p: float, x: float) -> mp.mpf:
    """x**-p e**x int_0^x log(x/w) w**p e**-w dw (the Erlang A ASA integral) by quadrature.

    In v = log(w/x) the integrand is x (-v) exp((p+1) v - x (e**v - 1)), a bump of width
    1/sqrt(p+1) around v = log((p+1)/x) (or at v = 0 when that is positive); mpmath's
    tanh-sinh rule on breakpoints out to 80 widths (exp(-3200) beyond).
    """
    with mp.workdps(DPS):
        q, xm = mp.mpf(p) + 1, mp.mpf(x)
        peak = min(mp.log(q / xm), mp.mpf(0))
        width = 1 / mp.sqrt(q)
        cuts = {min(peak - k * width, mp.mpf(0)) for k in (80, 30, 15, 8, 4, 2, 1, 0, -1, -2, -4)}
        return xm * mp.quad(
            lambda v: -v * mp.exp(q * v - xm * mp.expm1(v)), sorted(cuts | {mp.mpf(0)})
        )
