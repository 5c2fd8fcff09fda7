#!/usr/bin/env bash
# The runtime package list (deploy/runtime-deps.sh, used by the Docker runtime stage) against reality:
# every package exists and is installed here (install-deps.sh's -dev packages pull them in), and every
# shared library that the built lcsweep binaries load (ldd) belongs to a listed package or one of its
# dependencies, so the slim image will not miss a library. Binaries not built in BUILD_DIR are skipped
# (named in the output); with none built only the first part runs.
# Usage: check_runtime_deps.sh SOURCE_DIR BUILD_DIR
# shellcheck disable=SC2034  # variables are read inside the check strings that check() evals
set -uo pipefail
src="${1:?usage: check_runtime_deps.sh SOURCE_DIR BUILD_DIR}"
build="${2:?usage: check_runtime_deps.sh SOURCE_DIR BUILD_DIR}"
passed=0; failed=0
check() { if eval "$2"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }

mapfile -t pkgs < <(bash "$src/deploy/runtime-deps.sh" --print)
check "runtime list is not empty (${#pkgs[@]} packages)" '[ "${#pkgs[@]}" -ge 8 ]'
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
check "every runtime package is installed on this build host (missing: ${missing[*]:-none})" '[ "${#missing[@]}" = 0 ]'

mapfile -t bins < <(find "$build" -maxdepth 3 -type f -perm -u+x \
  \( -name lcsweep -o -name lcsweep-coordinator -o -name lcsweep-worker -o -name lcsweep-train \) | sort)
if [ "${#bins[@]}" = 0 ]; then
  echo "note: no lcsweep binaries built in $build; the ldd part is skipped"
else
  # Everything the listed packages bring along (their dependency closure), plus the toolchain runtime.
  closure="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
             --no-replaces --no-enhances "${pkgs[@]}" 2>/dev/null | grep -v '^ ' | sed 's/:.*//' | sort -u)"
  for b in "${bins[@]}"; do
    mapfile -t libs < <(ldd "$b" | awk '/=> \// { print $3 }')
    unknown=()
    for lib in "${libs[@]}"; do
      pkg="$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null)"
      pkg="${pkg%%:*}"
      if [ -z "$pkg" ]; then unknown+=("$lib(no package)"); continue; fi
      grep -qx "$pkg" <<<"$closure" || unknown+=("$lib($pkg)")
    done
    check "$(basename "$b"): all ${#libs[@]} libraries come from runtime-deps.sh (not covered: ${unknown[*]:-none})" \
      '[ "${#unknown[@]}" = 0 ]'
    check "$(basename "$b"): ldd finds every library" '! ldd "$b" | grep -q "not found"'
  done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
