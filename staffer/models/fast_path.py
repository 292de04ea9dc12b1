"""The scalar fast path: all-scalar calls of a public function go to its plain-math twin.

The vectorised functions make a few hundred numpy calls (~1 us each even on one
element); their twins in the ``*_scalar`` modules compute the same formulas with
``math`` in a few us. ``@scalar_fast_path(twin)`` on a vectorised public function sends
a call whose arguments are all plain numbers (or None) to ``twin``, which has the same
parameters and defaults, and everything else, or anything the twin cannot handle, to the
vectorised code, which decides (so the fast path never raises where it would not).

The dispatcher is generated once per function with that function's own parameter list
(as dataclasses generates ``__init__``): a chain of ``type(x) in SCALAR_TYPES`` and plain
positional calls cost ~0.15 us, where a generic ``*args, **kwargs`` wrapper costs ~0.45 us,
a third of the time of the fastest twins.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TypeVar, cast

import numpy as np

# numpy scalars that float() takes exactly; bool is left to numpy (as float 0/1)
SCALAR_TYPES = frozenset({int, float, np.float64, np.int64, np.float32, np.int32, type(None)})

F = TypeVar("F", bound=Callable[..., object])

_TEMPLATE = """\
def __fast_path({params}):
    if {checks}:
        try:
            return __fp_twin({args})
        except (ArithmeticError, ValueError, TypeError):
            pass  # the vectorised code decides (a NaN, -1, or its own error)
    return __fp_vector({args})
"""


def _parameters(fn: Callable[..., object]) -> list[tuple[str, object]]:
    """(name, default) of each parameter; only plain positional-or-keyword ones."""
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD or p.name.startswith("__fp_"):
            raise TypeError(f"{fn.__qualname__}: {p.name} is not a plain positional parameter")
        out.append((p.name, p.default))
    return out


def scalar_fast_path(twin: Callable[..., object]) -> Callable[[F], F]:
    """Decorate a vectorised function with its scalar twin (same parameters and defaults)."""

    def decorate(vector: F) -> F:
        params = _parameters(vector)
        if _parameters(twin) != params:
            raise TypeError(
                f"{twin.__qualname__} does not have the parameters of {vector.__qualname__}"
            )
        names = [name for name, _ in params]
        namespace: dict[str, object] = {
            "__fp_twin": twin,
            "__fp_vector": vector,
            "__fp_types": SCALAR_TYPES,
        }
        signature = []
        for i, (name, default) in enumerate(params):
            if default is inspect.Parameter.empty:
                signature.append(name)
            else:
                namespace[f"__fp_d{i}"] = default
                signature.append(f"{name}=__fp_d{i}")
        source = _TEMPLATE.format(
            params=", ".join(signature),
            checks=" and ".join(f"type({n}) in __fp_types" for n in names),
            args=", ".join(names),
        )
        exec(compile(source, f"<scalar fast path of {vector.__qualname__}>", "exec"), namespace)
        call = cast(F, namespace["__fast_path"])
        functools.update_wrapper(call, vector)
        return call

    return decorate
