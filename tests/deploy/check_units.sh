#!/usr/bin/env bash
# `systemd-analyze verify` on the shipped unit files, the template's instances included
# (lcsweep-worker@cpu, lcsweep-worker@cuda:0, and the escaped device list cuda:0\x2ccuda:1).
#
# verify checks that every ExecStart binary exists and is executable, and the lcsweep binaries are not
# installed on a build or CI machine. So the units are verified as copies in a temp dir whose only
# change is the binary directory (/usr/local/bin/ -> TMP/bin/, the same rewrite install.sh does for
# --prefix), with stub executables there. Every other line is verified exactly as shipped.
# verify exits 0 on some problems (an unparsable value is "ignored" with a warning), so any message
# that names one of our units counts as a failure too. A self-check at the end breaks a copy two ways
# and requires both to be reported, so this test can fail.
# Usage: check_units.sh SOURCE_DIR
set -uo pipefail
src="${1:?usage: check_units.sh SOURCE_DIR}"
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze not found (install-deps.sh installs systemd)"; exit 1; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/units"
for b in lcsweep-coordinator lcsweep-worker; do printf '#!/bin/sh\nexit 0\n' > "$tmp/bin/$b"; chmod +x "$tmp/bin/$b"; done
for u in lcsweep-coordinator.service lcsweep-worker@.service; do
  sed "s#/usr/local/bin/#$tmp/bin/#g" "$src/deploy/systemd/$u" > "$tmp/units/$u"
  grep -q "$tmp/bin/" "$tmp/units/$u" || { echo "FAIL: $u has no ExecStart under /usr/local/bin/"; exit 1; }
done

# verify ARG: returns 0 when systemd-analyze accepts ARG without a message about our units.
verify() {
  local out rc
  out="$(cd "$tmp/units" && systemd-analyze verify "$1" 2>&1)"; rc=$?
  if [ "$rc" -ne 0 ] || grep -q 'lcsweep\|b@' <<<"$out"; then
    printf '%s\n' "$out" | sed 's/^/    /'
    return 1
  fi
  return 0
}

passed=0; failed=0
expect() {  # expect ok|fail LABEL ARG
  local want="$1" label="$2" arg="$3" got
  if verify "$arg"; then got=ok; else got=fail; fi
  if [ "$got" = "$want" ]; then echo "ok   $label"; passed=$((passed + 1)); else echo "FAIL $label (expected $want, got $got)"; failed=$((failed + 1)); fi
}
u="$tmp/units"
expect ok "verify lcsweep-coordinator.service" "$u/lcsweep-coordinator.service"
expect ok "verify lcsweep-worker@.service (template)" "$u/lcsweep-worker@.service"
# The instance name holds a ':' and verify reads PATH:NAME as "this file under that name", which is
# also how an instance of a template file is verified.
expect ok "verify lcsweep-worker@cpu.service" "$u/lcsweep-worker@.service:lcsweep-worker@cpu.service"
expect ok "verify lcsweep-worker@cuda:0.service" "$u/lcsweep-worker@.service:lcsweep-worker@cuda:0.service"
expect ok "verify lcsweep-worker@cuda:0\\x2ccuda:1.service" "$u/lcsweep-worker@.service:lcsweep-worker@$(systemd-escape 'cuda:0,cuda:1').service"

# Self-check: a missing binary and an unparsable directive must both be reported.
sed "s#$tmp/bin/lcsweep-worker#$tmp/bin/missing-binary#" "$u/lcsweep-worker@.service" > "$u/b@.service"
expect fail "self-check: missing ExecStart binary is reported" "$u/b@.service:b@cuda:0.service"
sed 's/^KillMode=mixed/KillMode=drain-please/' "$u/lcsweep-worker@.service" > "$u/b@.service"
expect fail "self-check: unparsable KillMode is reported" "$u/b@.service:b@cpu.service"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
