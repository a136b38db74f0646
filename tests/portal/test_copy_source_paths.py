"""A source outside MOP_IMPORT_DIR (``..``, an absolute path elsewhere, a symlink out) is refused, nothing created."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.ops import copy_sources
from portal.ops.models import AuditEvent, Run
from tests.portal.admin_helpers import billing_project, dba_client  # noqa: F401
from tests.portal.copy_helpers import FTS_DDL, fts_target, import_dir, make_sqlite, rel  # noqa: F401


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return make_sqlite(tmp_path / "secret.sqlite", FTS_DDL)


def _escapes(import_dir: Path, outside: Path) -> dict[str, str]:
    link = import_dir / "link.sqlite"
    link.symlink_to(outside)
    dotdot = Path("../" * (len(Path(rel(import_dir)).parts) + 8)) / str(outside).lstrip("/")
    return {"dotdot": str(Path(rel(import_dir)) / dotdot), "absolute": str(outside), "symlink": rel(link)}


def test_it_refuses_paths_outside_the_import_dir_in_the_service(db, import_dir, outside) -> None:
    for kind, path in _escapes(import_dir, outside).items():
        with pytest.raises(ValidationError) as exc:
            copy_sources.resolve_source(path)
        assert exc.value.code == "source_refused", kind
        assert "outside the import directory" in exc.value.messages[0]


def test_it_accepts_a_file_inside_by_relative_and_absolute_path(db, import_dir, outside) -> None:
    inside = make_sqlite(import_dir / "ok.sqlite", FTS_DDL)
    assert copy_sources.resolve_source(rel(inside)) == inside.resolve()
    assert copy_sources.resolve_source(str(inside.resolve())) == inside.resolve()
    assert rel(inside) in [f["name"] for f in copy_sources.list_import_files()]
    assert "link.sqlite" not in str(copy_sources.list_import_files())


def test_it_refuses_them_in_the_admin_with_nothing_created(dba_client, fts_target, import_dir, outside) -> None:
    url = reverse("admin:ops_target_copy", args=[fts_target.pk])
    before = (Run.objects.count(), AuditEvent.objects.count(), sorted(Path(import_dir).rglob("*")))
    for kind, path in _escapes(import_dir, outside).items():
        files = sorted(Path(import_dir).rglob("*"))
        for data in ({"path": path, "text_policy": "reject"},
                     {"source": path, "post": "yes", "text_policy": "reject"}):
            resp = dba_client.post(url, data, follow=True)
            assert resp.status_code == 200, kind
            body = resp.content.decode()
            assert "outside the import directory" in body, (kind, data)
        assert sorted(Path(import_dir).rglob("*")) == files
    assert (Run.objects.count(), AuditEvent.objects.count()) == before[:2]
    assert not Path(copy_sources.import_dir(), "uploads").exists() or not any(Path(copy_sources.import_dir(), "uploads").iterdir())


def test_it_refuses_an_upload_that_is_not_sqlite_and_keeps_nothing(dba_client, fts_target, import_dir) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("admin:ops_target_copy", args=[fts_target.pk])
    upload = SimpleUploadedFile("../../evil.sqlite", b"not a database at all", content_type="application/octet-stream")
    resp = dba_client.post(url, {"upload": upload, "text_policy": "reject"})
    assert "is not a SQLite 3 database" in resp.content.decode()
    uploads = Path(copy_sources.import_dir(), "uploads")
    assert not uploads.exists() or not any(uploads.glob("*evil*"))
    assert Run.objects.count() == 0
