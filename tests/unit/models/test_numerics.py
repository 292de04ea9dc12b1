"""The numerical kernels' contracts that the models' results do not show directly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from staffer.models.numerics import bd0, log_pois, log_upper, tail_cut


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(1e-300, 1e6),  # m
            st.one_of(st.floats(-0.499, 0.499), st.floats(-1e-6, 1e-6)),  # v = (x-m)/(x+m)
        ),
        min_size=2,
        max_size=12,
    )
)
def test_bd0_of_an_element_does_not_depend_on_its_batch(rows: list[tuple[float, float]]) -> None:
    # the atanh series runs as long as the batch's largest |v| needs; the extra terms of
    # the other elements are below half an ulp, so log_upper may evaluate its regions in
    # one call and a queue's values do not change with the batch it is computed in
    m, v = (np.array(c) for c in zip(*rows, strict=True))
    x = m * (1.0 + v) / (1.0 - v)
    one = [bd0(x[i : i + 1], m[i : i + 1])[0] for i in range(m.size)]
    assert np.array_equal(bd0(x, m), one)
    lp = [log_pois(x[i : i + 1], m[i : i + 1])[0] for i in range(m.size)]
    assert np.array_equal(log_pois(x, m), lp)


def test_log_upper_of_a_2d_array_is_elementwise() -> None:
    # far below the mode (the lower-tail correction), far above (Laguerre) and between,
    # in a 2-d array: the same as the flat call (it used to raise IndexError here)
    p = np.array([[400.0, 50.0, 3.0], [100.0, 400.0, 40.0]])
    x = np.array([[300.0, 52.0, 40.0], [60.0, 290.0, 35.0]])
    cut = tail_cut(p)
    assert (x < p - cut).sum() == 2 and (x > p + cut).sum() == 1
    flat = log_upper(p.ravel(), x.ravel()).reshape(p.shape)
    assert np.array_equal(log_upper(p, x), flat)
