"""``manage.py ops locks|activity TARGET [--json]`` on a real chain."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import json

from django.core.management import call_command

from tests.portal.activity_helpers import app_role, chain, lock_db, locks_target


def _ops(*args: str) -> str:
    out = io.StringIO()
    call_command("ops", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_blocking_tree_as_json(locks_target, chain) -> None:
    data = json.loads(_ops("locks", locks_target.name, "--json"))
    assert set(data) == {"target", "taken_at", "root_blockers", "blocked", "roots"}
    assert (data["target"], data["root_blockers"], data["blocked"]) == (locks_target.name, 1, 3)
    root = data["roots"][0]
    assert (root["pid"], root["blocks_directly"], root["blocks_transitively"]) == (chain.a.pid, 1, 3)
    assert root["state"] == "idle in transaction" and root["usename"] == "mopt_app"
    assert root["backend_start"] == chain.a.backend_start.isoformat()
    alter = root["children"][0]
    assert (alter["pid"], alter["lock_mode"], alter["blocked_by"]) == (chain.b.pid, "AccessExclusiveLock", [chain.a.pid])
    assert {c["pid"] for c in alter["children"]} == {chain.c.pid, chain.d.pid}


def test_it_prints_the_tree_as_text(locks_target, chain) -> None:
    lines = _ops("locks", locks_target.name).splitlines()
    assert lines[0].startswith(f"{chain.a.pid} [idle in transaction") and "blocks 1/3" in lines[0]
    assert lines[1].startswith(f"  {chain.b.pid} ") and "waits AccessExclusiveLock" in lines[1]


def test_it_prints_the_activity_as_json(locks_target, chain) -> None:
    data = json.loads(_ops("activity", locks_target.name, "--json"))
    assert set(data) == {"target", "taken_at", "server_version", "summary", "long_transactions",
                         "idle_in_transaction", "xmin_holders"}
    assert data["summary"]["blocked"] == 3 and data["summary"]["idle_in_transaction"] == 1
    assert [s["pid"] for s in data["idle_in_transaction"]] == [chain.a.pid]


def test_it_says_when_nothing_is_blocked(locks_target) -> None:
    assert "no session is blocked" in _ops("locks", locks_target.name)
    assert "0 blocked" in _ops("activity", locks_target.name)
