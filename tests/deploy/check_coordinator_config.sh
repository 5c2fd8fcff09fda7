#!/usr/bin/env bash
# The shipped configuration against the real coordinator: lcsweep-coordinator (from BUILD_DIR) starts
# with deploy/config/coordinator.json as --config (every key must be a flag it knows) and the token
# table that deploy/install.sh generates, on a loopback port; `lcsweep health` reports SERVING when the
# CLI is built; SIGTERM ends it with exit 0 (what systemd, Docker and Kubernetes rely on). Flags given
# on the command line replace the config's system paths (the command line wins over --config).
# Skipped, saying so, when lcsweep-coordinator is not built (e.g. -DLCSWEEP_BUILD_SERVICE=OFF).
# Usage: check_coordinator_config.sh SOURCE_DIR BUILD_DIR
# shellcheck disable=SC2034  # variables are read inside the check strings that check() evals
set -uo pipefail
src="${1:?usage: check_coordinator_config.sh SOURCE_DIR BUILD_DIR}"
build="${2:?usage: check_coordinator_config.sh SOURCE_DIR BUILD_DIR}"
coordinator="$(find "$build" -maxdepth 3 -type f -perm -u+x -name lcsweep-coordinator | head -1)"
cli="$(find "$build" -maxdepth 3 -type f -perm -u+x -name lcsweep | head -1)"
if [ -z "$coordinator" ]; then
  echo "note: lcsweep-coordinator is not built in $build; nothing to check"
  echo "0 passed, 0 failed"
  exit 0
fi
tmp="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
passed=0; failed=0
check() { if eval "$2"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }

# The token table exactly as install.sh writes it.
bash "$src/deploy/install.sh" --no-cmake --destdir "$tmp/root" > "$tmp/install.out" 2>&1 ||
  { cat "$tmp/install.out"; echo "FAIL install.sh"; exit 1; }
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$coordinator" --config "$src/deploy/config/coordinator.json" --listen "127.0.0.1:$port" --http-listen "" \
  --db "$tmp/coordinator.db" --artifacts "$tmp/artifacts" --tokens-file "$tmp/root/etc/lcsweep/tokens.json" \
  > "$tmp/coordinator.log" 2>&1 &
pid=$!
up=0
for _ in $(seq 100); do
  kill -0 "$pid" 2>/dev/null || break
  if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then up=1; break; fi
  sleep 0.1
done
check "coordinator starts with coordinator.json and the generated tokens" '[ "$up" = 1 ] || { cat "$tmp/coordinator.log"; false; }'
if [ -n "$cli" ] && [ "$up" = 1 ]; then
  check "lcsweep health 127.0.0.1:$port exits 0 (SERVING)" '"$cli" health "127.0.0.1:$port"'
fi
kill -TERM "$pid" 2>/dev/null
rc=124
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || { wait "$pid"; rc=$?; pid=""; break; }; sleep 0.1; done
check "SIGTERM: graceful exit 0 within 15 s (rc $rc)" '[ "$rc" = 0 ] || { cat "$tmp/coordinator.log"; false; }'
check "the database was created in WAL mode" \
  '[ -f "$tmp/coordinator.db" ] && [ "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"pragma journal_mode\").fetchone()[0])" "$tmp/coordinator.db")" = wal ]'

# A config key the coordinator does not know must be refused (the config file is really read).
printf '{"listen": "127.0.0.1:%s", "no-such-flag": 1}\n' "$port" > "$tmp/bad.json"
out="$(timeout 10 "$coordinator" --config "$tmp/bad.json" --db "$tmp/b.db" --artifacts "$tmp/b" 2>&1)"; rc=$?
check "an unknown config key is refused (rc $rc)" '[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "no-such-flag" <<<"$out"'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
