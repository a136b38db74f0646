"""The health engine's pure helpers carry doctests (query parsing and sampling, rates, labels); run them."""

from __future__ import annotations

import doctest

import pytest

from migrations_ops.health import chart, deltas, parity, reading


@pytest.mark.parametrize("module", [chart, deltas, parity, reading])
def test_it_passes_the_doctests(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
