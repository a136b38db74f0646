"""Benchmark the admin at scale: the dashboard and every changelist with 100 targets, 100,000 runs,
1,000,000 audit events and 10,000 lock snapshots.

In-process (Django test client, no HTTP, no browser): the figure is the server's time to answer one
GET, Python, SQL and template rendering included. Steps:
1 create a throwaway portal database and migrate it (as its owner; the bench measures queries, not grants),
2 generate the rows with set-based SQL (the audit rows carry unique fake hashes: the chain is not
  verified here), then ANALYZE,
3 time each page, median and max of ``--runs`` GETs after one warm-up, with the indexes of
  ``0009_home_dashboard_indexes``, then again without them (the baseline, same run, same data);
  the dashboard's baseline is Django's stock model-list index,
4 drop the database.

Usage: ``.venv/bin/python bench/bench_admin_scale.py [--runs 7] [--audit 1000000] [--keep]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NEW_INDEXES = ["audit_actor_idx", "audit_action_idx", "audit_outcome_idx", "audit_target_name_idx",
               "run_created_idx", "run_failed_finished_idx", "run_target_finished_idx"]


def load_env() -> None:
    for line in (ROOT / ".env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            os.environ.setdefault(key.strip(), value.strip())


def with_db(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + db))


GENERATE = [
    # 5 projects on the billing example, 100 targets over them.
    """INSERT INTO ops_alembicproject (name, kind, location, ref, subdir, version_table, version_table_schema,
       env_mode, description, created_at, url_env_vars, url_scheme, operation_modules)
       SELECT 'project' || i, 'path', %(billing)s, '', '', 'alembic_version', '', 'portal', '', now(), '', '', ''
       FROM generate_series(1, 5) i""",
    """INSERT INTO ops_target (name, environment, project_id, host, port, dbname, "user", sslmode, sslrootcert,
       password_encrypted, password_env, allow_password_auth, lock_timeout_ms, statement_timeout_ms, lock_retries,
       is_active, created_at, updated_at)
       SELECT 'target-' || lpad(i::text, 3, '0'),
              (ARRAY['development','staging','production'])[1 + i %% 3],
              (SELECT min(id) FROM ops_alembicproject) + i %% 5, '127.0.0.1', 5432, 'db' || i, 'app', 'default', '',
              '', '', false, 1000, 900000, 3, true, now(), now()
       FROM generate_series(1, 100) i""",
    # 100,000 runs over 90 days; 1 in 50 failed, a few running.
    """INSERT INTO ops_run (target_id, operation, revision, status, actor, params, from_heads, to_heads, result_heads,
       plan_steps, sql, sql_hash, safety_findings, project_fingerprint, steps_done, steps_total, current_step,
       step_timings, progress_data, created_at, started_at, finished_at, cancel_requested_by, worker,
       celery_task_id, error, error_code, error_explanation, error_data)
       SELECT t.id, 'upgrade', 'head',
              CASE WHEN i %% 50 = 0 THEN 'failed' WHEN i > 99990 THEN 'running' ELSE 'succeeded' END,
              'dba', '{"lock_timeout_ms": 1000}', '[]', '["6e7a2c9d4b38"]',
              CASE WHEN i > 99990 THEN NULL ELSE
                (CASE WHEN i %% 7 = 0 THEN '["f08b3a5d6e21"]' ELSE '["6e7a2c9d4b38"]' END)::jsonb END,
              '[]', 'SELECT 1;', md5(i::text), '[]', '', 1, 2, '', '[]', '{}',
              now() - make_interval(secs => (100000 - i) * 78), now() - make_interval(secs => (100000 - i) * 78),
              CASE WHEN i > 99990 THEN NULL ELSE now() - make_interval(secs => (100000 - i) * 78 - 3) END,
              '', 'bench', md5('c' || i), '', '', '', '{}'
       FROM generate_series(1, 100000) i
       JOIN ops_target t ON t.name = 'target-' || lpad((1 + i %% 100)::text, 3, '0')""",
    # 1,000,000 audit events over 90 days.
    """INSERT INTO ops_auditevent (created_at, actor, actor_kind, action, target_id, target_name, run_id, operation,
       from_revision, to_revision, params, sql_hash, outcome, error, prev_hash, hash)
       SELECT now() - make_interval(secs => (%(audit)s - i) * 7.7),
              (ARRAY['alice','bob','carol','schedule:nightly','system'])[1 + i %% 5],
              (ARRAY['user','user','user','schedule','system'])[1 + i %% 5],
              (ARRAY['run.scheduled','run.started','run.finished','locks.snapshot_taken'])[1 + i %% 4],
              NULL, 'target-' || lpad((1 + i %% 100)::text, 3, '0'), NULL, 'upgrade', '', '6e7a2c9d4b38',
              '{"lock_timeout_ms": 1000}', '',
              CASE WHEN i %% 4 = 2 THEN (CASE WHEN i %% 97 = 0 THEN 'failed' ELSE 'succeeded' END) ELSE '' END, '',
              md5((i - 1)::text) || md5((i - 1)::text || 'x'), md5(i::text) || md5(i::text || 'x')
       FROM generate_series(1, %(audit)s) i""",
    # 10,000 lock snapshots, 100 per target; the latest of each target has a blocked session or two.
    """INSERT INTO ops_locksnapshot (target_id, taken_at, reason, actor, summary, snapshot, root_blockers, blocked)
       SELECT t.id, now() - make_interval(secs => (100 - s) * 600), 'periodic', 'schedule:lock-snapshots',
              jsonb_build_object('connections', 20 + s %% 30, 'max_connections', 300, 'blocked', s %% 3,
                                 'longest_xact_seconds', s * 1.5, 'longest_xact_pid', 1000 + s),
              jsonb_build_object('sessions', (SELECT jsonb_agg(jsonb_build_object('pid', p, 'query',
                                 repeat('SELECT * FROM invoices WHERE id = $1; ', 3))) FROM generate_series(1, 20) p)),
              s %% 2, s %% 3
       FROM ops_target t CROSS JOIN generate_series(1, 100) s""",
    # What status pages and runs would have stored for the dashboard.
    """INSERT INTO home_targetstate (target_id, current, has_version_table, error, source, observed_at)
       SELECT id, '["f08b3a5d6e21"]', true, '', 'fleet_check', now() - interval '2 hours' FROM ops_target""",
]


def generate(dsn: str, audit: int) -> dict[str, float]:
    took = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no audit trigger runs: the rows are bulk-made
        for query in GENERATE:
            started = time.perf_counter()
            conn.execute(query, {"billing": str(ROOT / "examples" / "billing"), "audit": audit})
            took[query.split()[2]] = time.perf_counter() - started
        conn.execute("ANALYZE")
    return took


def timed(client, url: str, runs: int) -> tuple[float, float, int]:
    from django.db import connection, reset_queries

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(runs):
        reset_queries()
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    return statistics.median(samples), max(samples), len(connection.queries)


PAGES = [
    ("dashboard (admin index)", "/admin/"),
    ("dashboard, production only", "/admin/?environment=production"),
    ("targets", "/admin/ops/target/"),
    ("runs", "/admin/ops/run/"),
    ("runs, failed", "/admin/ops/run/?status__exact=failed"),
    ("runs, one target", "/admin/ops/run/?target__id__exact={target}"),
    ("audit", "/admin/ops/auditevent/"),
    ("audit, actor + outcome", "/admin/ops/auditevent/?actor=bob&outcome=failed"),
    ("audit, one target", "/admin/ops/auditevent/?target_name=target-042"),
    ("audit, date range (1 day)", "/admin/ops/auditevent/?created_from={day}&created_to={day}"),
    ("projects", "/admin/ops/alembicproject/"),
    ("verification reports", "/admin/ops/verificationreport/"),
]


def measure(runs: int, label: str) -> list[tuple[str, float, float, int]]:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils.timezone import localdate

    from portal.ops.models import Target

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", "", "x")
    client = Client()
    client.force_login(user)
    target = Target.objects.get(name="target-042").pk
    day = (localdate()).replace(day=1).isoformat()
    out = []
    for name, url in PAGES:
        median, worst, queries = timed(client, url.format(target=target, day=day), runs)
        out.append((name, median, worst, queries))
        print(f"{label:>10} {name:<32} median {median:7.1f} ms  max {worst:7.1f} ms  {queries} queries", flush=True)
    if label == "indexed":
        median, worst, queries = timed(client, "/admin/models/", runs)
        out.append(("baseline: stock model-list index", median, worst, queries))
        print(f"{label:>10} {'stock model-list index':<32} median {median:7.1f} ms  max {worst:7.1f} ms", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = parser.parse_args()
    load_env()
    admin = os.environ["MOP_TEST_ADMIN_URL"].replace("postgres://", "postgresql://", 1)
    owner_url = os.environ["MOP_MIGRATE_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    owner = urlsplit(owner_url).username
    db = f"mop_bench_admin_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(owner)))
    try:
        url = with_db(owner_url, db)
        env = {**os.environ, "DATABASE_URL": url, "MOP_MIGRATE_DATABASE_URL": url}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        took = generate(with_db(admin, db), args.audit)  # the superuser may set session_replication_role
        print("generated: " + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()), flush=True)
        os.environ["DATABASE_URL"] = url
        os.environ["DJANGO_DEBUG"] = "false"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        import django
        from django.conf import settings

        django.setup()
        settings.DEBUG = True  # count queries (connection.queries)
        settings.ALLOWED_HOSTS = ["*"]
        indexed = measure(args.runs, "indexed")
        with psycopg.connect(url, autocommit=True) as conn:
            for name in NEW_INDEXES:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            conn.execute("ANALYZE")
        bare = measure(args.runs, "no index")
        print("\n| page | with indexes: median / max ms | without the new indexes: median / max ms | queries |")
        print("|---|---:|---:|---:|")
        by_name = {n: (m, w) for n, m, w, _ in bare}
        for name, median, worst, queries in indexed:
            base = by_name.get(name)
            other = f"{base[0]:.0f} / {base[1]:.0f}" if base else "—"
            print(f"| {name} | {median:.0f} / {worst:.0f} | {other} | {queries} |")
    finally:
        if not args.keep:
            if "django" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
                from django.db import connections

                connections.close_all()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db)))
        else:
            print(f"kept database {db}")


if __name__ == "__main__":
    main()
