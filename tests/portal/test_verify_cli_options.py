"""``ops verify`` options refused in one line, before anything is queued: ``--copy-id`` without a
source, ``--show`` out of range."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from portal.ops import verifying
from portal.ops.models import Run
from tests.portal.admin_helpers import billing_project  # noqa: F401
from tests.portal.copy_helpers import fts_sqlite, fts_target, import_dir, rel  # noqa: F401


def refused(*args) -> CommandError:
    with pytest.raises(CommandError) as exc:
        call_command("ops", *args, stdout=io.StringIO(), stderr=io.StringIO())
    return exc.value


def test_it_refuses_a_copy_id_without_a_source_and_a_show_out_of_range(fts_target, fts_sqlite, dba) -> None:
    err = refused("--user", dba.username, "verify", fts_target.name, "--copy-id", "abc")
    assert err.returncode == 2 and "give the SQLite file too" in str(err)
    err = refused("--user", dba.username, "verify", fts_target.name, "--sqlite", rel(fts_sqlite), "--wait",
                  "--show", "0")
    assert err.returncode == 2 and "1 to 1000" in str(err)
    assert Run.objects.count() == 0


def test_it_keeps_the_copy_id_and_widens_the_samples_for_the_worker(fts_target, fts_sqlite, dba,
                                                                      django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        run = verifying.schedule_verify(target=fts_target, source=rel(fts_sqlite), user=dba, copy_id="c-1",
                                        samples=25)
    run.refresh_from_db()
    options = verifying.engine_args(run)["options"]
    assert (run.params["copy_id"], options.copy_id, options.sample_size) == ("c-1", "c-1", 25)


def test_it_prints_keyless_rows_and_counts_beyond_the_shown_keys(make_database, tmp_path) -> None:
    """``report_lines`` over a real report: a keyless table's rows with their values, "... N more" past --show."""
    import sqlite3

    import psycopg

    from migrations_ops.verify import verify

    target = make_database("lines")
    path = tmp_path / "r.sqlite"
    with sqlite3.connect(path) as lite:
        lite.execute('CREATE TABLE "Reading" (sensor TEXT, value INTEGER)')
        lite.executemany('INSERT INTO "Reading" VALUES (?, ?)', [("s", i) for i in range(20)])
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as pg:
        pg.execute("CREATE TABLE reading (sensor text, value integer)")
        pg.execute("INSERT INTO reading SELECT 's', i FROM generate_series(5, 19) AS i")
    lines = verifying.report_lines(verify(target, path).to_dict(), show=3)
    text = "\n".join(lines)
    assert "fail  Reading -> reading  (20 -> 15 rows)" in text
    assert "rowid 1: sensor=s, value=0" in text and "rowid 3: sensor=s, value=2" in text
    assert "rowid 4:" not in text and "... 2 more" in text
