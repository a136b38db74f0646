"""Plans: the ordered steps and the SQL of an upgrade, downgrade or stamp, before it runs.

The steps come from the target's *live* version table through the same
``ScriptDirectory`` calls ``alembic.command`` makes, and the SQL preview is
rendered offline from those very steps and heads (``starting_rev``), so the
DBA reviews what will run rather than what would run from base (alembic#935).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alembic.runtime.migration import MigrationStep, RevisionStep
from alembic.script import ScriptDirectory

from ..target import TargetConn
from .alembic_env import (
    PortalEnvironment,
    as_resolved,
    compute_steps,
    load_script,
    simulate_heads,
    step_direction,
    step_revision,
)
from .custom_ops import load_operation_modules
from .failure import describe_failure, revision_paths
from .project import ProjectSource, ResolvedProject
from .project_env import project_environment
from .state import live_heads


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One revision step; ``from_revisions``/``to_revisions`` are the version-table move."""

    revision: str
    direction: str
    message: str
    down_revisions: tuple[str, ...]
    from_revisions: tuple[str, ...] = ()
    to_revisions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision, "direction": self.direction, "message": self.message,
            "down_revisions": list(self.down_revisions), "from_revisions": list(self.from_revisions),
            "to_revisions": list(self.to_revisions),
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run will do; ``sql_error`` says why the offline SQL is incomplete, if it is."""

    operation: str
    requested: str
    from_heads: tuple[str, ...]
    to_heads: tuple[str, ...]
    steps: tuple[PlanStep, ...]
    sql: str
    sql_hash: str
    sql_error: str | None = None
    # When the preview stopped: the revision it was rendering, and failure.describe_failure's data.
    sql_error_revision: str | None = None
    sql_failure: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation, "requested": self.requested, "from_heads": list(self.from_heads),
            "to_heads": list(self.to_heads), "steps": [s.to_json() for s in self.steps], "sql": self.sql,
            "sql_hash": self.sql_hash, "sql_error": self.sql_error, "sql_error_revision": self.sql_error_revision,
            "sql_failure": self.sql_failure,
        }


def make_plan(
    target: TargetConn,
    project: ResolvedProject | ProjectSource,
    operation: str,
    revision: str,
    with_sql: bool = True,
) -> Plan:
    """Plan ``alembic <operation> <revision>`` on the target, from its live revision.

    :param target: the database; only its version table is read.
    :param project: the Alembic project (every revision file is imported).
    :param operation: ``upgrade``, ``downgrade`` or ``stamp``.
    :param revision: ``head``, ``heads``, ``base``, ``+N``, ``-N``, an id or unique prefix, ``label@head``.
    :param with_sql: render the offline SQL preview too.
    """
    resolved = as_resolved(project)
    load_operation_modules(resolved)
    script = load_script(resolved)
    from_heads, _ = live_heads(target, resolved, "mop:plan")
    return plan_from_heads(resolved, script, operation, revision, from_heads, with_sql=with_sql, target=target)


def plan_from_heads(
    project: ResolvedProject,
    script: ScriptDirectory,
    operation: str,
    revision: str,
    from_heads: Sequence[str],
    *,
    with_sql: bool = True,
    target: TargetConn | None = None,
) -> Plan:
    """The plan from given heads (the runner calls this with the heads it read under its lock).

    ``target`` is the URL a project-mode env.py is given for the offline SQL.
    """
    from_heads = tuple(sorted(from_heads))
    steps = compute_steps(script, operation, revision, from_heads)
    to_heads = simulate_heads(from_heads, steps)
    stopped: PreviewStop | None = None
    sql, sql_error = "", None
    if with_sql:
        sql, stopped = render_preview(project, script, steps, from_heads, revision, target=target)
        sql_error = stopped.error if stopped else None
    return Plan(
        operation=operation,
        requested=revision,
        from_heads=from_heads,
        to_heads=to_heads,
        steps=tuple(plan_step(s) for s in steps),
        sql=sql,
        sql_hash=hashlib.sha256(sql.encode()).hexdigest() if with_sql else "",
        sql_error=sql_error,
        sql_error_revision=stopped.revision if stopped else None,
        sql_failure=stopped.failure if stopped else None,
    )


def plan_step(step: MigrationStep) -> PlanStep:
    """Describe an Alembic step for the progress bar and the plan page."""
    if isinstance(step, RevisionStep):
        rev = step.revision
        message = rev.doc or ""
        down = tuple(rev._normalized_down_revisions)
    else:
        message = f"stamp {', '.join(step.from_revisions_no_deps) or 'base'} -> " \
                  f"{', '.join(step.to_revisions_no_deps) or 'base'}"
        down = ()
    return PlanStep(
        revision=step_revision(step),
        direction=step_direction(step),
        message=message,
        down_revisions=down,
        from_revisions=tuple(step.from_revisions_no_deps),
        to_revisions=tuple(step.to_revisions_no_deps),
    )


@dataclass(frozen=True, slots=True)
class PreviewStop:
    """Why the offline SQL stopped: the error, the revision being rendered, the failure's details."""

    error: str
    revision: str | None
    failure: dict[str, Any]


