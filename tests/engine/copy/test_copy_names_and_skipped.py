"""One name rule in pre-flight and copy; everything not copied listed with counts; FTS5 kinds told apart."""

from __future__ import annotations

import pytest
from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, SchemaMismatch, copy_database, format_summary, preflight
from migrations_ops.copy.skipped import definitions_sql
from migrations_ops.names import AmbiguousName
from tests.engine.copy.copynames_dataset import MAPPING, NOTES, SOURCE_TABLES, TARGET_DDL, VIEWS, build


@pytest.fixture
def names_source(tmp_path):
    return build(tmp_path / "chinook-like.sqlite")


@pytest.fixture
def names_target(target_db):
    pg_exec(target_db, TARGET_DDL)
    return target_db


def _by_name(objects):
    return {o.name: o for o in objects}


def test_it_maps_mixed_case_spaced_and_quoted_names_the_same_in_preflight_and_copy(names_source, names_target) -> None:
    report = preflight(names_source, names_target)
    assert dict(report.mapping) == MAPPING
    assert report.table("Album").target_types == {"AlbumId": "bigint", "Title": "text"}
    assert not [p for p in report.problems if "does not exist" in p or "no target column" in p]
    summary = copy_database(names_source, names_target)
    assert dict(summary.mapping) == MAPPING
    text = format_summary(summary)
    assert "table Album -> album" in text and "table Order Details -> order details" in text
    for src, tgt in MAPPING.items():
        n = pg_exec(names_target, "SELECT count(*) FROM public." + '"' + tgt.replace('"', '""') + '"')[0][0]
        assert n == SOURCE_TABLES[src], src
    assert pg_exec(names_target, 'SELECT albumid, title FROM album ORDER BY 1')[0] == (1, "For Those About To Rock")


def test_it_refuses_an_ambiguous_pair_naming_both(names_source, names_target) -> None:
    pg_exec(names_target, 'CREATE TABLE "ALBUM" (albumid bigint PRIMARY KEY, title text)')
    with pytest.raises(AmbiguousName) as exc:
        preflight(names_source, names_target)
    assert "'ALBUM'" in str(exc.value) and "'album'" in str(exc.value)
    with pytest.raises(AmbiguousName):
        copy_database(names_source, names_target)
    assert pg_exec(names_target, "SELECT count(*) FROM album")[0][0] == 0
    assert pg_exec(names_target, "SELECT to_regclass('mop.copy_run')")[0][0] is None  # the planning rolled back


def test_it_lists_views_triggers_internal_and_fts_objects_with_counts_and_advice(names_source, names_target) -> None:
    report = preflight(names_source, names_target)
    listed = _by_name(report.not_copied)
    assert {n for n, o in listed.items() if o.kind == "view"} == set(VIEWS)
    assert "CREATE VIEW v_albums AS SELECT Title" in listed["v_albums"].definition
    assert listed["docs_ai"].kind == "trigger" and listed["docs_ai"].table == "docs"
    assert listed["sqlite_sequence"].rows == 1 and "sequences" in listed["sqlite_sequence"].advice
    assert listed["sqlite_stat1"].kind == "internal table" and listed["sqlite_stat1"].rows > 0
    ext = listed["docs_ext"]
    assert ext.kind == "fts index (external)" and ext.rows == 3 and ext.table == "docs"
    assert any("tsvector GENERATED ALWAYS AS" in d and '"public"."docs"' in d for d in ext.postgres_ddl)
    assert any("USING gin" in d for d in ext.postgres_ddl) and not any("gin_trgm_ops" in d for d in ext.postgres_ddl)
    tri = listed["docs_tri"]
    assert tri.kind == "fts index (external)" and any("gin_trgm_ops" in d for d in tri.postgres_ddl)
    assert {"notes_fts_data", "notes_fts_content", "docs_ext_data"} <= {n for n, o in listed.items()
                                                                       if o.kind == "shadow table"}
    assert listed["notes_fts_content"].rows == len(NOTES)
    assert "notes_fts" not in listed and dict(report.fts_tables)["notes_fts"]
    summary = copy_database(names_source, names_target)
    assert _by_name(summary.skipped) == listed
    assert summary.rows_not_copied == 0
    text = format_summary(summary)
    assert "not copied: view v_albums" in text and "not copied: fts index (external) docs_ext (3 rows)" in text
    sql_file = definitions_sql(summary.skipped, "chinook-like.sqlite")
    assert 'CREATE VIEW "v order totals" AS SELECT count(*)' in sql_file and "CREATE TRIGGER docs_ai" in sql_file


def test_the_suggested_external_content_ddl_runs_and_finds_rows(names_source, names_target) -> None:
    report = preflight(names_source, names_target)
    copy_database(names_source, names_target)
    for ddl in _by_name(report.not_copied)["docs_ext"].postgres_ddl + _by_name(report.not_copied)["docs_tri"].postgres_ddl:
        pg_exec(names_target, ddl)
    found = pg_exec(names_target, "SELECT title FROM docs WHERE docs_ext_tsv @@ to_tsquery('simple', 'zebra')")
    assert found == [("Zebra crossing",)]
    assert pg_exec(names_target, "SELECT count(*) FROM pg_indexes WHERE tablename = 'docs' AND indexdef LIKE "
                                 "'%gin_trgm_ops%'")[0][0] == 1


