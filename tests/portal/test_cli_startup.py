"""A read-only ``ops`` command starts light: it loads neither Alembic, the pages nor the engines it does not use.

Each of these used to come in at start-up (the admin's autodiscover, the system checks, a top-level import of
the project module), and a DBA's every ``ops`` call paid for them before printing a line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("alembic", "sqlalchemy", "portal.ops.admin", "portal.ops.views.copy", "migrations_ops.copy",
         "migrations_ops.schema.runner", "pglast", "portal.celery")


def _imported(*args: str) -> set[str]:
    """The modules a fresh process holds after ``manage.py ops ARGS`` ran as the command line runs it."""
    code = ("import sys\nfrom django.core.management import execute_from_command_line\n"
            f"execute_from_command_line(['manage.py', 'ops', *{list(args)!r}])\n"
            "print('MODULES:' + ' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"})
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stdout.rpartition("MODULES:")[2].split())


def test_ops_targets_loads_no_engine_no_page_and_no_alembic(db) -> None:
    loaded = _imported("targets")
    assert "portal.ops.cli.targets" in loaded  # the command ran
    assert not [m for m in HEAVY if m in loaded], sorted(m for m in HEAVY if m in loaded)


def test_a_command_that_plans_still_loads_what_it_needs(db) -> None:
    loaded = _imported("revisions", "--project", str(ROOT / "examples" / "billing"))
    assert "migrations_ops.schema.revisions" in loaded and "portal.ops.admin" not in loaded


def test_the_copy_and_verify_commands_load_no_alembic() -> None:
    """``ops copy`` and ``ops verify`` (and their pre-flight) never touch a migration: Alembic and SQLAlchemy
    cost them 0.18 s of every start when the run lifecycle and the permission check came with the schema
    services."""
    code = ("import os, sys, django\nos.environ['DJANGO_SETTINGS_MODULE'] = 'portal.settings'\ndjango.setup()\n"
            "import portal.ops.cli.copy, portal.ops.copying, portal.ops.verifying\n"
            "print('MODULES:' + ' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(done.stdout.rpartition("MODULES:")[2].split())
    assert "migrations_ops.copy.preflight" in loaded
    assert not {"alembic", "sqlalchemy", "portal.ops.services"} & loaded
