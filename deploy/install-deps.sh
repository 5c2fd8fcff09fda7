#!/usr/bin/env bash
# Installs every Debian package lcsweep needs to build, test and run.
# Idempotent: packages already present are skipped by apt. Exits non-zero,
# naming the package, when one cannot be installed.
#
# Usage: deploy/install-deps.sh [--no-browser]
#   --no-browser   skip chromium and node (a worker-only or coordinator-only host)
set -euo pipefail

want_browser=1
for arg in "$@"; do
  case "$arg" in
    --no-browser) want_browser=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev sqlite3 nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev libcli11-dev libssl-dev
  libturbojpeg0-dev zlib1g-dev
  dataset-fashion-mnist
  python3 python3-yaml systemd shellcheck
  clang     # the thread-safety analysis of the test command (deploy/check-thread-safety.sh)
  faketime  # libfaketime for the clock-skew fault test (tests/integration)
  prometheus  # scrapes the coordinator in the metrics test (tests/integration); promtool checks deploy/prometheus
  python3-grpcio python3-protobuf python3-pandas  # the Python client (python/lcsweep)
  python3-torch python3-numpy  # the model reference module (python/lcsweep_models) and its test
  # The deployment run for real (ctest -L slurm, -L container; docs/deployment.md): a single-node
  # Slurm cluster and rootful podman with a debootstrap base image (no registry needed).
  slurmctld slurmd slurm-client munge
  podman runc netavark aardvark-dns iptables catatonit debootstrap openssl
)
if [ "$want_browser" = 1 ]; then
  packages+=(chromium nodejs npm)
fi

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from outside Debian (e.g. nodesource); accept any working npm.
if command -v npm >/dev/null 2>&1; then
  filtered=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq || { echo "install-deps.sh: apt-get update failed (network or sources.list?)" >&2; exit 1; }
if ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  for p in "${missing[@]}"; do
    apt-cache policy "$p" 2>/dev/null | grep -q "Candidate: (none)\|^$" && echo "install-deps.sh: package '$p' has no install candidate" >&2
    if ! apt-cache show "$p" >/dev/null 2>&1; then
      echo "install-deps.sh: package '$p' is unknown to apt; is this Debian 12 (bookworm) with main enabled?" >&2
    fi
  done
  echo "install-deps.sh: apt-get install failed; see the messages above" >&2
  exit 1
fi
echo "install-deps.sh: done"
