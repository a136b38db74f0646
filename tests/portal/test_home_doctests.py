"""The home app's pure helpers carry doctests (ages, pending counts, words); run them here."""

from __future__ import annotations

import doctest

import pytest

from migrations_ops.locks import overview
from portal.home import audit_filters, fleet, words
from portal.home.templatetags import home_tags
from portal.ops import services


@pytest.mark.parametrize("module", [fleet, words, home_tags, audit_filters, overview])
def test_it_passes_the_doctests(module) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_it_passes_the_nothing_to_do_doctest() -> None:
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(services) if t.name.endswith("nothing_to_do")]
    runner = doctest.DocTestRunner()
    for t in tests:
        runner.run(t)
    assert tests and runner.failures == 0
