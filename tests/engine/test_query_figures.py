"""A figure the pages show from several queries is defined once: the files say it the same way."""

from __future__ import annotations

import re

import pytest

from migrations_ops import queries

# The session columns every lock and activity list shows, as sessions.sql defines them.
SHARED_SESSION_COLUMNS = ("xact_seconds", "query_seconds", "state_seconds", "xmin_age")


def _definition(query: str, column: str) -> str:
    """The expression ``... AS column`` in a query file, whitespace folded."""
    text = " ".join(queries.get(query).split())
    found = re.findall(r"((?:age|extract|CASE)\b[^,]*?(?:\([^()]*(?:\([^()]*\)[^()]*)*\)[^,]*?)*) AS " + column + r"\b",
                       text)
    assert found, f"{column} is not defined in {query}.sql"
    return found[-1].strip()


@pytest.mark.parametrize("column", SHARED_SESSION_COLUMNS)
def test_the_session_lists_define_each_column_alike(column: str) -> None:
    assert _definition("blocking_sessions", column) == _definition("sessions", column)


def test_the_summary_strip_and_the_lists_define_xmin_age_alike() -> None:
    assert _definition("activity_summary", "xmin_age") == _definition("sessions", "xmin_age") == (
        "age(coalesce(a.backend_xmin, a.backend_xid))")
