#!/usr/bin/env bash
# Runs deploy/slurm/lcsweep-worker.sbatch outside Slurm (the #SBATCH lines are comments to bash) with a
# stub lcsweep-worker, and checks what Slurm relies on: one worker per GPU in CUDA_VISIBLE_DEVICES, each
# pinned to its GPU as cuda:0; a CPU worker when there is no GPU; --once passed in once mode; the
# time-limit warning (USR1 to the batch shell alone) turned into exactly one SIGTERM per worker even
# when it arrives twice (a second signal would make a real worker skip its drain); a SIGTERM that Slurm
# sends to every process of the job not forwarded again, but one to the shell alone outside Slurm
# forwarded once; the script waiting for the drain and exiting 0; a failing worker making the job
# fail; a missing coordinator address refused with a clear message. slurm_cluster_test.sh runs the
# script on a real Slurm.
# Usage: check_slurm.sh SOURCE_DIR
# shellcheck disable=SC2034  # variables are read inside the check strings that check() evals
set -uo pipefail
src="${1:?usage: check_slurm.sh SOURCE_DIR}"
script="$src/deploy/slurm/lcsweep-worker.sbatch"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# The stub logs its arguments and GPU, and on SIGTERM "drains" for 1 s, then exits 0.
cat > "$tmp/stub-worker" <<'STUB'
#!/usr/bin/env bash
log="$STUB_LOG_DIR/$$.log"
echo "args $*" > "$log"
echo "gpu ${CUDA_VISIBLE_DEVICES:-none}" >> "$log"
terms=0
on_term() { terms=$((terms + 1)); echo "term $terms" >> "$log"; draining=1; }
trap on_term TERM
draining=0
[ -n "${STUB_EXIT:-}" ] && { sleep 0.5; exit "$STUB_EXIT"; }
case " $* " in *" --once "*) sleep 0.5; echo "done once" >> "$log"; exit 0 ;; esac
while [ "$draining" = 0 ]; do sleep 0.1; done
for _ in 1 2 3 4 5 6 7 8 9 10; do sleep 0.1; done   # the drain; a second TERM would be logged
echo "drained" >> "$log"
exit 0
STUB
chmod +x "$tmp/stub-worker"

passed=0; failed=0
check() { if eval "$2"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }

# start_job LOGDIR [VAR=value...]: starts the batch script in the background, sets job_pid.
start_job() {
  local logs="$1"; shift
  mkdir -p "$logs"
  env STUB_LOG_DIR="$logs" TMPDIR="$tmp" LCSWEEP_COORDINATOR=127.0.0.1:9 LCSWEEP_TOKEN=t \
      LCSWEEP_WORKER_BIN="$tmp/stub-worker" SLURM_JOB_ID=4242 "$@" \
      bash "$script" > "$logs/job.out" 2>&1 &
  job_pid=$!
}
wait_logs() {  # wait_logs DIR N: until N stub logs exist (10 s at most)
  for _ in $(seq 100); do [ "$(find "$1" -name '*.log' | wc -l)" -ge "$2" ] && return 0; sleep 0.1; done
  return 1
}
wait_job() {  # wait_job: the job's exit status, or 124 after 20 s
  for _ in $(seq 200); do kill -0 "$job_pid" 2>/dev/null || { wait "$job_pid"; return $?; }; sleep 0.1; done
  kill -KILL "$job_pid"; return 124
}

# 1. Two GPUs, daemon mode, the time-limit warning: USR1 twice in quick succession.
d="$tmp/gpus"; start_job "$d" CUDA_VISIBLE_DEVICES=0,1
wait_logs "$d" 2; sleep 0.3
kill -USR1 "$job_pid"; sleep 0.2; kill -USR1 "$job_pid"
wait_job; rc=$?
check "two GPUs: two workers started" '[ "$(cat "$d"/*.log | grep -c "^args")" = 2 ]'
check "two GPUs: each worker pinned to one GPU as cuda:0" \
  '[ "$(grep -h "^gpu" "$d"/*.log | sort | tr "\n" " ")" = "gpu 0 gpu 1 " ] && [ "$(grep -c -- "--devices cuda:0 " "$d"/*.log | grep -c ":1$")" = 2 ]'
