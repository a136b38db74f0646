"""The rehearsal's and scratch databases' pure helpers carry doctests (inverse, names, LIKE patterns)."""

from __future__ import annotations

import doctest

import pytest

from migrations_ops.rehearse import run
from migrations_ops.scratch import databases


@pytest.mark.parametrize("module", [run, databases])
def test_it_passes_the_doctests(module) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
