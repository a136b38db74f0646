"""``manage.py ops`` answers malformed arguments with a clear message and an exit code, never a traceback.

Each invocation runs in-process through ``call_command`` (a non-CommandError
exception escaping it is exactly what prints a traceback), and a sample runs
as the real command line to check stderr.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import json
import os
import subprocess

import pytest
from django.core.management import CommandError, call_command

from tests.factories import AlembicProjectFactory, RunFactory, target_for
from tests.portal.conftest import ROOT

pytestmark = pytest.mark.django_db
T = "cli-target"

MALFORMED = [
    [],
    ["nope"],
    ["status"],
    ["status", "no-such-target"],
    ["status", ""],
    ["status", "x" * 5000],
    ["revisions"],
    ["revisions", "--project", "/no/such/dir"],
    ["revisions", "--project", "/etc"],
    ["revisions", "no-such-target"],
    ["upgrade", T],
    ["upgrade", T, ""],
    ["upgrade", T, "   "],
    ["upgrade", T, "@@@"],
    ["upgrade", T, "zzzzzz"],
    ["upgrade", T, "+abc"],
    ["upgrade", T, "-99999999999999999999"],
    ["upgrade", T, "head", "--lock-timeout-ms", "abc"],
    ["upgrade", T, "head", "--lock-timeout-ms", "-5"],
    ["upgrade", T, "head", "--lock-timeout-ms", "99999999999999999999"],
    ["upgrade", T, "head", "--statement-timeout-ms", "0"],
    ["upgrade", T, "head", "--lock-retries", "-1"],
    ["upgrade", T, "head", "--lock-retries", "99999999999999999999"],
    ["upgrade", T, "head", "--timeout", "abc"],
    ["upgrade", T, "head", "--expect-from", ",,,"],
    ["upgrade", T, "head", "--expect-from", "deadbeef"],
    ["downgrade", T, "base"],
    ["downgrade", T, "base", "--confirm", "wrong-name"],
    ["downgrade", T, "\x00"],
    ["stamp", T, "no-such-rev"],
    ["cancel"],
    ["cancel", "abc"],
    ["cancel", "-1"],
    ["cancel", "0"],
    ["cancel", "99999999999999999999"],
    ["runs", "--limit", "abc"],
    ["runs", "--limit", "-5"],
    ["runs", "--limit", "99999999999999999999"],
    ["runs", "--target", "no-such-target"],
    ["audit", "--limit", "-1"],
    ["audit", "--limit", "99999999999999999999"],
    ["audit", "--target", "no-such-target"],
    ["verify-audit", "--expect-head", "garbage"],
    ["verify-audit", "--expect-head", "1:"],
    ["verify-audit", "--expect-head", "abc:def"],
    ["verify-audit", "--expect-head", "99999999999999999999:ab"],
    ["add-target", "x", "--dsn-env", "MOP_NO_SUCH_VAR", "--project", "/no/such/dir"],
    ["add-target", "x", "--dsn-env", "MOP_FUZZ_BAD_DSN", "--project", "/no/such/dir"],
    ["add-target", "", "--dsn-env", "MOP_FUZZ_BAD_DSN2", "--project", "/no/such/dir"],
    ["add-target", "x", "--dsn-env", "MOP_FUZZ_BAD_DSN2", "--project", "/no/such/dir"],
    ["add-target", "x", "--dsn-env", "MOP_FUZZ_BAD_DSN3", "--project", "/etc", "--environment", "mars"],
    ["locks", "no-such-target"],
    ["activity", "no-such-target"],
    ["copy", T],
    ["copy", T, "--sqlite", ""],
    ["copy", T, "--sqlite", "../../etc/passwd", "--preflight-only"],
    ["copy", T, "--sqlite", "/etc/passwd"],
    ["copy", T, "--sqlite", "a\x00b"],
    ["copy", T, "--sqlite", "no-such.sqlite"],
    ["copy", T, "--sqlite", "x.sqlite", "--max-rejects", "-1"],
    ["copy", T, "--sqlite", "x.sqlite", "--max-rejects", "abc"],
    ["copy", T, "--sqlite", "x.sqlite", "--text-policy", "bad"],
    ["copy", T, "--sqlite", "x.sqlite", "--tables"],
    ["copy-abandon", "abc", "--reason", "x"],
    ["copy-abandon", "999999", "--reason", "x"],
    ["copy-abandon", "99999999999999999999", "--reason", "x"],
    ["copy-abandon", "1"],
    ["verify", T, "--sqlite", "no-such.sqlite"],
    ["verify", T, "--sqlite", "../x"],
    ["verify", "no-such-target"],
    ["--user", "no-such-user", "upgrade", T, "head"],
    ["--user", "", "upgrade", T, "head"],
]


@pytest.fixture
def target(make_database, monkeypatch):
    monkeypatch.setenv("MOP_FUZZ_BAD_DSN", "not a url at all")
    monkeypatch.setenv("MOP_FUZZ_BAD_DSN2", "postgresql://u:p@host:notaport/db")
    monkeypatch.setenv("MOP_FUZZ_BAD_DSN3", "postgresql://u:p@127.0.0.1:5432/db")
    return target_for(make_database("cli"), AlembicProjectFactory(name="billing"), name=T)


def _as_dba(argv: list[str], user: str) -> list[str]:
    return argv if not argv or argv[0] == "--user" else ["--user", user, *argv]


def test_a_timeout_beyond_postgres_limit_is_refused_clearly(target, dba) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("ops", "--user", dba.username, "upgrade", T, "head", "--lock-timeout-ms", "99999999999999999999",
                     stdout=io.StringIO())
    assert exc.value.returncode == 2 and "at most 2147483647 ms" in str(exc.value)


def test_a_huge_limit_lists_instead_of_overflowing(target) -> None:
    from portal.ops import audit
    from portal.ops.models import AuditEvent

    for i in range(3):
        audit.record(actor="dba", actor_kind="user", action="test.event", target=target, params={"i": i})
        RunFactory(target=target, status="failed")
    for what, key, count in (("audit", "events", AuditEvent.objects.count()), ("runs", "runs", 3)):
        out = io.StringIO()
        call_command("ops", what, "--limit", "99999999999999999999", "--json", stdout=out)
        assert len(json.loads(out.getvalue())[key]) == count


@pytest.mark.parametrize("argv", MALFORMED, ids=[" ".join(a)[:60] or "(none)" for a in MALFORMED])
def test_it_answers_with_a_message_and_an_exit_code(target, dba, argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ops", *_as_dba(argv, dba.username), stdout=out, stderr=err)
    except CommandError as exc:
        assert str(exc).strip(), "an empty message"
        assert getattr(exc, "returncode", 1) != 0
        assert "Traceback" not in str(exc)
    except SystemExit as exc:  # argparse's own usage error, as the command line shows it
        assert exc.code not in (0, None)
    else:
        # Some "malformed" values are accepted on purpose (a limit of -5 lists nothing); say so on stdout.
        assert out.getvalue().strip() or argv[:1] in (["runs"], ["audit"]), argv


@pytest.mark.parametrize("argv", [
    ["cancel", "99999999999999999999"],
    ["upgrade", T, "head", "--lock-timeout-ms", "abc"],
    ["copy", T, "--sqlite", "../../etc/passwd", "--preflight-only"],
    ["status", "no-such-target"],
])
def test_the_command_line_prints_no_traceback(target, transactional_db, argv) -> None:
    from django.db import connection

    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/"
           + connection.settings_dict["NAME"]}
    done = subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "ops", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stderr.strip(), done.stderr
