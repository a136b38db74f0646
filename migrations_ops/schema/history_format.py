"""``alembic history`` text, line for line, from the static revision map.

Scripts that parse ``alembic history`` (and ``-v``) must be able to parse the
portal's listing too, so this prints what ``alembic.command.history`` prints:
``Script.cmd_format(verbose, include_branches, include_doc, include_parents)``
for each revision in ``walk_revisions`` order. The revisions are the
``StaticRevision`` objects of ``revisions.static_revision_map`` (Alembic's own
``Revision`` class, in Alembic's own ``RevisionMap``), so head, branch point,
merge point and inherited branch labels are Alembic's values; only the parts
``Script`` adds (doc, long doc, path) are read from the file without importing it.

Where Alembic prints a set (branch labels, ``Branches into``), the order is
Python's set order, as in Alembic; it is the same as the CLI's when both run
with the same ``PYTHONHASHSEED``.
"""

from __future__ import annotations

from collections.abc import Iterator

from alembic import util as alembic_util

from .project import ResolvedProject
from .revisions import BrokenRevisionHistory, StaticRevision, _build_map, _history_order


def _down(rev: StaticRevision) -> str:
    """``Script._format_down_revision``."""
    if not rev.down_revision:
        return "<base>"
    return alembic_util.format_as_comma(rev._versioned_down_revisions)


def head_only(rev: StaticRevision) -> str:
    """``Script._head_only(include_branches=True, include_doc=True, include_parents=True)``."""
    if rev.dependencies:
        text = f"{_down(rev)} ({alembic_util.format_as_comma(rev.dependencies)}) -> {rev.revision}"
    else:
        text = f"{_down(rev)} -> {rev.revision}"
    if rev.branch_labels:
        text += f" ({alembic_util.format_as_comma(rev.branch_labels)})"
    text += " (head)" if rev._is_real_head else ""
    text += " (effective head)" if rev.is_head and not rev._is_real_head else ""
    text += " (branchpoint)" if rev.is_branch_point else ""
    text += " (mergepoint)" if rev.is_merge_point else ""
    return f"{text}, {rev.parsed.doc}"


def log_entry(rev: StaticRevision) -> str:
    """``Script.log_entry`` (``alembic history -v``): a block ending with a blank line."""
    entry = (f"Rev: {rev.revision}{' (head)' if rev.is_head else ''}"
             f"{' (branchpoint)' if rev.is_branch_point else ''}{' (mergepoint)' if rev.is_merge_point else ''}\n")
    entry += f"{'Merges' if rev.is_merge_point else 'Parent'}: {_down(rev)}\n"
    if rev.dependencies:
        entry += f"Also depends on: {alembic_util.format_as_comma(rev.dependencies)}\n"
    if rev.is_branch_point:
        entry += f"Branches into: {alembic_util.format_as_comma(rev.nextrev)}\n"
    if rev.branch_labels:
        entry += f"Branch names: {alembic_util.format_as_comma(rev.branch_labels)}\n"
    entry += f"Path: {rev.path}\n"
    body = "\n".join(f"    {para}" for para in rev.parsed.longdoc.splitlines())
    entry += f"\n{body}\n"
    return entry


def history_lines(project: ResolvedProject, verbose: bool = False) -> Iterator[str]:
    """Each ``print_stdout`` call of ``alembic history [-v]`` (without its newline), newest first.

    Raises ``BrokenRevisionHistory`` where Alembic would refuse the project.

    :param project: a project pinned by ``resolve_project``.
    :param verbose: ``-v``: Alembic's ``log_entry`` blocks.
    """
    revmap, problems = _build_map(project)
    if problems:
        raise BrokenRevisionHistory(problems)
    for rev in _history_order(revmap):
        assert isinstance(rev, StaticRevision)
        yield log_entry(rev) if verbose else head_only(rev)


def history_text(project: ResolvedProject, verbose: bool = False) -> str:
    """The whole output of ``alembic history [-v]`` as one string."""
    return "".join(f"{line}\n" for line in history_lines(project, verbose))
