#!/usr/bin/env bash
# Prepared GPU check for packing: aggregate images/s of K = 1, 2, 4, 8 jobs
# trained at once on one GPU, with data.placement "host" and "device". Not run
# by ctest.
#
# After tests/gpu/run_gpu_check.sh has built lcsweep-train (BUILD_DIR, default
# /tmp/lcsweep-gpu-build), from the repository root (estimated 4-6 minutes on an H100):
#   bash tests/gpu/run_packing_check.sh
# Dry run on a CPU (tiny sizes, one LibTorch thread per job):
#   DEVICE=cpu BIN=build/worker/lcsweep-train PYTHON=/usr/bin/python3 bash tests/gpu/run_packing_check.sh
#
# Prints, for plain ResNet-20-16 on CIFAR-sized stand-in data (tests/gpu/common.sh):
#   - the memory estimate of `lcsweep-train describe` (training_memory_bytes) per placement;
#   - per placement and K: each job's images/s (last epoch), their sum, the
#     K*EPOCHS*TRAIN_IMAGES images over the group's wall time (start-up
#     included, so a lower bound), and the ratio of the sum to one job alone
#     with the same placement and to one job alone with host placement;
#   - the goal, aggregate >= 4x one job, met or not per placement.
# The jobs are K separate lcsweep-train processes (the GPU box has no
# gRPC/SQLite), so this measures what packing can give, not lcsweep-worker
# --pack itself, which runs packed jobs as threads of one worker process. A
# group with a failed job (for instance "device" on a binary without
# data.placement) is reported with the first error; the others still run.
#
# Environment (defaults for cuda / for DEVICE=cpu):
#   BIN (default $BUILD_DIR/worker/lcsweep-train)   DEVICE cuda | cuda:N | cpu
#   TRAIN_IMAGES 40960 / 256   TEST_IMAGES 512 / 64   EPOCHS 2 / 1 (the last epoch is measured)
#   BATCH 256 / 64             LOADER_THREADS 2 / 1   PACKS "1 2 4 8" / "1 2"
#   PLACEMENTS "host device"   DATA cifar_files | synthetic
#   THREADS LibTorch threads per job (default: cores / K, at least 1 / 1)
#   BUDGET_S 480 / 1200: groups not started by then (seconds since start) are skipped
#   GROUP_TIMEOUT_S 180 / 600: one group's limit      PYTHON (python3)
# Exit status: 0 when every group ran, 1 otherwise (the goal is reported, not enforced).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD_DIR:-/tmp/lcsweep-gpu-build}"
BIN="${BIN:-$BUILD/worker/lcsweep-train}"
DEVICE="${DEVICE:-cuda}"
PY="${PYTHON:-python3}"
if [ "$DEVICE" = cpu ]; then
  d_n=256 d_test=64 d_epochs=1 d_batch=64 d_loader=1 d_packs="1 2" d_threads=1 d_budget=1200 d_group=600
else
  d_n=40960 d_test=512 d_epochs=2 d_batch=256 d_loader=2 d_packs="1 2 4 8" d_threads="" d_budget=480 d_group=180
fi
N="${TRAIN_IMAGES:-$d_n}"
TEST_N="${TEST_IMAGES:-$d_test}"
EPOCHS="${EPOCHS:-$d_epochs}"
BATCH="${BATCH:-$d_batch}"
LOADER_THREADS="${LOADER_THREADS:-$d_loader}"
PACKS="${PACKS:-$d_packs}"
PLACEMENTS="${PLACEMENTS:-host device}"
THREADS="${THREADS-$d_threads}"
BUDGET_S="${BUDGET_S:-$d_budget}"
GROUP_TIMEOUT_S="${GROUP_TIMEOUT_S:-$d_group}"
DATA="${DATA:-cifar_files}"
WORK="$(mktemp -d /tmp/lcsweep-packing-check.XXXXXX)"
[ -x "$BIN" ] || { echo "no lcsweep-train at $BIN: run tests/gpu/run_gpu_check.sh first (or set BIN)"; exit 2; }
# shellcheck source=tests/gpu/common.sh
. "$ROOT/tests/gpu/common.sh"
PLAIN='{"mode": "learned"}'

echo "== packing on $DEVICE: K in {$PACKS} jobs at once, placements {$PLACEMENTS}, DATA=$DATA," \
     "$N images x $EPOCHS epoch(s), batch $BATCH"
gpu_fake_cifar
gpu_probe_placement

for placement in $PLACEMENTS; do
  gpu_job "$WORK/describe-$placement.json" 0 "$PLAIN" '' "$(gpu_placement_field "$placement")"
  if "$BIN" describe "$WORK/describe-$placement.json" > "$WORK/describe-$placement.out" 2> "$WORK/describe-$placement.err"; then
    "$PY" - "$WORK/describe-$placement.out" "$placement" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))["training_memory_bytes"]
