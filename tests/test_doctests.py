"""Docstring examples are tests too: every example in the engine and the portal runs with the suite.

The modules are walked here (rather than with ``--doctest-modules``) so that test helper modules with the
same file name in different folders do not collide, and so that a module added tomorrow is covered without
a list to keep.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import migrations_ops
import portal


def _modules() -> list[str]:
    names = []
    for package in (migrations_ops, portal):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations." in info.name + "." or info.name.endswith((".wsgi", ".settings")):
                continue
            names.append(info.name)
    return sorted(names)


def _with_examples() -> list[str]:
    finder = doctest.DocTestFinder()
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        if any(t.examples for t in finder.find(module, name)):
            found.append(name)
    return found


MODULES = _with_examples()


def test_the_examples_are_found() -> None:
    assert len(MODULES) >= 20, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_of_each_module_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed"
