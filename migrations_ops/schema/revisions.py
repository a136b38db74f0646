"""List an Alembic project's revisions without importing its revision files.

Importing a revision file runs its imports, and real projects import their
app's models, plugins and packages the portal does not have. So we read each
file with ``ast``: the module-level ``revision``, ``down_revision``,
``branch_labels`` and ``depends_on`` assignments, exactly the names Alembic's
``Script`` reads (never the file name or the docstring's "Revises:" line).
The graph itself is Alembic's ``RevisionMap`` fed with those values, so heads,
bases, branch and merge points, ``depends_on`` and the ``history`` order are
Alembic's own semantics. Files Alembic would choke on become ``problems``
instead of an exception, so the DBA still sees the rest of the history.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.script.base import Script, _only_source_rev_file, _sourceless_rev_file
from alembic.script.revision import (
    CycleDetected,
    Revision,
    RevisionError,
    RevisionMap,
)
from alembic.util import CommandError

from ..errors import ProjectNotFound
from .custom_ops import op_calls
from .listing import BrokenRevisionHistory, RevisionInfo, RevisionListing, RevisionProblem
from .project import ResolvedProject

_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")
_CREATE_DATE = re.compile(r"^\s*Create Date:\s*(.+?)\s*$", re.MULTILINE)
_CACHE_MAX = 20000


class StaticRevision(Revision):
    """An Alembic ``Revision`` read from a file's source, with where it came from."""

    def __init__(
        self, parsed: _Parsed, down: tuple[str, ...], deps: tuple[str, ...], labels: tuple[str, ...]
    ) -> None:
        super().__init__(parsed.revision or "", down or None, dependencies=deps or None, branch_labels=labels)
        self.parsed = parsed
        self.path = parsed.path
        self.doc = parsed.doc


@dataclass(slots=True)
class _Parsed:
    """What one file declares (before any graph checks)."""

    path: Path
    revision: str | None = None
    down_revision: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    doc: str = ""
    longdoc: str = ""  # the whole docstring, stripped, as Alembic's ``Script.longdoc``
    create_date: datetime | None = None
    error: tuple[str, str] | None = None  # (code, reason)
    operations: tuple[str, ...] = ()


_cache: dict[tuple[str, int, int], _Parsed] = {}


def clear_cache() -> None:
    """Forget parsed files (they are cached by path, mtime and size)."""
    _cache.clear()


def list_revisions(project: ResolvedProject) -> RevisionListing:
    """List the project's revisions newest first, as ``alembic history`` orders them.

    Never imports a revision file. Unreadable files and graph errors (cycles,
    missing parents, duplicated ids) are returned in ``problems``.

    :param project: a project pinned by ``resolve_project``.
    """
    revmap, problems = _build_map(project)
    if not _revisions_of(revmap):
        return RevisionListing((), (), (), tuple(problems), project.fingerprint)
    ordered = _history_order(revmap)
    position = {rev.revision: i for i, rev in enumerate(ordered)}
    infos = tuple(_info(rev, project.script_location, position) for rev in ordered)
    return RevisionListing(
        revisions=infos,
        heads=tuple(revmap.heads),
        bases=tuple(revmap.bases),
        problems=tuple(problems),
        fingerprint=project.fingerprint,
    )


def static_revision_map(project: ResolvedProject, strict: bool = True) -> RevisionMap:
    """Build Alembic's ``RevisionMap`` of the project from source, without imports.

    The map resolves ``head``, ``heads``, ``base``, ``+N``/``-N``, prefixes
    and branch labels exactly as Alembic does; its revisions are
    ``StaticRevision`` (``.path``, ``.doc``).

    :param project: a project pinned by ``resolve_project``.
    :param strict: raise ``BrokenRevisionHistory`` where Alembic would refuse
        the project; ``False`` returns the map of the readable revisions.
    """
    revmap, problems = _build_map(project)
    if strict and problems:
        raise BrokenRevisionHistory(problems)
    return revmap


# --- reading files -------------------------------------------------------------


