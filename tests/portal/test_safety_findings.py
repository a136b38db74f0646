"""Safety findings of a plan: on the confirm page grouped by level, stored on the run, shown on its page, in the CLI."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from migrations_ops.schema.project import ProjectSource
from migrations_ops.schema.runner import run_plan
from portal.ops import services
from portal.ops.models import AuditEvent, Run
from tests.engine.alembic_factory import Factory
from tests.factories import AlembicProjectFactory, target_for
from tests.portal.admin_helpers import assert_no_password, client_for

pytestmark = pytest.mark.django_db


def risky_project(root) -> Factory:
    """r1 creates t1; r2 adds a column and drops it on downgrade (unmarked); r3 has a ``pass`` downgrade."""
    f = Factory(root)
    f.table_rev("r1", None, "t1", message="create t1. Data loss on downgrade: drops t1")
    f.rev("r2", "r1", "add n to t1", upgrade='op.add_column("t1", sa.Column("n", sa.Integer))',
          downgrade='op.drop_column("t1", "n")')
    f.rev("r3", "r2", "index t1.n", upgrade='op.create_index("t1_n", "t1", ["n"])')
    return f


@pytest.fixture
def risky(tmp_path, make_database):
    f = risky_project(tmp_path / "risky")
    conn = make_database("findings")
    target = target_for(conn, AlembicProjectFactory(name="risky", location=str(f.root)), name="risky-dev")
    return f, conn, target


def at_head(f: Factory, conn) -> None:
    run_plan(conn, ProjectSource(str(f.root)), "upgrade", "head", run_id="test-setup")


def confirm_page(client, target, operation: str, revision: str) -> str:
    resp = client.post(reverse("admin:ops_target_schedule", args=[target.pk]),
                       {"operation": operation, "revision": revision})
    assert resp.status_code == 200
    assert resp.templates[0].name == "admin/ops/target/schedule_confirm.html", [
        str(m) for m in resp.context["messages"]]
    return resp.content.decode()


def section(page: str, level: str) -> str:
    m = re.search(rf'<div class="mop-panel mop-findings-{level}[^"]*" id="mop-findings-{level}".*?</table>', page, re.S)
    assert m, f"no {level} section on the page"
    return m.group(0)


def test_the_confirm_page_of_a_drop_column_downgrade_shows_the_danger_finding(risky, dba):
    f, conn, target = risky
    at_head(f, conn)
    page = confirm_page(client_for(dba), target, "downgrade", "r1")

    danger = section(page, "danger")
    assert 'class="mop-panel mop-findings-danger mop-error"' in danger, "danger findings are highlighted"
    assert 'data-rule="data-loss-drop-column"' in danger
    assert "DROP COLUMN n deletes the column" in danger and "<code>r2</code>" in danger
    assert 'data-rule="downgrade-not-implemented"' in danger and "<code>r3</code>" in danger
    warning = section(page, "warning")
    assert 'data-rule="unmarked-data-loss"' in warning, "r2's docstring does not mark its data loss"
    # Danger first, then warning, then info.
    assert page.index('id="mop-findings-danger"') < page.index('id="mop-findings-warning"')
    assert page.index('id="mop-findings"') < page.index('id="mop-sql"')
    assert_no_password(page, conn.password)


def test_a_pass_downgrade_gets_downgrade_not_implemented(risky, dba):
    f, conn, target = risky
    preview = services.preview_plan(target, "upgrade", "head")
    by_rule = {(x.rule, x.revision) for x in preview.findings}
    assert ("downgrade-not-implemented", "r3") in by_rule
    assert ("downgrade-not-implemented", "r1") not in by_rule and ("downgrade-not-implemented", "r2") not in by_rule
    assert ("unmarked-data-loss", "r2") in by_rule and ("unmarked-data-loss", "r1") not in by_rule
    # The plan reads through: the preview is the plan plus its findings.
    assert [s.revision for s in preview.steps] == ["r1", "r2", "r3"] and preview.sql_hash
    levels = [x.level for x in preview.findings]
    assert levels == sorted(levels, key=["danger", "warning", "info"].index)
    page = confirm_page(client_for(dba), target, "upgrade", "head")
    assert 'data-rule="downgrade-not-implemented"' in section(page, "danger")
    assert 'data-rule="index-not-concurrent"' in section(page, "warning")


def test_squawk_help_text_shows_with_its_finding(risky, dba):
    f, conn, target = risky
    preview = services.preview_plan(target, "upgrade", "head")
    squawk = [x for x in preview.findings if x.source == "squawk"]
    if not squawk:
        pytest.skip("squawk is not installed")
    with_help = next(x for x in squawk if x.help)
    page = confirm_page(client_for(dba), target, "upgrade", "head")
    assert f'data-rule="{with_help.rule}"' in page
    assert 'class="mop-explain mop-finding-help"' in page
    assert "(squawk)" in page


def test_schedule_run_stores_the_findings_and_the_run_page_shows_them(risky, dba):
    f, conn, target = risky
    at_head(f, conn)
    run = services.schedule_run(target=target, operation="downgrade", revision="r1", user=dba,
                                confirm_name=target.name)
    run.refresh_from_db()
    rules = {(x["rule"], x["level"], x["revision"]) for x in run.safety_findings}
    assert ("data-loss-drop-column", "danger", "r2") in rules
    assert ("downgrade-not-implemented", "danger", "r3") in rules
    assert set(run.safety_findings[0]) >= {"rule", "level", "message", "revision", "help", "source", "statement"}
    event = AuditEvent.objects.get(run=run, action="run.scheduled")
    assert event.params["findings"]["danger"] == sum(x["level"] == "danger" for x in run.safety_findings)

    page = client_for(dba).get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert 'data-rule="data-loss-drop-column"' in section(page, "danger")
    assert_no_password(page, conn.password)


def test_a_plan_without_findings_says_so(tmp_path, make_database, dba):
    f = Factory(tmp_path / "clean")
    f.table_rev("c1", None, "clean_t")
    target = target_for(make_database("clean"), AlembicProjectFactory(name="clean", location=str(f.root)),
                        name="clean-dev")
    preview = services.preview_plan(target, "upgrade", "head")
    assert [x for x in preview.findings if x.level == "danger"] == []
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    run = Run.objects.get(pk=run.pk)
    assert run.safety_findings == preview.findings_json()


def ops(*args) -> str:
    out = io.StringIO()
    call_command("ops", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_cli_prints_findings_as_sql_comments_after_the_sql(risky):
    f, conn, target = risky
    at_head(f, conn)
    out = ops("downgrade", target.name, "r1", "--sql")
    sql_part, _, comments = out.partition("-- Safety findings:")
    assert "ALTER TABLE t1 DROP COLUMN n" in sql_part
    assert comments, out
    lines = ("-- Safety findings:" + comments).strip().splitlines()
    assert all(line.startswith("--") for line in lines), "findings are SQL comments: the output stays SQL"
    assert any(line.startswith("-- [danger] data-loss-drop-column (revision r2):") for line in lines)
    assert any(line.startswith("-- [danger] downgrade-not-implemented (revision r3):") for line in lines)
    assert conn.password not in out


def test_the_cli_json_includes_the_findings(risky, dba):
    f, conn, target = risky
    data = json.loads(ops("upgrade", target.name, "head", "--sql", "--json"))
    assert [s["revision"] for s in data["steps"]] == ["r1", "r2", "r3"] and data["sql_hash"]
    assert {"rule": "downgrade-not-implemented", "revision": "r3", "level": "danger"}.items() <= next(
        x for x in data["findings"] if x["rule"] == "downgrade-not-implemented").items()

    run = json.loads(ops("--user", "dba", "upgrade", target.name, "head", "--json"))
    assert any(x["rule"] == "downgrade-not-implemented" for x in run["safety_findings"])
    assert run["lock_retries"] == 3


def test_the_cli_prints_the_danger_findings_when_it_schedules(risky, dba, monkeypatch):
    """``ops downgrade`` says what the admin's confirm page says before a data-losing run, not only with --sql."""
    from io import StringIO

    from django.core.management import call_command

    f, conn, target = risky
    at_head(f, conn)
    from portal.ops import dispatch

    monkeypatch.setattr(dispatch, "send_run", lambda run: None)
    out = StringIO()
    call_command("ops", "--user", dba.username, "downgrade", target.name, "r1", "--confirm", target.name, stdout=out)
    text = out.getvalue()
    assert "Scheduled run #" in text
    assert "DANGER: data-loss-drop-column (revision r2):" in text
    assert "DANGER: downgrade-not-implemented (revision r3):" in text
