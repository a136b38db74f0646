"""A worker whose installed packages change under it: the failing run says to restart the workers.

Two small local distributions on the worker's PYTHONPATH play ``packaging`` and its user: the
first run imports version 1.0 of both; then version 2.0 is "installed" (files and dist-info
rewritten, as pip would), and a new revision imports a module of 2.0 that needs a name only
2.0 of the other has. The worker still holds 1.0 in memory, so the import fails exactly as
``cannot import name '_TrimmedRelease' from 'packaging.version'`` did; the run must say why.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from portal.ops import services
from portal.ops.models import AlembicProject, Run
from tests.engine.alembic_factory import Factory
from tests.factories import target_for
from tests.portal.conftest import publishing_to, wait_run_finished

pytestmark = pytest.mark.worker


def install(site, name: str, version: str, files: dict[str, str]) -> None:
    """Write a package and its dist-info, replacing any older version (what pip leaves on disk)."""
    for old in site.glob(f"{name}-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    pkg = site / name
    pkg.mkdir(exist_ok=True)
    for rel, text in files.items():
        (pkg / rel).write_text(textwrap.dedent(text))
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n")


def test_a_stale_worker_is_named_and_told_to_restart(transactional_db, make_worker, make_database, dba, tmp_path,
                                                     monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install(site, "mop_stale_a", "1.0", {"__init__.py": "OLD = 1\n"})
    install(site, "mop_stale_b", "1.0", {"__init__.py": "import mop_stale_a\n"})
    monkeypatch.syspath_prepend(str(site))  # the plan (in this process) imports the revisions too
    worker = make_worker(queue="mop-test-stale", concurrency=1, extra_env={"PYTHONPATH": str(site)})
    f = Factory(tmp_path / "p")
    f.table_rev("s1", None, "stale1", imports="import mop_stale_b")
    project = AlembicProject.objects.create(name="stale", location=str(f.root))
    target = target_for(make_database("stale"), project, name="stale")
    with publishing_to(worker.queue):
        first = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head",
                                                        user=dba))
        assert first.status == Run.Status.SUCCEEDED, first.error

        install(site, "mop_stale_a", "2.0", {"__init__.py": "OLD = 1\nNEW = 2\n"})
        install(site, "mop_stale_b", "2.0", {"__init__.py": "import mop_stale_a\n",
                                             "extra.py": "from mop_stale_a import NEW\n"})
        f.table_rev("s2", "s1", "stale2", imports="import mop_stale_b.extra")
        for name in [m for m in sys.modules if m.startswith("mop_stale_")]:
            monkeypatch.delitem(sys.modules, name)  # this process "restarted"; the worker did not
        second = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head",
                                                         user=dba))
    assert second.status == Run.Status.FAILED
    assert second.error_code == "revision_import_error"
    assert "cannot import name 'NEW' from 'mop_stale_a'" in second.error
    assert "this worker's environment changed since it started: restart the workers" in second.error
    assert "mop-stale-a 1.0 -> 2.0" in second.error
    stale = second.error_data["stale_worker"]
    assert "mop-stale-b 1.0 -> 2.0" in stale["changes"] and stale["at_start"].startswith("dists:")


def test_the_workers_page_lists_each_worker_with_queues_fingerprint_and_runs(transactional_db, celery_worker_proc,
                                                                             dba):
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(dba)
    response = client.get(reverse("admin:ops_workers"))
    assert response.status_code == 200
    rows = {w["name"]: w for w in response.context["workers"]}
    mine = next(w for name, w in rows.items() if name.startswith(celery_worker_proc.queue))
    assert celery_worker_proc.queue in mine["queues"]
    assert mine["fingerprint"]["at_start"].startswith("dists:") and not mine["stale"]
    assert mine["fingerprint"]["versions"]["alembic"]
    body = response.content.decode()
    assert 'id="mop-workers"' in body and "unchanged" in body