def _script_files(project: ResolvedProject) -> tuple[list[Path], bool]:
    """The files Alembic would load, in its order, and whether it is sourceless.

    ``ScriptDirectory.from_config`` prepends ``prepend_sys_path`` to
    ``sys.path`` on every call; listing never imports, so we take it out again
    (only what it prepended, in case another thread changed ``sys.path``).
    """
    before = len(sys.path)
    try:
        script = project.script()
        locations = [v for v in script._version_locations if v.exists()]
        files: list[Path] = []
        seen: set[Path] = set()
        for vers in locations:
            real_vers = vers.resolve()
            for path in Script._list_py_dir(script, vers):
                real = real_vers / path.relative_to(vers)
                real = real.resolve() if real.is_symlink() else real
                if real not in seen:
                    seen.add(real)
                    files.append(real)
        return files, bool(script.sourceless)
    except CommandError as exc:
        raise ProjectNotFound(str(project.script_location), str(exc)) from exc
    finally:
        del sys.path[: max(len(sys.path) - before, 0)]


def _wanted(path: Path, sourceless: bool) -> bool:
    """Alembic's own file filter (``Script._from_path``): ``.py``, or ``.pyc`` without source."""
    match = (_sourceless_rev_file if sourceless else _only_source_rev_file).match(path.name)
    if not match:
        return False
    if sourceless and match.group(2):
        py = path.parent / match.group(1)
        return not (py.exists() or (match.group(2) == "o" and py.with_suffix(".pyc").exists()))
    return True


def _parse_file(path: Path) -> _Parsed:
    """Read one revision file's declarations from its syntax tree (cached by mtime and size)."""
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key in _cache:
            return _cache[key]
        data = path.read_bytes()
    except OSError as exc:
        return _Parsed(path, error=("unreadable", f"cannot read the file: {exc.strerror or exc}"))
    parsed = _parse_source(path, data)
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[key] = parsed
    return parsed


def _parse_source(path: Path, data: bytes) -> _Parsed:
    parsed = _Parsed(path)
    if path.suffix in (".pyc", ".pyo"):
        parsed.error = ("sourceless", "a compiled-only revision file cannot be read without importing it")
        return parsed
    try:
        tree = ast.parse(data, filename=str(path))
    except (SyntaxError, ValueError) as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        parsed.error = ("syntax_error", f"not valid Python{where}: {getattr(exc, 'msg', None) or exc}")
        return parsed
    doc = (ast.get_docstring(tree, clean=False) or "").strip()
    parsed.longdoc = doc
    parsed.operations = tuple(sorted({c.name for c in op_calls(tree)}))
    parsed.doc = re.split("\n\n", doc)[0]
    parsed.create_date = _create_date(doc)
    values: dict[str, ast.expr] = {}
    for name, node in _assignments(tree):
        values[name] = node
    try:
        if "revision" not in values:
            raise _Bad("no_revision", "no module-level 'revision = ...' assignment")
        revision = _literal(values, "revision")
        if not isinstance(revision, str) or not revision:
            raise _Bad("bad_value", f"'revision' must be a non-empty string, not {revision!r}")
        parsed.revision = revision
        if "down_revision" not in values:
            raise _Bad("no_down_revision", "no module-level 'down_revision = ...' assignment")
        parsed.down_revision = _ids(values, "down_revision")
        parsed.depends_on = _ids(values, "depends_on")
        parsed.branch_labels = _ids(values, "branch_labels")
    except _Bad as bad:
        parsed.error = (bad.code, bad.reason)
    return parsed


class _Bad(Exception):
    def __init__(self, code: str, reason: str) -> None:
        self.code, self.reason = code, reason


def _assignments(tree: ast.Module) -> Iterator[tuple[str, ast.expr]]:
    """Top-level ``name = value`` and ``name: T = value`` for the names Alembic reads, in order."""
    for stmt in tree.body:
        if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
            if stmt.target.id in _NAMES:
                yield stmt.target.id, stmt.value
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name) and target.id in _NAMES:
                    yield target.id, stmt.value
                elif (
                    isinstance(target, ast.Tuple | ast.List)
                    and isinstance(stmt.value, ast.Tuple | ast.List)
                    and len(target.elts) == len(stmt.value.elts)
                ):
                    for t, v in zip(target.elts, stmt.value.elts, strict=True):
                        if isinstance(t, ast.Name) and t.id in _NAMES:
                            yield t.id, v


def _literal(values: dict[str, ast.expr], name: str) -> Any:
    node = values.get(name)
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise _Bad("not_literal", f"'{name}' (line {node.lineno}) is not a literal Alembic can be read from without importing") from exc


