"""Alembic environment of the billing example.

Follows the cookbook recipe "Sharing a Connection across one or more
programmatic migration commands": a caller (the portal, a test) may hand over
an open SQLAlchemy connection in ``config.attributes["connection"]``; the
command line builds its own engine from the environment instead.

Every revision runs in its own transaction (``transaction_per_migration``)
because some revisions leave the transaction on purpose (batched backfill,
CREATE INDEX CONCURRENTLY); a failure then rolls back one revision only.
"""

from __future__ import annotations

import logging
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.engine import URL, make_url

config = context.config
log = logging.getLogger("alembic.env")

# Callers that embed Alembic keep their own logging (cookbook: configure_logger).
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# Hand-written migrations only: autogenerate has no metadata to compare with.
target_metadata = None

URL_VARIABLES = ("BILLING_DATABASE_URL", "DATABASE_URL")


def database_url() -> URL | None:
    """The target: ``sqlalchemy.url`` if set, else BILLING_DATABASE_URL, else DATABASE_URL.

    ``postgres://`` and ``postgresql://`` are sent to psycopg 3, the driver
    the portal installs (SQLAlchemy would otherwise pick psycopg2).
    """
    raw = config.get_main_option("sqlalchemy.url") or next(
        (os.environ[name] for name in URL_VARIABLES if os.environ.get(name)), ""
    )
    if not raw:
        return None
    url = make_url(raw)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def run_migrations_offline() -> None:
    """Write the SQL to stdout (``--sql``); without a URL, assume PostgreSQL."""
    url = database_url()
    options = {"url": url} if url is not None else {"dialect_name": "postgresql"}
    context.configure(
        **options,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection when given one, else connect from the environment."""
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    url = database_url()
    if url is None:
        raise RuntimeError(
            "No database: set BILLING_DATABASE_URL (or DATABASE_URL), or sqlalchemy.url in alembic.ini"
        )
    log.info("Target database: %s", url.render_as_string(hide_password=True))
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            do_run_migrations(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
