"""The billing example project (examples/billing) on real PostgreSQL.

It is what a new user runs first, so it must upgrade, downgrade revision by
revision and back to base, fill its batched data migration, and render
reviewable offline SQL. Alembic is driven through its command API with a
shared connection (the cookbook recipe its env.py follows); output is
captured with ``Config(stdout=buf)``.
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from migrations_ops.schema.project import ProjectSource
from migrations_ops.schema.runner import run_plan
from migrations_ops.target import TargetConn

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "billing"
HEAD = "6e7a2c9d4b38"
BILLING_TABLES = {"users", "device_auth", "credits", "token_balances", "token_pricing", "transactions"}
# Revisions whose downgrade throws data away, and must say so.
LOSSY = {"3f1c9a2b7d40", "e2a96b3f0c17", "1d5c8f4e7a92", "7b3e0a9c5d21", "6e7a2c9d4b38"}


def sa_url(target: TargetConn, driver: str = "postgresql+psycopg") -> sa.URL:
    return sa.URL.create(
        driver, username=target.user, password=target.password, host=target.host,
        port=target.port, database=target.dbname,
    )


@pytest.fixture
def engine(target_db: TargetConn) -> Iterator[sa.Engine]:
    eng = sa.create_engine(sa_url(target_db), poolclass=sa.pool.NullPool)
    yield eng
    eng.dispose()


def make_config(buf: io.StringIO, *x: str) -> Config:
    # stdout: what commands print; output_buffer: the SQL of --sql runs.
    cfg = Config(str(EXAMPLE / "alembic.ini"), stdout=buf, output_buffer=buf)
    cfg.attributes["configure_logger"] = False
    cfg.cmd_opts = argparse.Namespace(x=list(x))
    return cfg


def alembic(engine: sa.Engine, fn, *args, x: tuple[str, ...] = (), **kw) -> str:
    """Run one Alembic command on a shared connection; return what it printed.

    The connection must not be inside a transaction: env.py runs one per
    revision, and autocommit blocks commit between them.
    """
    buf = io.StringIO()
    cfg = make_config(buf, *x)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        fn(cfg, *args, **kw)
        conn.commit()
    return buf.getvalue()


def applied(engine: sa.Engine) -> set[str]:
    with engine.connect() as c:
        if not sa.inspect(c).has_table("alembic_version"):
            return set()
        return set(c.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def test_it_upgrades_to_heads_on_postgres(engine: sa.Engine) -> None:
    out = alembic(engine, command.upgrade, "heads")
    assert out == ""  # progress goes to logging, not to stdout
    assert applied(engine) == {HEAD}
    assert f"{HEAD} (head)" in alembic(engine, command.current)
    with engine.begin() as c:
        insp = sa.inspect(c)
        assert BILLING_TABLES <= set(insp.get_table_names())
        assert "model_availability" in insp.get_view_names()
        assert {"email_normalized", "deleted_at"} <= {col["name"] for col in insp.get_columns("users")}
        valid = c.execute(sa.text(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = 'ix_users_email_normalized'::regclass"
        )).scalar_one()
        assert valid is True
        fks = insp.get_foreign_keys("transactions")
        assert fks[0]["options"]["ondelete"] == "CASCADE"
        c.execute(sa.text(
            "INSERT INTO token_pricing (model_id, model_name, credit_per_token, platforms, created_at)"
            " VALUES ('m1', 'Model 1', 0.5, ARRAY['ios', 'web']::device_platform[], now())"
        ))
        rows = c.execute(sa.text(
            "SELECT platform::text, currency FROM model_availability ORDER BY 1"
        )).all()
    assert [tuple(r) for r in rows] == [("ios", "USD"), ("web", "USD")]


def test_it_backfills_email_normalized_in_committed_batches(engine: sa.Engine) -> None:
    alembic(engine, command.upgrade, "5b8e1d07a3c6")
    users = [
        {"id": f"u{i:04d}", "email": None if i % 10 == 0 else f"  Ｕser{i:04d}@Example.COM "}
        for i in range(250)
    ]
    with engine.begin() as c:
        c.execute(
            sa.text("INSERT INTO users (user_id, email, created_at) VALUES (:id, :email, now())"), users
        )

    alembic(engine, command.upgrade, "9c0f4a6e2d18", x=("batch_size=100",))

    with engine.connect() as c:
        got = dict(c.execute(sa.text("SELECT user_id, email_normalized FROM users")).all())
        # 225 addresses in batches of 100: three transactions wrote them.
        writers = c.execute(sa.text(
            "SELECT count(DISTINCT xmin::text) FROM users WHERE email_normalized IS NOT NULL"
        )).scalar_one()
    assert got == {
        u["id"]: None if u["email"] is None else f"user{u['id'][1:]}@example.com" for u in users
    }
    assert writers == 3

    alembic(engine, command.downgrade, "5b8e1d07a3c6", x=("batch_size=100",))
    with engine.connect() as c:
        left = c.execute(sa.text("SELECT count(*) FROM users WHERE email_normalized IS NOT NULL")).scalar_one()
    assert left == 0


def test_it_round_trips_heads_base_heads(engine: sa.Engine) -> None:
    alembic(engine, command.upgrade, "heads")
    alembic(engine, command.downgrade, "base")

    assert applied(engine) == set()
    with engine.connect() as c:
        assert not BILLING_TABLES & set(sa.inspect(c).get_table_names())
        leftover_type = c.execute(sa.text("SELECT to_regtype('device_platform')")).scalar_one()
    assert leftover_type is None

    alembic(engine, command.upgrade, "heads")
    assert applied(engine) == {HEAD}


def test_it_downgrades_one_revision_at_a_time(engine: sa.Engine) -> None:
    """Every downgrade runs on its own. From the merge, `-1` is an ambiguous
    walk in Alembic, so those steps name their target."""
    alembic(engine, command.upgrade, "heads")
    steps = [
        ("-1", {"f08b3a5d6e21"}),
        # e2a96b3f0c17 is applied too, but has no row: 7b3e0a9c5d21 depends on it.
        ("7b3e0a9c5d21", {"7b3e0a9c5d21"}),
        ("1d5c8f4e7a92", {"e2a96b3f0c17", "1d5c8f4e7a92"}),
        ("pricing@-1", {"e2a96b3f0c17"}),
        ("-1", {"c41d7e2a9b53"}),
        ("-1", {"9c0f4a6e2d18"}),
        ("-1", {"5b8e1d07a3c6"}),
        ("-1", {"3f1c9a2b7d40"}),
        ("-1", set()),
    ]
    for target, expected in steps:
        alembic(engine, command.downgrade, target)
        assert applied(engine) == expected, target
    alembic(engine, command.upgrade, "heads")
    assert applied(engine) == {HEAD}


def test_it_reads_the_url_from_the_environment(
    target_db: TargetConn, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sa_url(target_db, driver="postgresql").render_as_string(hide_password=False)
    monkeypatch.setenv("BILLING_DATABASE_URL", url)
    buf = io.StringIO()
    command.upgrade(make_config(buf), "3f1c9a2b7d40")
    assert applied(engine) == {"3f1c9a2b7d40"}


@pytest.mark.parametrize("env_mode", ["portal", "project"])
def test_it_runs_through_the_portal_runner(target_db: TargetConn, engine: sa.Engine, env_mode: str) -> None:
    """The portal's runner leaves no outer transaction open, so the
    autocommit blocks (batches, CONCURRENTLY) work in both env modes."""
    source = ProjectSource(location=str(EXAMPLE), env_mode=env_mode)
    up = run_plan(target_db, source, "upgrade", "heads", run_id=1)
    assert up.to_heads == (HEAD,) and len(up.steps) == 9
    down = run_plan(target_db, source, "downgrade", "base", run_id=2)
    assert down.to_heads == () and applied(engine) == set()


def last_transaction_word_before(script: str, statement: str) -> str:
    before = script[: script.index(statement)]
    return "COMMIT;" if before.rfind("COMMIT;") > before.rfind("BEGIN;") else "BEGIN;"


def test_it_renders_offline_sql_with_the_concurrent_index_outside_a_transaction() -> None:
    up = io.StringIO()
    command.upgrade(make_config(up), "heads", sql=True)
    script = up.getvalue()
    create = "CREATE INDEX CONCURRENTLY ix_users_email_normalized ON users (email_normalized);"
    assert create in script
    assert last_transaction_word_before(script, create) == "COMMIT;"
    # and a transaction opens again for the version table update
    after = script[script.index(create):]
    assert after.index("BEGIN;") < after.index("UPDATE alembic_version SET version_num='c41d7e2a9b53'")
    assert "normalize(users.email, NFKC)" in script
    assert script.rstrip().endswith("COMMIT;")

    down = io.StringIO()
    command.downgrade(make_config(down), f"{HEAD}:base", sql=True)
    drop = "DROP INDEX CONCURRENTLY IF EXISTS ix_users_email_normalized;"
    assert drop in down.getvalue()
    assert last_transaction_word_before(down.getvalue(), drop) == "COMMIT;"


def test_it_shows_a_branch_a_merge_and_marked_data_loss() -> None:
    script = ScriptDirectory.from_config(make_config(io.StringIO()))
    revs = {r.revision: r for r in script.walk_revisions()}
    assert len(revs) >= 6
    assert script.get_heads() == [HEAD]
    assert [r for r in revs.values() if r.is_branch_point] == [revs["c41d7e2a9b53"]]
    merge = revs["f08b3a5d6e21"]
    assert merge.is_merge_point and merge.down_revision == ("e2a96b3f0c17", "7b3e0a9c5d21")
    assert revs["1d5c8f4e7a92"].branch_labels == {"pricing"}
    assert revs["7b3e0a9c5d21"].dependencies == "e2a96b3f0c17"
    for rev in revs.values():
        assert ("Data loss on downgrade:" in rev.longdoc) == (rev.revision in LOSSY), rev.revision


@pytest.mark.parametrize("path", sorted((EXAMPLE / "versions").glob("*.py")), ids=lambda p: p.name[:27])
def test_it_implements_every_downgrade_with_stdlib_alembic_and_sqlalchemy_only(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    body = [
        n for n in funcs["downgrade"].body
        if not isinstance(n, ast.Pass) and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
    ]
    assert body, "downgrade() does nothing"
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"alembic", "sqlalchemy"}
