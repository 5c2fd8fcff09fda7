#!/usr/bin/env bash
# Prepared GPU check for lcsweep-train (issue 4). Not run by ctest.
#
# On a machine with PyTorch 2.x + CUDA, from the repository root:
#   bash tests/gpu/run_gpu_check.sh
# It builds lcsweep-train against the LibTorch inside the python package
# (-DLCSWEEP_BUILD_SERVICE=OFF -DLCSWEEP_BUILD_TESTS=OFF), then on synthetic
# CIFAR-sized data (no files needed) trains for 2 short epochs each:
#   plain ResNet-20-16 (learned convs), ResNet-LC-20-16x8 frozen folded,
#   the same unfolded, and folded with bf16 autocast + channels-last;
# and prints images/s per model (last epoch, after warm-up). It also checks
# that the frozen spatial filters built by this LibTorch are bitwise the ones
# LibTorch 1.13 on the CPU builds (SHA-256 printed by `lcsweep-train describe`).
#
# Environment: PYTHON (default python3), BUILD_DIR (default /tmp/lcsweep-gpu-build),
# DEPS_PREFIX (extra CMAKE_PREFIX_PATH entries, e.g. where nlohmann_json and
# spdlog are installed if the system lacks them), TRAIN_IMAGES (default 10240).
# Needs: cmake >= 3.25, a C++17 compiler, nlohmann_json, spdlog (header-only),
# the CUDA toolkit that find_package(Torch) asks for. zlib/libjpeg-turbo are optional.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-python3}"
BUILD="${BUILD_DIR:-/tmp/lcsweep-gpu-build}"
WORK="$(mktemp -d /tmp/lcsweep-gpu-check.XXXXXX)"
N="${TRAIN_IMAGES:-10240}"
# Digest of ResNet-LC-20-16x8's frozen filters (seed 0, kaiming_uniform, 3
# input channels), from `lcsweep-train describe` built with Debian's LibTorch
# 1.13.1 on the CPU (x86-64, gcc 12). Changes only if the filter generator or
# the architecture changes; then regenerate it the same way.
EXPECTED_FILTER_SHA256="4476750f2b7ce56804768ea1752de5aaa59a3246655f7548e0e1a255dcc56aa7"

echo "== environment"
"$PY" - <<'PYEOF'
import torch, platform
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0))
print("python", platform.python_version())
PYEOF
TORCH_PREFIX="$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
ABI="$("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)

# Header-only deps vendored by tests/gpu/vendor_headers.sh, when present.
if [ -z "${DEPS_PREFIX:-}" ] && [ -d "$ROOT/gpu-deps" ]; then DEPS_PREFIX="$ROOT/gpu-deps"; fi

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

job() {  # job NAME CONV_JSON TRAIN_EXTRA_JSON
  cat > "$WORK/$1.json" <<JSON
{"seed": 0,
 "data": {"name": "synthetic", "loader_threads": 4,
          "synthetic": {"train_size": $N, "test_size": 1024, "image_size": 32, "channels": 3, "classes": 10}},
 "model": {"arch": "resnet_cifar", "depth": 20, "width": 16, "kernel_size": 3, "conv": $2},
 "train": {"epochs": 2, "batch_size": 256, "log_every_steps": 10 $3},
 "eval": {"fgsm_eps": [], "corruptions": [], "filter_stats": false, "robustness_limit": 256},
 "resources": {"device": "cuda"},
 "checkpoint": {"every_epochs": 0}}
JSON
}
job plain    '{"mode": "learned"}' ''
job folded   '{"mode": "lc", "lc_rate": 8, "spatial": "frozen", "execution": "folded"}' ''
job unfolded '{"mode": "lc", "lc_rate": 8, "spatial": "frozen", "execution": "unfolded"}' ''
job folded_amp_cl '{"mode": "lc", "lc_rate": 8, "spatial": "frozen", "execution": "folded"}' ', "amp": true, "channels_last": true'

echo "== frozen filters: LibTorch $("$PY" -c 'import torch;print(torch.__version__)') vs LibTorch 1.13.1 (CPU)"
"$BIN" describe "$WORK/folded.json" > "$WORK/describe.json"
GOT="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["spatial_filters_sha256"])' "$WORK/describe.json")"
echo "digest here:     $GOT"
echo "digest expected: $EXPECTED_FILTER_SHA256"
if [ "$GOT" = "$EXPECTED_FILTER_SHA256" ]; then echo "frozen filters: IDENTICAL"; else echo "frozen filters: DIFFERENT"; FILTERS_BAD=1; fi

echo "== training (2 epochs x $N synthetic images each)"
for m in plain folded unfolded folded_amp_cl; do
  echo "-- $m"
  "$BIN" run "$WORK/$m.json" --device cuda --out "$WORK/$m.result.json" 2>&1 | grep -E "^epoch|^done|failed" || true
done

"$PY" - "$WORK" <<'PYEOF'
import json, os, sys
work = sys.argv[1]
print("\n| model | device | images/s (epoch 2) | images/s (all) | test acc | vs plain |")
print("|---|---|---|---|---|---|")
base = None
for m in ["plain", "folded", "unfolded", "folded_amp_cl"]:
    p = os.path.join(work, m + ".result.json")
    if not os.path.exists(p):
        print(f"| {m} | - | failed | - | - | - |"); continue
    r = json.load(open(p))
    last = r["history"][-1]["images_per_second"]
    base = base or last
    print(f"| {m} | {r['device']['type']} amp={r['device']['amp']} cl={r['device']['channels_last']} | "
          f"{last:.0f} | {r['throughput']['train_images_per_second']:.0f} | "
          f"{r['final']['test_accuracy']:.3f} | {last / base:.2f} |")
PYEOF
echo "results in $WORK"
[ -z "${FILTERS_BAD:-}" ]
