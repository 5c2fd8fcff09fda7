#!/usr/bin/env bash
# Runs clang's thread-safety analysis (-Wthread-safety -Werror, syntax only:
# no objects) over every source that uses the annotated lcsweep::Mutex
# (common/mutex.h), so a member read without its LCSWEEP_GUARDED_BY mutex or
# a LCSWEEP_REQUIRES helper called without it fails the test command.
# Usage: deploy/check-thread-safety.sh [BUILD_DIR]   (after a build: it needs
# the generated protobuf headers in BUILD_DIR/proto/gen)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
clang="$(command -v clang++ || command -v clang++-14 || true)"
if [[ -z "$clang" ]]; then
  echo "check-thread-safety: clang++ not found (deploy/install-deps.sh installs clang)" >&2
  exit 1
fi
mapfile -t headers < <(grep -rl --include='*.h' 'common/mutex.h' common server worker cli analysis 2>/dev/null || true)
pattern='common/mutex.h'
for h in "${headers[@]}"; do pattern+="|${h}"; done
mapfile -t sources < <(grep -rlE --include='*.cc' "#include \"(${pattern})\"" common server worker cli analysis 2>/dev/null | sort -u)
failed=0
for src in "${sources[@]}"; do
  if ! "$clang" -fsyntax-only -std=gnu++17 -Wthread-safety -Werror -I. -isystem "$build/proto/gen" \
      -DFMT_SHARED -DSPDLOG_FMT_EXTERNAL "$src"; then
    failed=1
  fi
done
echo "check-thread-safety: ${#sources[@]} sources analysed"
exit "$failed"
