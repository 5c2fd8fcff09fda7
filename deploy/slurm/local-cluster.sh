#!/usr/bin/env bash
# A throwaway single-node Slurm cluster on loopback, for trying deploy/slurm/lcsweep-worker.sbatch
# (and for the `slurm` ctest label) on one machine without systemd: its own munged (own key and
# socket), slurmctld and slurmd, all state, logs and pid files under one folder, free TCP ports.
# Nothing is written outside that folder, so it neither needs nor disturbs a Slurm or munge the host
# may already run. Needs root (slurmd runs jobs as their user) and Debian's slurmctld, slurmd,
# slurm-client and munge (deploy/install-deps.sh).
#
# Usage: deploy/slurm/local-cluster.sh up|down|status|env [--dir DIR]
#   up      start the cluster (idempotent: a cluster already up in DIR is left as it is) and wait
#           until its node is idle; prints the `export SLURM_CONF=...` line that clients need
#   down    cancel every job, stop the daemons (TERM, then KILL after 10 s), remove DIR;
#           idempotent, and leaves no process of the cluster running
#   status  exit 0 when the cluster in DIR answers `scontrol ping`
#   env     print the export line
#   --dir DIR  state folder (default $LCSWEEP_SLURM_DIR, else /tmp/lcsweep-slurm)
#
# The node is "localhost" (NodeAddr 127.0.0.1) with the CPUs and memory `slurmd -C` reports here;
# it has no GPUs (submit with --gres=none; see docs/deployment.md). Settings chosen for tests:
# requeued jobs restart after seconds rather than minutes (cred_expire=5, sched_interval=1),
# KillWait=30 as on most clusters, no accounting, proctrack/linuxproc (no cgroups needed).
set -euo pipefail

cmd="${1:-}"; [ $# -gt 0 ] && shift
dir="${LCSWEEP_SLURM_DIR:-/tmp/lcsweep-slurm}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:?--dir needs a folder}"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "local-cluster.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

die() { echo "local-cluster.sh: $*" >&2; exit 1; }
pid_of() { [ -s "$dir/$1.pid" ] && cat "$dir/$1.pid"; }
alive() { local p; p="$(pid_of "$1")" && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
ping_ok() { [ -f "$conf" ] && timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop_daemon() {  # stop_daemon NAME: TERM, wait up to 10 s, then KILL
  local p
  p="$(pid_of "$1")" || return 0
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  echo "local-cluster.sh: $1 (pid $p) ignored SIGTERM; killing it" >&2
  kill -KILL "$p" 2>/dev/null || true
}

# Processes of jobs that outlive slurmd (a job that ignored its signals): slurmd puts its own
# SLURM_CONF into every job's environment, which tells this cluster's jobs from any other's.
job_pids() {
  local d p env
  for d in /proc/[0-9]*; do
    p="${d#/proc/}"
    [ "$p" = $$ ] && continue
    env="$( { tr '\0' '\n' < "$d/environ"; } 2>/dev/null)" || continue
    grep -qx "SLURM_CONF=$conf" <<<"$env" && grep -q '^SLURM_JOB_ID=' <<<"$env" && echo "$p"
  done
  return 0
}

do_down() {
  if ping_ok; then
    scancel --full --signal=KILL --user="$(id -un)" 2>/dev/null || true
    scancel --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 150); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  stop_daemon slurmd
  stop_daemon slurmctld
  local p
  for p in $(job_pids); do kill -KILL "$p" 2>/dev/null || true; done
  stop_daemon munged
  rm -rf "$dir"
}

do_up() {
  if alive slurmctld && alive slurmd && alive munged && ping_ok; then
    echo "export SLURM_CONF=$conf"; return 0
  fi
  [ "$(id -u)" = 0 ] || die "run as root (slurmd starts jobs as their user)"
  for b in munged slurmctld slurmd sbatch scontrol; do
    command -v "$b" >/dev/null || die "'$b' not found (deploy/install-deps.sh installs slurmctld slurmd slurm-client munge)"
  done
  do_down  # a half-started cluster from an earlier run
  mkdir -p "$dir"/{munge,ctld,spool}
  # munged refuses a socket folder that is not world-executable and a key others can read.
  chmod 0755 "$dir" "$dir/munge"
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$dir/munge/munge.key"
  munged --socket="$dir/munge/socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munged.pid" \
         --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" ||
    die "munged did not start: $(tail -3 "$dir/munged.log" 2>/dev/null)"

  # The node's real shape (slurmctld drains a node whose slurmd reports less than slurm.conf says).
  local shape
  shape="$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //')"
  cat > "$conf" <<EOF
ClusterName=lcsweep-local
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/socket,cred_expire=5
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
KillWait=30
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 $shape State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  slurmctld -c -f "$conf" || die "slurmctld did not start: $(tail -3 "$dir/slurmctld.log" 2>/dev/null)"
  slurmd -N localhost -f "$conf" || die "slurmd did not start: $(tail -3 "$dir/slurmd.log" 2>/dev/null)"
  for _ in $(seq 300); do
    if sinfo -h -n localhost -o %t 2>/dev/null | grep -qx idle; then
      echo "export SLURM_CONF=$conf"; return 0
    fi
    sleep 0.1
  done
  sinfo -N -l >&2 || true
  tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  do_down
  die "the node did not become idle within 30 s"
}

case "$cmd" in
  up) do_up ;;
  down) do_down ;;
  status) alive slurmctld && ping_ok ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: local-cluster.sh up|down|status|env [--dir DIR] (see --help)" >&2; exit 2 ;;
esac