def test_it_copies_a_contentful_fts_table_into_a_searchable_table(names_source, names_target) -> None:
    summary = copy_database(names_source, names_target)
    assert {t.table: t.imported for t in summary.tables}["notes_fts"] == len(NOTES)
    rows = pg_exec(names_target, "SELECT rowid, subject FROM notes_fts WHERE search_tsv @@ to_tsquery('simple', 'zebra')")
    assert rows == [(1, "meeting")]
    gin = pg_exec(names_target, "SELECT indexdef FROM pg_indexes WHERE tablename = 'notes_fts' AND indexdef LIKE '%gin%'")
    assert len(gin) == 1 and "search_tsv" in gin[0][0]


def test_it_refuses_a_contentful_fts_table_until_it_is_skipped_explicitly(names_source, names_target) -> None:
    with pytest.raises(SchemaMismatch) as exc:
        copy_database(names_source, names_target, CopyOptions(fts_contentful="refuse"))
    assert "notes_fts" in str(exc.value) and "--skip-table notes_fts" in str(exc.value)
    assert pg_exec(names_target, "SELECT to_regclass('public.notes_fts')")[0][0] is None
    report = preflight(names_source, names_target, fts_contentful="refuse")
    assert any("--skip-table notes_fts" in p for p in report.problems)
    assert report.fts_tables == ()  # refused: never also announced as "copied into a table"
    assert not any("does not exist" in p for p in report.problems), report.problems
    assert dict(preflight(names_source, names_target).fts_tables)["notes_fts"]  # the default copies it
    opts = CopyOptions(fts_contentful="refuse", skip_tables=("notes_fts",))
    report = preflight(names_source, names_target, skip_tables=opts.skip_tables, fts_contentful="refuse")
    notes = _by_name(report.not_copied)["notes_fts"]
    assert (notes.kind, notes.rows) == ("fts index (contentful)", len(NOTES)) and "NOT copied" in notes.advice
    summary = copy_database(names_source, names_target, opts)
    assert summary.rows_not_copied == len(NOTES)
    assert "notes_fts" not in dict(summary.mapping)
    assert "not copied: fts index (contentful) notes_fts (3 rows): skipped at your request" in format_summary(summary)


def test_tables_and_skip_tables_follow_the_name_rule_too(names_source, names_target) -> None:
    report = preflight(names_source, names_target, tables=["album", "ORDER DETAILS"], skip_tables=("NOTES_FTS",))
    assert {t.name for t in report.tables} == {"Album", "Order Details"}
    summary = copy_database(names_source, names_target, CopyOptions(tables=("album",), skip_tables=("Notes_Fts",)))
    assert dict(summary.mapping) == {"Album": "album"}
    assert pg_exec(names_target, "SELECT count(*) FROM album")[0][0] == SOURCE_TABLES["Album"]
    assert "notes_fts (3 rows): skipped at your request" in format_summary(summary)


def test_it_names_an_unknown_skip_table(names_source, names_target) -> None:
    with pytest.raises(SchemaMismatch) as exc:
        copy_database(names_source, names_target, CopyOptions(skip_tables=("nope",)))
    assert "source table 'nope' does not exist" in str(exc.value)


def test_the_external_content_ddl_spells_the_content_table_and_columns_as_the_target_does(make_sqlite, target_db) -> None:
    path = make_sqlite('CREATE TABLE "Articles" (Id INTEGER PRIMARY KEY, Title TEXT);'
                       "CREATE VIRTUAL TABLE art_fts USING fts5(Title, content='Articles', content_rowid='Id');",
                       {"Articles": [(1, "Quiet zebra"), (2, "Loud lion")]})
    pg_exec(target_db, "CREATE TABLE articles (id bigint PRIMARY KEY, title text)")
    ddl = _by_name(preflight(path, target_db).not_copied)["art_fts"].postgres_ddl
    assert '"public"."articles"' in ddl[0] and 'coalesce("title", \'\')' in ddl[0]
    copy_database(path, target_db)
    for statement in ddl:
        pg_exec(target_db, statement)
    assert pg_exec(target_db, "SELECT id FROM articles WHERE art_fts_tsv @@ to_tsquery('simple', 'zebra')") == [(1,)]


def test_it_names_an_unknown_text_search_configuration_before_creating_anything(names_source, names_target) -> None:
    report = preflight(names_source, names_target, fts_regconfig="klingon")
    assert any("text search configuration 'klingon' does not exist" in p for p in report.problems)
    with pytest.raises(SchemaMismatch) as exc:
        copy_database(names_source, names_target, CopyOptions(fts_regconfig="klingon"))
    assert "klingon" in str(exc.value)
    assert pg_exec(names_target, "SELECT to_regclass('public.notes_fts')")[0][0] is None
    summary = copy_database(names_source, names_target, CopyOptions(fts_regconfig="english"))
    assert {t.table: t.imported for t in summary.tables}["notes_fts"] == len(NOTES)
    assert pg_exec(names_target, "SELECT count(*) FROM notes_fts WHERE search_tsv @@ to_tsquery('english', 'searching')"
                   )[0][0] == 1  # english stems 'search' and 'searching' alike
