#!/usr/bin/env bash
# deploy/slurm/lcsweep-worker.sbatch on a real Slurm: a single-node cluster on loopback
# (deploy/slurm/local-cluster.sh), a real lcsweep-coordinator from BUILD_DIR, and a 10-job sweep of
# tiny Fashion-MNIST models (about 20 s each) whose workers are Slurm jobs submitted with sbatch:
#   - an array of --once workers (LCSWEEP_MODE=once, %1 at a time) runs the sweep; one of its tasks is
#     `scontrol requeue`d while it trains: its worker drains, Slurm restarts the task
#     (SLURM_RESTART_COUNT=1) and the job is leased again;
#   - a daemon worker with a one-minute time limit (and no warning signal) is still training when
#     Slurm's time limit kills it: its worker drains;
#   - a daemon worker stopped with a plain `scancel` while it trains drains.
# Each of these three jobs must be released by a drain (event "released: worker drain", attempt still
# 1: a worker that got a second SIGTERM would skip the drain and leave the job to lease expiry, which
# costs an attempt) and resume from its checkpoint. The ten jobs train the same model and differ only
# in eval.robustness_limit, which nothing reads without adversarial or corruption figures, so every
# one, interrupted or not, must end with figures and per-epoch history bitwise equal to one
# uninterrupted lcsweep-train run of that training (CPU, one thread). Every job succeeds exactly once.
# Skipped (exit 77, the reason printed) without root, Slurm, munge, the built binaries or the data set.
# Usage: slurm_cluster_test.sh SOURCE_DIR BUILD_DIR
# shellcheck disable=SC2034  # variables are read inside the check strings that check() evals
set -uo pipefail
src="${1:?usage: slurm_cluster_test.sh SOURCE_DIR BUILD_DIR}"
build="${2:?usage: slurm_cluster_test.sh SOURCE_DIR BUILD_DIR}"
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (slurmd starts jobs as their user)"
for b in munged slurmctld slurmd sbatch scontrol squeue scancel; do
  command -v "$b" >/dev/null || skip "'$b' not found (deploy/install-deps.sh installs slurmctld slurmd slurm-client munge)"
done
bin() { find "$build" -maxdepth 3 -type f -perm -u+x -name "$1" | head -1; }
coordinator="$(bin lcsweep-coordinator)"; worker="$(bin lcsweep-worker)"; cli="$(bin lcsweep)"; train="$(bin lcsweep-train)"
[ -n "$coordinator" ] && [ -n "$worker" ] && [ -n "$cli" ] && [ -n "$train" ] ||
  skip "lcsweep-coordinator, lcsweep-worker, lcsweep and lcsweep-train must be built in $build"
[ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
  skip "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)"

tmp="$(mktemp -d /tmp/lcsweep-slurm-test.XXXXXX)"
chmod 0755 "$tmp"  # slurmd and munged check the folders on the path to their sockets
cluster="$src/deploy/slurm/local-cluster.sh"
coordinator_pid=""
cleanup() {
  bash "$cluster" down --dir "$tmp/slurm" >/dev/null 2>&1
  if [ -n "$coordinator_pid" ]; then kill -TERM "$coordinator_pid" 2>/dev/null; wait "$coordinator_pid" 2>/dev/null; fi
  [ "${KEEP_TMP:-0}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
passed=0; failed=0
check() { if eval "$2"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }
t0=$(date +%s)
say() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
# fail_now MESSAGE: print what explains it and stop (the remaining checks would only repeat it).
fail_now() {
  echo "FAIL $*"
  squeue 2>/dev/null; tail -n 5 "$tmp"/out/*.out 2>/dev/null; tail -n 20 "$tmp/coordinator.log"
  echo "$passed passed, $((failed + 1)) failed"; exit 1
}

# --- cluster, tokens, coordinator
eval "$(bash "$cluster" up --dir "$tmp/slurm")" || fail_now "local-cluster.sh up"
say "cluster up ($SLURM_CONF)"
mkdir -p "$tmp/out" "$tmp/scratch"
"$cli" token --role admin --name admin --json > "$tmp/admin.json"
"$cli" token --role worker --name slurm --json > "$tmp/worker.json"
python3 - "$tmp" <<'EOF'
import json, os, sys
d = sys.argv[1]
a, w = (json.load(open(os.path.join(d, f))) for f in ("admin.json", "worker.json"))
for name, text in (("tokens", a["line"] + "\n" + w["line"] + "\n"), ("admin.token", a["token"] + "\n"),
                   ("worker.token", w["token"] + "\n")):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)
    os.chmod(os.path.join(d, name), 0o600)
EOF
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$coordinator" --listen "127.0.0.1:$port" --http-listen "" --db "$tmp/coordinator.db" \
  --artifacts "$tmp/artifacts" --tokens-file "$tmp/tokens" --lease-seconds 15 > "$tmp/coordinator.log" 2>&1 &
coordinator_pid=$!
export LCSWEEP_COORDINATOR="127.0.0.1:$port"
for _ in $(seq 100); do "$cli" health "$LCSWEEP_COORDINATOR" >/dev/null 2>&1 && break; sleep 0.1; done
"$cli" health "$LCSWEEP_COORDINATOR" >/dev/null 2>&1 || fail_now "the coordinator did not come up"
lc() { LCSWEEP_TOKEN_FILE="$tmp/admin.token" "$cli" --timeout 5 "$@"; }

# --- the sweep: 10 jobs of 20-40 s each (10 epochs of 2,048 images), a checkpoint per epoch. The
# time-limited worker below must still find work when Slurm ends it, 60 to 90 s in.
cat > "$tmp/sweep.json" <<'EOF'
{"name": "slurm_deploy_test",
 "base": {"data": {"name": "fashion_mnist", "train_limit": 2048, "test_limit": 256, "loader_threads": 1},
          "model": {"arch": "resnet_cifar", "depth": 8, "width": 8, "conv": {"mode": "lc", "lc_rate": 2}},
          "train": {"epochs": 10, "batch_size": 64, "threads": 1, "log_every_steps": 4},
          "eval": {"fgsm_eps": [], "pgd_eps": [], "corruptions": [], "filter_stats": false},
          "resources": {"device": "cpu"}, "checkpoint": {"every_epochs": 1}},
 "grid": {"eval.robustness_limit": [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]},
 "seeds": [0], "max_attempts": 3}
EOF
# The uninterrupted reference, trained while the sweep runs.
python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["base"]; j["seed"]=0; print(json.dumps(j))' \
  "$tmp/sweep.json" > "$tmp/reference-job.json"
lc submit "$tmp/sweep.json" > "$tmp/submit.out" || fail_now "lcsweep submit: $(cat "$tmp/submit.out")"
sweep="$(sed -n 's/^submitted sweep \([0-9]*\).*/\1/p' "$tmp/submit.out")"
say "sweep $sweep submitted"
"$train" run "$tmp/reference-job.json" --out "$tmp/reference.json" --threads 1 \
  --checkpoint-dir "$tmp/reference-ckpt" > "$tmp/reference.log" 2>&1 &
reference_pid=$!

# Every worker is a Slurm job running the project's batch script.
export LCSWEEP_TOKEN_FILE="$tmp/worker.token" LCSWEEP_WORKER_BIN="$worker" TMPDIR="$tmp/scratch"
export LCSWEEP_DRAIN_TIMEOUT=20 LCSWEEP_WORKER_ARGS="--lease-wait 2"
script="$src/deploy/slurm/lcsweep-worker.sbatch"
# One CPU per worker: the batch script then gives the worker one LibTorch thread
# (SLURM_CPUS_PER_TASK), as the reference run has; bitwise equality needs the
# same thread count.
submit() { (cd "$tmp/out" && sbatch --parsable --cpus-per-task=1 "$@" "$script") || fail_now "sbatch $*"; }

# busy_job NAME_PATTERN MIN_STEP: the id of a job that a worker whose name matches holds with at least
# MIN_STEP steps done (a drain then has something to checkpoint), else nothing.
busy_job() {
  python3 - "$1" "$2" <(lc workers --json 2>/dev/null) <(lc jobs --sweep "$sweep" --state running --json 2>/dev/null) <<'EOF'
import json, re, sys
pattern, min_step = re.compile(sys.argv[1]), int(sys.argv[2])
try:
    workers, jobs = (json.load(open(f)) for f in sys.argv[3:5])
except ValueError:
    sys.exit(0)
steps = {j["id"]: int(j.get("progress", {}).get("step", 0)) for j in jobs.get("jobs", [])}
for w in workers.get("workers", []):
    if pattern.fullmatch(w["name"]):
        for jid in w.get("job_ids", []):
            if steps.get(jid, 0) >= min_step:
                print(jid, w["name"])
                sys.exit(0)
EOF
}
wait_busy() {  # wait_busy PATTERN SECONDS: sets busy_id and busy_name
  local line
  for _ in $(seq $(( $2 * 2 ))); do
    line="$(busy_job "$1" 4)"
    if [ -n "$line" ]; then read -r busy_id busy_name <<<"$line"; return 0; fi
    sleep 0.5
  done
  return 1
}
gone() { ! squeue -h -j "$1" -o %i 2>/dev/null | grep -q .; }
wait_gone() { for _ in $(seq $(( $2 * 2 ))); do gone "$1" && return 0; sleep 0.5; done; return 1; }
host="$(hostname -s)"

# --- the array and the time-limited daemon, side by side (the node has room for two jobs)
array="$(LCSWEEP_MODE=once submit --array=1-14%1 --output="$tmp/out/array-%A_%a.out")"
limited="$(submit --time=1 --signal=B:USR1@0)"
say "array job $array (once workers), time-limited daemon job $limited"

wait_busy "$host/${array}_[0-9]+/cpu" 60 || fail_now "no array task started training within 60 s"
requeued_job="$busy_id"; requeued_name="$busy_name"; requeued_task="${busy_name#"$host"/}"; requeued_task="${requeued_task%/cpu}"
scontrol requeue "$requeued_task" || fail_now "scontrol requeue $requeued_task"
say "requeued array task $requeued_task while it trained job $requeued_job"

# Slurm checks time limits every 30 s: the job ends 60 to 90 s after it started.
wait_busy "$host/$limited/cpu" 30 || fail_now "the time-limited job did not start training"
wait_gone "$limited" 150 || fail_now "the time-limited job $limited did not end within 150 s"
say "time-limited job $limited ended"

# --- a daemon stopped with a plain scancel while it trains
stopped="$(submit)"
wait_busy "$host/$stopped/cpu" 60 || fail_now "the daemon job $stopped did not start training"
stopped_job="$busy_id"
scancel "$stopped"
wait_gone "$stopped" 60 || fail_now "scancel: job $stopped did not end within 60 s"
say "scancel $stopped while it trained job $stopped_job: ended"

# --- the rest of the sweep on the array, two at a time
scontrol update JobId="$array" ArrayTaskThrottle=2 >/dev/null 2>&1
done_ok=0
for _ in $(seq 2400); do  # about 2 min on an idle 2-core machine; 20+ min on an overloaded one
  n="$(lc jobs --sweep "$sweep" --state succeeded --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("jobs", [])))' 2>/dev/null)"
  [ "${n:-0}" = 10 ] && { done_ok=1; break; }
  sleep 1
done
say "sweep finished: $done_ok"
scancel "$array" 2>/dev/null  # array tasks left over wait for work that no longer comes
wait_gone "$array" 60

# --- what happened, from the coordinator's audit trail and the batch jobs' output
lc jobs --sweep "$sweep" --json > "$tmp/jobs.json"
lc events --sweep "$sweep" --json > "$tmp/events.json"
check "the sweep ran to the end: 10 jobs succeeded through Slurm jobs" '[ "$done_ok" = 1 ]'
# drained JOB_ID WORKER_NAME: the job was released by that worker's drain and kept its attempt.
drained() {
  python3 - "$tmp/jobs.json" "$tmp/events.json" "$1" "$2" <<'EOF'
import json, sys
jobs = {j["id"]: j for j in json.load(open(sys.argv[1]))["jobs"]}
events = [e for e in json.load(open(sys.argv[2]))["events"] if e["job_id"] == sys.argv[3]]
names = {}
for e in events:
    if e["reason"].startswith("leased by worker"):
        names[e.get("worker_id")] = e["reason"].split("(", 1)[1].rstrip(")")
released = [e for e in events if e["reason"] == "released: worker drain" and names.get(e.get("worker_id")) == sys.argv[4]]
job = jobs[sys.argv[3]]
ok = bool(released) and job["attempt"] == 1 and job["state"] == "JOB_STATE_SUCCEEDED"
if not ok:
    print(f"job {sys.argv[3]}: attempt {job['attempt']}, {job['state']}; events:")
    for e in events:
        print(f"  {e['reason']}")
sys.exit(0 if ok else 1)
EOF
}
check "scontrol requeue: the worker of $requeued_task drained job $requeued_job (released, attempt 1)" \
  'drained "$requeued_job" "$requeued_name"'
check "scontrol requeue: Slurm put task $requeued_task back in the queue (Restarts=1)" \
  'scontrol show job "$requeued_task" | grep -q "Restarts=1"'
limited_job="$(python3 - "$tmp/events.json" "$host/$limited/cpu" <<'EOF'
import json, sys
names, out = {}, ""
for e in json.load(open(sys.argv[1]))["events"]:
    if e["reason"].startswith("leased by worker"):
        names[e.get("worker_id")] = e["reason"].split("(", 1)[1].rstrip(")")
    if e["reason"] == "released: worker drain" and names.get(e.get("worker_id")) == sys.argv[2]:
        out = e["job_id"]
print(out)
EOF
)"
check "time limit: Slurm ended job $limited for its time limit" \
  'grep -q "DUE TO TIME LIMIT" "$tmp/out/lcsweep-worker-$limited.out"'
check "time limit: the batch script did not forward a second SIGTERM" \
  'grep -q "SIGTERM from Slurm" "$tmp/out/lcsweep-worker-$limited.out" && ! grep -q "draining 1 worker" "$tmp/out/lcsweep-worker-$limited.out"'
check "time limit: its worker drained job ${limited_job:-?} (released, attempt 1)" \
  '[ -n "$limited_job" ] && drained "$limited_job" "$host/$limited/cpu"'
check "scancel: the worker of job $stopped drained job $stopped_job (released, attempt 1)" \
  'drained "$stopped_job" "$host/$stopped/cpu"'
check "scancel: the batch script exited after the drain" \
  'grep -q "all workers exited (status 0)" "$tmp/out/lcsweep-worker-$stopped.out"'
check "every job succeeded exactly once" \
  '[ "$(python3 -c "import json,sys; print(sum(e[\"to_state\"] == \"JOB_STATE_SUCCEEDED\" for e in json.load(open(sys.argv[1]))[\"events\"]))" "$tmp/events.json")" = 10 ]'

# --- every job against the uninterrupted run, bitwise
wait "$reference_pid" || { cat "$tmp/reference.log"; fail_now "the reference lcsweep-train run failed"; }
# compare_all JOBS_JSON REFERENCE_JSON INTERRUPTED_ID...: every job's result against the reference.
compare_all() {
  python3 - "$@" <<'EOF'
import json, sys
want = json.load(open(sys.argv[2]))
keys = ("test_accuracy", "test_loss", "train_accuracy", "train_loss")
bad = []
for job in json.load(open(sys.argv[1]))["jobs"]:
    if not job.get("result_json"):
        bad.append(f"job {job['id']}: no result")
        continue
    got = json.loads(job["result_json"])
    diff = [k for k in keys if got["final"][k] != want["final"][k]]
    diff += [f"history[{e}].{k}" for e in range(len(want["history"])) for k in keys
             if e >= len(got["history"]) or got["history"][e][k] != want["history"][e][k]]
    if job["id"] in sys.argv[3:] and not isinstance(got.get("resumed_from"), str):
        diff.append("resumed_from (interrupted, but not resumed from a checkpoint)")
    if diff:
        bad.append(f"job {job['id']}: {diff}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}
check "every job's figures and history bitwise equal to the uninterrupted run; the three interrupted ones resumed" \
  'compare_all "$tmp/jobs.json" "$tmp/reference.json" "$requeued_job" "$stopped_job" "$limited_job"'
say "done"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
