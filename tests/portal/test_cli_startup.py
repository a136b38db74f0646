"""A read-only ``ops`` command starts light: it loads neither Alembic, the pages nor the engines it does not use.

Each of these used to come in at start-up (the admin's autodiscover, the system checks, a top-level import of
the project module), and a DBA's every ``ops`` call paid for them before printing a line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.factories import AlembicProjectFactory, target_for
from tests.portal.copy_helpers import pg_exec

BILLING_HEAD = "6e7a2c9d4b38"

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("alembic", "sqlalchemy", "portal.ops.admin", "portal.ops.views.copy", "migrations_ops.copy",
         "migrations_ops.schema.runner", "pglast", "portal.celery")


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules a fresh process holds after ``manage.py ops ARGS`` ran as the command line runs it, and
    what it printed."""
    code = ("import sys\nfrom django.core.management import execute_from_command_line\n"
            f"execute_from_command_line(['manage.py', 'ops', *{list(args)!r}])\n"
            "print('MODULES:' + ' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **(env or {})})
    assert done.returncode == 0, done.stderr[-2000:]
    printed, _, modules = done.stdout.rpartition("MODULES:")
    return set(modules.split()), printed


def _imported(*args: str) -> set[str]:
    return _run(*args)[0]


def _after_setup(modules: str) -> set[str]:
    """The modules a fresh process holds after ``django.setup()`` and ``import MODULES``."""
    code = ("import os, sys, django\nos.environ['DJANGO_SETTINGS_MODULE'] = 'portal.settings'\ndjango.setup()\n"
            f"import {modules}\nprint('MODULES:' + ' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stdout.rpartition("MODULES:")[2].split())


def test_ops_targets_loads_no_engine_no_page_and_no_alembic(db) -> None:
    loaded = _imported("targets")
    assert "portal.ops.cli.targets" in loaded  # the command ran
    assert not [m for m in HEAVY if m in loaded], sorted(m for m in HEAVY if m in loaded)


def test_ops_revisions_imports_alembic_once_per_set_of_scripts(db, tmp_path) -> None:
    """The first listing of a set of scripts needs Alembic's map; the next process reads it from the listing
    cache (keyed by the scripts' sha256) and prints the same text, in both formats, without Alembic."""
    project = tmp_path / "billing"
    shutil.copytree(ROOT / "examples" / "billing", project, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"MOP_VAR_DIR": str(tmp_path / "var"), "PYTHONHASHSEED": "0"}
    for args in (("--project", str(project)), ("--project", str(project), "--format", "alembic", "--verbose")):
        cold, first = _run("revisions", *args, env=env)
        warm, again = _run("revisions", *args, env=env)
        assert "migrations_ops.schema.revisions" in cold and "alembic" in cold
        assert again == first and first.count("\n") > 5
        assert not [m for m in HEAVY if m in warm], sorted(m for m in HEAVY if m in warm)
    (project / "versions" / "0099_added.py").write_text(
        '"""added later\n\nRevision ID: 0099added\n"""\nrevision = "0099added"\ndown_revision = None\n')
    changed, text = _run("revisions", "--project", str(project), env=env)
    assert "0099added" in text and "alembic" in changed  # new scripts, new fingerprint: listed afresh


def test_ops_status_reads_the_version_table_every_time_and_alembic_once(transactional_db, make_database,
                                                                        tmp_path) -> None:
    """``ops status`` asks the scripts about the target's current revisions once per (scripts, revisions): the
    next status of the same state needs no Alembic; a new current revision is looked up afresh."""
    from django.db import connection

    conn = make_database("status")
    target = target_for(conn, AlembicProjectFactory(name="billing"), name="status-dev")
    env = {"MOP_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]}
    cold, first = _run("status", target.name, env=env)
    warm, again = _run("status", target.name, env=env)
    assert "alembic" in cold and not [m for m in HEAVY if m in warm], sorted(m for m in HEAVY if m in warm)
    assert again == first and "pending: " in first and "[no_version_table]" in first
    pg_exec(conn, "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
    pg_exec(conn, "INSERT INTO alembic_version VALUES (%s)", [BILLING_HEAD])
    moved, now = _run("status", target.name, "--json", env=env)
    assert "alembic" in moved and json.loads(now)["current"] == [BILLING_HEAD] and json.loads(now)["up_to_date"]
    _, cached = _run("status", target.name, "--json", env=env)
    assert json.loads(cached) == json.loads(now)


def test_the_copy_and_verify_commands_load_no_alembic() -> None:
    """``ops copy`` and ``ops verify`` (and their pre-flight) never touch a migration: Alembic and SQLAlchemy
    cost them 0.18 s of every start when the run lifecycle and the permission check came with the schema
    services."""
    loaded = _after_setup("portal.ops.cli.copy, portal.ops.copying, portal.ops.verifying")
    assert "migrations_ops.copy.preflight" in loaded
    assert not {"alembic", "sqlalchemy", "portal.ops.services"} & loaded


def test_ops_copy_loads_neither_the_verifier_nor_the_sql_parser() -> None:
    """``ops copy`` schedules and waits: the verification engine (``ops verify``'s) and pglast (translating a
    CHECK for a table the copy creates, on the worker) were 110 ms and 10 MB of its start."""
    loaded = _after_setup("portal.ops.cli.copy")
    assert "portal.ops.copying" in loaded and "migrations_ops.copy.create" in loaded
    assert not {"pglast", "migrations_ops.verify", "portal.ops.verifying"} & loaded
