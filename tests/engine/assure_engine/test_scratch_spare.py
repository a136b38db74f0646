"""Spare scratch databases made ahead and claimed by a rename; the dump loader's fences (real PostgreSQL)."""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg import sql

from migrations_ops.rehearse.clone import load_schema
from migrations_ops.scratch.databases import (
    SCRATCH_PREFIX,
    claim_spare,
    create_scratch,
    drop_scratch,
    make_spare,
    reap_scratch,
    scratch_database,
    scratch_name,
)
from migrations_ops.scratch.errors import ToolFailed
from migrations_ops.target import connect


def _spares(admin) -> list[str]:
    with psycopg.connect(**admin.connect_kwargs("t"), autocommit=True) as c:
        return [r[0] for r in c.execute("SELECT datname FROM pg_database WHERE datname LIKE 'mop\\_scratch\\_spare\\_%' "
                                        "ORDER BY datname")]


@pytest.fixture
def no_spares(pg_admin):
    for name in _spares(pg_admin):
        drop_scratch(pg_admin, name)
    yield pg_admin
    for name in _spares(pg_admin):
        drop_scratch(pg_admin, name)


def test_it_claims_a_spare_by_renaming_it_with_the_claims_time(no_spares):
    admin = no_spares
    assert claim_spare(admin, "rehearse") is None, "no spare yet: the caller creates a database"
    made = make_spare(admin)
    assert made is not None and _spares(admin) == [made]
    assert make_spare(admin) is None, "one spare is enough"
    before = int(time.time())
    claimed = claim_spare(admin, "rehearse")
    try:
        assert claimed is not None and claimed.dbname.startswith(SCRATCH_PREFIX + "rehearse_")
        assert int(claimed.dbname.split("_")[3]) >= before  # aged from the claim, not from when it was made
        assert _spares(admin) == []
        with connect(claimed, "t") as c:  # an empty database of its own, ready to load
            assert c.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").fetchone()[0] == 0
    finally:
        if claimed is not None:
            drop_scratch(admin, claimed.dbname)


def test_it_leaves_a_spare_after_a_scratch_block_and_the_reaper_keeps_only_the_newest(no_spares):
    admin = no_spares
    with scratch_database(admin, "rehearse", spare=True) as scratch:
        name = scratch.dbname
    assert len(_spares(admin)) == 1 and name not in _spares(admin)
    extra = create_scratch(admin, "spare").dbname  # two workers each made one
    newest = _spares(admin)[-1]
    old = scratch_name("rehearse", at=time.time() - 7200)  # a killed worker's, two hours ago
    with psycopg.connect(**admin.connect_kwargs("t"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(old)))
    dropped = reap_scratch(admin, max_age_s=3600)
    assert old in dropped and _spares(admin) == [newest]
    assert (extra in dropped) != (extra == newest)


def test_it_loads_a_dump_in_one_transaction_without_psql_meta_commands(no_spares):
    admin = no_spares
    scratch = create_scratch(admin, "rehearse")
    try:
        dump = ("\\restrict abc123\nSELECT pg_catalog.set_config('search_path', '', false);\n"
                "CREATE TABLE public.a (id int);\nCREATE TABLE public.alembic_version (version_num text);\n"
                "\\unrestrict abc123\n")
        from migrations_ops.rehearse.clone import _FENCE_RE

        with connect(scratch, "t") as c:
            load_schema(c, _FENCE_RE.sub("", dump), ("r1",), version_table="alembic_version",
                        version_table_schema=None)
            assert c.execute("SHOW search_path").fetchone()[0] != '""', "the dump's settings were reset"
            assert c.execute("SELECT version_num FROM alembic_version").fetchall() == [("r1",)]
            with pytest.raises(ToolFailed, match="syntax error"):
                load_schema(c, "CREATE TABLE public.b (id int);\n\\! touch /tmp/nope\n", (),
                            version_table="alembic_version", version_table_schema=None)
            assert c.execute("SELECT to_regclass('public.b')").fetchone()[0] is None, "all or nothing"
    finally:
        drop_scratch(admin, scratch.dbname)
