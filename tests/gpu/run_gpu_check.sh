#!/usr/bin/env bash
# Prepared GPU check for lcsweep-train: throughput of one job per model,
# execution and data placement, and the frozen-filter digest. Not run by ctest.
#
# On a machine with PyTorch 2.x + CUDA, from the repository root (one call,
# estimated 6-8 minutes on an H100 including the build, not yet timed on one):
#   bash tests/gpu/run_gpu_check.sh
# Dry run on a CPU with an existing binary (tiny sizes, no build):
#   DEVICE=cpu BIN=build/worker/lcsweep-train PYTHON=/usr/bin/python3 bash tests/gpu/run_gpu_check.sh
#
# Builds lcsweep-train against the LibTorch inside the python package
# (-DLCSWEEP_BUILD_SERVICE=OFF -DLCSWEEP_BUILD_TESTS=OFF; plain g++ when cmake
# is missing or fails) unless BIN is given. Checks that the frozen spatial
# filters built by this LibTorch are bitwise the ones LibTorch 1.13 on the CPU
# builds (SHA-256 printed by `lcsweep-train describe`). Then trains each row
# below for EPOCHS short epochs and prints one table of images/s (last epoch,
# after warm-up; and over all epochs), each row against plain ResNet-20-16 with
# host placement and each device row against its host twin:
#   plain ResNet-20-16 (learned convs); ResNet-LC-20-16 frozen x8 and x128,
#   execution folded and reduced; x8 folded with bf16 autocast + channels-last;
#   each with data.placement "host" (loader threads) and "device" (the set kept
#   on the device, augmented there); last, x8 unfolded (host only, the slow
#   reference). A row that fails (for instance "device" on a binary without
#   data.placement) is reported with its error; the others still run.
# The data (DATA=cifar_files, the default) are stand-in files in the CIFAR-10
# binary layout, so the CIFAR augmentation runs; DATA=synthetic uses the
# built-in synthetic set, which has no augmentation (tests/gpu/common.sh).
#
# Environment (defaults for cuda / for DEVICE=cpu):
#   DEVICE cuda | cuda:N | cpu        BIN lcsweep-train to use (skips the build; required for cpu)
#   TRAIN_IMAGES 40960 / 256          TEST_IMAGES 1024 / 128      EPOCHS 2 / 1
#   BATCH 256 / 64                    LOADER_THREADS 4 / 1        THREADS (LibTorch) - / 1
#   DATA cifar_files | synthetic      ROWS regex over row names (default: all)
#   BUDGET_S 420 / 1200: rows not started by then (seconds since start) are skipped
#   ROW_TIMEOUT_S 90 / 600: one row's limit
#   PYTHON (python3), BUILD_DIR (/tmp/lcsweep-gpu-build), DEPS_PREFIX (extra
#   CMAKE_PREFIX_PATH entries, e.g. from tests/gpu/vendor_headers.sh; ./gpu-deps is used when present).
# Build needs: cmake >= 3.25 (or g++ alone), a C++17 compiler, nlohmann_json, spdlog
# (header-only), the CUDA toolkit that find_package(Torch) asks for. zlib/libjpeg-turbo optional.
# Exit status: 0 when the digest matches and no row failed, 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"
BUILD="${BUILD_DIR:-/tmp/lcsweep-gpu-build}"
WORK="$(mktemp -d /tmp/lcsweep-gpu-check.XXXXXX)"
if [ "$DEVICE" = cpu ]; then
  d_n=256 d_test=128 d_epochs=1 d_batch=64 d_loader=1 d_threads=1 d_budget=1200 d_row=600
else
  d_n=40960 d_test=1024 d_epochs=2 d_batch=256 d_loader=4 d_threads="" d_budget=420 d_row=90
