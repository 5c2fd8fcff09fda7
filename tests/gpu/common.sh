# shellcheck shell=bash
# Shell helpers shared by tests/gpu/run_gpu_check.sh and run_packing_check.sh
# (sourced, not run): the job files they train, the stand-in data set, and
# running one lcsweep-train job so that its failure becomes a row of the
# table instead of ending the script. The GPU box they are written for has
# PyTorch but no package registry, so only bash, coreutils and python3's
# standard library are used here.
#
# Callers set, before sourcing: BIN (lcsweep-train), DEVICE (cpu | cuda |
# cuda:N), WORK (scratch folder), PY (python3), and the sizes N (training
# images), TEST_N, EPOCHS, BATCH, LOADER_THREADS, DATA (cifar_files | synthetic).

# resources.device of the job files: the trainer's --device may name an index.
gpu_res_device() { case "$DEVICE" in cpu) echo cpu ;; *) echo cuda ;; esac; }

# DATA=cifar_files: stand-in files in the CIFAR-10 binary layout (5 x 10,000
# training records, 10,000 test records) under $WORK/cifar, so that data.name
# "cifar10" runs the CIFAR training transform (pad 4, random crop, flip) that
# data.placement moves between the loader threads and the device; the
# synthetic data set has no augmentation. Each class is one fixed random
# pattern, rotated by a random offset per image: learnable, so a test
# accuracy far above 10 % says training works. Seeded, so every run sees the
# same bytes. About 150 MB, written once per run in a few seconds.
gpu_fake_cifar() {
  [ "$DATA" = cifar_files ] || return 0
  if [ "$N" -gt 50000 ] || [ "$TEST_N" -gt 10000 ]; then
    echo "DATA=cifar_files has 50,000 training and 10,000 test images; use DATA=synthetic for more"; return 1
  fi
  mkdir -p "$WORK/cifar"
  "$PY" - "$WORK/cifar" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(0)
patterns = [bytes(rng.getrandbits(8) for _ in range(3072)) for _ in range(10)]
for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
    out = bytearray()
    for _ in range(10000):
        label, k = rng.randrange(10), rng.randrange(96)
        p = patterns[label]
        out.append(label)
        out += p[k:] + p[:k]
    with open(os.path.join(root, name), "wb") as f:
        f.write(out)
PYEOF
}

# The "data" object of a job: gpu_data_json PLACEMENT (empty: leave the field
# out, for a binary that predates data.placement).
gpu_data_json() {
  local placement=""
  [ -n "$1" ] && placement=", \"placement\": \"$1\""
  if [ "$DATA" = cifar_files ]; then
    echo "{\"name\": \"cifar10\", \"root\": \"$WORK/cifar\", \"train_limit\": $N, \"test_limit\": $TEST_N," \
         "\"loader_threads\": $LOADER_THREADS$placement}"
  else
    echo "{\"name\": \"synthetic\", \"loader_threads\": $LOADER_THREADS$placement," \
         "\"synthetic\": {\"train_size\": $N, \"test_size\": $TEST_N, \"image_size\": 32, \"channels\": 3, \"classes\": 10}}"
  fi
}

# gpu_job FILE SEED CONV_JSON TRAIN_EXTRA PLACEMENT: one ResNet-20-16 job.
# TRAIN_EXTRA is spliced into "train" (e.g. ', "amp": true').
gpu_job() {
  cat > "$1" <<JSON
{"seed": $2,
 "data": $(gpu_data_json "$5"),
 "model": {"arch": "resnet_cifar", "depth": 20, "width": 16, "kernel_size": 3, "conv": $3},
 "train": {"epochs": $EPOCHS, "batch_size": $BATCH, "log_every_steps": 50 $4},
 "eval": {"fgsm_eps": [], "corruptions": [], "filter_stats": false, "robustness_limit": 256},
 "resources": {"device": "$(gpu_res_device)"},
 "checkpoint": {"every_epochs": 0}}
JSON
}

# Sets PLACEMENT_KNOWN=1 when $BIN accepts data.placement, else 0 (and says
# so once): a binary from before the field then runs "host" rows without the
# field, which is what it always does, and "device" rows fail visibly.
gpu_probe_placement() {
  gpu_job "$WORK/probe.json" 0 '{"mode": "learned"}' '' host
  if "$BIN" describe "$WORK/probe.json" > "$WORK/probe.out" 2> "$WORK/probe.err"; then
    PLACEMENT_KNOWN=1
  elif grep -q placement "$WORK/probe.err"; then
    PLACEMENT_KNOWN=0
    echo "note: this lcsweep-train does not know data.placement ($(gpu_last_error "$WORK/probe.err"));"
    echo "      host rows run without the field (the loader threads, as always), device rows will fail"
  else
    echo "lcsweep-train describe failed on a plain job:"; cat "$WORK/probe.err"; return 1
  fi
}

# The placement value to write for a row: the asked one, or nothing for
# "host" on a binary that predates the field.
gpu_placement_field() {
  if [ "$1" = host ] && [ "${PLACEMENT_KNOWN:-1}" = 0 ]; then echo ""; else echo "$1"; fi
}

# The last error line of a log, one line, at most 160 characters, without
# table-breaking '|' or the scratch folder's name.
gpu_last_error() {
  local line
  line="$(grep -E 'lcsweep-train:|error|Error|failed|refused' "$1" 2>/dev/null | tail -n 1)"
  [ -n "$line" ] || line="$(tail -n 1 "$1" 2>/dev/null)"
  line="${line#*lcsweep-train: }"
  line="${line//|//}"
  line="${line//$WORK\//}"
  echo "${line:0:160}"
}

# gpu_timeout SECONDS CMD...: CMD under timeout(1) when there is one.
gpu_timeout() {
  local s="$1"; shift
  if command -v timeout >/dev/null; then timeout -k 10 "$s" "$@"; else "$@"; fi
}
