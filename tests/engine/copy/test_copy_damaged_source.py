"""A damaged, truncated, empty, encrypted or non-SQLite source: pre-flight, planning and verification say so, never crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from copy_helpers import pg  # bench/ on sys.path (conftest)

from migrations_ops.copy import CopyOptions, copy_database, preflight
from migrations_ops.copy.errors import SourceUnreadable
from migrations_ops.errors import OpsError
from migrations_ops.target import TargetConn
from migrations_ops.verify import verify
from migrations_ops.verify.errors import SourceUnreadable as VerifySourceUnreadable
from tests.damaged_sqlite import DAMAGES, good_sqlite

REASONS = {
    "truncated": "malformed", "flipped_pages": "damaged", "text_file": "not a database",
    "empty_file": "empty (0 bytes)", "encrypted": "not a database",
}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return good_sqlite(tmp_path_factory.mktemp("good") / "good.sqlite")


@pytest.fixture
def users_target(target_db: TargetConn) -> TargetConn:
    with pg(target_db) as c:
        c.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);"
                  "CREATE TABLE items (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), v text)")
    return target_db


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_it_reports_the_damage_in_preflight(good: Path, tmp_path: Path, users_target: TargetConn, damage: str) -> None:
    bad = DAMAGES[damage](good, tmp_path / f"{damage}.sqlite")

    with pytest.raises(SourceUnreadable) as exc:
        preflight(bad, users_target)

    assert str(bad) in str(exc.value) and REASONS[damage] in str(exc.value)
    assert "integrity_check" in exc.value.explanation and ".recover" in exc.value.explanation
    with pg(users_target) as c:
        assert c.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'mop'").fetchone()[0] == 0


def test_the_good_file_passes_preflight(good: Path, users_target: TargetConn) -> None:
    report = preflight(good, users_target)
    assert report.integrity_ok and {t.name: t.rows for t in report.tables} == {"users": 4000, "items": 4000}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_copy_of_a_damaged_file_stops_with_a_clear_error(good: Path, tmp_path: Path, users_target: TargetConn,
                                                           damage: str) -> None:
    """Planning reads little (a broken data page may pass it); the range that meets the damage names it."""
    bad = DAMAGES[damage](good, tmp_path / f"{damage}.sqlite")

    with pytest.raises(SourceUnreadable, match=REASONS[damage].split()[0]) as exc:
        copy_database(bad, users_target, CopyOptions(workers=1))

    assert str(bad) in str(exc.value)
    with pg(users_target) as c:  # nothing of the damaged range was committed
        assert c.execute("SELECT count(*) FROM items").fetchone()[0] < 4000


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_it_ends_a_verification_with_a_clear_error(good: Path, tmp_path: Path, users_target: TargetConn,
                                                    damage: str) -> None:
    bad = DAMAGES[damage](good, tmp_path / f"{damage}.sqlite")

    try:
        report = verify(users_target, bad)
    except VerifySourceUnreadable as exc:
        assert str(bad) in str(exc) and "integrity_check" in exc.explanation
    except OpsError as exc:  # pragma: no cover - the assertion names what came instead
        raise AssertionError(f"{damage}: unexpected {type(exc).__name__}: {exc}") from None
    else:
        # A file whose damage SQLite reads around is still reported, as a failed integrity finding.
        assert damage == "flipped_pages"
        assert report.status == "fail"
        assert any(f.check == "integrity" and f.status == "fail" for f in report.findings)
