"""The requirements summary the settings list shows carries doctests."""

from __future__ import annotations

import doctest

from portal.assure import requirements


def test_it_passes_the_doctests() -> None:
    result = doctest.testmod(requirements)
    assert result.attempted > 0 and result.failed == 0
