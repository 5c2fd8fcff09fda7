#!/usr/bin/env bash
# Installs only the Debian 12 shared libraries the lcsweep binaries need at run time (no compilers,
# no -dev packages): the runtime stage of deploy/docker/Dockerfile and hosts that get prebuilt binaries.
# The build-time list is deploy/install-deps.sh; each package here is the runtime library that one of
# its -dev packages depends on. `--check BIN...` verifies with ldd that nothing is missing afterwards.
#
# Usage: deploy/runtime-deps.sh [--no-torch] [--print] [--check BIN...]
#   --no-torch     leave out Debian's LibTorch (images that bring their own, e.g. Dockerfile.cuda)
#   --print        print the package list and exit
#   --check BIN..  after installing, fail if ldd reports a missing library for any BIN
set -euo pipefail

packages=(
  ca-certificates sqlite3
  libtorch1.13 libopenblas0-openmp
  libgrpc++1.51 libprotobuf32
  libsqlite3-0 libspdlog1.10 libfmt9
  libcpp-httplib0.11 libssl3
  libturbojpeg0 zlib1g
)

check=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-torch)
      kept=(); for p in "${packages[@]}"; do [[ "$p" == libtorch1.13 || "$p" == libopenblas0-openmp ]] || kept+=("$p"); done
      packages=("${kept[@]}"); shift ;;
    --print) printf '%s\n' "${packages[@]}"; exit 0 ;;
    --check) shift; check=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "runtime-deps.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "runtime-deps.sh: run as root to install ${missing[*]}" >&2; exit 1; }
  echo "runtime-deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || { echo "runtime-deps.sh: apt-get update failed (network or sources.list?)" >&2; exit 1; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    { echo "runtime-deps.sh: apt-get install failed; is this Debian 12 (bookworm)?" >&2; exit 1; }
  rm -rf /var/lib/apt/lists/*
fi

status=0
for bin in "${check[@]+"${check[@]}"}"; do
  [ -x "$bin" ] || { echo "runtime-deps.sh: $bin is not an executable" >&2; status=1; continue; }
  if ldd "$bin" | grep -q 'not found'; then
    echo "runtime-deps.sh: $bin needs libraries that no listed package provides:" >&2
    ldd "$bin" | grep 'not found' >&2
    status=1
  fi
done
exit "$status"
