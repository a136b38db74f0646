"""Resolving a registered project to script files, and fingerprinting them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from migrations_ops.errors import ProjectNotFound
from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.revisions import list_revisions

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_project(root: Path, script_dir: str = "migrations") -> Path:
    (root / script_dir / "versions").mkdir(parents=True)
    (root / "alembic.ini").write_text(f"[alembic]\nscript_location = %(here)s/{script_dir}\n")
    (root / script_dir / "env.py").write_text("")
    write_rev(root / script_dir / "versions", "a1", None)
    return root


def write_rev(versions: Path, rev: str, down: str | None, message: str = "") -> Path:
    path = versions / f"{rev}.py"
    path.write_text(f'"""{message or rev}"""\nrevision = {rev!r}\ndown_revision = {down!r}\n')
    return path


def test_it_resolves_a_path_with_alembic_ini(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    project = resolve_project(ProjectSource(str(root)))
    assert project.script_location == (root / "migrations").resolve()
    assert project.ini_path == root / "alembic.ini"
    assert project.fingerprint.startswith("sha256:") and len(project.fingerprint) == 7 + 64
    assert [r.id for r in list_revisions(project).revisions] == ["a1"]


def test_it_resolves_a_script_directory_without_ini_and_a_subdir(tmp_path: Path) -> None:
    make_project(tmp_path / "repo" / "db")
    bare = resolve_project(ProjectSource(str(tmp_path / "repo" / "db" / "migrations")))
    assert bare.ini_path is None and bare.script_location.name == "migrations"
    sub = resolve_project(ProjectSource(str(tmp_path / "repo"), subdir="db"))
    assert sub.script_location == bare.script_location
    assert sub.fingerprint == bare.fingerprint


def test_it_refuses_a_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound, match="is not a directory") as exc:
        resolve_project(ProjectSource(str(tmp_path / "nowhere")))
    assert exc.value.fields["location"] == str(tmp_path / "nowhere")


def test_it_refuses_a_directory_without_scripts(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README").write_text("not a project")
    with pytest.raises(ProjectNotFound, match="no alembic.ini, env.py or versions/"):
        resolve_project(ProjectSource(str(tmp_path / "empty")))


def test_it_refuses_an_ini_pointing_nowhere(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/missing\n")
    with pytest.raises(ProjectNotFound, match="does not exist"):
        resolve_project(ProjectSource(str(tmp_path / "p")))
    (tmp_path / "p" / "alembic.ini").write_text("[alembic]\nsqlalchemy.url = sqlite://\n")
    with pytest.raises(ProjectNotFound, match="no script_location"):
        resolve_project(ProjectSource(str(tmp_path / "p")))


def test_it_changes_the_content_hash_when_a_script_changes(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    versions = root / "migrations" / "versions"
    first = resolve_project(ProjectSource(str(root))).fingerprint
    assert resolve_project(ProjectSource(str(root))).fingerprint == first
    (versions / "__pycache__").mkdir()
    (versions / "__pycache__" / "a1.cpython-311.pyc").write_bytes(b"junk")
    (versions / "notes.txt").write_text("not a script")
    assert resolve_project(ProjectSource(str(root))).fingerprint == first
    write_rev(versions, "a1", None, "changed message")
    changed = resolve_project(ProjectSource(str(root))).fingerprint
    assert changed != first
    write_rev(versions, "a2", "a1")
    assert resolve_project(ProjectSource(str(root))).fingerprint not in (first, changed)


def test_it_resolves_a_git_repository_at_a_ref(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "repo")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "first")
    first_sha = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "v1")
    write_rev(repo / "migrations" / "versions", "a2", "a1")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "second")
    second_sha = git(repo, "rev-parse", "HEAD")
    cache = tmp_path / "cache"

    at_tag = resolve_project(ProjectSource(str(repo), kind="git", ref="v1"), cache_dir=cache)
    assert at_tag.fingerprint == f"git:{first_sha}"
    assert [r.id for r in list_revisions(at_tag).revisions] == ["a1"]
    assert cache in at_tag.script_location.parents

    at_head = resolve_project(ProjectSource(str(repo), kind="git"), cache_dir=cache)
    assert at_head.fingerprint == f"git:{second_sha}"
    assert [r.id for r in list_revisions(at_head).revisions] == ["a2", "a1"]

    write_rev(repo / "migrations" / "versions", "a3", "a2")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "third")
    again = resolve_project(ProjectSource(str(repo), kind="git", ref="main"), cache_dir=cache)
    assert again.fingerprint == f"git:{git(repo, 'rev-parse', 'HEAD')}"  # the mirror was fetched
    assert at_tag.script_location.is_dir()  # an older checkout stays as it was


def test_it_refuses_bad_git_sources(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "repo")
    git(repo, "init", "--quiet")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "first")
    with pytest.raises(ProjectNotFound, match="cache directory"):
        resolve_project(ProjectSource(str(repo), kind="git"))
    with pytest.raises(ProjectNotFound, match="no branch, tag or commit .no-such-branch.") as exc:
        resolve_project(ProjectSource(str(repo), kind="git", ref="no-such-branch"), cache_dir=tmp_path / "c")
    assert exc.value.fields["location"] == str(repo)
    with pytest.raises(ProjectNotFound, match="may not start with '-'"):
        resolve_project(ProjectSource(str(repo), kind="git", ref="--upload-pack=x"), cache_dir=tmp_path / "c")
    with pytest.raises(ProjectNotFound, match="git clone failed"):
        resolve_project(ProjectSource(str(tmp_path / "nope"), kind="git"), cache_dir=tmp_path / "c")
    with pytest.raises(ProjectNotFound, match="unknown project kind"):
        resolve_project(ProjectSource(str(repo), kind="svn"), cache_dir=tmp_path / "c")  # type: ignore[arg-type]


def test_the_fingerprint_covers_revisions_in_version_locations_outside_the_scripts(tmp_path: Path) -> None:
    from migrations_ops.schema.project import tree_hash

    root = make_project(tmp_path / "p")
    plain = resolve_project(ProjectSource(str(root)))
    assert plain.fingerprint == "sha256:" + tree_hash(plain.script_location)  # as before for a usual project
    extra = root / "extra"
    extra.mkdir()
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\npath_separator = space\n"
                                      "version_locations = %(here)s/migrations/versions %(here)s/extra\n")
    before = resolve_project(ProjectSource(str(root))).fingerprint
    write_rev(extra, "b2", "a1")
    added = resolve_project(ProjectSource(str(root)))
    assert added.fingerprint != before and [r.id for r in list_revisions(added).revisions] == ["b2", "a1"]
    write_rev(extra, "b2", "a1", "edited")
    assert resolve_project(ProjectSource(str(root))).fingerprint != added.fingerprint
