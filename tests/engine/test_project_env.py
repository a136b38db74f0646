"""Project mode runs env.py as the project's own CLI would, against the chosen target only.

The env.py files here read their URL the usual ways (DATABASE_URL, another variable, the
ini's sqlalchemy.url), build their own engine from it, and write down what they saw; the
portal's own variables (set in this process) must not be among them.
"""

from __future__ import annotations

import json
import os

import pytest

from migrations_ops.schema.plan import make_plan
from migrations_ops.schema.project_env import BadProjectEnvSetting, clean_environ, target_url
from migrations_ops.schema.runner import run_plan
from tests.engine.alembic_factory import linear, sa_url
from tests.engine.test_runner import tables

# Reads its URL from a variable, records what it saw, connects with its own engine (online)
# or renders with the URL (offline): a typical real-world env.py.
ENV_TEMPLATE = '''
import json, os
from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
url = {url_expr}
with open({seen!r}, "a") as fh:
    fh.write(json.dumps({{"url": url, "ini": config.get_main_option("sqlalchemy.url"),
                          "env": sorted(os.environ), "offline": context.is_offline_mode()}}) + "\\n")
if context.is_offline_mode():
    context.configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()
'''


def _seen(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def portal_env(monkeypatch):
    """What a worker's environment holds: the portal's own database URL and secrets."""
    monkeypatch.setenv("DATABASE_URL", "postgres://mop:portal-secret@127.0.0.1:55432/mop")
    monkeypatch.setenv("MOP_FERNET_KEYS", "fernet-secret")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "django-secret")
    monkeypatch.setenv("PGPASSWORD", "libpq-secret")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")


def test_a_database_url_env_py_migrates_the_chosen_target_and_sees_no_portal_secret(tmp_path, target_db, portal_env):
    seen = tmp_path / "seen.jsonl"
    env = ENV_TEMPLATE.format(url_expr='os.environ["DATABASE_URL"]', seen=str(seen))
    project = linear(tmp_path / "p", 2, env=env).resolved(env_mode="project")
    before = dict(os.environ)
    assert run_plan(target_db, project, "upgrade", "head", run_id="pe").to_heads == ("r2",)
    assert tables(target_db) == {"alembic_version", "t1", "t2"}
    assert dict(os.environ) == before  # restored
    [record] = _seen(seen)
    assert record["url"] == target_url(target_db) and record["url"].startswith("postgresql+psycopg://")
    assert f"/{target_db.dbname}?" in record["url"]
    assert record["ini"] == record["url"]
    for name in ("MOP_FERNET_KEYS", "DJANGO_SECRET_KEY", "PGPASSWORD", "REDIS_URL"):
        assert name not in record["env"]
    assert "SQLALCHEMY_DATABASE_URI" in record["env"] and "PATH" in record["env"]
    assert "portal-secret" not in seen.read_text()


def test_another_variable_and_url_form_are_per_project(tmp_path, target_db, portal_env):
    seen = tmp_path / "seen.jsonl"
    env = ENV_TEMPLATE.format(url_expr='os.environ["APP_DB"].replace("postgres://", "postgresql+psycopg://", 1)',
                              seen=str(seen))
    project = linear(tmp_path / "p", 1, env=env).resolved(
        env_mode="project", url_env_vars=("APP_DB",), url_scheme="postgres")
    run_plan(target_db, project, "upgrade", "head", run_id="pe2")
    assert tables(target_db) == {"alembic_version", "t1"}
    [record] = _seen(seen)
    assert record["url"].startswith("postgresql+psycopg://")
    assert "DATABASE_URL" not in record["env"]  # only the declared variables are set


def test_the_ini_url_env_py_works_too(tmp_path, target_db, portal_env):
    seen = tmp_path / "seen.jsonl"
    env = ENV_TEMPLATE.format(url_expr='config.get_main_option("sqlalchemy.url")', seen=str(seen))
    project = linear(tmp_path / "p", 1, env=env).resolved(env_mode="project")
    run_plan(target_db, project, "upgrade", "head", run_id="pe3")
    assert tables(target_db) == {"alembic_version", "t1"}


def test_an_env_py_connecting_elsewhere_still_migrates_the_chosen_target(tmp_path, make_database, portal_env):
    chosen, other = make_database("chosen"), make_database("other")
    seen = tmp_path / "seen.jsonl"
    env = ENV_TEMPLATE.format(url_expr=repr(sa_url(other)), seen=str(seen))
    project = linear(tmp_path / "p", 2, env=env).resolved(env_mode="project")
    run_plan(chosen, project, "upgrade", "head", run_id="pe4")
    assert tables(chosen) == {"alembic_version", "t1", "t2"}
    assert tables(other) == set()


def test_the_offline_preview_runs_env_py_in_the_same_mode(tmp_path, target_db, portal_env):
    seen = tmp_path / "seen.jsonl"
    env = ENV_TEMPLATE.format(url_expr='os.environ["DATABASE_URL"]', seen=str(seen))
    project = linear(tmp_path / "p", 2, env=env).resolved(env_mode="project")
    plan = make_plan(target_db, project, "upgrade", "head")
    assert plan.sql_error is None and "CREATE TABLE t1" in plan.sql and "CREATE TABLE t2" in plan.sql
    [record] = _seen(seen)
    assert record["offline"] and record["url"] == target_url(target_db)
    assert "MOP_FERNET_KEYS" not in record["env"]
    assert tables(target_db) == set()  # a preview changes nothing


def test_bad_settings_are_refused_with_a_clear_message(tmp_path, target_db):
    project = linear(tmp_path / "p", 1).resolved(env_mode="project", url_scheme="mysql")
    with pytest.raises(BadProjectEnvSetting, match="URL form 'mysql'"):
        run_plan(target_db, project, "upgrade", "head", run_id="pe5")
    project = linear(tmp_path / "q", 1).resolved(env_mode="project", url_env_vars=("NOT A NAME",))
    with pytest.raises(BadProjectEnvSetting, match="not an environment variable name"):
        run_plan(target_db, project, "upgrade", "head", run_id="pe6")


def test_clean_environ_keeps_only_system_variables():
    env = clean_environ({"PATH": "/bin", "HOME": "/h", "LC_ALL": "C", "MOP_X": "s", "SECRET": "s",
                         "DATABASE_URL": "portal"}, "postgresql://t", ["DATABASE_URL"])
    assert env == {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C", "DATABASE_URL": "postgresql://t"}
