"""A running migration's page shows, live, who blocks its backend, with the same cancel/terminate links."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

from django.test import Client

from portal.ops.models import Run
from tests.factories import RunFactory
from tests.portal.activity_helpers import app_role, chain, dba_client, lock_db, locks_target, viewer_client


def _running_run_42(target) -> Run:
    """The chain's ALTER runs as ``mop:run:42``: make run 42 a running run of the target."""
    return RunFactory(pk=42, target=target,
                              status=Run.Status.RUNNING)


def test_it_shows_the_runs_blockers_live(dba_client: Client, locks_target, chain) -> None:
    run = _running_run_42(locks_target)
    data = dba_client.get(f"/admin/ops/run/{run.pk}/live/").json()
    blockers = data["blockers"]
    assert blockers["error"] is None and blockers["count"] == 1
    html = blockers["html"]
    assert f'data-pid="{chain.a.pid}" data-depth="0"' in html
    assert f'data-pid="{chain.b.pid}" data-depth="1"' in html
    assert f'data-pid="{chain.c.pid}"' not in html  # only the run's blockers, not those it blocks
    assert f'data-action="terminate" data-pid="{chain.a.pid}"' in html
    assert f'name="next" value="/admin/ops/run/{run.pk}/change/"' in html
    assert "&lt;script&gt;" in html and "<script>alert(" not in html
    page = dba_client.get(f"/admin/ops/run/{run.pk}/change/").content.decode()
    assert 'id="mop-run-blockers"' in page


def test_a_viewer_sees_the_blockers_without_buttons(viewer_client: Client, locks_target, chain) -> None:
    run = _running_run_42(locks_target)
    html = viewer_client.get(f"/admin/ops/run/{run.pk}/live/").json()["blockers"]["html"]
    assert f'data-pid="{chain.a.pid}"' in html and 'data-action=' not in html


def test_it_looks_for_blockers_only_while_the_run_runs(dba_client: Client, locks_target, chain) -> None:
    run = _running_run_42(locks_target)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED)
    assert dba_client.get(f"/admin/ops/run/{run.pk}/live/").json()["blockers"] is None