def _ids(values: dict[str, ast.expr], name: str) -> tuple[str, ...]:
    """A value as Alembic's ``util.to_tuple`` sees it: None, a string, or a sequence of strings."""
    value = _literal(values, name)
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, tuple | list | set | frozenset) or not all(isinstance(i, str) for i in items):
        raise _Bad("bad_value", f"'{name}' must be a string or a sequence of strings, not {value!r}")
    return tuple(sorted(items) if isinstance(items, set | frozenset) else items)


def _create_date(doc: str) -> datetime | None:
    """The template's "Create Date:" line; ``None`` when absent or not a date."""
    m = _CREATE_DATE.search(doc)
    if not m:
        return None
    try:
        return datetime.fromisoformat(m.group(1))
    except ValueError:
        return None


# --- building the graph --------------------------------------------------------


def _build_map(project: ResolvedProject) -> tuple[RevisionMap, list[RevisionProblem]]:
    """Parse every file and feed Alembic's ``RevisionMap``; errors become problems.

    Steps: 1 parse the files Alembic would load, 2 drop duplicated ids (the
    last file wins, as in Alembic's map), 3 drop conflicting branch labels and
    unknown ``depends_on``, 4 strip parents no file has, 5 build the map and,
    on a cycle, drop the revisions Alembic names and build again.
    """
    root = project.script_location
    files, sourceless = _script_files(project)
    problems: list[RevisionProblem] = []
    parsed: dict[str, _Parsed] = {}
    for path in files:
        if not _wanted(path, sourceless):
            continue
        p = _parse_file(path)
        if p.error is not None:
            problems.append(RevisionProblem(p.error[0], _rel(path, root), p.error[1], p.revision))
            continue
        assert p.revision is not None
        if p.revision in parsed:
            older = parsed.pop(p.revision)
            problems.append(RevisionProblem(
                "duplicate_revision", _rel(older.path, root),
                f"revision {p.revision} is also defined in {_rel(p.path, root)}, which wins", p.revision,
            ))
        parsed[p.revision] = p
    dropped: dict[str, str] = {}
    while True:
        revisions = _make_revisions(parsed, dropped, root, problems)
        revmap = RevisionMap(lambda revisions=revisions: revisions)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                revmap._revision_map  # noqa: B018 - builds and checks the graph now
            return revmap, list(dict.fromkeys(problems))
        except CycleDetected as exc:
            for rev_id in _cycle_ids(exc, parsed):
                dropped[rev_id] = "it is part of, or descends from, a cycle of down_revision/depends_on"
                p = parsed.pop(rev_id)
                problems.append(RevisionProblem("cycle", _rel(p.path, root), dropped[rev_id], rev_id))
        except RevisionError as exc:  # anything else Alembic refuses: report and stop
            problems.append(RevisionProblem("graph_error", None, str(exc)))
            return RevisionMap(lambda: ()), list(dict.fromkeys(problems))


def _cycle_ids(exc: CycleDetected, parsed: dict[str, _Parsed]) -> list[str]:
    """The revision ids a ``CycleDetected`` names (all of them if it names none we know)."""
    named = [rev for rev in exc.revisions if rev in parsed]
    return named or list(parsed)


def _make_revisions(
    parsed: dict[str, _Parsed], dropped: dict[str, str], root: Path, problems: list[RevisionProblem]
) -> list[StaticRevision]:
    """Fresh ``Revision`` objects (the map mutates them), stripped of references no file satisfies."""
    labels_owner: dict[str, str] = {}
    kept_labels: dict[str, tuple[str, ...]] = {}
    for rev_id, p in parsed.items():
        keep = []
        for label in p.branch_labels:
            clash = labels_owner.get(label) or (label if label in parsed else None)
            if clash:
                problems.append(RevisionProblem(
                    "duplicate_branch_label", _rel(p.path, root),
                    f"branch label {label!r} is already used by revision {clash}; ignored here", rev_id,
                ))
            else:
                labels_owner[label] = rev_id
                keep.append(label)
        kept_labels[rev_id] = tuple(keep)
    out: list[StaticRevision] = []
    for rev_id, p in list(parsed.items()):
        down = []
        for d in p.down_revision:
            if d in parsed:
                down.append(d)
            else:
                why = dropped.get(d, "no revision file has this id")
                problems.append(RevisionProblem(
                    "missing_down_revision", _rel(p.path, root),
                    f"down_revision {d!r} cannot be found: {why}; shown as a base", rev_id,
                ))
        deps = []
        for d in p.depends_on:
            if d in parsed or d in labels_owner:
                deps.append(d)
            else:
                problems.append(RevisionProblem(
                    "missing_dependency", _rel(p.path, root),
                    f"depends_on {d!r} is neither a revision id nor a branch label; ignored", rev_id,
                ))
        try:
            out.append(StaticRevision(p, tuple(down), tuple(deps), kept_labels[rev_id]))
        except RevisionError as exc:
            code = "cycle" if isinstance(exc, CycleDetected) else "bad_revision_id"
            problems.append(RevisionProblem(code, _rel(p.path, root), str(exc), rev_id))
            dropped[rev_id] = str(exc)
            del parsed[rev_id]
            return _make_revisions(parsed, dropped, root, problems)
    return out


