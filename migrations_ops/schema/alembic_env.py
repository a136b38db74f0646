"""Alembic plumbing shared by plans and runs: the script directory, steps, the environment.

Everything here goes through Alembic's own API (``ScriptDirectory``,
``_upgrade_revs`` / ``_downgrade_revs`` / ``_stamp_revs`` as ``command.py``
uses them, ``EnvironmentContext``) so that a plan means exactly what
``alembic upgrade`` would do, and maps Alembic's exceptions to ours.
"""

from __future__ import annotations

import ast
import inspect
import re
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from alembic import util as alembic_util
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import HeadMaintainer, MigrationStep, RevisionStep, StampStep
from alembic.script import ScriptDirectory
from alembic.script import revision as alembic_revision

from ..errors import (
    AmbiguousRevision,
    MultipleHeads,
    OpsError,
    PlanError,
    ProjectNotFound,
    RevisionImportError,
    RevisionNotFound,
)
from .project import ProjectSource, ResolvedProject, resolve_project

Operation = Literal["upgrade", "downgrade", "stamp"]
OPERATIONS: tuple[str, ...] = ("upgrade", "downgrade", "stamp")


def as_resolved(project: ResolvedProject | ProjectSource | str | Path) -> ResolvedProject:
    """Accept what callers have at hand: a resolved project, its source, or a path."""
    if isinstance(project, ResolvedProject):
        return project
    if isinstance(project, ProjectSource):
        return resolve_project(project)
    return resolve_project(ProjectSource(location=str(project)))


def load_script(project: ResolvedProject) -> ScriptDirectory:
    """Build the ``ScriptDirectory`` and its revision map, importing every revision file.

    Importing all files up front is what lets a run refuse to start when one of
    them is broken, instead of failing halfway through the plan.
    """
    try:
        script = ScriptDirectory.from_config(project.config())
    except alembic_util.CommandError as exc:
        raise ProjectNotFound(str(project.script_location), str(exc)) from None
    try:
        heads = script.revision_map.heads
    except Exception as exc:  # noqa: BLE001 - any error at import time of a revision file
        raise _import_error(exc) from None
    if not heads:
        raise ProjectNotFound(str(project.script_location), "the project has no revision files")
    return script


def _import_error(exc: BaseException) -> OpsError:
    """Name the revision file whose import failed (from the traceback), or explain a graph error."""
    path = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_name == "load_module_py":
            path = frame.f_locals.get("path")
    if path is None and isinstance(exc, SyntaxError) and exc.filename:
        path = exc.filename
    if path is None:
        if isinstance(exc, alembic_util.CommandError | alembic_revision.RevisionError):
            return PlanError(f"The project's revision graph is invalid: {exc}")
        path = "?"
    error = f"{type(exc).__name__}: {exc}"
    return RevisionImportError(revision_id_of(Path(str(path))), str(path), error)


def revision_id_of(path: Path) -> str:
    """Read ``revision = "..."`` from a file without importing it (for error messages).

    >>> import tempfile, os
    >>> p = Path(tempfile.mkdtemp()) / "x.py"; _ = p.write_text('revision: str = "abc1"\\n')
    >>> revision_id_of(p)
    'abc1'
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return path.stem
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else (
            node.target if isinstance(node, ast.AnnAssign) else None
        )
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id == "revision" and isinstance(value, ast.Constant):
            return str(value.value)
    return path.stem


def translate_revision_errors(exc: BaseException, *, current: Sequence[str] = ()) -> OpsError:
    """Turn Alembic's revision errors into ours, keeping its wording where it is clear."""
    cause = exc.__cause__ if isinstance(exc, alembic_util.CommandError) and exc.__cause__ else exc
    if isinstance(cause, alembic_revision.MultipleHeads):
        return MultipleHeads(tuple(cause.heads))
    if isinstance(cause, alembic_revision.ResolutionError) and str(cause).startswith("Multiple revisions start"):
        return AmbiguousRevision(str(cause.argument), re.findall(r"'([^']+)'", str(cause).partition(":")[2]))
    if isinstance(cause, alembic_revision.ResolutionError):
        arg = str(cause.argument)
        detail = "the target's version table records it" if arg in current else str(cause)
        return RevisionNotFound(arg, detail)
    if "Ambiguous walk" in str(exc):  # Alembic's words for a relative step from a merge point
        return PlanError(f"{exc}: the target is at a merge point, so a relative step such as -1 has more than "
                         "one way back; name the revision to go to (one of the merge's parents, see Revisions)")
    return PlanError(str(exc))


