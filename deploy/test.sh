#!/usr/bin/env bash
# Installs what lcsweep needs, builds everything (Release, tests and benchmarks
# included) in ./build, and runs the whole test suite with ctest.
# Usage: deploy/test.sh [extra ctest args...]   e.g. deploy/test.sh -R nn_
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
# Paths relative to the checkout let ccache reuse objects across clones
# (CI builds a fresh clone each time).
export CCACHE_BASEDIR="$PWD"
jobs="$(nproc)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
# The lock annotations (common/thread_annotations.h), checked by clang.
bash deploy/check-thread-safety.sh build
# Tests share 2 cores with LibTorch's own threads; run them one at a time so
# lease/heartbeat timings in the integration tests are not starved.
ctest --test-dir build --output-on-failure --timeout 900 "$@"
