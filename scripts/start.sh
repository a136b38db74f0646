#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, prepare the
# portal's database, load the example project (billing-dev and billing-prod
# targets) and start web, worker and beat in the background.
# Logs and pid files go to var/; scripts/stop.sh stops them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/lib.sh"

ensure_env_file
load_env_file
ensure_postgres
ensure_redis
ensure_venv

PY="$ROOT/.venv/bin/python"
PORT="${MOP_WEB_PORT:-8000}"
mkdir -p "$MOP_VAR_DIR/log" "$MOP_VAR_DIR/run" "${MOP_IMPORT_DIR:-$MOP_VAR_DIR/imports}"

migrate_portal_db
"$PY" manage.py collectstatic --noinput -v0
"$PY" manage.py ops bootstrap-example
# Sample data for the copy and verification pages: a SQLite file of the
# billing app (seed 000) with the nasty values real apps accumulate.
if [ ! -f "${MOP_IMPORT_DIR:-$MOP_VAR_DIR/imports}/billing-sample.sqlite" ]; then
  "$PY" bench/gen_billing_sqlite.py --transactions 20000 --seed 7 \
    --out "${MOP_IMPORT_DIR:-$MOP_VAR_DIR/imports}/billing-sample.sqlite" >/dev/null
  echo "Sample SQLite for the copy: ${MOP_IMPORT_DIR:-$MOP_VAR_DIR/imports}/billing-sample.sqlite"
fi

start_bg() {
  # start_bg NAME CMD... : (re)start a background process with a pid file.
  local name=$1; shift
  local pidf="$MOP_VAR_DIR/run/$name.pid"
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
    kill "$(cat "$pidf")" 2>/dev/null || true; sleep 1
  fi
  nohup "$@" >>"$MOP_VAR_DIR/log/$name.log" 2>&1 &
  echo $! > "$pidf"
}

start_bg web env MOP_APPLICATION_NAME=mop-web "$ROOT/.venv/bin/gunicorn" portal.wsgi -b "127.0.0.1:$PORT" -w 2 --timeout 120
start_bg worker env MOP_APPLICATION_NAME=mop-worker "$ROOT/.venv/bin/celery" -A portal worker -l info -c 2 -Q "${MOP_CELERY_QUEUE:-mop}"
start_bg beat env MOP_APPLICATION_NAME=mop-beat "$ROOT/.venv/bin/celery" -A portal beat -l info \
  --scheduler django_celery_beat.schedulers:DatabaseScheduler -s "$MOP_VAR_DIR/run/celerybeat-schedule"

for _ in $(seq 60); do
  if python3 -c "import urllib.request,sys;urllib.request.urlopen('http://127.0.0.1:$PORT/admin/login/',timeout=2)" 2>/dev/null; then
    break
  fi
  sleep 0.5
done
cat <<MSG

Migration Ops Portal is running: http://127.0.0.1:$PORT/admin/
  log in as 'admin' (the password was printed above when the user was created; it is also in
  $MOP_VAR_DIR/admin-password.txt)
  logs: $MOP_VAR_DIR/log/{web,worker,beat}.log      stop: scripts/stop.sh
  command line: .venv/bin/python manage.py ops --help
MSG
