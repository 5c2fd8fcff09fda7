#!/usr/bin/env bash
# Syntax of every shell script in deploy/ and tests/deploy/: `bash -n`, plus shellcheck (warnings and
# errors; install-deps.sh installs it) when it is on PATH. The Slurm batch script is a bash script.
# Usage: check_scripts.sh SOURCE_DIR
set -uo pipefail
src="${1:?usage: check_scripts.sh SOURCE_DIR}"
mapfile -t scripts < <(cd "$src" && find deploy tests/deploy -type f \( -name '*.sh' -o -name '*.sbatch' \) -not -path '*/node_modules/*' | sort)
[ "${#scripts[@]}" -ge 6 ] || { echo "FAIL: found only ${#scripts[@]} scripts: ${scripts[*]}"; exit 1; }
have_shellcheck=0; command -v shellcheck >/dev/null && have_shellcheck=1
passed=0; failed=0
for s in "${scripts[@]}"; do
  if ! out="$(bash -n "$src/$s" 2>&1)"; then
    echo "FAIL bash -n $s"; echo "$out"; failed=$((failed + 1)); continue
  fi
  if [ "$have_shellcheck" = 1 ] && ! out="$(shellcheck --shell=bash --severity=warning "$src/$s" 2>&1)"; then
    echo "FAIL shellcheck $s"; echo "$out"; failed=$((failed + 1)); continue
  fi
  head -1 "$src/$s" | grep -q '^#!/usr/bin/env bash\|^#!/bin/bash' || { echo "FAIL $s: no bash shebang"; failed=$((failed + 1)); continue; }
  [ -x "$src/$s" ] || { echo "FAIL $s: not executable (git update-index --chmod=+x)"; failed=$((failed + 1)); continue; }
  echo "ok   $s"; passed=$((passed + 1))
done
[ "$have_shellcheck" = 1 ] || echo "note: shellcheck not found, only bash -n was run"
# Self-check: a script with a syntax error must be caught.
tmp="$(mktemp)"; trap 'rm -f "$tmp"' EXIT
printf 'if true; then\n  echo x\n' > "$tmp"
if bash -n "$tmp" 2>/dev/null; then echo "FAIL self-check: bash -n accepted a broken script"; failed=$((failed + 1)); else passed=$((passed + 1)); fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
