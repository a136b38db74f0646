"""Django's deployment checklist passes on production settings, and has teeth.

scripts/check-deploy.sh (run by .ci/run) is ``manage.py check --deploy
--fail-level WARNING`` with only what a deployment must supply and no .env.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "PATH": os.environ["PATH"], "MOP_ENV_FILE": "", "DJANGO_SECRET_KEY": "k" * 20 + "-production-like-" + "z" * 30,
    "DJANGO_ALLOWED_HOSTS": "portal.example.com", "DJANGO_BEHIND_HTTPS_PROXY": "true",
    "DATABASE_URL": "postgres://mop@db.invalid:5432/mop", "REDIS_URL": "redis://redis.invalid:6379/0",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**PRODUCTION, **env},
                          capture_output=True, text=True, timeout=120)


def test_it_passes_the_deployment_checklist_in_ci() -> None:
    result = subprocess.run(["bash", "scripts/check-deploy.sh"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (1 silenced)" in result.stdout


def test_production_defaults_are_https_only() -> None:
    names = ["DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
             "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_PROXY_SSL_HEADER"]
    code = f"from django.conf import settings; import json; print(json.dumps([getattr(settings, n) for n in {names!r}]))"
    result = manage("shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, True, True, True, 365 * 24 * 3600, True,
                                         ["HTTP_X_FORWARDED_PROTO", "https"]]


def test_it_fails_when_a_deployment_turns_debug_or_https_off() -> None:
    debug = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_DEBUG="true")
    assert debug.returncode != 0 and "security.W018" in debug.stderr
    plain = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_SECURE_SSL_REDIRECT="false",
                   DJANGO_SECURE_COOKIES="no")
    assert plain.returncode != 0
    assert all(code in plain.stderr for code in ("security.W008", "security.W012", "security.W016"))


def test_it_refuses_a_malformed_switch() -> None:
    result = manage("check", DJANGO_SECURE_SSL_REDIRECT="maybe")
    assert result.returncode != 0
    assert "DJANGO_SECURE_SSL_REDIRECT must be a boolean (true/false), not 'maybe'" in result.stderr