print(f"== memory estimate of one job, placement {sys.argv[2]} (MB):",
      ", ".join(f"{k} {v / 1e6:.1f}" for k, v in m.items() if k != "total_gb"))
PYEOF
  else
    echo "== memory estimate, placement $placement: describe failed: $(gpu_last_error "$WORK/describe-$placement.err")"
  fi
done

: > "$WORK/groups.tsv"
for placement in $PLACEMENTS; do
  for k in $PACKS; do
    g="$placement-$k"
    if [ "$SECONDS" -ge "$BUDGET_S" ]; then
      printf '%s\t%s\t%s\t%s\t%s\n' "$placement" "$k" skipped 0 "time budget of ${BUDGET_S}s spent" >> "$WORK/groups.tsv"
      continue
    fi
    threads="$THREADS"
    [ -n "$threads" ] || threads=$(( $(nproc) / k > 0 ? $(nproc) / k : 1 ))
    echo "== $k job(s) at once on $DEVICE, placement $placement, $threads LibTorch thread(s) each"
    pids=()
    t0=$(date +%s.%N)
    for i in $(seq 1 "$k"); do
      gpu_job "$WORK/$g-$i.json" "$i" "$PLAIN" '' "$(gpu_placement_field "$placement")"
      gpu_timeout "$GROUP_TIMEOUT_S" "$BIN" run "$WORK/$g-$i.json" --device "$DEVICE" --threads "$threads" \
        --no-eval --out "$WORK/$g-$i.result.json" > "$WORK/$g-$i.log" 2>&1 < /dev/null &
      pids+=($!)
    done
    failed=0 why=""
    for i in $(seq 1 "$k"); do
      rc=0
      wait "${pids[$((i - 1))]}" || rc=$?
      [ "$rc" = 0 ] && continue
      failed=$((failed + 1))
      if [ -z "$why" ]; then
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then why="timed out after ${GROUP_TIMEOUT_S}s"
        else why="$(gpu_last_error "$WORK/$g-$i.log")"; fi
      fi
    done
    wall="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
    if [ "$failed" = 0 ]; then
      echo "   ok in ${wall}s"
      printf '%s\t%s\t%s\t%s\t%s\n' "$placement" "$k" ok "$wall" "" >> "$WORK/groups.tsv"
    else
      echo "   $failed of $k job(s) failed: $why (logs $WORK/$g-*.log)"
      printf '%s\t%s\t%s\t%s\t%s\n' "$placement" "$k" failed "$wall" "$failed of $k failed: $why" >> "$WORK/groups.tsv"
    fi
  done
done

rc=0
"$PY" - "$WORK" "$DEVICE" "$N" "$EPOCHS" <<'PYEOF' || rc=$?
import json, os, sys
work, device, n, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
groups = [line.rstrip("\n").split("\t") for line in open(os.path.join(work, "groups.tsv"))]
GOAL = 4.0

def rates(placement, k):
    out = []
    for i in range(1, k + 1):
        p = os.path.join(work, f"{placement}-{k}-{i}.result.json")
        if os.path.exists(p):
            out.append(json.load(open(p))["history"][-1]["images_per_second"])
    return out if len(out) == k else None

def one(placement):
    r = rates(placement, 1)
    return r[0] if r else None

print(f"\n## packing on {device}: plain ResNet-20-16, K jobs at once (separate processes)\n")
print("| placement | jobs at once | images/s per job (last epoch) | aggregate images/s | "
      "images / group wall | vs one job | vs one host job |")
print("|---|---|---|---|---|---|---|")
failed = 0
best = {}
for placement, k, status, wall, why in groups:
    k = int(k)
    r = rates(placement, k) if status == "ok" else None
    if r is None:
        failed += status != "skipped"
        print(f"| {placement} | {k} | {status}: {why or 'no result'} | | | | |")
        continue
    agg = sum(r)
    base, host = one(placement), one("host")
    vs = agg / base if base else None
    if vs is not None and k > 1:
        best[placement] = max(best.get(placement, (0, 0)), (vs, k))
    per_job = " / ".join(f"{x:.0f}" for x in r)
    print(f"| {placement} | {k} | {per_job} | {agg:.0f} | {k * n * epochs / float(wall):.0f} | "
          f"{f'{vs:.2f}x' if vs else '-'} | {f'{agg / host:.2f}x' if host else '-'} |")
print(f"\ngoal: aggregate images/s of packed jobs >= {GOAL:.0f}x one job alone (same placement)")
for placement in dict.fromkeys(g[0] for g in groups):
    if placement in best:
        vs, k = best[placement]
        verdict = "met" if vs >= GOAL else "NOT met"
        print(f"  {placement}: best {vs:.2f}x with {k} jobs: goal {verdict}")
    else:
        print(f"  {placement}: no packed group measured")
sys.exit(1 if failed else 0)
PYEOF
echo "job files, logs and results in $WORK (total ${SECONDS}s)"
exit "$rc"
