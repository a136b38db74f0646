"""A project's revision listing kept on disk, keyed by the fingerprint of its scripts.

Building the listing needs Alembic's ``RevisionMap`` (its exact order and
graph rules), and importing Alembic and SQLAlchemy costs a new process more
than reading every revision file. A listing depends only on the script files
(``ResolvedProject.fingerprint``: their sha256, or the git commit), where they
are, the Alembic release and this engine's own code, so a process that finds
the listing for that key prints it without importing Alembic. The
``alembic history`` text also depends on ``PYTHONHASHSEED`` (Alembic prints
some sets in Python's set order), so its key includes the seed.

The status of a target (``state.target_status``) keeps here what the scripts
say of its current revisions (heads, pending, unknown), keyed by the scripts
and those revisions; the version table itself is read every time.

A history Alembic would refuse is never cached: it is rebuilt, and fails as
before, every time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .listing import RevisionListing
from .project import ResolvedProject

KEEP = 200  # entries kept per cache folder; the oldest go first
_ENGINE_FILES = ("listing.py", "listing_cache.py", "revisions.py", "history_format.py", "custom_ops.py",
                 "project.py", "state.py")


def cached_listing(project: ResolvedProject, cache_dir: Path | None) -> RevisionListing:
    """``revisions.list_revisions(project)``, read from ``cache_dir`` when this exact set of scripts was listed.

    :param cache_dir: a folder the process may write (None: no cache, always built).
    """
    def build() -> str:
        from .revisions import list_revisions

        return list_revisions(project).dumps(indent=None)

    text = _cached(cache_dir, _key(project, "listing"), build)
    return RevisionListing.from_json(json.loads(text))


def cached_history_text(project: ResolvedProject, verbose: bool, cache_dir: Path | None) -> str:
    """``history_format.history_text(project, verbose)``, from ``cache_dir`` when it was printed before
    (raises ``BrokenRevisionHistory`` as it does)."""
    def build() -> str:
        from .history_format import history_text

        return history_text(project, verbose=verbose)

    seed = os.environ.get("PYTHONHASHSEED") or "random"
    return _cached(cache_dir, _key(project, f"history verbose={verbose} seed={seed}"), build)


def cached_json(project: ResolvedProject, what: str, build: Callable[[], Any], cache_dir: Path | None,
                keep: Callable[[Any], bool] = lambda _: True) -> Any:
    """``build()`` (JSON-able), kept under ``what`` for these scripts when ``keep(value)`` says so."""
    text = _cached(cache_dir, _key(project, what), lambda: json.dumps(build()), keep=lambda t: keep(json.loads(t)))
    return json.loads(text)


def _cached(cache_dir: Path | None, key: str, build: Callable[[], str],
            keep: Callable[[str], bool] = lambda _: True) -> str:
    """The text stored under ``key``, or ``build()`` stored there if ``keep`` allows (a cache that cannot be
    written is skipped)."""
    if cache_dir is None:
        return build()
    path = cache_dir / f"{key}.txt"
    try:
        stored = _read(path)
    except OSError:
        return build()
    if stored is not None:
        return stored
    text = build()
    if keep(text):
        _store(cache_dir, path, text)
    return text


def _read(path: Path) -> str | None:
    """The text kept in ``path``, or None when there is none or it is not whole (its first line is the sha256
    of the rest: a file truncated, edited or damaged on disk is rebuilt, never printed)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    digest, _, body = data.partition(b"\n")
    if hashlib.sha256(body).hexdigest().encode() != digest:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _store(cache_dir: Path, path: Path, text: str) -> None:
    """Write atomically (a reader sees the whole text or none) and keep the folder to ``KEEP`` entries."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        body = text.encode("utf-8")
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
        entries = sorted(cache_dir.glob("*.txt"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        return


def _key(project: ResolvedProject, what: str) -> str:
    """sha256 of what the text depends on: the scripts, their place, the ini file and any ``version_locations``
    folder outside the scripts' folder, Alembic's release and this engine's code."""
    h = hashlib.sha256()
    for part in (what, project.fingerprint, str(project.script_location), str(project.root),
                 str(project.ini_path), *_ini_inputs(project), *_code_versions()):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def _ini_inputs(project: ResolvedProject) -> list[str]:
    """The ini file's bytes, hashed (its options choose the scripts; the ``version_locations`` folders
    themselves are in the fingerprint)."""
    if project.ini_path is None:
        return []
    try:
        return ["ini:" + hashlib.sha256(project.ini_path.read_bytes()).hexdigest()]
    except OSError:
        return ["ini:unreadable"]


def _code_versions() -> list[str]:
    """The installed Alembic and these modules, as path and modification time (no import of Alembic)."""
    here = Path(__file__).parent
    files = [here / name for name in _ENGINE_FILES]
    spec = importlib.util.find_spec("alembic")
    if spec is not None and spec.origin:
        files.append(Path(spec.origin))  # alembic/__init__.py: its __version__
        files.append(Path(spec.origin).parent / "script" / "revision.py")
        files.append(Path(spec.origin).parent / "script" / "base.py")
    out = []
    for f in files:
        try:
            st = f.stat()
            out.append(f"{f}:{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            out.append(f"{f}:missing")
    return out
