"""Alembic projects: where the scripts are, and which exact scripts they were.

A project is a directory on the server or a git repository at a ref. Every
run records ``ResolvedProject.fingerprint`` (the git commit, or a sha256 of
the script files), so that afterwards we can prove which scripts ran.
"""

from __future__ import annotations

import configparser
import hashlib
import io
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:  # Alembic is imported where a Config is built: describing a project needs none of it
    from alembic.config import Config
    from alembic.script import ScriptDirectory

from ..errors import ProjectNotFound

Kind = Literal["path", "git"]
EnvMode = Literal["portal", "project"]
_FINGERPRINT_SUFFIXES = (".py", ".mako", ".ini", ".sql", ".toml")


@dataclass(frozen=True, slots=True)
class ProjectSource:
    """What the DBA registered: a location, and how to run its revisions."""

    location: str
    kind: Kind = "path"
    ref: str | None = None
    subdir: str = ""
    version_table: str = "alembic_version"
    version_table_schema: str | None = None
    env_mode: EnvMode = "portal"
    # Project mode: the variables its env.py reads the URL from (empty: DATABASE_URL and
    # SQLALCHEMY_DATABASE_URI) and the URL form it expects (empty: postgresql+psycopg).
    url_env_vars: tuple[str, ...] = ()
    url_scheme: str = ""
    # Modules registering custom operations (Operations.register_operation / implementation_for):
    # a .py path inside the project, or an installed module name; imported before any revision runs.
    operation_modules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResolvedProject:
    """A project pinned to files on disk."""

    source: ProjectSource
    root: Path
    script_location: Path
    ini_path: Path | None
    fingerprint: str

    def config(self, stdout: IO[str] | None = None) -> Config:
        """An Alembic ``Config`` for this project (never reads the target URL from it)."""
        return alembic_config(self, stdout)

    def script(self) -> ScriptDirectory:
        """Alembic's ``ScriptDirectory``; revision files are only imported when its map is used."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.config())


def resolve_project(source: ProjectSource, cache_dir: Path | None = None) -> ResolvedProject:
    """Pin a project source to a directory of scripts and fingerprint them.

    :param source: the registered project.
    :param cache_dir: where git checkouts are kept (one folder per commit).
    """
    if source.kind == "git":
        if cache_dir is None:
            raise ProjectNotFound(source.location, "a git project needs a cache directory")
        root, commit = _checkout(source.location, source.ref or "HEAD", cache_dir)
        fingerprint = f"git:{commit}"
    elif source.kind == "path":
        root = Path(source.location).expanduser()
        fingerprint = ""
    else:
        raise ProjectNotFound(source.location, f"unknown project kind {source.kind!r}")
    base = (root / source.subdir) if source.subdir else root
    if not base.is_dir():
        raise ProjectNotFound(source.location, f"{base} is not a directory")
    ini = base / "alembic.ini"
    script_location = _script_location(base, ini if ini.is_file() else None, source.location)
    if not fingerprint:
        fingerprint = "sha256:" + _scripts_hash(script_location, ini if ini.is_file() else None, base)
    return ResolvedProject(
        source=source,
        root=base,
        script_location=script_location,
        ini_path=ini if ini.is_file() else None,
        fingerprint=fingerprint,
    )


def _script_location(base: Path, ini: Path | None, location: str) -> Path:
    """Find the script directory: alembic.ini's ``script_location``, or ``base`` itself."""
    if ini is not None:
        raw = _ini_script_location(ini)
        if not raw:
            raise ProjectNotFound(location, f"{ini} has no script_location")
        candidate = Path(raw.replace("%(here)s", str(base)))
        if not candidate.is_absolute():
            candidate = base / candidate
    elif (base / "env.py").is_file() or (base / "versions").is_dir():
        candidate = base
    elif (base / "alembic" / "env.py").is_file():
        candidate = base / "alembic"
    else:
        raise ProjectNotFound(location, "no alembic.ini, env.py or versions/ directory found")
    if not candidate.is_dir():
        raise ProjectNotFound(location, f"script_location {candidate} does not exist")
    return candidate.resolve()


def _ini_option(ini: Path, name: str) -> str | None:
    """``[alembic] name`` read as Alembic's ``Config`` reads the ini (``%(here)s`` is the file's folder), without
    importing Alembic; None when the option is absent or ``configparser`` refuses the file."""
    parser = configparser.ConfigParser({"here": ini.absolute().parent.as_posix()})
    try:
        parser.read([ini], encoding="locale")
        return parser.get("alembic", name) if parser.has_option("alembic", name) else None
    except (configparser.Error, UnicodeDecodeError, OSError):
        return None


