"""``ops revisions`` and ``ops status``: a project's revisions (as the portal lists them or as ``alembic
history [-v]`` prints them) and a target's revision state, the read-only commands a DBA types most.

They stay light: what the scripts say comes from the listing cache (keyed by
their fingerprint), so Alembic is imported only when this exact set of
scripts (and, for a status, these current revisions) has not been seen before.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from migrations_ops.schema.listing import BrokenRevisionHistory
from migrations_ops.schema.listing_cache import cached_history_text, cached_listing
from migrations_ops.schema.project import ProjectSource, ResolvedProject, resolve_project

from ..status import target_status
from .common import acting_user, check_view, dump_json, revs_text, target_named


def cmd_revisions(command, options) -> None:
    check_view(acting_user(options, required=False, what="revisions"), "ops.view_alembicproject")
    project = _project(options)
    cache = Path(settings.MOP_LISTING_CACHE)
    if options.get("format") == "alembic":
        return _alembic_history(command, project, bool(options.get("verbose")), cache)
    listing = cached_listing(project, cache)
    if options["json"]:
        return dump_json(command, listing.to_json())
    for r in listing.revisions:
        flags = [name for name, on in (("head", r.is_head), ("base", r.is_base), ("branchpoint", r.is_branch_point),
                                       ("mergepoint", r.is_merge_point)) if on]
        labels = f" [{', '.join(r.branch_labels)}]" if r.branch_labels else ""
        deps = f" depends on {', '.join(r.depends_on)}" if r.depends_on else ""
        flag = f" ({', '.join(flags)})" if flags else ""
        command.stdout.write(f"{', '.join(r.parents) or '<base>'} -> {r.id}{flag}{labels}{deps}, {r.message}")
    for p in listing.problems:
        command.stderr.write(f"problem: {p.path or p.revision}: {p.reason}")


def _project(options) -> ResolvedProject:
    """The ``--project`` folder, or the project of ``--target``, pinned to its scripts."""
    if options.get("project"):
        path = Path(options["project"]).expanduser()
        if not path.exists():
            raise ValidationError(f"Project path {path} does not exist")
        return resolve_project(ProjectSource(location=str(path.resolve())))
    return target_named(options["target"]).project.resolved()


def _alembic_history(command, project: ResolvedProject, verbose: bool, cache: Path) -> None:
    """Print ``alembic history`` (``-v``: verbose); a broken history fails as the CLI does (exit 1)."""
    try:
        text = cached_history_text(project, verbose, cache)
    except BrokenRevisionHistory as exc:
        command.stderr.write(f"FAILED: {exc}")  # as the Alembic CLI words it, for scripts that read it
        raise SystemExit(1) from None
    command.stdout.write(text, ending="")


def cmd_status(command, options) -> None:
    check_view(acting_user(options, required=False, what="status"), "ops.view_target")
    target = target_named(options["target"])
    status = target_status(target)
    if options["json"]:
        return dump_json(command, {"target": target.name, "environment": target.environment, **status.to_json()})
    command.stdout.write(f"{target.name} ({target.environment}) at {revs_text(status.current)}")
    unknown = not status.heads and any(p.code != "no_version_table" for p in status.problems)
    command.stdout.write("project heads: " + ("unknown (the scripts do not form a history: see the problem below)"
                                               if unknown else revs_text(status.heads)))
    command.stdout.write("up to date" if status.up_to_date else f"pending: {', '.join(status.pending) or '-'}")
    for p in status.problems:
        command.stdout.write(f"problem [{p.code}]: {p.message} - {p.explanation}")
