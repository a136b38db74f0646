"""Throwaway Alembic projects for engine tests, written into ``tmp_path``.

Like Alembic's own ``staging_env`` + ``generate_revision``: a script
directory with an ``env.py`` and revision files whose graph we choose.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config

from migrations_ops.schema.project import ProjectSource, ResolvedProject, resolve_project
from migrations_ops.target import TargetConn

# env.py in the shape of Alembic's "sharing a connection" cookbook: a passed
# connection wins, else the URL comes from the config (what `alembic` CLI does).
ENV_SHARED = '''
from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run():
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
'''

# env.py that ignores any passed connection and reads its URL from the
# environment (seed 000 reads it from app settings): the dangerous kind.
ENV_FROM_ENVVAR = '''
import os
from alembic import context
from sqlalchemy import create_engine, pool

url = os.environ["FACTORY_OTHER_DATABASE_URL"]
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as conn:
    context.configure(url=url, connection=conn)
    with context.begin_transaction():
        context.run_migrations()
'''

ENV_EXPLODES = 'raise RuntimeError("env.py must not run in portal mode")\n'

MAKO = '''"""${message}"""
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
'''


@dataclass
class Factory:
    """A project under construction; ``rev()`` adds a revision file."""

    root: Path
    env: str = ENV_SHARED
    revisions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "versions").mkdir(parents=True, exist_ok=True)
        (self.root / "env.py").write_text(self.env)
        (self.root / "script.py.mako").write_text(MAKO)

    def rev(
        self,
        rev: str,
        down: str | tuple[str, ...] | None,
        message: str = "",
        upgrade: str = "pass",
        downgrade: str = "pass",
        *,
        branch_labels: tuple[str, ...] | None = None,
        depends_on: str | tuple[str, ...] | None = None,
        imports: str = "",
    ) -> str:
        def block(code: str) -> str:
            return textwrap.indent(textwrap.dedent(code).strip(), "    ")

        text = (
            f'"""{message or "revision " + rev}\n\nRevision ID: {rev}\n"""\n'
            "import sqlalchemy as sa\nfrom alembic import op\n"
            f"{imports}\n\n"
            f"revision = {rev!r}\ndown_revision = {down!r}\n"
            f"branch_labels = {branch_labels!r}\ndepends_on = {depends_on!r}\n\n\n"
            f"def upgrade():\n{block(upgrade)}\n\n\ndef downgrade():\n{block(downgrade)}\n"
        )
        (self.root / "versions").mkdir(parents=True, exist_ok=True)
        (self.root / "versions" / f"{rev}_.py").write_text(text)
        self.revisions.append(rev)
        return rev

    def table_rev(self, rev: str, down: str | tuple[str, ...] | None, table: str, **kw) -> str:
        """A revision that creates (and on downgrade drops) one table."""
        return self.rev(
            rev, down, kw.pop("message", f"create {table}"),
            upgrade=f'op.create_table({table!r}, sa.Column("id", sa.Integer, primary_key=True))',
            downgrade=f"op.drop_table({table!r})", **kw,
        )

    def resolved(self, **source_kw) -> ResolvedProject:
        return resolve_project(ProjectSource(location=str(self.root), **source_kw))


def linear(root: Path, n: int = 3, **kw) -> Factory:
    """r1 -> r2 -> ... -> rn, revision i creates table ti."""
    f = Factory(root, **kw)
    down = None
    for i in range(1, n + 1):
        down = f.table_rev(f"r{i}", down, f"t{i}")
    return f


def branched(root: Path, merged: bool = True) -> Factory:
    """b1 -> (left: b2l, right: b2r) -> merge b3 (unless ``merged`` is false: two heads)."""
    f = Factory(root)
    f.table_rev("b1", None, "base_t")
    f.table_rev("b2l", "b1", "left_t", branch_labels=("left",))
    f.table_rev("b2r", "b1", "right_t", branch_labels=("right",))
    if merged:
        f.rev("b3", ("b2l", "b2r"), "merge left and right")
    return f


def slow_middle(root: Path, seconds: float) -> Factory:
    """s1 -> s2 (pg_sleep) -> s3: the middle one is slow."""
    f = Factory(root)
    f.table_rev("s1", None, "slow1")
    f.rev("s2", "s1", "slow step", upgrade=f'op.create_table("slow2", sa.Column("id", sa.Integer))\n'
          f'op.execute("SELECT pg_sleep({seconds})")', downgrade='op.drop_table("slow2")')
    f.table_rev("s3", "s2", "slow3")
    return f


def concurrently(root: Path) -> Factory:
    """c1 creates a table, c2 indexes it CONCURRENTLY inside an autocommit block."""
    f = Factory(root)
    f.table_rev("c1", None, "ct")
    f.rev("c2", "c1", "index concurrently", upgrade='''
        op.add_column("ct", sa.Column("name", sa.Text))
        with op.get_context().autocommit_block():
            op.create_index("ix_ct_name", "ct", ["name"], postgresql_concurrently=True)
        ''', downgrade='''
        with op.get_context().autocommit_block():
            op.drop_index("ix_ct_name", "ct", postgresql_concurrently=True)
        op.drop_column("ct", "name")
        ''')
    return f


def sa_url(target: TargetConn) -> str:
    """The target as a SQLAlchemy URL, for the real Alembic commands."""
    from urllib.parse import quote
    return (f"postgresql+psycopg://{quote(target.user, safe='')}:{quote(target.password, safe='')}"
            f"@{target.host}:{target.port}/{target.dbname}")


def alembic_current(root: Path, target: TargetConn, version_table: str | None = None) -> set[str]:
    """What the real ``alembic current`` reports for the target (heads as a set)."""
    import io
    buf = io.StringIO()
    cfg = Config(stdout=buf)
    cfg.set_main_option("script_location", str(root))
    cfg.set_main_option("sqlalchemy.url", sa_url(target).replace("%", "%%"))
    command.current(cfg)
    return {line.split()[0] for line in buf.getvalue().splitlines() if line.strip()}
