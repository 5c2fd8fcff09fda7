#!/usr/bin/env bash
# The README's first command: installs what lcsweep needs, builds ./build
# (Release), starts a local coordinator (loopback, dashboard on
# http://127.0.0.1:8080) and one worker, submits a small real sweep with
# `lcsweep submit`, follows it with `lcsweep watch`, prints
# `lcsweep results --vs-paper`, then stops the worker and the coordinator.
#
# Usage: deploy/quickstart.sh [--sweep FILE] [--keep-running] [--port N] [--http-port N]
#                             [--threads N] [--worker-args "ARGS"] [--build-dir DIR]
#                             [--state-dir DIR] [--no-build]
#   --sweep FILE     sweep to run (default deploy/examples/quick_fashion_mnist.json: 6 jobs,
#                    a few minutes on 2 CPU cores)
#   --keep-running   leave coordinator and worker up afterwards (browse the dashboard;
#                    the script prints how to stop them)
#   --port N         coordinator gRPC port on 127.0.0.1 (default 50051)
#   --http-port N    dashboard port on 127.0.0.1 (default 8080)
#   --threads N      LibTorch threads of the worker's job (default: all cores)
#   --worker-args "ARGS"  more lcsweep-worker options, split at spaces, e.g.
#                    "--devices cuda:0 --slots 8 --pack --reserve-gb 2" (docs/gpu_fleet.md);
#                    a --devices, --slots or --threads there replaces the default
#                    (cpu, 1 slot, --threads above)
#   --build-dir DIR  build (or reuse) DIR instead of ./build
#   --state-dir DIR  state folder (default ./lcsweep-quickstart)
#   --no-build       skip install-deps.sh and the build; use the binaries already in the build dir
# State (SQLite file, checkpoints, logs) goes to the state folder, cleared at each start.
# Whatever happens (failure, Ctrl-C), nothing is left running unless --keep-running was given
# and the sweep ran to the end. Exit status: 0 when every job succeeded, 1 otherwise.
#
# The build configures ./build exactly as deploy/test.sh does (tests on) but builds only the
# four targets needed here, so either script can run first on the same ./build.
# shellcheck disable=SC2317  # stop/cleanup run from traps
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

sweep="deploy/examples/quick_fashion_mnist.json"
keep=0
port=50051
http_port=8080
threads="$(nproc)"
build_dir="build"
do_build=1
worker_args=""
state=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sweep) sweep="${2:?--sweep needs a file}"; shift 2 ;;
    --keep-running) keep=1; shift ;;
    --port) port="${2:?--port needs a number}"; shift 2 ;;
    --http-port) http_port="${2:?--http-port needs a number}"; shift 2 ;;
    --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
    --worker-args) worker_args="${2?--worker-args needs a string}"; shift 2 ;;
    --state-dir) state="${2:?--state-dir needs a folder}"; shift 2 ;;
    --build-dir) build_dir="${2:?--build-dir needs a folder}"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -r "$sweep" ] || { echo "quickstart.sh: cannot read sweep file $sweep" >&2; exit 2; }

t0=$(date +%s)
phase() { printf '\n== %s (%ds)\n' "$1" "$(( $(date +%s) - t0 ))"; }

case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
if [ "$do_build" = 1 ]; then
  phase "installing Debian packages (deploy/install-deps.sh)"
  bash deploy/install-deps.sh

  phase "building $build_dir (Release)"
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  targets=(lcsweep lcsweep-coordinator lcsweep-worker)
  if cmake --build "$build_dir" --target help 2>/dev/null | grep -q '^lcsweep_web:'; then targets+=(lcsweep_web); fi
  cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
fi
t_built=$(date +%s)
lcsweep="$build_dir/cli/lcsweep"
coordinator_bin="$build_dir/server/lcsweep-coordinator"
worker_bin="$build_dir/worker/lcsweep-worker"
for b in "$lcsweep" "$coordinator_bin" "$worker_bin"; do
  [ -x "$b" ] || { echo "quickstart.sh: $b is missing (run without --no-build)" >&2; exit 1; }
done

