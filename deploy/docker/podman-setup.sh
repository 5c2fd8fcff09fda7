#!/usr/bin/env bash
# Makes rootful podman usable for lcsweep's images on a plain Debian 12 host or VM without systemd
# and without a reachable registry, and prints the one line the podman commands then need:
#   eval "$(deploy/docker/podman-setup.sh)"      # exports CONTAINERS_CONF
#
# 1. A containers.conf of its own (CONTAINERS_CONF, so /etc/containers is left alone): runc (crun
#    refuses hybrid cgroup layouts), cgroupfs and file events (no systemd), netavark, and
#    default_ulimits no higher than this shell's hard limits (podman's defaults need
#    CAP_SYS_RESOURCE, which root in a container or VM often lacks: "operation not permitted").
# 2. The base image the Dockerfiles start FROM (debian:bookworm) without a registry: a minbase
#    debootstrap of bookworm from the archive apt uses here, imported with `podman import`. The root
#    file system is cached as a tarball, so later runs and fresh podman stores import it in seconds.
# Idempotent; starts nothing that keeps running. Needs root, podman, runc, netavark, debootstrap
# (deploy/install-deps.sh).
#
# Usage: deploy/docker/podman-setup.sh [--cache DIR] [--base-image NAME] [--mirror URL]
#   --cache DIR        cache folder (default $LCSWEEP_CACHE_DIR, else /var/cache/lcsweep)
#   --base-image NAME  tag of the imported base (default debian:bookworm, the Dockerfiles' FROM)
#   --mirror URL       Debian archive (default: the first bookworm URI in apt's sources)
set -euo pipefail

cache="${LCSWEEP_CACHE_DIR:-/var/cache/lcsweep}"
base_image="debian:bookworm"
mirror=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache="${2:?--cache needs a folder}"; shift 2 ;;
    --base-image) base_image="${2:?--base-image needs a name}"; shift 2 ;;
    --mirror) mirror="${2:?--mirror needs a URL}"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "podman-setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "podman-setup.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (rootful podman)"
for b in podman runc debootstrap; do
  command -v "$b" >/dev/null || die "'$b' not found (deploy/install-deps.sh installs podman runc netavark debootstrap)"
done
mkdir -p "$cache"

# --- 1. containers.conf (default_ulimits settled in step 3, once there is an image to try them on)
conf="$cache/containers.conf"
write_conf() {  # write_conf NOFILE NPROC
  cat > "$conf.new" <<EOF
# Written by deploy/docker/podman-setup.sh; used through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=$1:$1", "nproc=$2:$2"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
EOF
  mv "$conf.new" "$conf"
}
nofile="$(ulimit -Hn)"; nproc="$(ulimit -Hu)"
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=4194304
[ -s "$conf" ] || write_conf "$nofile" "$nproc"
export CONTAINERS_CONF="$conf"

# --- 2. the base image
if ! podman image exists "$base_image"; then
  rootfs="$cache/bookworm-minbase.tar"
  if [ ! -s "$rootfs" ]; then
    if [ -z "$mirror" ]; then
      mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
                awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ {print u; exit}')"
      [ -n "$mirror" ] || mirror="$(grep -hs '^deb .* bookworm ' /etc/apt/sources.list | awk '{print $2; exit}')"
      [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
    fi
    echo "podman-setup.sh: debootstrap bookworm from $mirror (once; cached in $rootfs)" >&2
    work="$(mktemp -d "$cache/rootfs.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    debootstrap --variant=minbase bookworm "$work/root" "$mirror" > "$work/debootstrap.log" 2>&1 ||
      { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    # The image's apt uses the same archive; no caches in the image.
    rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
    tar -C "$work/root" -cf "$rootfs.new" . && mv "$rootfs.new" "$rootfs"
  fi
  podman import --quiet --change 'CMD ["bash"]' "$rootfs" "$base_image" > /dev/null ||
    die "podman import of $rootfs failed"
  echo "podman-setup.sh: imported $base_image from $rootfs" >&2
fi

# --- 3. rlimits that runc may set here. Root without CAP_SYS_RESOURCE cannot raise a limit, and the
# one runc starts with can be below this shell's (seen: RLIMIT_NPROC, "error setting rlimit type 6"),
# so try the hard limits and halve what is refused. The probe container has no network.
probe() { podman run --rm --network none "$base_image" true 2>&1; }
if ! out="$(probe)"; then
  write_conf "$nofile" "$nproc"
  for _ in $(seq 16); do
    out="$(probe)" && break
    case "$out" in
      *"rlimit type 7"*) nofile=$((nofile / 2)) ;;  # RLIMIT_NOFILE
      *"rlimit type 6"*) nproc=$((nproc / 2)) ;;    # RLIMIT_NPROC
      *) die "podman run $base_image fails: $out" ;;
    esac
    write_conf "$nofile" "$nproc"
  done
  probe > /dev/null || die "podman run $base_image fails: $(probe)"
  echo "podman-setup.sh: default_ulimits nofile=$nofile nproc=$nproc" >&2
fi
echo "export CONTAINERS_CONF=$conf"
