"""Alembic schema migrations: list a project's revisions, read a target's state, plan and run.

The wing the portal's schema runs use, beside ``copy/``, ``verify/`` and ``locks/``::

    from migrations_ops.schema.project import resolve_project
    from migrations_ops.schema.plan import make_plan
    from migrations_ops.schema.runner import run_plan

    project = resolve_project(source)
    plan = make_plan(conn, project, "upgrade", "head")        # what would run, and how risky
    result = run_plan(conn, project, "upgrade", "head", run_id=42)

``project`` finds the project, ``revisions`` lists its history, ``state`` reads a target's
heads, ``plan`` and ``safety`` say what a run will do, ``runner`` (with ``retry`` and
``lockwatch``) does it, ``failure`` says what a failed revision left behind.
"""
