#!/usr/bin/env bash
# Django's deployment checklist on production settings: DEBUG off, HTTPS on,
# secure cookies, HSTS; fails on any warning. Production settings means the
# defaults of portal/settings.py with only what a deployment must supply, and
# no .env (a dev .env opts out of HTTPS on 127.0.0.1). Nothing connects anywhere.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec env -i PATH="$PATH" HOME="${HOME:-/tmp}" LANG=C.UTF-8 \
  MOP_ENV_FILE= \
  DJANGO_SECRET_KEY="$(python3 -c 'import secrets;print(secrets.token_urlsafe(50))')" \
  DJANGO_ALLOWED_HOSTS=portal.example.com \
  DJANGO_CSRF_TRUSTED_ORIGINS=https://portal.example.com \
  DJANGO_BEHIND_HTTPS_PROXY=true \
  DATABASE_URL=postgres://mop@db.invalid:5432/mop \
  REDIS_URL=redis://redis.invalid:6379/0 \
  MOP_FERNET_KEYS="$(python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" \
  "$ROOT/.venv/bin/python" manage.py check --deploy --fail-level WARNING "$@"
