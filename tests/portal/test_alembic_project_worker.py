"""Real Alembic projects on a real worker: a DATABASE_URL env.py migrates the chosen target (the worker's
own DATABASE_URL is the portal's), and a failing revision keeps class, statement, file and line on the
run, in the audit, on the page and in ``ops upgrade --wait``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from portal.ops import services
from portal.ops.models import AlembicProject, AuditEvent, Run
from tests.engine.alembic_factory import Factory, linear
from tests.engine.test_project_env import ENV_TEMPLATE
from tests.engine.test_runner import tables
from tests.factories import target_for
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker


def test_project_mode_env_py_reading_database_url_migrates_the_target_not_the_portal(
    transactional_db, celery_worker_proc, make_database, dba, tmp_path
):
    seen = tmp_path / "seen.jsonl"
    env = ENV_TEMPLATE.format(url_expr='os.environ["DATABASE_URL"]', seen=str(seen))
    f = linear(tmp_path / "p", 2, env=env)
    project = AlembicProject.objects.create(name="dburl", location=str(f.root), env_mode="project")
    conn = make_database("projmode")
    target = target_for(conn, project, name="projmode")
    run = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert tables(conn) == {"alembic_version", "t1", "t2"}
    records = [json.loads(line) for line in seen.read_text().splitlines()]
    online = [r for r in records if not r["offline"]]
    assert len(online) == 1 and f"/{conn.dbname}?" in online[0]["url"]
    assert online[0]["url"].startswith("postgresql+psycopg://")
    assert not {"MOP_FERNET_KEYS", "REDIS_URL", "DJANGO_SECRET_KEY", "MOP_CELERY_QUEUE"} & set(online[0]["env"])
    assert any(r["offline"] for r in records)  # the preview ran the same env.py, offline


def test_a_failing_revision_is_explained_like_the_cli(transactional_db, celery_worker_proc, make_database, dba,
                                                      tmp_path):
    f = Factory(tmp_path / "p")
    f.table_rev("f1", None, "sponsor_type")
    f.rev("f2", "f1", "create it again", upgrade='op.create_table("sponsor_type", sa.Column("id", sa.Integer))')
    project = AlembicProject.objects.create(name="failing", location=str(f.root))
    conn = make_database("failing")
    target_for(conn, project, name="failing")
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("ops", "--user", "dba", "upgrade", "failing", "head", "--wait", stdout=out, stderr=io.StringIO())
    text = str(caught.value)
    assert caught.value.returncode == 1
    assert "Exception: psycopg.errors.DuplicateTable (raised as sqlalchemy.exc.ProgrammingError)" in text
    assert "[SQL: CREATE TABLE sponsor_type" in text and "At versions/f2_.py:" in text
    run = Run.objects.get(target__name="failing")
    failure = run.error_data["failure"]
    assert failure["revision_file"] == "versions/f2_.py" and failure["revision_function"] == "upgrade"
    assert "Traceback" in failure["traceback"]
    finished = AuditEvent.objects.get(run=run, action="run.finished")
    assert finished.params["error_data"]["failure"]["exception_class"] == "psycopg.errors.DuplicateTable"
    client = Client()
    client.force_login(dba)
    body = client.get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert 'id="mop-failure-class">psycopg.errors.DuplicateTable<' in body
    assert 'id="mop-failure-where">versions/f2_.py:' in body
    assert '<details id="mop-failure-traceback"><summary>Traceback</summary>' in body
    assert conn.password not in body
