"""``ops ... --wait`` hands its process over to the small waiter once the run is queued (portal/ops/cli/waiter.py).

What the user sees must not change: the same log lines, the same last line and message, the same exit
code as the in-process wait (``common.wait`` + ``exit_for``), from a process of ~20 MB instead of Django's.
Real processes throughout: ``manage.py ops`` hands over, a command run in-process does not.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
import uuid

import pytest
import redis
from django.core.management.base import CommandError, OutputWrapper

from portal.ops.cli import handover
from portal.ops.cli.common import exit_for, wait
from portal.ops.models import Run, RunLog
from tests.factories import AlembicProjectFactory, TargetFactory, target_for
from tests.portal.conftest import ROOT

PY = str(ROOT / ".venv" / "bin" / "python")


def _cli_env(celery_broker, queue: str) -> dict[str, str]:
    from django.db import connection

    parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    return {**os.environ, "DATABASE_URL": urllib.parse.urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"])),
            "REDIS_URL": celery_broker["broker_url"], "MOP_CELERY_QUEUE": queue, "MOP_CLI_USER": "dba"}


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


def test_a_waiting_command_becomes_the_small_waiter_and_ends_as_before(transactional_db, celery_broker,
                                                                      make_database, dba):
    """No worker takes the queue: the run stays queued, the command waits, then gives up with exit code 3."""
    target_for(make_database("waiter"), AlembicProjectFactory(name="billing"), name="billing-waiter")
    queue = f"mop-nobody-{uuid.uuid4().hex[:8]}"  # no worker consumes it
    env = _cli_env(celery_broker, queue)
    secrets = {k: env.pop(k) for k in ("MOP_FERNET_KEYS", "DJANGO_SECRET_KEY") if k in env}  # the settings read .env
    # the same command waiting in-process (Django's entry point, no manage.py: no hand-over), side by side
    code = ("import os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'portal.settings'); "
            "from django.core.management import execute_from_command_line; "
            "execute_from_command_line(['manage.py', 'ops', *sys.argv[1:]])")
    try:
        proc = subprocess.Popen([PY, "manage.py", "ops", "upgrade", "billing-waiter", "head", "--wait",
                                 "--timeout", "4"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        inproc = subprocess.Popen([PY, "-c", code, "upgrade", "billing-waiter", "head", "--wait", "--timeout", "4"],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline, handed = time.monotonic() + 30, False
        while time.monotonic() < deadline and proc.poll() is None:
            if "portal.ops.cli.waiter" in _cmdline(proc.pid):
                handed = True
                break
            time.sleep(0.05)
        assert handed, proc.communicate(timeout=30)
        time.sleep(0.3)  # connected and listening
        rss = _rss_kb(proc.pid)
        shown = _cmdline(proc.pid) + open(f"/proc/{proc.pid}/environ", "rb").read().decode(errors="replace")
        assert "conninfo" not in shown and "host=" not in shown, "the spec (with the password) is on show"
        assert not [k for k, v in secrets.items() if v in shown], "what the settings read from .env is on show"
        out, err = proc.communicate(timeout=60)
        in_out, in_err = inproc.communicate(timeout=120)
        # Ctrl-C stops the waiting, not the run, in one line
        stopped = subprocess.Popen([PY, "manage.py", "ops", "upgrade", "billing-waiter", "head", "--wait"], cwd=ROOT,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "portal.ops.cli.waiter" not in _cmdline(stopped.pid):
            time.sleep(0.05)
        time.sleep(1.0)  # past its imports, listening
        stopped.send_signal(signal.SIGINT)
        _, stop_err = stopped.communicate(timeout=30)
    finally:
        redis.Redis.from_url(celery_broker["broker_url"]).delete(queue)
    assert stopped.returncode == 130 and "Traceback" not in stop_err
    third = Run.objects.order_by("pk").last()
    assert stop_err.strip() == f"Stopped waiting; run #{third.pk} goes on ('ops runs' shows it)"
    assert third.status == Run.Status.QUEUED  # nothing was cancelled
    first, second = (int(re.search(r"#(\d+)", text).group(1)) for text in (out, in_out))  # started side by side
    assert {first, second} == set(Run.objects.order_by("pk").values_list("pk", flat=True)[:2])
    assert proc.returncode == inproc.returncode == 3
    assert err.splitlines()[-1] == f"CommandError: Run #{first} still queued after 4 s; it goes on"
    assert in_err.splitlines()[-1] == f"CommandError: Run #{second} still queued after 4 s; it goes on"
    assert out.replace(f"#{first}", "#N") == in_out.replace(f"#{second}", "#N")
    assert rss < 45_000, f"the waiter holds {rss} kB"


@pytest.fixture
def run(transactional_db):
    return Run.objects.create(target=TargetFactory(), operation="copy", revision="", status=Run.Status.RUNNING)


def _waiter(run: Run, outcome_line: bool, timeout: float | None = None) -> subprocess.Popen:
    fd = handover.spec_pipe(json.dumps(handover._spec(run, timeout, outcome_line)).encode())
    try:
        return subprocess.Popen([PY, "-m", "portal.ops.cli.waiter", str(fd)], cwd="/", pass_fds=(fd,),
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    finally:
        os.close(fd)


class _Command:
    def __init__(self) -> None:
        self.text = io.StringIO()
        self.stdout = OutputWrapper(self.text)  # a management command's stdout: a newline per write


def _in_process(run: Run) -> tuple[str, str, int]:
    """What ``ops copy --wait`` prints in-process for the same run: lines, Outcome, exit_for's message."""
    command = _Command()
    ended = wait(command, Run.objects.get(pk=run.pk))
    if ended.progress_data.get("summary_text"):
        command.stdout.write(f"Outcome: {ended.get_status_display()}: {ended.progress_data.get('outcome', '')}")
    try:
        exit_for(ended)
    except CommandError as exc:
        return command.text.getvalue(), f"CommandError: {exc}", exc.returncode
    return command.text.getvalue(), "", 0