state="${state:-lcsweep-quickstart}"
case "$state" in /*) ;; *) state="$root/$state" ;; esac
coordinator_pid=""
worker_pid=""

stop() {
  local pid="$1" name="$2" grace="$3" status=0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  echo "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $((grace * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name did not stop within ${grace}s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || status=$?
  [ "$status" = 0 ] || echo "warning: $name exited with status $status (log in $state)" >&2
}

finished=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$keep" = 1 ] && [ "$finished" = 1 ]; then
    echo
    echo "left running (--keep-running): coordinator pid $coordinator_pid, worker pid $worker_pid"
    echo "  dashboard:  http://127.0.0.1:$http_port"
    echo "  CLI:        LCSWEEP_COORDINATOR=127.0.0.1:$port $lcsweep ls"
    echo "  stop them:  kill $worker_pid $coordinator_pid"
    exit "$rc"
  fi
  # The worker first: it drains (checkpoints and releases its job) on SIGTERM.
  stop "$worker_pid" "lcsweep-worker" 60
  stop "$coordinator_pid" "lcsweep-coordinator" 20
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for p in "$port" "$http_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "quickstart.sh: port $p on 127.0.0.1 is already in use (an earlier --keep-running run?);" \
         "stop that process or pick --port/--http-port" >&2
    exit 1
  fi
done

phase "starting lcsweep-coordinator on 127.0.0.1:$port (state in $state)"
# Cleared only when it is a quickstart state folder (or empty): --state-dir
# may name any folder.
if [ -d "$state" ] && [ -n "$(ls -A "$state")" ] && [ ! -e "$state/lcsweep.db" ] && [ ! -e "$state/coordinator.log" ]; then
  echo "quickstart.sh: $state is not empty and not a quickstart state folder; not clearing it" >&2
  exit 1
fi
rm -rf "$state"
mkdir -p "$state"
# setsid: a Ctrl-C reaches only this script, whose trap then stops the
# processes in order (worker drain first).
setsid "$coordinator_bin" --listen "127.0.0.1:$port" --db "$state/lcsweep.db" \
  --artifacts "$state/artifacts" --http-listen "127.0.0.1:$http_port" \
  >"$state/coordinator.log" 2>&1 &
coordinator_pid=$!
for _ in $(seq 300); do
  grep -q "listening on" "$state/coordinator.log" 2>/dev/null && break
  kill -0 "$coordinator_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "listening on" "$state/coordinator.log"; then
  echo "quickstart.sh: lcsweep-coordinator did not start; its log:" >&2
  tail -n 30 "$state/coordinator.log" >&2
  exit 1
fi
grep "lcsweep-coordinator" "$state/coordinator.log" | grep -v "level=" || true
export LCSWEEP_COORDINATOR="127.0.0.1:$port"
"$lcsweep" health

# --worker-args come last; the defaults they name are left out, since the
# worker takes each of these options once.
read -r -a extra <<<"$worker_args"
worker_opts=()
for default in "--devices cpu" "--slots 1" "--threads $threads"; do
  named=0
  for a in "${extra[@]}"; do
    case "$a" in "${default%% *}"|"${default%% *}="*) named=1 ;; esac
  done
  # shellcheck disable=SC2206  # split "--option value" into its two words
  [ "$named" = 1 ] || worker_opts+=($default)
done
worker_opts+=("${extra[@]}")
phase "starting lcsweep-worker ${worker_opts[*]} (log $state/worker.log)"
setsid "$worker_bin" --coordinator "127.0.0.1:$port" --name quickstart --work-dir "$state/work" \
  "${worker_opts[@]}" >"$state/worker.log" 2>&1 &
worker_pid=$!

phase "lcsweep submit $sweep"
"$lcsweep" submit "$sweep" --dry-run
submit_out="$("$lcsweep" submit "$sweep")"
echo "$submit_out"
sweep_id="$(sed -n 's/^submitted sweep \([0-9][0-9]*\).*/\1/p' <<<"$submit_out")"
[ -n "$sweep_id" ] || { echo "quickstart.sh: could not read the sweep id" >&2; exit 1; }

phase "lcsweep watch $sweep_id (dashboard: http://127.0.0.1:$http_port)"
t_watch=$(date +%s)
watch_rc=0
"$lcsweep" watch "$sweep_id" || watch_rc=$?
t_done=$(date +%s)
if ! kill -0 "$worker_pid" 2>/dev/null; then
  echo "quickstart.sh: the worker exited; last lines of $state/worker.log:" >&2
  tail -n 20 "$state/worker.log" >&2
fi

phase "lcsweep results $sweep_id --vs-paper"
"$lcsweep" results "$sweep_id" --vs-paper || true
echo
"$lcsweep" jobs --sweep "$sweep_id"

echo
echo "wall time: $(( t_done - t0 ))s in all (build and setup $(( t_built - t0 ))s," \
     "sweep $(( t_done - t_watch ))s)"
finished=1
exit "$watch_rc"