def compute_steps(
    script: ScriptDirectory, operation: str, revision: str, from_heads: Sequence[str]
) -> list[MigrationStep]:
    """The steps ``alembic <operation> <revision>`` would run from ``from_heads``."""
    if operation not in OPERATIONS:
        raise PlanError(f"Unknown operation {operation!r}; use one of {', '.join(OPERATIONS)}")
    revision = (revision or "").strip()
    if not revision:
        raise PlanError("No revision given; use head, heads, base, +N, -N or a revision id")
    if ":" in revision:
        raise PlanError("Range revision not allowed: the plan always starts from the target's live revision")
    current = tuple(from_heads)
    several = tuple(revision.replace(",", " ").split())
    try:
        script.revision_map.get_revisions(current)
        if operation != "stamp" and len(several) > 1:
            steps: list[MigrationStep] = _steps_to_heads(script, operation, several, current)
        elif operation == "upgrade":
            steps = list(script._upgrade_revs(revision, current))
        elif operation == "downgrade":
            steps = list(script._downgrade_revs(revision, current))
        else:
            steps = list(script._stamp_revs(tuple(revision.replace(",", " ").split()), current))
    except (alembic_util.CommandError, alembic_revision.RevisionError) as exc:
        raise translate_revision_errors(exc, current=current) from None
    return steps


def _steps_to_heads(script: ScriptDirectory, operation: str, heads: tuple[str, ...],
                    current: tuple[str, ...]) -> list[MigrationStep]:
    """The steps that leave exactly ``heads`` applied: Alembic's for an upgrade; for a downgrade every applied
    revision that is not an ancestor of one of them, newest first (Alembic takes a single downgrade target).

    This is how a plan that started at several heads is undone: ``downgrade a,b``.
    """
    rmap = script.revision_map
    if operation == "upgrade":
        return [MigrationStep.upgrade_from_script(rmap, r)
                for r in reversed(list(rmap.iterate_revisions(heads, current, implicit_base=True)))]
    keep = {r.revision for r in rmap.iterate_revisions(heads, "base", select_for_downgrade=True)}
    applied = list(rmap.iterate_revisions(current, "base", select_for_downgrade=True)) if current else []
    missing = [h for h in heads if h not in {r.revision for r in applied}]
    if missing:
        raise PlanError(f"Cannot downgrade to {', '.join(heads)}: {', '.join(missing)} is not applied on the target")
    return [MigrationStep.downgrade_from_script(rmap, r) for r in applied if r.revision not in keep]


class _Heads(HeadMaintainer):
    """Alembic's head bookkeeping without a database: predicts the version table."""

    def __init__(self, heads: Iterable[str]) -> None:
        self.heads = set(heads)

    def _insert_version(self, version: str) -> None:
        self.heads.add(version)

    def _delete_version(self, version: str) -> None:
        self.heads.discard(version)

    def _update_version(self, from_: str, to_: str) -> None:
        self.heads.discard(from_)
        self.heads.add(to_)


def simulate_heads(from_heads: Sequence[str], steps: Sequence[MigrationStep]) -> tuple[str, ...]:
    """The version table's rows after ``steps``, as Alembic's ``HeadMaintainer`` would leave them."""
    heads = _Heads(from_heads)
    for step in steps:
        heads.update_to_step(step)  # type: ignore[arg-type]
    return tuple(sorted(heads.heads))


def step_revision(step: MigrationStep) -> str:
    """The revision a step is about (for stamps: the revision(s) it stamps, or ``base``)."""
    if isinstance(step, RevisionStep):
        return step.revision.revision
    assert isinstance(step, StampStep)
    revs = step.to_revisions_no_deps if step.is_upgrade else step.from_revisions_no_deps
    return ",".join(revs) or "base"


def step_direction(step: MigrationStep) -> str:
    if isinstance(step, StampStep):
        return "stamp"
    return "upgrade" if step.is_upgrade else "downgrade"


OnApply = Callable[..., None]


class PortalEnvironment(EnvironmentContext):
    """An ``EnvironmentContext`` whose ``configure()`` always uses the portal's connection.

    The project's own ``env.py`` may call ``context.configure(url=...)`` with
    whatever database its settings name; the options in ``forced`` (the
    target's connection, version table, one transaction per migration) win, so
    the target the DBA chose is the one migrated (seed 003).
    """

    def __init__(self, config: Any, script: ScriptDirectory, *, forced: dict[str, Any],
                 on_apply: OnApply | None = None, **kw: Any) -> None:
        super().__init__(config, script, **kw)
        self._forced = forced
        self._on_apply = on_apply

    def configure(self, *args: Any, **kw: Any) -> None:  # type: ignore[override]
        bound = inspect.signature(EnvironmentContext.configure).bind(self, *args, **kw)
        opts = {k: v for k, v in bound.arguments.items() if k not in ("self", "kw")}
        opts.update(bound.arguments.get("kw", {}))
        for key in ("url", "dialect_name", "dialect_opts"):
            opts.pop(key, None)
        callbacks = alembic_util.to_tuple(opts.get("on_version_apply"), default=())
        if self._on_apply is not None:
            callbacks = (*callbacks, self._on_apply)
        opts.update(self._forced)
        opts["on_version_apply"] = callbacks
        super().configure(**opts)


# ``with env:`` installs the ``alembic.context`` proxies registered for the
# instance's exact class; a subclass must share EnvironmentContext's, or the
# project's env.py would find an empty ``alembic.context``.
PortalEnvironment._setups[PortalEnvironment] = EnvironmentContext._setups[EnvironmentContext]
