"""Listing revisions from source: what Alembic reads, without importing the files."""

from __future__ import annotations

import json
import random
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from migrations_ops.errors import AmbiguousRevision, RevisionNotFound
from migrations_ops.schema.project import ProjectSource, ResolvedProject, resolve_project
from migrations_ops.schema.revisions import (
    BrokenRevisionHistory,
    clear_cache,
    list_revisions,
    static_revision_map,
)


def make_project(tmp_path: Path, ini_extra: str = "") -> Path:
    """A throwaway project: alembic.ini, alembic/env.py and an empty versions/ (like ``staging_env``)."""
    root = tmp_path / "proj"
    (root / "alembic" / "versions").mkdir(parents=True)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/alembic\n" + ini_extra
    )
    (root / "alembic" / "env.py").write_text("raise RuntimeError('env.py must not run when listing')\n")
    return root


def write_script(
    versions: Path,
    rev: str,
    down: str | tuple[str, ...] | None,
    message: str = "",
    *,
    filename: str | None = None,
    labels: str | tuple[str, ...] | None = None,
    depends: str | tuple[str, ...] | None = None,
    annotated: bool = False,
    header: str = "",
    revises: str | None = None,
    create_date: str = "2024-03-01 10:00:00.000000",
) -> Path:
    """Write a revision file as Alembic's template does (``write_script`` in ``alembic.testing``)."""
    message = message or f"rev {rev}"
    revises = revises if revises is not None else str(down)
    if annotated:
        assigns = (
            f"revision: str = {rev!r}\n"
            f"down_revision: Union[str, Sequence[str], None] = {down!r}\n"
            f"branch_labels: Union[str, Sequence[str], None] = {labels!r}\n"
            f"depends_on: Union[str, Sequence[str], None] = {depends!r}\n"
        )
        header = "from typing import Sequence, Union\n" + header
    else:
        assigns = (
            f"revision = {rev!r}\ndown_revision = {down!r}\n"
            f"branch_labels = {labels!r}\ndepends_on = {depends!r}\n"
        )
    text = (
        f'"""{message}\n\nRevision ID: {rev}\nRevises: {revises}\nCreate Date: {create_date}\n\n"""\n'
        f"{header}\n{assigns}\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    )
    path = versions / (filename or f"{rev}_{message.replace(' ', '_')[:20]}.py")
    path.write_text(text)
    return path


def resolved(root: Path) -> ResolvedProject:
    clear_cache()
    return resolve_project(ProjectSource(str(root)))


def alembic_script(root: Path) -> ScriptDirectory:
    return ScriptDirectory.from_config(Config(str(root / "alembic.ini")))


def build_rich(versions: Path) -> None:
    """Two bases, a branch, a merge of three parents, depends_on, branch labels."""
    write_script(versions, "a1", None, "create users", labels="core")
    write_script(versions, "a2", "a1", "add email")
    write_script(versions, "b1", "a2", "branch one")
    write_script(versions, "b2", "a2", "branch two", annotated=True)
    write_script(versions, "b3", "a2", "branch three")
    write_script(versions, "m1", ("b1", "b2", "b3"), "merge three", annotated=True)
    write_script(versions, "s1", None, "search base", labels=("search",))
    write_script(versions, "s2", "s1", "search index", depends="a2")
    write_script(versions, "s3", "s2", "search depends on label", depends=("core",))
    write_script(versions, "h1", "m1", "after merge")


def assert_same_as_alembic(root: Path) -> None:
    """Our listing and Alembic's ``walk_revisions`` (which imports) agree on everything shown."""
    ours = list_revisions(resolved(root))
    script = alembic_script(root)
    theirs = list(script.walk_revisions())
    assert [r.id for r in ours.revisions] == [s.revision for s in theirs]
    for info, sc in zip(ours.revisions, theirs, strict=True):
        assert info.parents == tuple(sc._versioned_down_revisions)
        assert set(info.children) == set(sc.nextrev)
        assert info.depends_on_ids == tuple(sc._resolved_dependencies)
        assert info.message == sc.doc
        assert set(info.branch_names) == set(sc.branch_labels)
        flags = (info.is_head, info.is_base, info.is_branch_point, info.is_merge_point)
        assert flags == (sc.is_head, sc.is_base, sc.is_branch_point, sc.is_merge_point)
        assert (root / "alembic" / info.path).resolve() == Path(sc.path).resolve()
    assert ours.heads == tuple(script.get_heads())
    assert ours.bases == tuple(script.get_bases())
    assert ours.problems == ()


def test_it_lists_a_project_whose_files_import_missing_packages(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    write_script(versions, "a1", None, "base")
    write_script(versions, "a2", "a1", "needs a plugin", header="import package_that_does_not_exist\n")
    listing = list_revisions(resolved(root))
    assert [r.id for r in listing.revisions] == ["a2", "a1"]
    assert listing.problems == ()
    assert "package_that_does_not_exist" not in sys.modules
    with pytest.raises(Exception, match="package_that_does_not_exist"):
        list(alembic_script(root).walk_revisions())


def test_it_reads_annotated_assignments(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    write_script(versions, "a", None, annotated=True)
    write_script(versions, "b", "a", annotated=True)
    write_script(versions, "c", "a", annotated=True)
    write_script(versions, "d", ("b", "c"), "merge", annotated=True, labels=("x", "y"), depends=None)
    listing = list_revisions(resolved(root))
    d = listing.get("d")
    assert d.parents == ("b", "c") and d.is_merge_point and d.is_head
    assert d.branch_labels == ("x", "y")
    assert listing.get("a").is_branch_point


def test_it_trusts_the_assignments_not_the_file_name_or_docstring(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    write_script(versions, "1111aaaa", None, "first", filename="2222bbbb_first.py", revises="nothing")
    write_script(versions, "3333cccc", "1111aaaa", "second", filename="1111aaaa_second.py", revises="9999ffff")
    listing = list_revisions(resolved(root))
    assert [r.id for r in listing.revisions] == ["3333cccc", "1111aaaa"]
    assert listing.get("3333cccc").parents == ("1111aaaa",)
    assert listing.get("3333cccc").path == "versions/1111aaaa_second.py"


def test_it_reads_messages_and_create_dates(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    write_script(versions, "a", None, "add the users table", create_date="2023-11-05 09:30:12.345678+01:00")
    write_script(versions, "b", "a", "no date", create_date="yesterday")
    listing = list_revisions(resolved(root))
    a = listing.get("a")
    assert a.message == "add the users table"
    assert a.create_date is not None and a.create_date.isoformat() == "2023-11-05T09:30:12.345678+01:00"
    assert listing.get("b").create_date is None


def test_it_agrees_with_alembic_on_a_rich_history(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    build_rich(root / "alembic" / "versions")
    assert_same_as_alembic(root)
    listing = list_revisions(resolved(root))
    assert set(listing.heads) == {"h1", "s3"}
    assert set(listing.bases) == {"a1", "s1"}
    m1 = listing.get("m1")
    assert m1.parents == ("b1", "b2", "b3") and m1.is_merge_point
    assert listing.get("a2").is_branch_point and set(listing.get("a2").children) == {"b1", "b2", "b3"}
    assert listing.get("s3").depends_on == ("core",) and listing.get("s3").depends_on_ids == ("a1",)
    assert listing.get("a2").dependents == ("s2",)
    assert "core" in listing.get("h1").branch_names


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_it_agrees_with_alembic_on_a_long_generated_history(tmp_path: Path, seed: int) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    rng = random.Random(seed)
    write_script(versions, "r0000", None)
    write_script(versions, "q0000", None, labels="other")
    tips, done = ["r0000", "q0000"], ["r0000", "q0000"]
    for i in range(1, 200):
        rev = f"r{i:04d}"
        roll = rng.random()
        if roll < 0.05 and len(tips) >= 3:
            parents = tuple(rng.sample(tips, 3))
        elif roll < 0.15 and len(tips) >= 2:
            parents = tuple(rng.sample(tips, 2))
        else:
            parents = (rng.choice(tips),)
        if not (len(parents) == 1 and len(tips) < 6 and rng.random() < 0.15):  # else: a branch point
            for p in parents:
                tips.remove(p)
        tips.append(rev)
        depends = rng.choice(done) if rng.random() < 0.08 else None
        done.append(rev)
        write_script(versions, rev, parents if len(parents) > 1 else parents[0], depends=depends)
    assert_same_as_alembic(root)


def test_it_reports_broken_files_and_lists_the_rest(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    write_script(versions, "a", None)
    write_script(versions, "b", "a")
    (versions / "c_syntax.py").write_text("revision = 'c'\ndown_revision = 'b'\ndef upgrade(:\n")
    (versions / "helpers.py").write_text("def shared():\n    return 1\n")
    (versions / "d_nodown.py").write_text("revision = 'd'\n")
    (versions / "e_dynamic.py").write_text("import uuid\nrevision = uuid.uuid4().hex\ndown_revision = 'a'\n")
    (versions / "__init__.py").write_text("")
    listing = list_revisions(resolved(root))
    assert [r.id for r in listing.revisions] == ["b", "a"]
    codes = {p.path: p.code for p in listing.problems}
    assert codes == {
        "versions/c_syntax.py": "syntax_error",
        "versions/helpers.py": "no_revision",
        "versions/d_nodown.py": "no_down_revision",
        "versions/e_dynamic.py": "not_literal",
    }
    with pytest.raises(BrokenRevisionHistory) as exc:
        static_revision_map(resolved(root))
    assert len(exc.value.fields["problems"]) == 4
    assert static_revision_map(resolved(root), strict=False).heads == ("b",)


def test_it_reports_a_missing_down_revision(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    write_script(versions, "a", None)
    write_script(versions, "b", "a")
    write_script(versions, "c", "gone")
    listing = list_revisions(resolved(root))
    assert {r.id for r in listing.revisions} == {"a", "b", "c"}
    (problem,) = listing.problems
    assert (problem.code, problem.revision) == ("missing_down_revision", "c")
    assert "'gone'" in problem.reason
    assert listing.get("c").parents == ("gone",)


def test_it_reports_cycles_duplicates_and_bad_references(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    write_script(versions, "ok1", None, labels="main")
    write_script(versions, "ok2", "ok1", depends="nowhere")
    write_script(versions, "x", "y")
    write_script(versions, "y", "x")
    write_script(versions, "z", "x")
    write_script(versions, "self", "self")
    write_script(versions, "dup", "ok2", "first copy", filename="dup_1.py")
    write_script(versions, "dup", "ok2", "second copy", filename="dup_2.py")
    write_script(versions, "zlab", "ok1", labels="main")  # a later file: its label is the one dropped
    listing = list_revisions(resolved(root))
    assert set(listing.heads) == {"dup", "zlab"}
    assert listing.get("dup").message == "second copy"
    by_code: dict[str, set[str | None]] = {}
    for p in listing.problems:
        by_code.setdefault(p.code, set()).add(p.revision)
    assert by_code["cycle"] == {"x", "y", "z", "self"}
    assert by_code["duplicate_revision"] == {"dup"}
    assert by_code["missing_dependency"] == {"ok2"}
    assert by_code["duplicate_branch_label"] == {"zlab"}
    assert listing.get("ok1").branch_labels == ("main",) and listing.get("zlab").branch_labels == ()


def test_it_finds_revisions_by_id_prefix_and_label(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    write_script(versions, "abcd12", None, labels="core")
    write_script(versions, "abcd34", "abcd12")
    write_script(versions, "cdef56", "abcd34")
    listing = list_revisions(resolved(root))
    assert listing.get("cdef").id == "cdef56"
    assert listing.get("core").id == "abcd12"
    with pytest.raises(AmbiguousRevision, match="abcd12, abcd34"):
        listing.get("abcd")
    with pytest.raises(RevisionNotFound, match="four characters"):
        listing.get("cde")  # Alembic's rule: a prefix needs at least four characters
    with pytest.raises(RevisionNotFound):
        listing.get("ffff")


def test_it_gives_plans_a_static_map_with_alembic_resolution(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    build_rich(root / "alembic" / "versions")
    revmap = static_revision_map(resolved(root))
    assert revmap.get_revision("h1").revision == "h1"
    assert {r.revision for r in revmap.get_revisions("heads")} == {"h1", "s3"}
    assert revmap.get_revisions("search@head")[0].revision == "s3"
    up = [r.revision for r in revmap.iterate_revisions("m1", "a2", inclusive=False)]
    assert up[0] == "m1" and set(up) == {"m1", "b1", "b2", "b3"}
    assert [r.revision for r in revmap.iterate_revisions("+1", "a1", implicit_base=True)] == ["a2"]
    down = revmap.iterate_revisions("h1", "-1", select_for_downgrade=True)
    assert [r.revision for r in down] == ["h1"]
    assert revmap.get_revision("a2").path.name.startswith("a2_")
    assert "package_that_does_not_exist" not in sys.modules


def test_it_follows_version_locations_and_recursion(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        "version_locations = %(here)s/alembic/versions %(here)s/extra\n"
        "path_separator = space\nrecursive_version_locations = true\n",
    )
    (root / "extra" / "sub").mkdir(parents=True)
    write_script(root / "alembic" / "versions", "a", None)
    write_script(root / "extra" / "sub", "b", "a")
    listing = list_revisions(resolved(root))
    assert [r.id for r in listing.revisions] == ["b", "a"]
    assert listing.get("b").path == "../extra/sub/b_rev_b.py"
    assert_same_as_alembic(root)


def test_it_emits_stable_json(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    build_rich(root / "alembic" / "versions")
    (root / "alembic" / "versions" / "broken.py").write_text("revision = (\n")
    listing = list_revisions(resolved(root))
    doc = json.loads(listing.dumps())
    assert doc == listing.to_json()
    assert doc["schema"] == "mop.revisions/1"
    assert doc["fingerprint"].startswith("sha256:")
    assert list(doc) == ["schema", "fingerprint", "heads", "bases", "revisions", "problems"]
    m1 = next(r for r in doc["revisions"] if r["id"] == "m1")
    assert m1["parents"] == ["b1", "b2", "b3"] and m1["is_merge_point"] is True
    assert m1["create_date"] == "2024-03-01T10:00:00"
    assert doc["problems"] == [
        {"code": "syntax_error", "path": "versions/broken.py", "revision": None,
         "reason": doc["problems"][0]["reason"]}
    ]
    assert listing.dumps() == list_revisions(resolved(root)).dumps()


def test_it_lists_an_empty_project(tmp_path: Path) -> None:
    listing = list_revisions(resolved(make_project(tmp_path)))
    assert (listing.revisions, listing.heads, listing.bases, listing.problems) == ((), (), (), ())


def test_it_does_not_grow_sys_path(tmp_path: Path) -> None:
    root = make_project(tmp_path, "prepend_sys_path = .\npath_separator = os\n")
    write_script(root / "alembic" / "versions", "a", None)
    before = list(sys.path)
    list_revisions(resolved(root))
    list_revisions(resolved(root))
    assert sys.path == before


def test_it_sees_a_changed_file(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    versions = root / "alembic" / "versions"
    path = write_script(versions, "a", None, "old message")
    project = resolve_project(ProjectSource(str(root)))
    assert list_revisions(project).get("a").message == "old message"
    path.write_text(textwrap.dedent('''\
        """new message, longer"""
        revision = "a"
        down_revision = None
    '''))
    assert list_revisions(project).get("a").message == "new message, longer"
