"""A damaged SQLite file at every entry: the copy page, an upload, the CLI, scheduling and the worker.

Each answers with the file's name and what is wrong (a form error, exit code 2,
a failed run with a clear error), never a traceback or a 500, and loses
nothing: no run for a file that cannot be opened, no upload left behind.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal.ops import copy_sources, copying, verifying
from portal.ops.models import Run
from tests.damaged_sqlite import DAMAGES, good_sqlite
from tests.portal.admin_helpers import billing_project, dba_client  # noqa: F401
from tests.portal.conftest import ROOT, wait_run_finished
from tests.portal.copy_helpers import fts_target, import_dir, rel  # noqa: F401

REASON = {"truncated": "malformed", "flipped_pages": "damaged", "text_file": "not a database",
          "empty_file": "empty (0 bytes)", "encrypted": "not a database"}
# Damage SQLite sees when it opens the file; a broken data page is only met when the rows are read.
AT_OPEN = ("truncated", "text_file", "empty_file", "encrypted")


@pytest.fixture
def damaged(import_dir: Path) -> dict[str, Path]:
    good = good_sqlite(import_dir / "good.sqlite")
    return {name: make(good, import_dir / f"{name}.sqlite") for name, make in DAMAGES.items()}


def _uploads() -> list[Path]:
    folder = Path(copy_sources.import_dir(), copy_sources.UPLOAD_DIR)
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_the_copy_page_shows_a_clear_error(dba_client, fts_target, damaged, damage: str) -> None:
    url = reverse("admin:ops_target_copy", args=[fts_target.pk])
    resp = dba_client.post(url, {"path": rel(damaged[damage]), "text_policy": "reject"})

    body = resp.content.decode()
    assert resp.status_code == 200
    assert "Cannot read SQLite file" in body and REASON[damage] in body, body[-3000:]
    assert "Traceback" not in body and 'id="mop-copy-confirm-form"' not in body
    assert Run.objects.count() == 0


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_rejected_upload_leaves_nothing_in_uploads(dba_client, fts_target, damaged, damage: str) -> None:
    before = _uploads()
    upload = SimpleUploadedFile(f"{damage}.sqlite", damaged[damage].read_bytes())
    resp = dba_client.post(reverse("admin:ops_target_copy", args=[fts_target.pk]),
                           {"upload": upload, "text_policy": "reject"})

    body = resp.content.decode()
    assert resp.status_code == 200 and 'id="mop-copy-confirm-form"' not in body
    said = ("Refused", "Cannot read SQLite file", "The submitted file is empty")
    assert any(s in body for s in said), body[-3000:]
    assert _uploads() == before
    assert Run.objects.count() == 0


def test_an_upload_refused_for_its_tables_is_removed_too(dba_client, fts_target, import_dir) -> None:
    """A valid file, refused by the pre-flight (a table it does not have): the upload goes as well."""
    good = good_sqlite(import_dir / "fine.sqlite", rows=10)
    before = _uploads()
    resp = dba_client.post(reverse("admin:ops_target_copy", args=[fts_target.pk]), {
        "upload": SimpleUploadedFile("fine.sqlite", good.read_bytes()), "tables": "nope", "text_policy": "reject"})

    assert resp.status_code == 200 and "nope" in resp.content.decode()
    assert _uploads() == before


def test_an_accepted_upload_is_kept_for_the_copy(dba_client, fts_target, import_dir) -> None:
    good = good_sqlite(import_dir / "fine.sqlite", rows=10)
    before = _uploads()
    resp = dba_client.post(reverse("admin:ops_target_copy", args=[fts_target.pk]), {
        "upload": SimpleUploadedFile("fine.sqlite", good.read_bytes()), "text_policy": "reject"})

    assert resp.status_code == 200 and 'id="mop-copy-confirm-form"' in resp.content.decode()
    added = [p for p in _uploads() if p not in before]
    assert len(added) == 1 and added[0].read_bytes() == good.read_bytes()
    added[0].unlink()


def test_discard_never_deletes_a_file_outside_uploads(damaged) -> None:
    copy_sources.discard_upload(rel(damaged["text_file"]))
    copy_sources.discard_upload("uploads/../" + rel(damaged["encrypted"]))
    assert damaged["text_file"].exists() and damaged["encrypted"].exists()


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_the_cli_preflight_says_what_is_wrong(fts_target, damaged, damage: str) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("ops", "copy", fts_target.name, "--sqlite", rel(damaged[damage]), "--preflight-only",
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert exc.value.returncode == 2
    assert "Cannot read SQLite file" in str(exc.value) and REASON[damage] in str(exc.value)


def test_manage_py_prints_one_line_and_no_traceback(fts_target, damaged, transactional_db) -> None:
    """The real command line, as a DBA types it (a subprocess on the test database)."""
    from django.db import connection

    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/"
           + connection.settings_dict["NAME"], "MOP_IMPORT_DIR": str(copy_sources.import_dir())}
    done = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "ops", "copy", fts_target.name, "--sqlite",
         rel(damaged["flipped_pages"]), "--preflight-only"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "sqlite3.DatabaseError" not in done.stderr
    assert "Cannot read SQLite file" in done.stderr and "damaged" in done.stderr


@pytest.mark.parametrize("damage", AT_OPEN)
def test_scheduling_refuses_a_file_sqlite_cannot_open(fts_target, dba, damaged, damage: str) -> None:
    for schedule in (lambda: copying.schedule_copy(target=fts_target, source=rel(damaged[damage]), user=dba),
                     lambda: verifying.schedule_verify(target=fts_target, source=rel(damaged[damage]), user=dba)):
        with pytest.raises(Exception) as exc:
            schedule()
        assert type(exc.value).__name__ == "ValidationError"
        assert "Cannot read SQLite file" in " ".join(exc.value.messages)
    with pytest.raises(CommandError) as exc:
        call_command("ops", "--user", dba.username, "verify", fts_target.name, "--sqlite", rel(damaged[damage]),
                     stdout=io.StringIO())
    assert exc.value.returncode == 2 and REASON[damage] in str(exc.value)
    assert Run.objects.count() == 0


@pytest.mark.worker
def test_a_copy_meeting_a_damaged_page_fails_naming_the_file(
    transactional_db, celery_worker_proc, dba, fts_target, damaged
) -> None:
    from tests.portal.copy_helpers import pg_exec

    pg_exec(fts_target.conn(), "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);"
                               "CREATE TABLE items (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), v text)")
    run = copying.schedule_copy(target=fts_target, source=rel(damaged["flipped_pages"]), user=dba)
    run = wait_run_finished(run, timeout=120)

    assert run.status == Run.Status.FAILED
    assert run.error_code == "source_unreadable", run.error
    assert "Cannot read SQLite file" in run.error and "damaged" in run.error
    assert "integrity_check" in run.error_explanation


@pytest.mark.parametrize("damage", AT_OPEN)
def test_the_verify_page_shows_a_clear_error(dba_client, fts_target, damaged, damage: str) -> None:
    resp = dba_client.post(reverse("admin:ops_target_verify", args=[fts_target.pk]), {"path": rel(damaged[damage])})

    body = resp.content.decode()
    assert resp.status_code == 200 and "Cannot read SQLite file" in body and REASON[damage] in body
    assert Run.objects.count() == 0
