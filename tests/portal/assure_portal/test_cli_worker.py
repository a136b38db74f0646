"""CLI twins: ops drift TARGET --json, ops rehearse TARGET REV --with-data N --wait (real worker), ops backups."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from portal.assure.models import Backup
from tests.portal.assure_portal.helpers import dev_and_prod, execute

pytestmark = pytest.mark.worker


def _ops(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("ops", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def test_it_checks_drift_rehearses_and_lists_backups_from_the_cli(
        transactional_db, celery_worker_proc, make_database, dba, tmp_path):
    _dev, prod, prod_conn = dev_and_prod(make_database, prod_at="+1")
    text, code = _ops("drift", prod.name, "--json")
    first = json.loads(text)
    assert code == 1 and first["state"] == "drift" and first["schema_changes"] == []
    assert [f["code"] for f in first["revision_findings"]] == ["behind_head"]  # the example's revisions are old
    execute(prod_conn, "CREATE TABLE behind_the_back (id int)")
    text, code = _ops("drift", prod.name)
    assert code == 1 and "schema: table public.behind_the_back added" in text

    text, code = _ops("--user", "dba", "rehearse", prod.name, "head", "--with-data", "50", "--wait", "--json",
                      "--timeout", "120")
    assert code == 0, text
    report = json.loads(text[text.index("{"):])
    assert report["status"] == "passed" and report["with_data"] == 50
    assert report["report"]["down_vs_before"] == [] and report["report"]["sample"]["rows"]

    text, code = _ops("rehearse", prod.name, "head")
    assert code == 2  # changes things: needs a user
    _text, code = _ops("--user", "dba", "rehearse", prod.name, "head", "--with-data", "-3")
    assert code == 2

    Backup.objects.create(target=prod, scope="full", path=str(tmp_path / "x.dump"), size=42, sha256="ab" * 32,
                          status=Backup.Status.OK, restore_command="pg_restore ...")
    text, code = _ops("backups", prod.name, "--json")
    assert code == 0 and json.loads(text)[0]["size"] == 42
    text, code = _ops("backups", "no-such-target")
    assert code == 2
