"""Every module of the package imports, and the examples in its docstrings run (doctest).

Modules that need the ``demo`` extra (simpy, matplotlib, amqtt) are skipped, with that
reason, only where the extra is not installed (``make test`` installs everything).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import staffer

DEMO_EXTRA = {"simpy", "matplotlib", "amqtt"}
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(staffer.__path__, "staffer.")
    if m.name != "staffer.__main__"  # importing it runs the CLI
)


def test_the_package_has_doctests() -> None:
    found = 0
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        found += sum(len(t.examples) for t in doctest.DocTestFinder().find(module))
    assert found >= 10


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] in DEMO_EXTRA:
            pytest.skip(f"needs pip install 'staffer[demo]' ({err.name})")
        raise
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
