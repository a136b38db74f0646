"""A target's state, and the four troubleshooting states of the seeds, each explained."""

from __future__ import annotations

from migrations_ops.schema.runner import run_plan
from migrations_ops.schema.state import target_status
from migrations_ops.target import connect
from tests.engine.alembic_factory import alembic_current, branched, linear


def codes(status) -> set[str]:
    return {p.code for p in status.problems}


def test_it_reports_a_fresh_target_as_without_version_table(tmp_path, target_db):
    status = target_status(target_db, linear(tmp_path, 3).resolved())
    assert status.current == () and status.heads == ("r3",)
    assert status.pending == ("r1", "r2", "r3")
    assert not status.has_version_table and not status.up_to_date
    assert codes(status) == {"no_version_table", "not_up_to_date"}
    assert all(p.explanation for p in status.problems)


def test_it_reports_pending_revisions_in_apply_order(tmp_path, target_db):
    project = linear(tmp_path, 3).resolved()
    run_plan(target_db, project, "upgrade", "r1", run_id="t")
    status = target_status(target_db, project)
    assert status.current == ("r1",) == tuple(alembic_current(tmp_path, target_db))
    assert status.pending == ("r2", "r3")
    assert codes(status) == {"not_up_to_date"}
    assert "2 revision(s) pending" in next(p.message for p in status.problems)


def test_it_reports_up_to_date(tmp_path, target_db):
    project = linear(tmp_path, 2).resolved()
    run_plan(target_db, project, "upgrade", "head", run_id="t")
    status = target_status(target_db, project)
    assert status.up_to_date and status.problems == () and status.pending == ()
    assert status.to_json()["current"] == ["r2"]


def test_it_reports_multiple_heads(tmp_path, target_db):
    project = branched(tmp_path, merged=False).resolved()
    run_plan(target_db, project, "upgrade", "left@head", run_id="t")
    status = target_status(target_db, project)
    assert status.heads == ("b2l", "b2r") and status.current == ("b2l",)
    assert status.pending == ("b2r",)
    assert codes(status) == {"multiple_heads", "not_up_to_date"}


def test_it_reports_a_revision_the_scripts_no_longer_contain(tmp_path, target_db):
    f = linear(tmp_path, 2)
    run_plan(target_db, f.resolved(), "upgrade", "head", run_id="t")
    (tmp_path / "versions" / "r2_.py").unlink()
    status = target_status(target_db, f.resolved())
    assert status.current == ("r2",) and status.heads == ("r1",)
    problem = next(p for p in status.problems if p.code == "revision_not_found")
    assert "Can't locate revision identified by 'r2'" in problem.message
    assert "stamp" in problem.explanation
    assert not status.up_to_date


def test_it_reports_an_emptied_version_table_as_base(tmp_path, target_db):
    project = linear(tmp_path, 1).resolved()
    run_plan(target_db, project, "upgrade", "head", run_id="t")
    run_plan(target_db, project, "downgrade", "base", run_id="t")
    status = target_status(target_db, project)
    assert status.has_version_table and status.current == () and status.pending == ("r1",)


def test_it_reports_from_the_static_map_without_importing_a_revision(tmp_path, target_db):
    f = linear(tmp_path, 2)
    run_plan(target_db, f.resolved(), "upgrade", "r1", run_id="t")
    f.rev("r3", "r2", "needs a package", imports="import not_a_real_package_mop")
    status = target_status(target_db, f.resolved())
    assert "revision_import_error" not in codes(status)  # status never imports; the plan reports it
    assert status.current == ("r1",)
    assert status.heads == ("r3",) and status.pending == ("r2", "r3")  # from the static map


def test_it_reads_a_version_table_in_another_schema(tmp_path, target_db):
    with connect(target_db, "mop-tests") as c:
        c.execute("CREATE SCHEMA ops")
    project = linear(tmp_path, 2).resolved(version_table="v", version_table_schema="ops")
    run_plan(target_db, project, "upgrade", "r1", run_id="t")
    status = target_status(target_db, project)
    assert status.current == ("r1",) and status.has_version_table


def test_a_kept_status_answers_only_for_the_same_scripts_and_the_same_rows(tmp_path, target_db):
    """With the listing cache: the same answers as without it, read again; one row 'b2l,b2r' is not the two
    rows 'b2l' and 'b2r' (it is an unknown revision, as ``alembic current`` says)."""
    project = branched(tmp_path, merged=False).resolved()
    cache = tmp_path / "cache"
    run_plan(target_db, project, "upgrade", "heads", run_id="t")
    fresh = target_status(target_db, project)
    assert fresh.current == ("b2l", "b2r") and fresh.up_to_date
    assert target_status(target_db, project, cache) == fresh == target_status(target_db, project, cache)
    with connect(target_db, "test") as conn:
        conn.execute("DELETE FROM alembic_version")
        conn.execute("INSERT INTO alembic_version VALUES ('b2l,b2r')")
        conn.commit()
    joined = target_status(target_db, project, cache)
    assert joined == target_status(target_db, project) and joined.current == ("b2l,b2r",)
    assert "revision_not_found" in codes(joined) and not joined.up_to_date
