"""``manage.py ops copy`` and ``ops verify``: pre-flight only, refusals in one line, a verification waited for."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from portal.ops.models import AuditEvent, Run, VerificationReport
from tests.portal.admin_helpers import billing_project  # noqa: F401
from tests.portal.copy_helpers import fts_sqlite, fts_target, import_dir, make_sqlite, pg_exec, rel  # noqa: F401


def ops(*args) -> str:
    out = io.StringIO()
    call_command("ops", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_prints_the_preflight_and_writes_nothing(fts_target, fts_sqlite) -> None:
    text = ops("copy", fts_target.name, "--sqlite", rel(fts_sqlite), "--preflight-only")
    assert "integrity_check: ok" in text and "not copied: shadow table docs_fts_data (" in text
    assert "fts docs_fts: copied into a table with a tsvector column" in text and "USING gin" in text
    assert "orphans: 1 row(s) of child reference missing parent rows" in text
    data = json.loads(ops("copy", fts_target.name, "--sqlite", rel(fts_sqlite), "--preflight-only", "--json"))
    assert data["integrity_ok"] and {t["name"] for t in data["tables"]} == {"parent", "child", "docs_fts"}
    assert ["docs_fts", "docs_fts"] in data["mapping"] and {"docs_fts_data"} <= {o["name"] for o in data["not_copied"]}
    assert Run.objects.count() == 0 and not AuditEvent.objects.filter(operation="copy").exists()


def test_the_text_preflight_prints_the_ddl_it_announces_for_an_external_content_index(fts_target, import_dir) -> None:
    src = make_sqlite(import_dir / "external.sqlite", """
        CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE VIRTUAL TABLE parent_idx USING fts5(name, content='parent', content_rowid='id');""",
                      {"parent": [(1, "a")]})
    text = ops("copy", fts_target.name, "--sqlite", rel(src), "--preflight-only", "--tables", "parent")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "parent_idx" in line and "(DDL given)" in line)
    ddl = " ".join(lines[at + 1:at + 4])
    assert "tsvector" in ddl and "USING gin" in ddl and '"public"."parent"' in ddl, text


def test_it_refuses_a_path_outside_the_import_dir(fts_target, dba, tmp_path) -> None:
    for before, after in (([], ["--preflight-only"]), (["--user", dba.username], [])):
        with pytest.raises(CommandError) as exc:
            ops(*before, "copy", fts_target.name, "--sqlite", str(tmp_path / "x.sqlite"), *after)
        assert exc.value.returncode == 2 and "outside the import directory" in str(exc.value)
    with pytest.raises(CommandError) as exc:
        ops("copy", fts_target.name, "--sqlite", "x.sqlite")
    assert "--user" in str(exc.value)
    assert Run.objects.count() == 0


@pytest.mark.worker
def test_it_waits_for_a_target_only_verification(transactional_db, celery_worker_proc, fts_target, dba) -> None:
    pg_exec(fts_target.conn(), "ALTER TABLE child DROP CONSTRAINT child_parent_id_fkey;"
                               "INSERT INTO child VALUES (7, 99, 1, 'orphan');"
                               "ALTER TABLE child ADD FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID")
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("ops", "--user", dba.username, "verify", fts_target.name, "--wait", "--json",
                     stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue())
    vr = VerificationReport.objects.get()
    assert report["header"]["mode"] == "target-only" and report["status"] == vr.status
    assert {t["name"] for t in report["tables"]} == {"parent", "child"}
    assert vr.status == "fail" and exc.value.returncode == 1
    child = next(t for t in report["tables"] if t["name"] == "child")
    orphans = next(f for f in child["findings"] if f["check"] == "orphans")
    assert orphans["status"] == "fail" and orphans["samples"][0]["key"] == 7


def test_it_builds_source_enforced_keys_after_the_load_unless_told_to_keep_them(fts_target, fts_sqlite, dba) -> None:
    ops("--user", dba.username, "copy", fts_target.name, "--sqlite", rel(fts_sqlite))
    run = Run.objects.get()
    assert run.params["options"]["defer_source_keys"] is True and run.params["options"]["defer_constraints"] is False
    run.delete()
    ops("--user", dba.username, "copy", fts_target.name, "--sqlite", rel(fts_sqlite), "--keep-keys-during-load")
    assert Run.objects.get().params["options"]["defer_source_keys"] is False


def test_verify_names_a_copy_run_that_does_not_exist_or_is_not_a_copy(fts_target, fts_sqlite, dba) -> None:
    other = Run.objects.create(target=fts_target, operation=Run.Operation.UPGRADE, revision="head",
                               status=Run.Status.SUCCEEDED)
    for run_id, said in ((999_999, "There is no run #999999"), (10**30, f"There is no run #{10**30}"),
                         (other.pk, f"Run #{other.pk} is not a copy run (operation: upgrade)")):
        with pytest.raises(CommandError) as exc:
            ops("--user", dba.username, "verify", fts_target.name, "--sqlite", rel(fts_sqlite), "--copy-run", str(run_id))
        assert exc.value.returncode == 2 and said in str(exc.value), str(exc.value)
    assert Run.objects.filter(operation=Run.Operation.VERIFY).count() == 0
