"""The engine of the Migration Ops Portal: plain Python, no Django.

Everything here can be called from a script: list an Alembic project's
revisions, read a target's state, plan and run upgrades, downgrades and
stamps, copy SQLite into PostgreSQL, verify, and diagnose locks.
"""