fi
N="${TRAIN_IMAGES:-$d_n}"
TEST_N="${TEST_IMAGES:-$d_test}"
EPOCHS="${EPOCHS:-$d_epochs}"
BATCH="${BATCH:-$d_batch}"
LOADER_THREADS="${LOADER_THREADS:-$d_loader}"
THREADS="${THREADS-$d_threads}"
BUDGET_S="${BUDGET_S:-$d_budget}"
ROW_TIMEOUT_S="${ROW_TIMEOUT_S:-$d_row}"
DATA="${DATA:-cifar_files}"
ROWS="${ROWS:-.}"
# Digest of ResNet-LC-20-16x8's frozen filters (seed 0, kaiming_uniform, 3
# input channels), from `lcsweep-train describe` built with Debian's LibTorch
# 1.13.1 on the CPU (x86-64, gcc 12). Changes only if the filter generator or
# the architecture changes; then regenerate it the same way.
EXPECTED_FILTER_SHA256="4476750f2b7ce56804768ea1752de5aaa59a3246655f7548e0e1a255dcc56aa7"
# shellcheck source=tests/gpu/common.sh
. "$ROOT/tests/gpu/common.sh"

echo "== environment (DEVICE=$DEVICE, DATA=$DATA, $N training images x $EPOCHS epochs, batch $BATCH)"
"$PY" - <<'PYEOF' || true
import platform
print("python", platform.python_version())
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
    if torch.cuda.is_available():
        print("device", torch.cuda.get_device_name(0))
except ImportError:
    print("torch: not importable from this python")
PYEOF

