"""The SQLite files a copy reads: only inside MOP_IMPORT_DIR, picked, typed or uploaded there, checked readable.

Anything that resolves outside the import directory (``..``, an absolute path
elsewhere, a symlink pointing out) is refused before anything is created.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.text import get_valid_filename
from django.utils.timezone import now

from migrations_ops.copy import source as engine_source
from migrations_ops.errors import OpsError

log = logging.getLogger(__name__)


SQLITE_MAGIC = b"SQLite format 3\x00"


UPLOAD_DIR = "uploads"


# Files listed in the "pick a file" choice of the copy form.
MAX_LISTED_FILES = 500


def import_dir() -> Path:
    """MOP_IMPORT_DIR, symlinks resolved (the root every source must stay under)."""
    return Path(settings.MOP_IMPORT_DIR).resolve()


def _refuse(message: str, code: str = "source_refused") -> ValidationError:
    return ValidationError(message, code=code)


def resolve_source(path: str) -> Path:
    """The SQLite file ``path`` names: relative to MOP_IMPORT_DIR, or absolute inside it.

    Symlinks are followed before the check, so a link inside the directory that
    points outside is refused like ``../x`` or ``/etc/x``. Reads the file system only.
    """
    raw = (path or "").strip()
    if not raw:
        raise _refuse("Choose a SQLite file: upload one, or pick one from the import directory", "no_source")
    if "\x00" in raw:
        raise _refuse("Refused: the path contains a NUL character")
    root = import_dir()
    given = Path(raw)
    real = (given if given.is_absolute() else root / given).resolve()
    if not real.is_relative_to(root):
        raise _refuse(
            f"Refused: {raw!r} is outside the import directory {root} (MOP_IMPORT_DIR). Only files inside it "
            "can be copied; upload the file or place it there."
        )
    if not real.is_file():
        raise _refuse(f"No SQLite file {raw!r} in the import directory {root}", "source_missing")
    return real


def check_readable(path: Path) -> None:
    """Refuse a source SQLite cannot open (empty, not SQLite, encrypted, truncated) before a run is recorded.

    Opens the file read-only and reads its schema (cheap, whatever the size); a
    broken data page further in is found by the pre-flight's integrity check or
    by the range that meets it, which fails the run naming the file.
    """
    try:
        engine_source.open_source(path).close()
    except OpsError as exc:
        raise ValidationError(f"{exc}. {exc.explanation}", code=exc.code) from None


def relative_name(path: Path) -> str:
    """How a source is recorded: its path relative to MOP_IMPORT_DIR."""
    return str(path.relative_to(import_dir()))


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def list_import_files() -> list[dict[str, Any]]:
    """SQLite files under MOP_IMPORT_DIR (by their header), newest first; links pointing out are left out."""
    root = import_dir()
    if not root.is_dir():
        return []
    found = []
    for p in root.rglob("*"):
        try:
            real = p.resolve()
            if not real.is_relative_to(root) or not real.is_file() or not _is_sqlite(real):
                continue
            st = real.stat()
        except OSError:
            continue
        found.append({"name": str(p.relative_to(root)), "size": st.st_size, "mtime": st.st_mtime})
        if len(found) >= MAX_LISTED_FILES:
            break
    return sorted(found, key=lambda f: -f["mtime"])


def save_upload(uploaded) -> str:
    """Store an uploaded SQLite file under MOP_IMPORT_DIR/uploads; returns its relative name (writes a file).

    The name keeps only its last component (made safe) behind a timestamp and
    a random part, so an upload can neither escape the directory nor replace
    another file. A file that is not SQLite is refused and nothing is kept.
    """
    head = uploaded.read(len(SQLITE_MAGIC))
    uploaded.seek(0)
    if head != SQLITE_MAGIC:
        raise _refuse(f"Refused: {uploaded.name!r} is not a SQLite 3 database (its header does not match)",
                      "not_sqlite")
    try:
        base = get_valid_filename(Path(str(uploaded.name).replace("\\", "/")).name)
    except Exception:  # noqa: BLE001 - Django raises SuspiciousFileOperation for names like ".."
        base = "upload.sqlite"
    root = import_dir()
    folder = root / UPLOAD_DIR
    dest = (folder / f"{now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}-{base}").resolve()
    if not dest.is_relative_to(folder.resolve() if folder.exists() else root):
        raise _refuse(f"Refused: the upload name {uploaded.name!r} would leave the import directory")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with dest.open("xb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)  # a half-written upload is of no use to anyone
        raise
    return relative_name(dest)


def discard_upload(name: str | None) -> None:
    """Delete an upload the copy form rejected (writes the file system); anything outside uploads/ is kept.

    Only files ``save_upload`` created are removed: the name must resolve to a
    file directly in MOP_IMPORT_DIR/uploads, so a picked or typed path is never deleted.
    """
    if not name:
        return
    folder = (import_dir() / UPLOAD_DIR).resolve()
    path = (import_dir() / name).resolve()
    if path.parent == folder and path.is_file():
        path.unlink(missing_ok=True)
        log.info("rejected upload %s removed", name)


def parse_tables(value) -> list[str] | None:
    """Tables as typed (comma or space separated) or given as a list; None means every table.

    >>> parse_tables("users, transactions  credits"), parse_tables(""), parse_tables(["a"])
    (['users', 'transactions', 'credits'], None, ['a'])
    """
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).replace(",", " ").split()
    names = [str(t).strip() for t in items if str(t).strip()]
    return list(dict.fromkeys(names)) or None
