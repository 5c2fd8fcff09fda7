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
  # Everything the listed packages bring along (their dependency closure), then one dpkg -S call for
  # all libraries of all binaries (dpkg -S is slow per call).
  out="$(python3 - "${#pkgs[@]}" "${pkgs[@]}" "${bins[@]}" <<'PY'
import os, subprocess, sys
n = int(sys.argv[1]); pkgs = sys.argv[2:2 + n]; bins = sys.argv[2 + n:]
closure = set()
dep = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                      "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + pkgs,
                     capture_output=True, text=True).stdout
closure = {l.split(":")[0] for l in dep.splitlines() if l and not l.startswith(" ")}
libs = {}
for b in bins:
    ldd = subprocess.run(["ldd", b], capture_output=True, text=True).stdout
    libs[b] = [l.split("=>")[1].split()[0] for l in ldd.splitlines() if "=> /" in l]
    if "not found" in ldd:
        print(f"FAIL {os.path.basename(b)}: ldd cannot find {[l.split()[0] for l in ldd.splitlines() if 'not found' in l]}")
paths = set()
for ls in libs.values():
    for l in ls:
        r = os.path.realpath(l)
        paths |= {l, r, "/usr" + l if not l.startswith("/usr/") else l}
owner = {}
res = subprocess.run(["dpkg", "-S"] + sorted(paths), capture_output=True, text=True).stdout
for line in res.splitlines():
    pkg, _, path = line.partition(": ")
    for p in path.split(", "):
        owner[p.strip()] = pkg.split(":")[0].split(",")[0].strip()
for b, ls in libs.items():
    bad = []
    for l in ls:
        r = os.path.realpath(l)
        pkg = owner.get(l) or owner.get(r) or owner.get("/usr" + l)
        if pkg is None:
            bad.append(f"{l}(no package)")
        elif pkg not in closure:
            bad.append(f"{l}({pkg})")
    status = "ok  " if not bad else "FAIL"
    print(f"{status} {os.path.basename(b)}: all {len(ls)} libraries come from runtime-deps.sh"
          f" (not covered: {' '.join(bad) or 'none'})")
PY
)"
  echo "$out"
  passed=$((passed + $(grep -c '^ok' <<<"$out")))
  failed=$((failed + $(grep -c '^FAIL' <<<"$out")))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
