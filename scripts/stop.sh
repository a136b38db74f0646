#!/usr/bin/env bash
# Stop web, worker and beat started by scripts/start.sh (databases keep running;
# pass --all to stop this checkout's PostgreSQL too).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/lib.sh"
for name in web worker beat; do
  pidf="$MOP_VAR_DIR/run/$name.pid"
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then kill "$(cat "$pidf")"; echo "stopped $name"; fi
  rm -f "$pidf"
done
if [ "${1:-}" = "--all" ]; then stop_postgres; echo "stopped PostgreSQL"; fi