def _log(run: Run, *messages: str) -> None:
    for m in messages:
        RunLog.objects.create(run=run, level="info", message=m)


@pytest.mark.parametrize("status, error, error_data, code", [
    (Run.Status.SUCCEEDED, "", {}, 0),
    (Run.Status.SUCCEEDED_REJECTS, "", {}, 4),
    (Run.Status.FAILED, "relation \"x\" does not exist",
     {"failure": {"exception_class": "psycopg.errors.UndefinedTable", "wrapper_class": "ProgrammingError",
                  "statement": "ALTER TABLE x ADD COLUMN y int", "revision_file": "versions/ae1.py",
                  "revision_line": 12, "revision_function": "upgrade",
                  "source_line": "op.add_column('x', sa.Column('y', sa.Integer()))"}}, 1),
    (Run.Status.CANCELLED, "cancelled by dba", {}, 2),
])
def test_the_waiter_prints_and_exits_as_the_in_process_wait(run, status, error, error_data, code):
    _log(run, "Planning 5 table(s)", "Range 1/3 of \"order items\" copied: 200,000 rows")
    proc = _waiter(run, outcome_line=True)
    time.sleep(1.0)  # it has printed the first lines and listens
    _log(run, "Copy finished: 600,000 rows, 2 rejected", "Rejects by reason: value_too_long 2")
    Run.objects.filter(pk=run.pk).update(
        status=status, error=error, error_data=error_data,
        progress_data={"summary_text": "600,000 rows", "outcome": "2 row(s) rejected, named in ops rejects"})
    out, err = proc.communicate(timeout=30)
    want_out, want_err, want_code = _in_process(run)
    assert proc.returncode == want_code == code
    assert out == want_out
    assert err.rstrip("\n") == want_err
    assert len(out.splitlines()) == 5  # four lines and the outcome
    if error_data:
        assert "At versions/ae1.py:12 in upgrade()" in err


def test_the_waiter_says_how_long_it_waited_and_that_the_run_goes_on(run):
    proc = _waiter(run, outcome_line=False, timeout=1.5)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3
    assert err.strip() == f"CommandError: Run #{run.pk} still running after 1.5 s; it goes on"
    assert Run.objects.get(pk=run.pk).status == Run.Status.RUNNING


def test_the_waiter_and_what_it_prints_load_no_django_and_no_sqlalchemy():
    """Its memory is the point: the waiter, its spec reader and the shared texts import neither."""
    code = ("import sys, portal.ops.cli.waiter as w; import psycopg; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'sqlalchemy', 'alembic', 'celery'}))")
    done = subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