_RUNNING = re.compile(r"^-- Running (upgrade|downgrade) (.*?) -> (.*?)\s*$", re.MULTILINE)


def render_sql(
    project: ResolvedProject,
    script: ScriptDirectory,
    steps: Sequence[MigrationStep],
    from_heads: tuple[str, ...],
    destination: str,
    *,
    target: TargetConn | None = None,
) -> tuple[str, str | None]:
    """``render_preview`` as (sql, error text or None)."""
    sql, stopped = render_preview(project, script, steps, from_heads, destination, target=target)
    return sql, stopped.error if stopped else None


def _stopped_at(sql: str) -> str | None:
    """The revision whose ``-- Running ...`` comment came last: the one being rendered when it stopped."""
    last = None
    for m in _RUNNING.finditer(sql):
        last = m
    if last is None:
        return None
    return (last.group(2) if last.group(1) == "downgrade" else last.group(3)).strip() or None


def render_preview(
    project: ResolvedProject,
    script: ScriptDirectory,
    steps: Sequence[MigrationStep],
    from_heads: tuple[str, ...],
    destination: str,
    *,
    target: TargetConn | None = None,
) -> tuple[str, PreviewStop | None]:
    """Render the steps offline (``--sql``) starting from ``from_heads``; returns (sql, error).

    A revision that needs a live connection (``op.get_bind()`` queries) cannot
    be rendered; the SQL so far is kept and the error is returned with it.
    In project mode the project's env.py renders it (its offline branch), in
    the same environment a run gives it (``project_env``).
    """
    buf = io.StringIO()
    src = project.source
    cfg = project.config()
    env = PortalEnvironment(
        cfg,
        script,
        forced={
            "dialect_name": "postgresql",
            "output_buffer": buf,
            "literal_binds": True,
            "transaction_per_migration": True,
            "version_table": src.version_table,
            "version_table_schema": src.version_table_schema,
        },
        fn=lambda _rev, _ctx: list(steps),
        as_sql=True,
        starting_rev=from_heads or None,
        destination_rev=destination,
    )
    try:
        with env:
            if src.env_mode == "project" and target is not None:
                cfg.attributes["configure_logger"] = False
                with project_environment(target, src.url_env_vars, src.url_scheme) as url:
                    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
                    script.run_env()
            else:
                env.configure(dialect_name="postgresql")
                with env.begin_transaction():
                    env.run_migrations()
    except Exception as exc:  # noqa: BLE001 - any error of a revision rendered offline
        secrets = (target.password,) if target is not None and target.password else ()
        detail = describe_failure(exc, revision_paths(script), secrets, project.script_location)
        revision = _stopped_at(buf.getvalue())
        where = f" (revision {revision}{', ' + detail.where() if detail.where() else ''})" if revision else ""
        error = f"{type(exc).__name__}: {detail.message}{where}"
        buf.write(f"\n-- SQL preview stopped: {error}\n")
        return buf.getvalue(), PreviewStop(error, revision, detail.to_json())
    return buf.getvalue(), None

