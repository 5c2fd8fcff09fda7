#!/usr/bin/env bash
# Prepared GPU check for packing (issue 18). Not run by ctest; not yet run on a GPU.
#
# After tests/gpu/run_gpu_check.sh has built lcsweep-train (BUILD_DIR, default
# /tmp/lcsweep-gpu-build), from the repository root:
#   bash tests/gpu/run_packing_check.sh
# Prints, for plain ResNet-20-16 on synthetic CIFAR-sized data:
#   - the memory estimate of `lcsweep-train describe` (training_memory_bytes);
#   - aggregate images/s of K = 1, 2, 4, 8 jobs trained at once on one GPU, as
#     K separate lcsweep-train processes (the GPU box has no gRPC/SQLite, so
#     this measures what packing can give, not lcsweep-worker --pack itself,
#     which runs packed jobs as threads of one worker);
#   - each job's images/s and the ratio to one job (goal: aggregate >= 4x).
# Environment: BIN (lcsweep-train; default $BUILD_DIR/worker/lcsweep-train),
# DEVICE (default cuda; "cpu" dry-runs the script), TRAIN_IMAGES (default 20480),
# PACKS (default "1 2 4 8"), EPOCHS (default 2; the last epoch is measured).
set -euo pipefail

BUILD="${BUILD_DIR:-/tmp/lcsweep-gpu-build}"
BIN="${BIN:-$BUILD/worker/lcsweep-train}"
DEVICE="${DEVICE:-cuda}"
N="${TRAIN_IMAGES:-20480}"
PACKS="${PACKS:-1 2 4 8}"
EPOCHS="${EPOCHS:-2}"
PY="${PYTHON:-python3}"
WORK="$(mktemp -d /tmp/lcsweep-packing-check.XXXXXX)"
[ -x "$BIN" ] || { echo "no lcsweep-train at $BIN: run tests/gpu/run_gpu_check.sh first (or set BIN)"; exit 2; }

job() {  # job FILE SEED
  cat > "$1" <<JSON
{"seed": $2,
 "data": {"name": "synthetic", "loader_threads": 2,
          "synthetic": {"train_size": $N, "test_size": 512, "image_size": 32, "channels": 3, "classes": 10}},
 "model": {"arch": "resnet_cifar", "depth": 20, "width": 16, "kernel_size": 3, "conv": {"mode": "learned"}},
 "train": {"epochs": $EPOCHS, "batch_size": 256, "log_every_steps": 50},
 "eval": {"fgsm_eps": [], "corruptions": [], "filter_stats": false, "robustness_limit": 256},
 "resources": {"device": "$DEVICE"},
 "checkpoint": {"every_epochs": 0}}
JSON
}

job "$WORK/describe.json" 0
"$BIN" describe "$WORK/describe.json" > "$WORK/describe.out.json"
"$PY" - "$WORK/describe.out.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))["training_memory_bytes"]
print("== memory estimate of one job (MB):",
      ", ".join(f"{k} {v / 1e6:.1f}" for k, v in m.items() if k != "total_gb"))
PYEOF

for k in $PACKS; do
  echo "== $k job(s) at once on $DEVICE"
  pids=()
  for i in $(seq 1 "$k"); do
    job "$WORK/pack$k-$i.json" "$i"
    "$BIN" run "$WORK/pack$k-$i.json" --device "$DEVICE" --no-eval --out "$WORK/pack$k-$i.result.json" \
      > "$WORK/pack$k-$i.log" 2>&1 &
    pids+=($!)
  done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  [ "$failed" = 0 ] || echo "   $failed job(s) failed: see $WORK/pack$k-*.log"
done

"$PY" - "$WORK" "$PACKS" <<'PYEOF'
import json, os, sys
work, packs = sys.argv[1], [int(k) for k in sys.argv[2].split()]
print("\n| jobs at once | images/s per job (last epoch) | aggregate images/s | vs one job |")
print("|---|---|---|---|")
one = None
for k in packs:
    rates = []
    for i in range(1, k + 1):
        p = os.path.join(work, f"pack{k}-{i}.result.json")
        if os.path.exists(p):
            rates.append(json.load(open(p))["history"][-1]["images_per_second"])
    if len(rates) < k:
        print(f"| {k} | {len(rates)} of {k} finished | - | - |"); continue
    agg = sum(rates)
    one = one or agg
    print(f"| {k} | {' / '.join(f'{r:.0f}' for r in rates)} | {agg:.0f} | {agg / one:.2f}x |")
PYEOF
echo "results in $WORK"
