#!/usr/bin/env bash
# The Fashion-MNIST row of the paper's Table 1 through a real coordinator and
# worker: plain ResNet-20-16 (learned convs), ResNet-LC-20-16x128 with learned
# and with frozen spatial filters, 4 seeds, the paper's recipe (75 epochs): the
# three fashion_mnist entries of deploy/examples/table1.json, taken from that
# file so the two cannot drift. Runs them with deploy/quickstart.sh (local
# coordinator + one worker, lcsweep submit / watch), then prints
# `lcsweep results --vs-paper` (the row against the published numbers) and how
# long it took. Not run by ctest.
#
# NEEDS THE SERVICE BUILD (gRPC, SQLite, CLI11: lcsweep, lcsweep-coordinator,
# lcsweep-worker in BUILD_DIR, e.g. from deploy/quickstart.sh or deploy/test.sh).
# The bare GPU box of tests/gpu/run_gpu_check.sh cannot run it; a GPU machine
# with the project's Debian dependencies (deploy/install-deps.sh) can.
#
# From the repository root:
#   bash tests/gpu/run_table1_fashion_mnist.sh                  # GPU: cuda:0, 8 packed slots
#   DEVICE=cpu EPOCHS=1 TRAIN_LIMIT=512 TEST_LIMIT=256 SEEDS=1 THREADS=1 \
#     BUILD_DIR=build bash tests/gpu/run_table1_fashion_mnist.sh   # tiny end-to-end run on a CPU
#
# Environment:
#   DEVICE      cuda | cuda:N | cpu (default cuda: worker --devices cuda:0, jobs resources.device "cuda")
#   SLOTS       jobs at once on the worker (default 8 on cuda, with --pack; 1 on cpu)
#   RESERVE_GB  --reserve-gb of a packed worker (default: the worker's)
#   EPOCHS      train.epochs (default: table1.json's, i.e. the paper's 75)
#   SEEDS       number of seeds, 0..SEEDS-1 (default: table1.json's 4)
#   TRAIN_LIMIT, TEST_LIMIT  data.train_limit / data.test_limit (default 0: the full sets)
#   ROBUSTNESS_LIMIT         eval.robustness_limit (default: the config's 1000)
#   PLACEMENT   data.placement (default: left out, i.e. the job config's default)
#   DATA_ROOT   data.root of Fashion-MNIST (default: /usr/share/datasets/fashion-mnist)
#   THREADS     LibTorch threads per job (default: the worker's)
#   BUILD_DIR   where the binaries are (default ./build)
#   PORT, HTTP_PORT  coordinator ports on 127.0.0.1 (default 50071, 8091)
#   STATE_DIR   quickstart state (default /tmp/lcsweep-table1-fmnist: SQLite file, logs)
#   PYTHON      python3 (standard library only; writes the sweep file)
# A smaller recipe than the paper's is still compared with the published
# numbers; `lcsweep results` then notes how the jobs differ in recipe.
# Exit status: quickstart.sh's (0 when every job succeeded).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"
BUILD="${BUILD_DIR:-build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
STATE="${STATE_DIR:-/tmp/lcsweep-table1-fmnist}"
if [ "$DEVICE" = cpu ]; then SLOTS="${SLOTS:-1}"; else SLOTS="${SLOTS:-8}"; fi

missing=()
for b in cli/lcsweep server/lcsweep-coordinator worker/lcsweep-worker; do
  [ -x "$BUILD/$b" ] || missing+=("$BUILD/$b")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "run_table1_fashion_mnist.sh: missing ${missing[*]}" >&2
  echo "  This script needs the service build (gRPC + SQLite): build it with deploy/quickstart.sh" >&2
  echo "  (or cmake -S . -B build && cmake --build build), or point BUILD_DIR at one." >&2
  echo "  A GPU box with only PyTorch cannot run it; see tests/gpu/run_gpu_check.sh there." >&2
  exit 2
fi

spec="$STATE.sweep.json"
"$PY" - deploy/examples/table1.json "$spec" "$DEVICE" <<'PYEOF'
import json, os, sys
src, dst, device = sys.argv[1], sys.argv[2], sys.argv[3]
env = os.environ.get
spec = json.load(open(src))
rows = [e for e in spec["list"] if e.get("data.name") == "fashion_mnist"]
assert len(rows) == 3, f"{src}: expected 3 fashion_mnist entries, found {len(rows)}"
spec["name"] = "table1_fashion_mnist"
spec["description"] = ("Table 1 (docs/method.md section 7), Fashion-MNIST row, from " + src +
                       ": ResNet-20-16 plain learned conv vs LC learned x128 vs LC frozen x128")
spec["list"] = rows
base = spec.setdefault("base", {})
data = base.setdefault("data", {})
if env("SEEDS"):
    spec["seeds"] = list(range(int(env("SEEDS"))))
if env("EPOCHS"):
    base.setdefault("train", {})["epochs"] = int(env("EPOCHS"))
for var, key in (("TRAIN_LIMIT", "train_limit"), ("TEST_LIMIT", "test_limit")):
    if env(var):
        data[key] = int(env(var))
if env("PLACEMENT"):
    data["placement"] = env("PLACEMENT")
if env("DATA_ROOT"):
    data["root"] = env("DATA_ROOT")
if env("ROBUSTNESS_LIMIT"):
    base.setdefault("eval", {})["robustness_limit"] = int(env("ROBUSTNESS_LIMIT"))
base.setdefault("resources", {})["device"] = "cpu" if device == "cpu" else "cuda"
json.dump(spec, open(dst, "w"), indent=2)
seeds = spec.get("seeds", [0])
print(f"sweep {dst}: {len(rows)} settings x {len(seeds)} seed(s) = {len(rows) * len(seeds)} jobs,"
      f" epochs {base.get('train', {}).get('epochs', 'default (75)')},"
      f" train_limit {data.get('train_limit', 0)}, test_limit {data.get('test_limit', 0)}")
PYEOF

worker_args="--devices $([ "$DEVICE" = cuda ] && echo cuda:0 || echo "$DEVICE") --slots $SLOTS"
if [ "$DEVICE" != cpu ] && [ "$SLOTS" -gt 1 ]; then
  worker_args+=" --pack${RESERVE_GB:+ --reserve-gb $RESERVE_GB}"
fi
[ -n "${THREADS:-}" ] && worker_args+=" --threads $THREADS"

echo "== Table 1, Fashion-MNIST row on $DEVICE (worker $worker_args)"
t0=$(date +%s)
rc=0
bash deploy/quickstart.sh --no-build --build-dir "$BUILD" --sweep "$spec" --state-dir "$STATE" \
  --port "${PORT:-50071}" --http-port "${HTTP_PORT:-8091}" --worker-args "$worker_args" \
  2>&1 | tee "$STATE.log" || rc=$?  # pipefail: quickstart.sh's status
t1=$(date +%s)

# quickstart.sh stops the coordinator after printing the table; show it again
# at the end, with the time it took.
echo
echo "== Table 1, Fashion-MNIST row: lcsweep results --vs-paper"
awk '/^== lcsweep results/ { on = 1; next } /^wall time:/ { on = 0 } on' "$STATE.log"
echo "took $((t1 - t0))s in all on $DEVICE with $SLOTS slot(s); quickstart.sh exit status $rc" \
     "(log $STATE.log, state $STATE)"
exit "$rc"