# Without CMake (or when its configure fails), compile lcsweep-train directly:
# it is common/ + worker/{nn,data,train,eval} + train_main.cc against LibTorch.
build_direct() {
  local torch_root inc
  torch_root="$("$PY" -c 'import torch,os; print(os.path.dirname(torch.__file__))')"
  inc="${DEPS_PREFIX:-/usr}/include"
  local objdir="$BUILD/direct"; mkdir -p "$objdir"
  local flags=(-O2 -std=c++17 -fPIC -D_GLIBCXX_USE_CXX11_ABI="$ABI" -DSPDLOG_HEADER_ONLY
               -DSPDLOG_FMT_EXTERNAL -DFMT_HEADER_ONLY -DLCSWEEP_GIT_COMMIT=\"gpu-check\"
               -DLCSWEEP_VERSION=\"0.1.0\" -I"$ROOT" -isystem "$inc"
               -isystem "$torch_root/include" -isystem "$torch_root/include/torch/csrc/api/include")
  if [ -f /usr/include/zlib.h ]; then flags+=(-DLCSWEEP_HAVE_ZLIB=1); LIBZ=(-lz); else LIBZ=(); fi
  local srcs=(common/*.cc worker/nn/*.cc worker/data/*.cc worker/train/*.cc worker/eval/*.cc worker/train_main.cc)
  # shellcheck disable=SC2016  # $(...) expands in the inner sh, per file
  (cd "$ROOT" && printf '%s\n' "${srcs[@]}" | xargs -P "$(nproc)" -I{} sh -c \
    'g++ '"$(printf '%q ' "${flags[@]}")"' -c {} -o '"$objdir"'/$(echo {} | tr / _).o')
  mkdir -p "$BUILD/worker"
  g++ -o "$BUILD/worker/lcsweep-train" "$objdir"/*.o -L"$torch_root/lib" -Wl,-rpath,"$torch_root/lib" \
    -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed -ltorch -ltorch_cpu -lc10 \
    "${LIBZ[@]}" -lpthread
}

if [ -n "${BIN:-}" ]; then
  [ -x "$BIN" ] || { echo "BIN=$BIN is not an executable lcsweep-train"; exit 2; }
  echo "== using $BIN (no build)"
elif [ "$DEVICE" = cpu ]; then
  echo "DEVICE=cpu is a dry run of an existing binary: set BIN=path/to/lcsweep-train"; exit 2
else
  TORCH_PREFIX="$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
  ABI="$("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')"
  GEN=()
  command -v ninja >/dev/null && GEN=(-G Ninja)
  # Header-only deps vendored by tests/gpu/vendor_headers.sh, when present.
  if [ -z "${DEPS_PREFIX:-}" ] && [ -d "$ROOT/gpu-deps" ]; then DEPS_PREFIX="$ROOT/gpu-deps"; fi
  echo "== build lcsweep-train against $TORCH_PREFIX (CXX11 ABI=$ABI)"
  # The whole project must use LibTorch's C++ ABI (older pip wheels use the old one).
  if command -v cmake >/dev/null && cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$TORCH_PREFIX${DEPS_PREFIX:+;$DEPS_PREFIX}" \
    -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$ABI" \
    -DLCSWEEP_BUILD_SERVICE=OFF -DLCSWEEP_BUILD_TESTS=OFF -DLCSWEEP_BUILD_BENCH=OFF \
    -DLCSWEEP_WERROR=OFF; then
    cmake --build "$BUILD" --target lcsweep-train -j"$(nproc)"
  else
    echo "(no usable cmake: compiling directly with g++)"
    build_direct
  fi
  BIN="$BUILD/worker/lcsweep-train"
  echo "== built in ${SECONDS}s"
fi

echo "== frozen filters: this LibTorch vs LibTorch 1.13.1 (CPU)"
# Its own synthetic job without data.placement: the digest depends on the model only.
cat > "$WORK/digest.json" <<'JSON'
{"seed": 0, "data": {"name": "synthetic"},
 "model": {"arch": "resnet_cifar", "depth": 20, "width": 16, "kernel_size": 3,
           "conv": {"mode": "lc", "lc_rate": 8, "spatial": "frozen", "execution": "folded"}},
 "resources": {"device": "cpu"}}
JSON
FILTERS_BAD=""
GOT="$("$BIN" describe "$WORK/digest.json" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["spatial_filters_sha256"])')" || GOT="(describe failed)"
echo "digest here:     $GOT"
echo "digest expected: $EXPECTED_FILTER_SHA256"
if [ "$GOT" = "$EXPECTED_FILTER_SHA256" ]; then echo "frozen filters: IDENTICAL"; else echo "frozen filters: DIFFERENT"; FILTERS_BAD=1; fi

gpu_fake_cifar
gpu_probe_placement

# name | conv | train extra | placement. Ordered by importance: when BUDGET_S
# runs out, the rows left are skipped from the end.
LC='"mode": "lc", "spatial": "frozen"'
AMP=', "amp": true, "channels_last": true'
cat > "$WORK/rows.txt" <<ROWS
plain|{"mode": "learned"}||host
plain|{"mode": "learned"}||device
lc8_folded|{$LC, "lc_rate": 8, "execution": "folded"}||host
lc8_folded|{$LC, "lc_rate": 8, "execution": "folded"}||device
lc8_reduced|{$LC, "lc_rate": 8, "execution": "reduced"}||host
lc8_reduced|{$LC, "lc_rate": 8, "execution": "reduced"}||device
lc128_folded|{$LC, "lc_rate": 128, "execution": "folded"}||host
lc128_folded|{$LC, "lc_rate": 128, "execution": "folded"}||device
lc128_reduced|{$LC, "lc_rate": 128, "execution": "reduced"}||host
lc128_reduced|{$LC, "lc_rate": 128, "execution": "reduced"}||device
lc8_folded_bf16_cl|{$LC, "lc_rate": 8, "execution": "folded"}|$AMP|host
lc8_folded_bf16_cl|{$LC, "lc_rate": 8, "execution": "folded"}|$AMP|device
lc8_unfolded|{$LC, "lc_rate": 8, "execution": "unfolded"}||host
ROWS

echo "== training ($EPOCHS epoch(s) x $N images per row; budget ${BUDGET_S}s since start, ${ROW_TIMEOUT_S}s per row)"
threads_arg=()
[ -n "$THREADS" ] && threads_arg=(--threads "$THREADS")
: > "$WORK/status.tsv"
while IFS='|' read -r name conv extra placement; do
  row="${name}_$placement"
  [[ "$row" =~ $ROWS ]] || continue
  if [ "$SECONDS" -ge "$BUDGET_S" ]; then
    printf '%s\t%s\t%s\t%s\n' "$name" "$placement" skipped "time budget of ${BUDGET_S}s spent" >> "$WORK/status.tsv"
    continue
  fi
  if [ "$DEVICE" = cpu ] && [ -n "$extra" ]; then
    printf '%s\t%s\t%s\t%s\n' "$name" "$placement" skipped "bf16/channels-last are CUDA only" >> "$WORK/status.tsv"
    continue
  fi
  gpu_job "$WORK/$row.json" 0 "$conv" "$extra" "$(gpu_placement_field "$placement")"
  t=$SECONDS
  rc=0
  gpu_timeout "$ROW_TIMEOUT_S" "$BIN" run "$WORK/$row.json" --device "$DEVICE" "${threads_arg[@]}" --no-eval \
    --out "$WORK/$row.result.json" > "$WORK/$row.log" 2>&1 < /dev/null || rc=$?
  if [ "$rc" = 0 ]; then
    status=ok why="$((SECONDS - t))"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    status=failed why="timed out after ${ROW_TIMEOUT_S}s"
  else
    status=failed why="$(gpu_last_error "$WORK/$row.log")"
  fi
  if [ "$status" = ok ]; then echo "-- $row: ok in ${why}s"; else echo "-- $row: failed: $why"; fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$placement" "$status" "$why" >> "$WORK/status.tsv"
done < "$WORK/rows.txt"

table_rc=0
"$PY" - "$WORK" "$DEVICE" <<'PYEOF' || table_rc=$?
import json, os, sys
work, device = sys.argv[1], sys.argv[2]
rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(work, "status.tsv"))]

def result(name, placement):
    p = os.path.join(work, f"{name}_{placement}.result.json")
    return json.load(open(p)) if os.path.exists(p) else None

def rate(r):
    return r["history"][-1]["images_per_second"] if r else None

def used_placement(r):
    # Where the trainer reports what data.placement resolved to, if it does.
    for key in ("data_placement", "placement"):
        if key in r.get("device", {}):
            return r["device"][key]
    return r["job"].get("data", {}).get("placement", "loader threads: no such field")

base = rate(result("plain", "host"))
print(f"\n## images/s of one job on {device}: ResNet-20-16, last epoch (all epochs)\n")
print("| model | placement (used) | precision | images/s | images/s all | test acc | wall s | vs plain host | device vs host |")
print("|---|---|---|---|---|---|---|---|---|")
failed = 0
for name, placement, status, why in rows:
    r = result(name, placement) if status == "ok" else None
    if r is None:
        failed += status == "failed"
        print(f"| {name} | {placement} | - | {status}: {why} | | | | | |")
        continue
    d = r["device"]
    prec = ("bf16" if d["amp"] != "off" else "fp32") + (" cl" if d["channels_last"] else "")
    last = rate(r)
    vs_base = f"{last / base:.2f}x" if base else "-"
    twin = rate(result(name, "host")) if placement == "device" else None
    vs_host = f"{last / twin:.2f}x" if twin else "-"
    print(f"| {name} | {placement} ({used_placement(r)}) | {prec} | {last:.0f} | "
          f"{r['throughput']['train_images_per_second']:.0f} | {r['final']['test_accuracy']:.3f} | "
          f"{why} | {vs_base} | {vs_host} |")
print(f"\n{failed} row(s) failed" if failed else "\nall rows ran")
sys.exit(1 if failed else 0)
PYEOF
echo "job files, logs and results in $WORK (total ${SECONDS}s)"
[ -z "$FILTERS_BAD" ] && [ "$table_rc" = 0 ]
