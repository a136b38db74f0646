"""The one name rule that pre-flight, copy and verification share."""

from __future__ import annotations

import doctest

import pytest

from migrations_ops import names
from migrations_ops.names import AmbiguousName, match_name, match_names


def test_it_passes_the_names_doctests() -> None:
    result = doctest.testmod(names)
    assert result.attempted >= 6 and result.failed == 0


def test_it_prefers_the_exact_name_over_a_case_folded_one() -> None:
    assert match_name("Album", ["album", "Album"]) == "Album"


def test_it_matches_names_with_spaces_and_quotes_by_case_only() -> None:
    assert match_names(['Order "Details"', "Ünïcode"], ['order "details"', "ünïcode"]) == {
        'Order "Details"': 'order "details"', "Ünïcode": "ünïcode"}


def test_it_names_both_candidates_when_ambiguous() -> None:
    with pytest.raises(AmbiguousName) as err:
        match_name("Album", ["ALBUM", "album"])
    assert err.value.data()["candidates"] == ["ALBUM", "album"]
    assert "ALBUM" in str(err.value) and "album" in str(err.value)
