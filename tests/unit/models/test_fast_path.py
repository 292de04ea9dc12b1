"""The scalar fast path: which calls reach the plain-math twin, and that it never raises."""

from __future__ import annotations

import math

import numpy as np
import pytest

from staffer import models as m
from staffer.models import erlang_scalar, measures_scalar, staffing_scalar
from staffer.models.fast_path import scalar_fast_path

calls: list[str] = []


def _twin(x: float, y: float = 2.0) -> float:
    calls.append("twin")
    if x < 0:
        raise ValueError("the twin cannot do this")
    return x * y


@scalar_fast_path(_twin)
def _vector(x: object, y: object = 2.0) -> object:
    calls.append("vector")
    return np.asarray(x, dtype=float) * np.asarray(y, dtype=float)


@pytest.mark.parametrize(
    ("args", "kwargs", "route"),
    [
        ((3.0,), {}, ["twin"]),
        ((3, np.float64(1.5)), {}, ["twin"]),
        ((np.float32(3.0),), {"y": np.int64(2)}, ["twin"]),
        ((None,), {}, ["twin", "vector"]),  # float(None) fails in the twin: numpy decides
        ((-1.0,), {}, ["twin", "vector"]),  # the twin raised: the vectorised code decides
        (([1.0, 2.0],), {}, ["vector"]),
        ((np.array(3.0),), {}, ["vector"]),
        ((True,), {}, ["vector"]),  # bool is numpy's business (0/1)
        ((3.0,), {"y": [1.0]}, ["vector"]),
    ],
)
def test_only_all_scalar_calls_take_the_twin(args, kwargs, route) -> None:
    calls.clear()
    _vector(*args, **kwargs)
    assert calls == route


def test_the_decorated_function_keeps_its_name_doc_and_signature() -> None:
    assert m.service_level.__name__ == "service_level"
    assert m.service_level.__module__ == "staffer.models.measures"
    assert "answered within" in (m.service_level.__doc__ or "")
    vector = m.service_level.__wrapped__(0.07, 240.0, 20, 20.0)  # the vectorised code
    assert vector == pytest.approx(m.service_level(0.07, 240.0, 20, 20.0), rel=1e-13)
    with pytest.raises(TypeError):
        m.service_level(0.07, 240.0, 20, 20.0, bogus=1)


def test_a_twin_with_other_parameters_is_refused_at_import() -> None:
    def twin(x: float, z: float = 2.0) -> float:
        return x

    with pytest.raises(TypeError, match="parameters"):
        scalar_fast_path(twin)(lambda x, y=2.0: x)
    with pytest.raises(TypeError, match="parameters"):
        scalar_fast_path(lambda x, y=3.0: x)(lambda x, y=2.0: x)


def test_public_scalar_calls_return_the_twins_results() -> None:
    assert m.erlang_c(10.0, 12) == erlang_scalar.erlang_c(10.0, 12)
    assert m.asa(0.07, 240.0, 20, 60.0) == measures_scalar.asa(0.07, 240.0, 20, 60.0)
    got = m.required_agents(0.07, 240.0, 20.0, 0.8, patience=60.0)
    assert isinstance(got, int)
    assert got == staffing_scalar.required_agents(0.07, 240.0, 20.0, 0.8, patience=60.0)
    # invalid types in a scalar call: the vectorised code's answer, not an exception
    assert math.isnan(m.erlang_b(None, 3))
    assert math.isnan(m.p_wait(None, 240.0, 3))
    assert m.required_agents(None, 240.0, 20.0, 0.8) == -1
