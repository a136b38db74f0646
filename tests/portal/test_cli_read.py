"""ops targets / revisions / status / audit / verify-audit: stable JSON and clear refusals."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from portal.ops import audit
from portal.ops.models import AuditEvent
from tests.engine.alembic_factory import branched
from tests.factories import BILLING, AlembicProjectFactory, target_for

pytestmark = pytest.mark.django_db
BILLING_HEAD = "6e7a2c9d4b38"


def ops(*args) -> str:
    out = io.StringIO()
    call_command("ops", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def target(make_database):
    conn = make_database("cli")
    return target_for(conn, AlembicProjectFactory(name="billing"), name="billing-dev"), conn


def test_it_lists_targets_as_json_without_secrets(target):
    target, conn = target
    data = json.loads(ops("targets", "--json"))
    assert data == {"targets": [{
        "name": "billing-dev", "environment": "development", "project": "billing", "host": conn.host,
        "port": conn.port, "dbname": conn.dbname, "user": conn.user, "sslmode": conn.sslmode,
        "has_password": True, "active": True, "lock_timeout_ms": 1000, "statement_timeout_ms": 900000,
        "lock_retries": 3,
    }]}
    assert conn.password not in ops("targets") + ops("targets", "--json")


def test_it_lists_revisions_with_graph_flags(target):
    by_target = json.loads(ops("revisions", "billing-dev", "--json"))
    by_path = json.loads(ops("revisions", "--project", str(BILLING), "--json"))
    assert by_target["revisions"] == by_path["revisions"]
    assert by_target["heads"] == [BILLING_HEAD]
    first = by_target["revisions"][0]
    assert set(first) >= {"id", "parents", "branch_labels", "depends_on", "message", "path", "is_head", "is_base",
                          "is_branch_point", "is_merge_point"}
    flags = {r["id"]: r for r in by_target["revisions"]}
    assert flags[BILLING_HEAD]["is_head"] and flags["f08b3a5d6e21"]["is_merge_point"]
    assert flags["c41d7e2a9b53"]["is_branch_point"] and flags["3f1c9a2b7d40"]["is_base"]
    text = ops("revisions", "billing-dev")
    assert "(mergepoint)" in text and "(branchpoint)" in text and "[devices]" in text


def test_it_reports_status_as_json(target):
    data = json.loads(ops("status", "billing-dev", "--json"))
    assert data["target"] == "billing-dev" and data["current"] == [] and data["has_version_table"] is False
    assert data["heads"] == [BILLING_HEAD] and data["pending"][-1] == BILLING_HEAD and not data["up_to_date"]
    assert {"code", "message", "explanation"} <= set(data["problems"][0])


def test_it_says_the_heads_are_unknown_when_the_scripts_do_not_form_a_history(target, tmp_path):
    target, _ = target
    f = branched(tmp_path / "b", merged=False)
    (f.root / "versions" / "zz_broken.py").write_text('revision = "zz"\ndown_revision = "nope"\n')
    target.project = AlembicProjectFactory(name="broken", location=str(f.root))
    target.save()
    text = ops("status", "billing-dev")
    assert "project heads: unknown" in text and "project heads: base" not in text
    assert "[broken_revision_history]" in text and "nope" in text


def test_it_prints_the_upgrade_sql_without_scheduling(target):
    sql = ops("upgrade", "billing-dev", "head", "--sql")
    assert "CREATE TABLE users" in sql and "alembic_version" in sql
    assert not AuditEvent.objects.filter(action="run.scheduled").exists()


def test_it_lists_and_verifies_the_audit(target):
    audit.record(actor="dba", actor_kind="user", action="run.scheduled", target=target[0], operation="upgrade",
                 to_revision="head")
    events = json.loads(ops("audit", "--json", "--target", "billing-dev"))["events"]
    assert events[0]["action"] == "run.scheduled" and events[0]["target"] == "billing-dev"
    assert set(events[0]) == {"id", "created_at", "actor", "actor_kind", "action", "target", "run", "operation",
                              "from_revision", "to_revision", "params", "sql_hash", "outcome", "error",
                              "prev_hash", "hash"}
    assert "OK:" in ops("verify-audit")


@pytest.mark.parametrize(("args", "words"), [
    (["status", "nope"], "Unknown target 'nope'"),
    (["upgrade", "billing-dev", "deadbeef99", "--sql"], "Can't locate revision identified by 'deadbeef99'"),
    (["revisions", "--project", "/no/such/dir"], "does not exist"),
    (["upgrade", "billing-dev", "head"], "--user NAME"),
    (["--user", "ghost", "upgrade", "billing-dev", "head"], "No active portal user named 'ghost'"),
])
def test_it_refuses_bad_input_with_one_line_and_exit_code_2(target, args, words):
    with pytest.raises(CommandError) as err:
        ops(*args)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert err.value.returncode == 2
    assert not AuditEvent.objects.exists()


def test_it_explains_multiple_heads_when_head_is_asked(target, tmp_path, dba):
    target, _ = target
    target.project = AlembicProjectFactory(name="forked", location=str(branched(tmp_path / "f", merged=False).root))
    target.save()
    with pytest.raises(CommandError, match="Multiple head revisions are present") as err:
        ops("--user", "dba", "upgrade", "billing-dev", "head")
    assert err.value.returncode == 2 and not AuditEvent.objects.filter(action="run.scheduled").exists()


def test_it_checks_the_permissions_of_the_user_it_acts_as(target, viewer):
    with pytest.raises(CommandError, match="Permission denied.*ops.schedule_run"):
        ops("--user", "vera", "upgrade", "billing-dev", "head")
    with pytest.raises(CommandError, match="ops.verify_audit_chain"):
        ops("--user", "vera", "verify-audit")


@pytest.mark.parametrize(("change", "args", "words"), [
    ({"port": 1}, ["status", "billing-dev"], "Cannot connect to"),
    ({"password": "wrong-password"}, ["status", "billing-dev"], "Password authentication failed"),
    ({}, ["downgrade", "billing-dev", "+1", "--sql"], "cannot be reached from where the target is now"),
    ({}, ["upgrade", "billing-dev", "-1", "--sql"], "cannot be reached from where the target is now"),
])
def test_it_explains_what_is_wrong_with_the_target_or_the_range(target, change, args, words):
    target, conn = target
    if "password" in change:
        target.set_password(change.pop("password"))
    for field, value in change.items():
        setattr(target, field, value)
    target.save()
    with pytest.raises(CommandError) as err:
        ops(*args)
    message = str(err.value)
    assert words in message and err.value.returncode == 2 and "\n" not in message
    assert conn.password not in message and "wrong-password" not in message
