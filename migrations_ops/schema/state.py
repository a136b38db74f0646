"""Where a target stands: its version table against the project's revisions.

The troubleshooting sections of the seeds are about four states; each comes
back as a ``Problem`` with a plain explanation, so that the portal can show
"what this means and what to do" next to the raw revision ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from ..errors import MultipleHeads, OpsError, RevisionNotFound
from ..target import TargetConn, connect
from .listing_cache import cached_json
from .project import ProjectSource, ResolvedProject, resolve_project

if TYPE_CHECKING:  # Alembic is imported where the revision map is built: a cached status needs none of it
    from alembic.script.revision import RevisionMap


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth knowing) about a target, in words a DBA can act on."""

    code: str
    message: str
    explanation: str


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """A target's revision state; ``pending`` is in apply order."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    pending: tuple[str, ...]
    has_version_table: bool
    up_to_date: bool
    problems: tuple[Problem, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "current": list(self.current),
            "heads": list(self.heads),
            "pending": list(self.pending),
            "has_version_table": self.has_version_table,
            "up_to_date": self.up_to_date,
            "problems": [{"code": p.code, "message": p.message, "explanation": p.explanation} for p in self.problems],
        }


def version_table_name(table: str, schema: str | None) -> sql.Composable:
    return sql.Identifier(schema, table) if schema else sql.Identifier(table)


def read_heads(conn: psycopg.Connection, table: str = "alembic_version",
               schema: str | None = None) -> tuple[str, ...] | None:
    """The version table's rows (sorted), or None when the table does not exist.

    Reads exactly what ``alembic current`` reads; ``to_regclass`` keeps a
    missing table from aborting the caller's transaction.
    """
    name = version_table_name(table, schema)
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [name.as_string(conn)]).fetchone()
    if not row or not row[0]:
        return None
    rows = conn.execute(sql.SQL("SELECT version_num FROM {}").format(name)).fetchall()
    return tuple(sorted(r[0] for r in rows))


def live_heads(target: TargetConn, project: ResolvedProject, application_name: str = "mop:status") -> tuple[
        tuple[str, ...], bool]:
    """Connect, read the project's version table; returns (heads, table exists)."""
    src = project.source
    with connect(target, application_name, autocommit=True) as conn:
        heads = read_heads(conn, src.version_table, src.version_table_schema)
    return (heads or (), heads is not None)


def target_status(target: TargetConn, project: ResolvedProject | ProjectSource,
                  cache_dir: Path | None = None) -> TargetStatus:
    """Report the target's current revision(s), the project's heads and what is pending.

    :param target: the database to inspect (read only).
    :param project: the Alembic project that manages it.
    :param cache_dir: the listing cache: what the scripts say about these current revisions (heads, pending,
        unknown) is kept there by fingerprint, so a status read again needs no Alembic (None: always built).
    """
    resolved = project if isinstance(project, ResolvedProject) else resolve_project(project)
    current, has_table = live_heads(target, resolved)
    facts = cached_json(resolved, "status current=" + json.dumps(list(current)), lambda: _facts(resolved, current),
                        cache_dir, keep=lambda f: f["problem"] is None)
    if facts["problem"] is not None:
        return TargetStatus(current, (), (), has_table, False, (Problem(*facts["problem"]),))
    heads, pending, unknown = tuple(facts["heads"]), tuple(facts["pending"]), facts["unknown"]
    problems: list[Problem] = []
    if not has_table:
        problems.append(Problem(
            "no_version_table", "No version table yet",
            f"The target has no {resolved.source.version_table!r} table: Alembic has never run on it "
            "(or ran with another version table). An upgrade creates it; if the schema already exists, "
            "stamp the revision it matches instead of upgrading.",
        ))
    if len(heads) > 1:
        err = MultipleHeads(heads)
        problems.append(Problem(err.code, str(err), err.explanation))
    for rev in unknown:
        err = RevisionNotFound(rev, "the target's version table records it, the project's scripts do not")
        problems.append(Problem(err.code, str(err), err.explanation + (
            " Until this is fixed no upgrade or downgrade can be planned; if the revision was removed "
            "on purpose, stamp the revision the schema matches.")))
    up_to_date = not unknown and not pending and bool(heads)
    if pending:
        problems.append(Problem(
            "not_up_to_date", f"Target database is not up to date: {len(pending)} revision(s) pending",
            "The target is behind the project's head(s). Preview and run an upgrade to head; until then "
            "'alembic revision --autogenerate' refuses to run against it.",
        ))
    return TargetStatus(current, heads, pending, has_table, up_to_date, tuple(problems))


def _facts(project: ResolvedProject, current: tuple[str, ...]) -> dict[str, Any]:
    """What Alembic's map says of ``current``: the heads, the revisions ``upgrade heads`` applies (in order),
    the current revisions the scripts lack, or the problem that stops the map being built."""
    problems: list[Problem] = []
    rmap = _revision_map(project, problems)
    if rmap is None:
        p = problems[0]
        return {"problem": [p.code, p.message, p.explanation], "heads": [], "pending": [], "unknown": []}
    unknown = [rev for rev in current if not _known(rmap, rev)]
    return {"problem": None, "heads": sorted(rmap.heads), "unknown": unknown,
            "pending": [] if unknown else list(_pending(rmap, current))}


def _revision_map(project: ResolvedProject, problems: list[Problem]) -> RevisionMap | None:
    """The static revision map: read from the files' source, never imported.

    Status is open to viewers; importing a revision file would run its
    module-level code (and show whatever its exception says), so a file
    that cannot be imported only shows up when a plan is made.
    """
    from alembic.script.revision import RevisionError

    from . import revisions

    try:
        return revisions.static_revision_map(project)
    except (OpsError, RevisionError) as exc:
        problems.append(Problem(getattr(exc, "code", "revision_error"), str(exc), getattr(exc, "explanation", "")))
        return None


def _known(rmap: RevisionMap, rev: str) -> bool:
    from alembic.script.revision import RevisionError

    try:
        return rmap.get_revision(rev) is not None
    except RevisionError:
        return False


def _pending(rmap: RevisionMap, current: tuple[str, ...]) -> tuple[str, ...]:
    """Revisions ``upgrade heads`` would apply, in order (as ``_upgrade_revs`` walks them)."""
    from alembic.script.revision import RevisionError

    try:
        revs = list(rmap.iterate_revisions("heads", current, implicit_base=True))
    except RevisionError:
        return ()
    return tuple(r.revision for r in reversed(revs))
