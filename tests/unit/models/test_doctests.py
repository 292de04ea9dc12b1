"""The examples in staffer.models' docstrings run and give what they show.

(``pytest --doctest-modules staffer/models`` runs the same examples.)
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import staffer.models

MODULES = sorted(m.name for m in pkgutil.iter_modules(staffer.models.__path__, "staffer.models."))
WITH_EXAMPLES = {
    "staffer.models.chat",
    "staffer.models.email",
    "staffer.models.erlang",
    "staffer.models.measures",
    "staffer.models.staffing",
}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if name in WITH_EXAMPLES:
        assert result.attempted > 0