def _revisions_of(revmap: RevisionMap) -> list[Revision]:
    return [r for k, r in revmap._revision_map.items() if isinstance(r, Revision) and k == r.revision]


def _history_order(revmap: RevisionMap) -> list[Revision]:
    """Newest first, in the order ``alembic history`` prints.

    Alembic's walk (``RevisionMap._topological_sort``): follow one line down
    from the first head (heads in file order); before printing a revision,
    switch to any other open line that still has it as an ancestor; a merge
    opens a line per parent. Alembic recomputes each line's ancestor set at
    every branch and merge, which dominates at hundreds of revisions; here
    every ancestor set is computed once, as a bitset.
    """
    revs = _revisions_of(revmap)
    by_id = {r.revision: r for r in revs}
    bit = {r.revision: 1 << i for i, r in enumerate(revs)}
    ancestors = _ancestor_bits(revs, by_id, bit)
    lines = sorted(revmap.heads, key=lambda h: bit[h])
    line_anc = [ancestors[h] for h in lines]
    todo = set(by_id)
    out: list[Revision] = []
    i = 0
    while lines:
        candidate = lines[i]
        b = bit[candidate]
        other = next((j for j, anc in enumerate(line_anc) if j != i and anc & b), None)
        if other is not None:
            i = other
            continue
        if candidate in todo:
            out.append(by_id[candidate])
            todo.discard(candidate)
        more = [r for r in by_id[candidate]._normalized_down_revisions if r in todo and r not in lines]
        if not more:
            del lines[i], line_anc[i]
            i = max(i - 1, 0)
        else:
            lines[i], line_anc[i] = more[0], ancestors[more[0]]
            lines.extend(more[1:])
            line_anc.extend(ancestors[r] for r in more[1:])
    out.extend(r for r in revs if r.revision in todo)
    return out


def _ancestor_bits(revs: list[Revision], by_id: dict[str, Revision], bit: dict[str, int]) -> dict[str, int]:
    """Each revision's ancestors (itself, parents and dependencies) as an int bitset, iteratively."""
    anc: dict[str, int] = {}
    for start in revs:
        stack = [start.revision]
        while stack:
            rev_id = stack[-1]
            if rev_id in anc:
                stack.pop()
                continue
            pending = [p for p in by_id[rev_id]._normalized_down_revisions if p not in anc]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            value = bit[rev_id]
            for p in by_id[rev_id]._normalized_down_revisions:
                value |= anc[p]
            anc[rev_id] = value
    return anc


def _info(rev: Revision, root: Path, position: dict[str, int]) -> RevisionInfo:
    assert isinstance(rev, StaticRevision)
    by_pos = lambda ids: tuple(sorted(ids, key=lambda i: position.get(i, len(position))))  # noqa: E731
    parsed = rev.parsed
    return RevisionInfo(
        id=rev.revision,
        parents=parsed.down_revision,
        depends_on=parsed.depends_on,
        branch_labels=tuple(rev._orig_branch_labels),
        message=rev.doc,
        create_date=parsed.create_date,
        path=_rel(rev.path, root),
        children=by_pos(rev.nextrev),
        is_head=rev.is_head,
        is_base=rev.is_base,
        is_branch_point=rev.is_branch_point,
        is_merge_point=rev.is_merge_point,
        depends_on_ids=tuple(rev._resolved_dependencies),
        dependents=by_pos(rev._all_nextrev - rev.nextrev),
        branch_names=tuple(sorted(rev.branch_labels)),
        operations=parsed.operations,
    )


def _rel(path: Path, root: Path) -> str:
    """Path relative to the script location (``..`` when a version location lies outside)."""
    text, prefix = str(path), str(root) + os.sep
    if text.startswith(prefix):
        return text[len(prefix):].replace(os.sep, "/")
    return Path(os.path.relpath(path, root)).as_posix()
