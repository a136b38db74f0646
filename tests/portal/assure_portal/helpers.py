"""Targets for the assurance tests: a development rehearsal server and a production target, real databases."""

from __future__ import annotations

import psycopg

from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.runner import run_plan
from portal.ops.models import Target
from tests.factories import BILLING, AlembicProjectFactory, target_for


def dev_and_prod(make_database, *, prod_at: str | None = "head", project=None, location=BILLING, prefix="billing"):
    """A development target (the rehearsal server) and a production target at ``prod_at`` (engine run)."""
    project = project or AlembicProjectFactory(name="billing", location=str(location))
    dev = target_for(make_database("dev"), project, name=f"{prefix}-dev")
    prod_conn = make_database("prod")
    prod = target_for(prod_conn, project, name=f"{prefix}-prod", environment=Target.Environment.PRODUCTION)
    if prod_at:
        run_plan(prod_conn, resolve_project(ProjectSource(location=str(location))), "upgrade", prod_at,
                 run_id="setup")
    return dev, prod, prod_conn


def execute(conn, statement: str) -> None:
    with psycopg.connect(**conn.connect_kwargs("tests"), autocommit=True) as c:
        c.execute(statement)