check "two GPUs: drain timeout passed (90 s default)" '[ "$(grep -c -- "--drain-timeout 90" "$d"/*.log | grep -c ":1$")" = 2 ]'
check "two GPUs: SIGTERM forwarded exactly once to each worker" \
  '[ "$(grep -h "^term" "$d"/*.log | sort | tr "\n" " ")" = "term 1 term 1 " ]'
check "two GPUs: the script waited for both drains" '[ "$(grep -c "^drained" "$d"/*.log | grep -c ":1$")" = 2 ]'
check "two GPUs: job exits 0 after the drain (got $rc)" '[ "$rc" = 0 ]'
check "two GPUs: scratch directory removed" '[ ! -e "$tmp/lcsweep-4242" ]'

# 2. No GPU: one CPU worker. Outside Slurm, a SIGTERM to the shell alone is forwarded once.
d="$tmp/cpu"; start_job "$d" CUDA_VISIBLE_DEVICES= SLURM_JOB_ID=
wait_logs "$d" 1; sleep 0.3; kill -TERM "$job_pid"; wait_job; rc=$?
check "no GPU: one worker with --devices cpu" '[ "$(ls "$d"/*.log | wc -l)" = 1 ] && grep -q -- "--devices cpu " "$d"/*.log'
check "outside Slurm: SIGTERM to the shell forwarded once" '[ "$(grep -h "^term" "$d"/*.log | tr "\n" " ")" = "term 1 " ]'
check "no GPU: exits 0 (got $rc)" '[ "$rc" = 0 ]'

# 2b. Under Slurm, scancel/requeue/the time limit signal every process of the job, as here: each
# worker gets that one SIGTERM, and the script must not add a second.
d="$tmp/slurmterm"; start_job "$d" CUDA_VISIBLE_DEVICES=0,1
wait_logs "$d" 2; sleep 0.3
kill -TERM "$job_pid" $(pgrep -P "$job_pid" -f stub-worker)
wait_job; rc=$?
check "Slurm SIGTERM to every process: each worker got exactly one" \
  '[ "$(grep -h "^term" "$d"/*.log | sort | tr "\n" " ")" = "term 1 term 1 " ]'
check "Slurm SIGTERM: both drained, job exits 0 (got $rc)" '[ "$(grep -c "^drained" "$d"/*.log | grep -c ":1$")" = 2 ] && [ "$rc" = 0 ]'

# 3. --once mode in an array task: workers end by themselves, no signal needed.
d="$tmp/once"; start_job "$d" CUDA_VISIBLE_DEVICES=0,1,2 LCSWEEP_MODE=once SLURM_ARRAY_JOB_ID=4242 SLURM_ARRAY_TASK_ID=7
wait_job; rc=$?
check "once: three workers with --once" '[ "$(grep -l -- " --once" "$d"/*.log | wc -l)" = 3 ]'
check "once: array task id in the worker name" 'grep -q -- "--name [^ ]*/4242_7/gpu0" "$d"/*.log'
check "once: exits 0 (got $rc)" '[ "$rc" = 0 ]'

# 4. A failing worker fails the job (so Slurm reports it).
d="$tmp/fail"; start_job "$d" CUDA_VISIBLE_DEVICES=0 STUB_EXIT=3
wait_job; rc=$?
check "worker failure: job exits non-zero (got $rc)" '[ "$rc" != 0 ] && [ "$rc" != 124 ]'

# 5. Missing coordinator address: refused, clearly.
out="$(env -u LCSWEEP_COORDINATOR LCSWEEP_TOKEN=t LCSWEEP_WORKER_BIN="$tmp/stub-worker" bash "$script" 2>&1)"; rc=$?
check "no coordinator: exits 2 naming LCSWEEP_COORDINATOR" '[ "$rc" = 2 ] && grep -q LCSWEEP_COORDINATOR <<<"$out"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
