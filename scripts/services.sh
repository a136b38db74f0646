#!/usr/bin/env bash
# Make sure the services the portal needs answer on their configured
# addresses: PostgreSQL (portal database and example targets) and Redis
# (Celery broker). Where one does not answer, install it from Debian's
# packages if its binaries are missing and start a project-local instance
# with its data under $MOP_VAR_DIR. Never uses Docker. Idempotent.
#
# Also writes .env (once) with generated secrets, so nothing secret lives in
# the repository. Source it or run it; it only prints what it does.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ensure_env_file
load_env_file

ensure_postgres
ensure_redis
echo "services: PostgreSQL on 127.0.0.1:${MOP_PG_PORT}, Redis at $(redact_url "$REDIS_URL")"
