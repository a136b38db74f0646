"""``ops revisions --format alembic`` prints exactly what the real ``alembic history`` (and ``-v``) prints.

Both sides run as processes with the same ``PYTHONHASHSEED`` (Alembic prints some sets
in hash order), and the outputs are compared byte for byte, on the example project and
on a generated 600-revision project with two bases, branches, merges and depends_on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrations_ops.schema.history_format import history_text
from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.revisions import BrokenRevisionHistory
from tests.engine.alembic_factory import Factory
from tests.engine.big_history import make_big_project

ROOT = Path(__file__).resolve().parents[2]
BILLING = ROOT / "examples" / "billing"
BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path, seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed, "COLUMNS": "80"}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc.stdout


def alembic_cli(project: Path, verbose: bool, seed: str) -> bytes:
    return _run([str(BIN / "alembic"), "history", *(["-v"] if verbose else [])], project, seed)


def ops_cli(project: Path, verbose: bool, seed: str) -> bytes:
    args = [sys.executable, str(ROOT / "manage.py"), "ops", "revisions", "--project", str(project),
            "--format", "alembic", *(["-v"] if verbose else [])]
    return _run(args, ROOT, seed)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    return make_big_project(tmp_path_factory.mktemp("big") / "proj", 600)


@pytest.mark.parametrize("verbose", [False, True], ids=["history", "history-v"])
@pytest.mark.parametrize("seed", ["0", "4242"])
def test_example_project_output_is_byte_identical(verbose, seed):
    expected = alembic_cli(BILLING, verbose, seed)
    assert expected.count(b"\n") >= 9
    assert ops_cli(BILLING, verbose, seed) == expected


@pytest.mark.parametrize("verbose", [False, True], ids=["history", "history-v"])
def test_600_revision_project_output_is_byte_identical(big, verbose):
    expected = alembic_cli(big, verbose, "7")
    text = expected.decode()
    assert text.count(" -> " if not verbose else "Rev: ") == 600
    assert "(mergepoint)" in text and "(branchpoint)" in text and "<base>" in text
    assert ops_cli(big, verbose, "7") == expected


def test_in_process_text_equals_the_cli_on_lines_without_sets(big):
    """The engine function itself (the page and JSON use the same map) gives the CLI's lines."""
    expected = alembic_cli(big, False, "7").decode()
    assert history_text(resolve_project(ProjectSource(location=str(big)))) == expected


def test_dependencies_labels_and_effective_heads_match(tmp_path):
    f = Factory(tmp_path / "p")
    f.rev("a1", None, "first")
    f.rev("a2", "a1", "second", branch_labels=("lib",))
    f.rev("b1", None, "other base")
    f.rev("b2", "b1", "needs a2", depends_on="a2")
    f.rev("a3", "a2", "third\n\nlong body\nwith two lines")
    (f.root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s\n")
    for verbose in (False, True):
        assert ops_cli(f.root, verbose, "1") == alembic_cli(f.root, verbose, "1")


def test_a_broken_history_fails_like_the_cli(tmp_path):
    f = Factory(tmp_path / "p")
    f.rev("a1", None, "first")
    f.rev("a2", "nope", "orphan")
    with pytest.raises(BrokenRevisionHistory, match="nope"):
        history_text(resolve_project(ProjectSource(location=str(f.root))))
    args = [sys.executable, str(ROOT / "manage.py"), "ops", "revisions", "--project", str(f.root), "--format", "alembic"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "nope" in proc.stderr  # alembic itself exits 255 with "FAILED: ..."
    assert proc.stderr.startswith("FAILED: Revision history is broken"), proc.stderr  # no "CommandError:"
