#!/usr/bin/env bash
# Builds the CPU image (deploy/docker/Dockerfile) from binaries already built on this Debian 12 host
# instead of compiling inside the image: `cmake --install BUILD_DIR --strip` is staged into
# deploy/docker/prebuilt/ of a small temporary context (the Dockerfile, the two package scripts and
# that tree; not the source tree) and the image is built with --build-arg BINARIES=prebuilt, so the
# runtime stage is the same as for a full build: Debian's runtime libraries (deploy/runtime-deps.sh,
# whose --check fails the build when a binary needs a library the list lacks), user 10001, the volume
# and the health check. The package layer is cached by the engine; only the binaries' layers change.
#
# Usage: deploy/docker/build-image.sh BUILD_DIR [--tag NAME] [--engine podman|docker] [-- BUILD_ARGS...]
#   BUILD_DIR   a configured and built tree (cmake --build BUILD_DIR: the binaries and lcsweep_web)
#   --tag NAME  image name (default lcsweep:latest, what compose.yaml and the k8s manifests use)
#   --engine E  podman (default when installed) or docker
# With podman, run `eval "$(deploy/docker/podman-setup.sh)"` first on hosts without a registry.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"

build_dir=""; tag="lcsweep:latest"; engine=""; extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="${2:?--tag needs a name}"; shift 2 ;;
    --engine) engine="${2:?--engine needs podman or docker}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build-image.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) build_dir="$1"; shift ;;
  esac
done
die() { echo "build-image.sh: $*" >&2; exit 1; }
[ -n "$build_dir" ] || die "usage: build-image.sh BUILD_DIR [--tag NAME] (see --help)"
[ -f "$build_dir/CMakeCache.txt" ] || die "$build_dir is not a CMake build tree"
if [ -z "$engine" ]; then
  if command -v podman >/dev/null; then engine=podman; else engine=docker; fi
fi
command -v "$engine" >/dev/null || die "'$engine' not found"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/deploy/docker/prebuilt"
cp "$src/deploy/runtime-deps.sh" "$src/deploy/install-deps.sh" "$ctx/deploy/"
cp "$here/Dockerfile" "$ctx/deploy/docker/"
cmake --install "$build_dir" --prefix "$ctx/deploy/docker/prebuilt" --strip > "$ctx/install.log" 2>&1 ||
  { tail -5 "$ctx/install.log" >&2; die "cmake --install $build_dir failed (build everything first: cmake --build $build_dir)"; }
for b in lcsweep-coordinator lcsweep-worker lcsweep lcsweep-train; do
  [ -x "$ctx/deploy/docker/prebuilt/bin/$b" ] || die "$b was not installed from $build_dir"
done
rm -f "$ctx/install.log"
fmt=(); [ "$engine" = podman ] && fmt=(--format docker)  # OCI images (its default) drop HEALTHCHECK
"$engine" build "${fmt[@]+"${fmt[@]}"}" -f "$ctx/deploy/docker/Dockerfile" --build-arg BINARIES=prebuilt -t "$tag" \
  "${extra[@]+"${extra[@]}"}" "$ctx"
