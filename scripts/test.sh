#!/usr/bin/env bash
# One command: install what the tests need (PostgreSQL, Redis, Chromium,
# Python packages), start the services if they are not running, migrate the
# portal's database, lint, and run the whole suite. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/lib.sh"

ensure_env_file
load_env_file
ensure_postgres
ensure_redis
ensure_venv
ensure_browser
# The portal's real database, migrated by its owner role: the privilege tests check it.
migrate_portal_db

mkdir -p test-artifacts
"$ROOT/.venv/bin/ruff" check .
# The layering contracts (pyproject [tool.importlinter]): no circles, the engine never imports Django.
"$ROOT/.venv/bin/lint-imports" --no-cache
exec "$ROOT/.venv/bin/python" -m pytest "$@"
