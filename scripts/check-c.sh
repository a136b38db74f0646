#!/usr/bin/env bash
# The engine's C helpers (migrations_ops/**/_*.c) built with AddressSanitizer
# and UndefinedBehaviorSanitizer, and the copy and verification engine tests
# run against those builds: an out-of-bounds read or an overflow in the C code
# stops the run instead of corrupting a Celery worker some day. Uses a copy of
# the tracked files in a temporary directory; the project's own builds are
# not touched. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/lib.sh"

ensure_env_file
load_env_file
ensure_postgres
ensure_venv

PY="$ROOT/.venv/bin/python"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$tree"
inc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
suffix=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
for c in $(find migrations_ops -name '_*.c' | sort); do
  log "building $c with ASan and UBSan"
  gcc -shared -fPIC -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -I"$inc" "$c" -lsqlite3 -o "$tree/${c%.c}$suffix"
done
cd "$tree"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export MOP_TEST_DATABASE="${MOP_TEST_DATABASE:-mop_test_sanitizers}"
# the tests must import these builds, not the project's
"$PY" -c 'import sys, migrations_ops.copy._rowcodec as a, migrations_ops.verify._pghash as b
assert all(m.__file__.startswith(sys.argv[1]) for m in (a, b)), (a.__file__, b.__file__)' "$tree"
"$PY" -m pytest tests/engine/copy tests/engine/verify -q -p no:cacheprovider "$@"
