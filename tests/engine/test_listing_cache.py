"""The listing cache gives back exactly what Alembic's map builds, is keyed by the scripts, and never hides a
broken history; ``resolve_project`` reads ``alembic.ini`` as Alembic does without importing it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config

from migrations_ops.schema.history_format import history_text
from migrations_ops.schema.listing import RevisionListing
from migrations_ops.schema.listing_cache import cached_history_text, cached_listing
from migrations_ops.schema.project import ProjectSource, _ini_script_location, resolve_project
from migrations_ops.schema.revisions import BrokenRevisionHistory, list_revisions
from tests.engine.big_history import make_big_project
from tests.engine.test_project import make_project, write_rev

ROOT = Path(__file__).resolve().parents[2]


def _linear(root: Path) -> Path:
    """A project whose ``alembic history`` has no branch labels: Alembic prints those in set order, which
    differs from one build of the map to the next when ``PYTHONHASHSEED`` is random (as here)."""
    make_project(root)
    write_rev(root / "migrations" / "versions", "b2", "a1", "second")
    write_rev(root / "migrations" / "versions", "c3", "b2", "third")
    return root


def test_a_cached_listing_is_the_built_one_field_for_field(tmp_path: Path) -> None:
    project = resolve_project(ProjectSource(str(make_big_project(tmp_path / "big", 120))))
    built = list_revisions(project)
    cache = tmp_path / "cache"
    first = cached_listing(project, cache)
    assert len(list(cache.glob("*.txt"))) == 1
    again = cached_listing(project, cache)
    assert first == built and again == built and again.to_json() == built.to_json()
    assert RevisionListing.from_json(built.to_json()) == built
    assert again.get(built.revisions[5].id[:8]).id == built.revisions[5].id  # lookups work on a read-back listing


def test_the_history_text_is_cached_per_verbosity_and_equals_the_built_text(tmp_path: Path) -> None:
    project = resolve_project(ProjectSource(str(_linear(tmp_path / "p"))))
    cache = tmp_path / "cache"
    for verbose in (False, True):
        assert cached_history_text(project, verbose, cache) == history_text(project, verbose=verbose)
        assert cached_history_text(project, verbose, cache) == history_text(project, verbose=verbose)
    assert len(list(cache.glob("*.txt"))) == 2


def test_changed_scripts_are_listed_afresh(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    before = cached_listing(resolve_project(ProjectSource(str(root))), cache)
    write_rev(root / "migrations" / "versions", "b2", "a1")
    after = cached_listing(resolve_project(ProjectSource(str(root))), cache)
    assert [r.id for r in before.revisions] == ["a1"] and [r.id for r in after.revisions] == ["b2", "a1"]
    (root / "migrations" / "versions" / "b2.py").write_text('"""b2 again"""\nrevision = "b2"\ndown_revision = "a1"\n')
    edited = cached_listing(resolve_project(ProjectSource(str(root))), cache)
    assert edited.get("b2").message == "b2 again"


def test_a_broken_history_is_never_cached_and_fails_every_time(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    write_rev(root / "migrations" / "versions", "b2", "nope")
    project = resolve_project(ProjectSource(str(root)))
    cache = tmp_path / "cache"
    for _ in range(2):
        with pytest.raises(BrokenRevisionHistory):
            cached_history_text(project, False, cache)
    assert not list(cache.glob("*.txt"))
    listing = cached_listing(project, cache)  # the portal's listing names the problem instead of raising
    assert [p.revision or p.path for p in listing.problems] and listing == list_revisions(project)


def test_a_cache_that_cannot_be_written_still_lists(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    project = resolve_project(ProjectSource(str(root)))
    assert [r.id for r in cached_listing(project, blocker / "cache").revisions] == ["a1"]
    assert [r.id for r in cached_listing(project, None).revisions] == ["a1"]


def test_a_warm_listing_imports_no_alembic(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    code = ("import sys\nfrom pathlib import Path\n"
            "from migrations_ops.schema.listing_cache import cached_listing\n"
            "from migrations_ops.schema.project import ProjectSource, resolve_project\n"
            f"p = resolve_project(ProjectSource({str(ROOT / 'examples' / 'billing')!r}))\n"
            f"n = len(cached_listing(p, Path({str(cache)!r})).revisions)\n"
            "print(n, 'alembic' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    (count_cold, cold), (count_warm, warm) = (r.stdout.split() for r in runs)
    assert count_cold == count_warm and int(count_cold) >= 9
    assert (cold, warm) == ("True", "False")


@pytest.mark.parametrize("ini, expected", [
    ("[alembic]\nscript_location = %(here)s/migrations\n", "{here}/migrations"),
    ("[alembic]\nscript_location = migrations\n", "migrations"),
    ("[alembic]\nsqlalchemy.url = x\n", None),
    ("[other]\nscript_location = m\n", None),
    ("[alembic]\nprefix = %(here)s/db\nscript_location = %(prefix)s/migrations\n", "{here}/db/migrations"),
], ids=["here", "relative", "missing", "other-section", "interpolated"])
def test_the_ini_is_read_as_alembic_reads_it(tmp_path: Path, ini: str, expected: str | None) -> None:
    path = tmp_path / "alembic.ini"
    path.write_text(ini)
    alembic_says = Config(str(path)).get_alembic_option("script_location")
    assert _ini_script_location(path) == alembic_says == (expected.format(here=tmp_path.as_posix())
                                                         if expected else None)


def test_a_damaged_cache_file_is_rebuilt_never_printed(tmp_path: Path) -> None:
    project = resolve_project(ProjectSource(str(_linear(tmp_path / "p"))))
    cache = tmp_path / "cache"
    expected = history_text(project, verbose=False)
    assert cached_history_text(project, False, cache) == expected
    (kept,) = cache.glob("*.txt")
    whole = kept.read_bytes()
    for damaged in (whole[: len(whole) // 2], whole.replace(b"->", b"=>", 1), b"garbage", b"", b"\xff\xfe\n\xff"):
        kept.write_bytes(damaged)
        assert cached_history_text(project, False, cache) == expected
        assert kept.read_bytes() == whole  # written again, whole
    listing = cached_listing(project, cache)
    (kept_listing,) = set(cache.glob("*.txt")) - {kept}
    kept_listing.write_bytes(b"{not json")
    assert cached_listing(project, cache) == listing


def test_version_locations_outside_the_scripts_and_the_ini_are_in_the_key(tmp_path: Path) -> None:
    """A revision in an extra ``version_locations`` folder, and an edit of alembic.ini, are seen at once."""
    root = make_project(tmp_path / "p")
    extra = root / "extra"
    extra.mkdir()
    ini = root / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = %(here)s/migrations\n"
                   "path_separator = space\nversion_locations = %(here)s/migrations/versions %(here)s/extra\n")
    cache = tmp_path / "cache"

    def ids() -> list[str]:
        project = resolve_project(ProjectSource(str(root)))
        assert cached_listing(project, cache) == list_revisions(project)
        return [r.id for r in cached_listing(project, cache).revisions]

    assert ids() == ["a1"]
    write_rev(extra, "b2", "a1", "in the extra folder")
    assert ids() == ["b2", "a1"]
    write_rev(extra, "b2", "a1", "edited there")
    project = resolve_project(ProjectSource(str(root)))
    assert cached_listing(project, cache).get("b2").message == "edited there"
    assert "edited there" in cached_history_text(project, False, cache)
    ini.write_text("[alembic]\nscript_location = %(here)s/migrations\n")  # the extra folder no longer listed
    assert ids() == ["a1"]
