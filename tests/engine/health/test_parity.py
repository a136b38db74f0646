"""Search parity on a generated FTS5 table of English and Japanese text: with 'simple' single terms find the
same rows; with 'english' stemming and stop words make differences, each listed with its cause."""

from __future__ import annotations

import psycopg
import pytest

from migrations_ops.health import parity
from tests.engine.health.parity_helpers import copy_to, make_fts


@pytest.fixture
def copied(make_database, tmp_path):
    target = make_database("parity")
    path = tmp_path / "search.sqlite"
    copy_to(target, make_fts(path))
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as conn:
        yield path, conn


def test_it_finds_the_same_rows_for_single_terms_with_simple(copied) -> None:
    path, conn = copied
    report = parity.search_parity(path, conn, "docs", count=20)
    assert report.regconfig == report.column_regconfig == "simple"
    assert report.sampled and len(report.queries) == 20
    terms = [q for q in report.queries if q.query.kind == "term"]
    assert terms and all(q.same and q.sqlite_count == q.pg_count > 0 for q in terms)
    assert report.default_text_search_config  # the server's setting is reported


def test_japanese_terms_match_on_both_sides(copied) -> None:
    path, conn = copied
    report = parity.search_parity(path, conn, "docs", query_texts=["全文検索", "東京"])
    assert [(q.same, q.sqlite_count > 0) for q in report.queries] == [(True, True), (True, True)]


def test_english_stemming_and_stop_words_are_listed_and_explained(copied) -> None:
    path, conn = copied
    report = parity.search_parity(path, conn, "docs", regconfig="english",
                                  query_texts=["running", "the", "connections", "searching*", '"the cats"'])
    by = {q.query.label: q for q in report.queries}
    running = by["running"]
    assert running.only_pg_count > 0 and running.only_sqlite_count == 0  # 'run', 'runs' found too
    assert running.tsquery == "'run'" and any(c.startswith("stemming") for c in running.causes)
    assert any("runs" in e.text.split() or "run" in e.text for e in running.only_pg)
    the = by["the"]
    assert the.pg_count == 0 and the.sqlite_count > 0 and the.causes[0].startswith("stop words")
    assert any("'simple'" in a for a in report.advice)
    assert any("The column was built with 'simple'" in a for a in report.advice)


def test_bad_input_gets_a_clear_message(copied, tmp_path) -> None:
    path, conn = copied
    with pytest.raises(parity.ParityError, match="is not an FTS table"):
        parity.search_parity(path, conn, "nope")
    with pytest.raises(parity.ParityError, match="does not exist in the target"):
        parity.search_parity(path, conn, "docs", regconfig="klingon")
    with pytest.raises(parity.ParityError, match="does not exist"):
        parity.search_parity(tmp_path / "missing.sqlite", conn, "docs")
    with pytest.raises(parity.ParityError, match="prefix query"):
        parity.search_parity(path, conn, "docs", query_texts=["a*b"])
