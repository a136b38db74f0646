"""``manage.py ops`` ends without the interpreter's teardown: nothing of what the command wrote may be lost.

The process calls ``os._exit`` once the command is done (manage.py), so these
run real processes: the whole output arrives through a pipe, byte for byte what
the same command prints in-process, and the exit codes are the command's own.
"""

from __future__ import annotations

import io
import json
import os
import subprocess

from django.core.management import call_command

from tests.portal.conftest import ROOT


def _ops(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "ops", *argv], cwd=ROOT,
                          env=env or dict(os.environ), capture_output=True, text=True, timeout=120)


def test_a_long_output_arrives_whole_through_a_pipe(db) -> None:
    """The billing example's revision listing (JSON, several pipe buffers) equals the in-process output."""
    project = str(ROOT / "examples" / "billing")
    done = _ops("revisions", "--project", project, "--json")
    assert done.returncode == 0, done.stderr
    inproc = io.StringIO()
    call_command("ops", "revisions", "--project", project, "--json", stdout=inproc)
    assert done.stdout == inproc.getvalue()
    assert json.loads(done.stdout), "the listing is not empty"


def _with_teardown(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The same command through Django's entry point with the normal interpreter exit (no manage.py shortcut)."""
    code = ("import os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'portal.settings'); "
            "from django.core.management import execute_from_command_line; "
            "execute_from_command_line(['manage.py', 'ops', *sys.argv[1:]])")
    return subprocess.run([str(ROOT / ".venv/bin/python"), "-c", code, *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_failing_commands_keep_their_exit_codes_and_messages(transactional_db) -> None:
    from django.db import connection

    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/"
           + connection.settings_dict["NAME"]}
    for argv in (("status", "no-such-target"), ("no-such-subcommand",), ("cancel", "abc")):
        fast, normal = _ops(*argv, env=env), _with_teardown(*argv, env=env)
        assert fast.returncode == normal.returncode != 0, argv
        assert fast.stdout == normal.stdout
        assert fast.stderr.splitlines()[-1] == normal.stderr.splitlines()[-1], argv
        assert "Traceback" not in fast.stderr
    assert "Unknown target 'no-such-target'" in _ops("status", "no-such-target", env=env).stderr
