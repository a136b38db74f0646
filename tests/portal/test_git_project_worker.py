"""A git-backed Alembic project runs at the pinned commit, and the run records it."""

from __future__ import annotations

import subprocess

import pytest

from migrations_ops.errors import ProjectNotFound
from portal.ops import services
from portal.ops.models import AlembicProject, Run
from tests.engine.alembic_factory import alembic_current, linear
from tests.factories import target_for
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker


def git(repo, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_it_runs_a_git_project_at_its_ref_and_records_the_commit(
    transactional_db, celery_worker_proc, make_database, dba, tmp_path
):
    repo = tmp_path / "repo"
    factory = linear(repo / "db", n=2)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "two revisions")
    git(repo, "tag", "v1")
    pinned = git(repo, "rev-parse", "HEAD")
    # A later commit on main adds r3; the project is pinned to the tag, so r3 must not run.
    factory.table_rev("r3", "r2", "t3")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "r3")

    project = AlembicProject.objects.create(
        name="from-git", kind=AlembicProject.Kind.GIT, location=str(repo), ref="v1", subdir="db"
    )
    conn = make_database("git")
    target = target_for(conn, project, name="git-target")

    run = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba))

    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.project_fingerprint == f"git:{pinned}"
    assert run.result_heads == ["r2"]
    assert alembic_current(repo / "db", conn) == {"r2"}


def test_it_refuses_a_ref_that_does_not_exist_and_schedules_nothing(transactional_db, make_database, dba, tmp_path):
    repo = tmp_path / "repo"
    linear(repo, n=1)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "r1")
    project = AlembicProject.objects.create(name="bad-ref", kind=AlembicProject.Kind.GIT, location=str(repo),
                                            ref="no-such-branch")
    target = target_for(make_database("gitbad"), project, name="git-bad")

    with pytest.raises(ProjectNotFound, match="no-such-branch"):
        services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    assert not Run.objects.filter(target=target).exists()
