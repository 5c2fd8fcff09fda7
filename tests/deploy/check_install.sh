#!/usr/bin/env bash
# The install path without touching the host: cmake --install of the "deploy" component (units
# rewritten to the prefix), deploy/install.sh --dry-run (prints the plan, changes nothing), a real
# install.sh run into a temp DESTDIR (user created by systemd-sysusers --root, units, config with fresh
# tokens), and a second run that must keep every edited config file.
# Usage: check_install.sh SOURCE_DIR BUILD_DIR
# shellcheck disable=SC2034  # variables are read inside the check strings that check() evals
set -uo pipefail
src="${1:?usage: check_install.sh SOURCE_DIR BUILD_DIR}"
build="${2:?usage: check_install.sh SOURCE_DIR BUILD_DIR}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
check() { if eval "$2"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }

# 1. cmake --install --component deploy with another prefix.
a="$tmp/a"; share="$a/opt/lcs/share/lcsweep"
DESTDIR="$a" cmake --install "$build" --component deploy --prefix /opt/lcs > "$tmp/cmake.out" 2>&1; rc=$?
check "cmake --install --component deploy succeeds (rc $rc)" '[ "$rc" = 0 ] || { cat "$tmp/cmake.out"; false; }'
check "installed units name the prefix's binaries" \
  'grep -q "^ExecStart=/opt/lcs/bin/lcsweep-coordinator " "$share/systemd/lcsweep-coordinator.service" &&
   grep -q "^ExecStart=/opt/lcs/bin/lcsweep-worker " "$share/systemd/lcsweep-worker@.service" &&
   ! grep -hv "^#" "$share/systemd/"*.service | grep -q /usr/local/bin/'
check "installed units keep their \${VAR} references" 'grep -q "\${LCSWEEP_DRAIN_TIMEOUT}" "$share/systemd/lcsweep-worker@.service"'
check "example config, Docker, Slurm, k8s files and scripts installed" \
  '[ -f "$share/config/worker.env" ] && [ -f "$share/config/tokens.example.json" ] && [ -f "$share/docker/compose.yaml" ] &&
   [ -f "$share/k8s/kustomization.yaml" ] && [ -x "$share/slurm/lcsweep-worker.sbatch" ] && [ -x "$share/install.sh" ] &&
   [ -x "$share/runtime-deps.sh" ] && [ -f "$share/systemd/lcsweep.sysusers" ]'
check "deployment guide installed" '[ -f "$a/opt/lcs/share/doc/lcsweep/deployment.md" ]'

# 2. --dry-run into a DESTDIR: a plan, and nothing created.
b="$tmp/b"; mkdir -p "$b"
out="$(bash "$src/deploy/install.sh" --dry-run --build "$build" --destdir "$b" --component deploy 2>&1)"; rc=$?
check "install.sh --dry-run exits 0 (rc $rc)" '[ "$rc" = 0 ] || { echo "$out"; false; }'
check "dry run prints the cmake, sysusers, unit and config steps" \
  'grep -q "cmake --install" <<<"$out" && grep -q "systemd-sysusers --root=$b" <<<"$out" &&
   grep -q "etc/systemd/system/lcsweep-worker@.service" <<<"$out" && grep -q "etc/lcsweep/worker.env" <<<"$out"'
check "dry run created nothing" '[ -z "$(find "$b" -mindepth 1 | head -1)" ]'

# 3. A real run into a DESTDIR.
c="$tmp/c"
out="$(bash "$src/deploy/install.sh" --build "$build" --destdir "$c" --prefix /opt/lcs --component deploy 2>&1)"; rc=$?
check "install.sh into DESTDIR exits 0 (rc $rc)" '[ "$rc" = 0 ] || { echo "$out"; false; }'
check "user lcsweep created in DESTDIR/etc/passwd, not on the host" \
  'grep -q "^lcsweep:" "$c/etc/passwd" && grep -q "^lcsweep:" "$c/etc/group" && [ -f "$c/etc/sysusers.d/lcsweep.conf" ]'
check "units installed with ExecStart under the prefix" \
  'grep -q "^ExecStart=/opt/lcs/bin/lcsweep-worker " "$c/etc/systemd/system/lcsweep-worker@.service" &&
   grep -q "^ExecStart=/opt/lcs/bin/lcsweep-coordinator " "$c/etc/systemd/system/lcsweep-coordinator.service"'
gid="$(awk -F: '$1 == "lcsweep" { print $3 }' "$c/etc/group")"
check "config files 0640, group lcsweep (gid $gid), directory 0750, tokens.json 0600" \
  '[ "$(stat -c %a "$c/etc/lcsweep")" = 750 ] && for f in coordinator.env worker.env coordinator.json; do
     [ "$(stat -c %a:%g "$c/etc/lcsweep/$f")" = "640:$gid" ] || exit 1; done &&
   [ "$(stat -c %a "$c/etc/lcsweep/tokens.json")" = 600 ]'
check "fresh tokens: valid JSON with admin/client/worker, the worker one in worker.env" \
  'python3 - "$c/etc/lcsweep" <<PY
import json, sys, re
d = sys.argv[1]
import hashlib
digests = {e["sha256"]: e["role"] for e in json.load(open(d + "/tokens.json"))["tokens"]}
assert sorted(digests.values()) == ["admin", "client", "worker"], digests
shown = dict(line.split() for line in open(d + "/initial-tokens.txt"))
assert all(len(t) == 48 for t in shown.values()), shown
assert {hashlib.sha256(t.encode()).hexdigest(): r for r, t in shown.items()} == digests, (shown, digests)
assert not any(t in open(d + "/tokens.json").read() for t in shown.values()), "tokens.json holds digests only"
worker = shown["worker"]
env = open(d + "/worker.env").read()
assert re.search("^LCSWEEP_TOKEN=" + worker + "$", env, re.M), env
PY'
check "coordinator.json is valid JSON" 'python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$c/etc/lcsweep/coordinator.json"'

# 4. A second run keeps edited configuration and tokens.
echo "LCSWEEP_SLOTS=4  # edited" >> "$c/etc/lcsweep/worker.env"
before="$(md5sum "$c/etc/lcsweep/"* | sort)"
out="$(bash "$src/deploy/install.sh" --build "$build" --destdir "$c" --prefix /opt/lcs --component deploy 2>&1)"; rc=$?
check "second run exits 0 and keeps every config file" \
  '[ "$rc" = 0 ] && [ "$(md5sum "$c/etc/lcsweep/"* | sort)" = "$before" ] && grep -q "keep existing .*worker.env" <<<"$out"'

# 5. The installed copy of the script works from share/lcsweep; bad options are refused.
out="$(bash "$share/install.sh" --no-cmake --dry-run --destdir "$tmp/d" 2>&1)"; rc=$?
check "installed share/lcsweep/install.sh runs (rc $rc)" '[ "$rc" = 0 ] && [ ! -e "$tmp/d/etc" ]'
out="$(bash "$src/deploy/install.sh" --frobnicate 2>&1)"; rc=$?
check "unknown option refused with exit 2" '[ "$rc" = 2 ] && grep -q frobnicate <<<"$out"'
out="$(bash "$src/deploy/install.sh" --build "$tmp/nonexistent" --destdir "$tmp/e" 2>&1)"; rc=$?
check "a missing build tree is refused with a clear message" '[ "$rc" = 2 ] && grep -q "not a configured build tree" <<<"$out"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
