"""``manage.py ops fleet``: the dashboard on a terminal, and ``--check`` reads every target first."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from migrations_ops.schema.project import ProjectSource
from migrations_ops.schema.runner import run_plan
from portal.home.models import TargetState
from tests.factories import BILLING, AlembicProjectFactory, target_for

BILLING_HEAD = "6e7a2c9d4b38"


def ops(*args) -> str:
    out = io.StringIO()
    call_command("ops", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_checks_and_lists_the_fleet(db, dba, make_database):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    conn = make_database("clifleet")
    run_plan(conn, ProjectSource(str(BILLING)), "upgrade", "head", run_id="test-setup")
    target_for(conn, project, name="cli-head")
    target_for(make_database("clifresh"), project, name="cli-fresh")
    before = json.loads(ops("fleet", "--json"))
    assert {t["target"]: t["state"] for t in before["targets"]} == {"cli-head": "unchecked", "cli-fresh": "unchecked"}
    text = ops("--user", dba.username, "fleet", "--check")
    assert "Read 2 target(s)" in text and "1 behind head" in text
    assert "cli-fresh" in text and "Behind head (9 pending)" in text
    data = json.loads(ops("fleet", "--json", "--state", "up_to_date"))
    assert [t["target"] for t in data["targets"]] == ["cli-head"] and data["targets"][0]["current"] == [BILLING_HEAD]
    assert TargetState.objects.filter(source="fleet_check").count() == 2


def test_check_needs_a_user_who_may_schedule(db, viewer):
    with pytest.raises(CommandError):
        ops("fleet", "--check")
    with pytest.raises(CommandError, match="Permission denied"):
        ops("--user", viewer.username, "fleet", "--check")