def _ini_script_location(ini: Path) -> str | None:
    """``script_location``; a file ``configparser`` cannot give it for goes to Alembic for its own answer (or
    its own error)."""
    raw = _ini_option(ini, "script_location")
    if raw is not None:
        return raw
    from alembic.config import Config

    raw = Config(str(ini)).get_alembic_option("script_location")
    return raw if isinstance(raw, str) else None


def alembic_config(project: ResolvedProject, stdout: IO[str] | None = None) -> Config:
    """Build the project's Config; ``sqlalchemy.url`` is blanked so it can never pick a database."""
    from alembic.config import Config

    kwargs = {"stdout": stdout} if stdout is not None else {}
    if project.ini_path is not None:
        cfg = Config(str(project.ini_path), **kwargs)
    else:
        cfg = Config(**kwargs)
    cfg.set_main_option("script_location", str(project.script_location))
    cfg.set_main_option("sqlalchemy.url", "")
    return cfg


_SEPARATORS = (" ", ",", ":", ";", "\n", os.pathsep)


def _scripts_hash(script_location: Path, ini: Path | None, base: Path) -> str:
    """``tree_hash`` of the scripts' folder; with revisions in ``version_locations`` folders outside it, those
    folders' hashes too (a revision there runs like any other, so the fingerprint must cover it)."""
    own = tree_hash(script_location)
    extra = extra_version_folders(ini, base, script_location) if ini is not None else []
    if not extra:
        return own
    h = hashlib.sha256(own.encode())
    for folder in extra:
        h.update(f"\0{folder}\0{tree_hash(folder)}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def extra_version_folders(ini: Path, base: Path, script_location: Path) -> list[Path]:
    """Folders ``version_locations`` in ``ini`` may name that are outside ``script_location``.

    Which separator splits the option depends on other options and on the Alembic release, so every reading
    (whole, and split by each separator) that names an existing folder counts: more folders than Alembic
    reads, never fewer.
    """
    raw = _ini_option(ini, "version_locations") or ""
    candidates = {raw.strip()} | {part.strip() for sep in _SEPARATORS for part in raw.split(sep)}
    folders = {root / c for c in candidates if c for root in (base, Path.cwd(), script_location)}
    return sorted(f for f in {f.resolve() for f in folders if f.is_dir()}
                  if not f.is_relative_to(script_location))


def tree_hash(directory: Path) -> str:
    """sha256 over the relative paths and contents of the project's script files."""
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file() or path.suffix not in _FINGERPRINT_SUFFIXES:
            continue
        rel = path.relative_to(directory).as_posix().encode()
        h.update(len(rel).to_bytes(4, "big") + rel)
        data = path.read_bytes()
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def _git(args: list[str], location: str, cwd: Path | None = None) -> str:
    """Run git; a failure names the project's URL and the git command (not an option or path)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        command = args[2] if args[0] == "--git-dir" else args[0]
        raise ProjectNotFound(location, f"git {command} failed: {proc.stderr.strip()[-300:]}")
    return proc.stdout.strip()


def _checkout(url: str, ref: str, cache_dir: Path) -> tuple[Path, str]:
    """Snapshot ``url`` at ``ref`` into ``cache_dir`` (one immutable folder per commit).

    Steps: 1 keep a bare mirror per URL and fetch it, 2 resolve the ref to a
    commit, 3 extract that commit with ``git archive`` unless already there.
    """
    if ref.startswith("-") or url.startswith("-"):
        raise ProjectNotFound(url, "a git URL or ref may not start with '-'")
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    mirror = cache_dir / key / "mirror.git"
    if not mirror.exists():
        mirror.parent.mkdir(parents=True, exist_ok=True)
        _git(["clone", "--quiet", "--mirror", "--", url, str(mirror)], url)
    else:
        _git(["--git-dir", str(mirror), "fetch", "--quiet", "--prune", "origin"], url)
    try:
        commit = _git(["--git-dir", str(mirror), "rev-parse", "--verify", "--quiet", "--end-of-options",
                       f"{ref}^{{commit}}"], url)
    except ProjectNotFound:
        raise ProjectNotFound(url, f"no branch, tag or commit {ref!r} in the repository") from None
    dest = cache_dir / key / commit
    if not dest.exists():
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        tar = subprocess.run(
            ["git", "--git-dir", str(mirror), "archive", "--format=tar", commit],
            capture_output=True, env=env, timeout=300, check=True,
        ).stdout
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
            tf.extractall(tmp, filter="data")
        tmp.rename(dest)
    return dest, commit
