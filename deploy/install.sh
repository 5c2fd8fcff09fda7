#!/usr/bin/env bash
# Installs lcsweep on a systemd host from a build tree: binaries (cmake --install), the lcsweep
# system user (systemd-sysusers), the unit files and example configuration in /etc/lcsweep.
# Existing files in /etc/lcsweep are never overwritten; unit files are (they are code, not config).
# On a fresh install, tokens.json gets random admin/client/worker tokens and worker.env the worker one.
#
# Usage: deploy/install.sh [options]
#   --build DIR        build tree to install from (default: ./build)
#   --prefix DIR       installation prefix for the binaries (default: /usr/local)
#   --destdir DIR      stage everything under DIR (default: $DESTDIR); no user is created on the
#                      host (systemd-sysusers --root=DIR instead), no systemctl is run
#   --component NAME   pass --component NAME to cmake --install (e.g. deploy: units/docs only)
#   --no-cmake         skip cmake --install (units, user and config only)
#   --dry-run          print every action, change nothing
#   -h, --help         this text
# Afterwards: edit /etc/lcsweep/*.env, then
#   systemctl enable --now lcsweep-coordinator lcsweep-worker@cpu
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="build"
prefix="/usr/local"
destdir="${DESTDIR:-}"
component=""
do_cmake=1
dry_run=0

die() { echo "install.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) [ $# -ge 2 ] || die "--build needs a directory"; build="$2"; shift 2 ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; destdir="$2"; shift 2 ;;
    --component) [ $# -ge 2 ] || die "--component needs a name"; component="$2"; shift 2 ;;
    --no-cmake) do_cmake=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
case "$prefix" in /*) ;; *) die "--prefix must be absolute, got '$prefix'" ;; esac
if [ -n "$destdir" ]; then
  case "$destdir" in /*) ;; *) destdir="$(pwd)/$destdir" ;; esac
  destdir="${destdir%/}"
fi

# Sources: the same layout in the source tree (deploy/) and installed (share/lcsweep/).
unit_src="$here/systemd"
config_src="$here/config"
[ -f "$unit_src/lcsweep-coordinator.service" ] || die "unit files not found in $unit_src"
[ -f "$config_src/worker.env" ] || die "example configuration not found in $config_src"

etc="$destdir/etc"
unitdir="$etc/systemd/system"
confdir="$etc/lcsweep"
sysusers_conf="$etc/sysusers.d/lcsweep.conf"

# run CMD...: print it, and execute it unless --dry-run.
run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  if [ "$dry_run" = 0 ]; then "$@"; fi
}

# 1. Binaries (and the share/lcsweep + docs install() rules of deploy/CMakeLists.txt).
if [ "$do_cmake" = 1 ]; then
  [ -f "$build/cmake_install.cmake" ] || die "'$build' is not a configured build tree (no cmake_install.cmake); build first or pass --build DIR"
  args=(cmake --install "$build" --prefix "$prefix")
  [ -n "$component" ] && args+=(--component "$component")
  if [ -n "$destdir" ]; then run env DESTDIR="$destdir" "${args[@]}"; else run "${args[@]}"; fi
fi

# 2. The system user, before any file gets group lcsweep.
run install -d -m 0755 "$etc/sysusers.d"
run install -m 0644 "$unit_src/lcsweep.sysusers" "$sysusers_conf"
command -v systemd-sysusers >/dev/null || die "systemd-sysusers not found (install the systemd package)"
if [ -n "$destdir" ]; then
  run systemd-sysusers --root="$destdir" "$sysusers_conf"
else
  run systemd-sysusers "$sysusers_conf"
fi

# 3. Units, with ExecStart pointing at the chosen prefix.
run install -d -m 0755 "$unitdir"
for unit in lcsweep-coordinator.service lcsweep-worker@.service; do
  echo "+ sed 's#/usr/local/bin/#$prefix/bin/#' $unit_src/$unit > $unitdir/$unit"
  if [ "$dry_run" = 0 ]; then
    sed "s#/usr/local/bin/#$prefix/bin/#g" "$unit_src/$unit" > "$unitdir/$unit.tmp"
    chmod 0644 "$unitdir/$unit.tmp"
    mv "$unitdir/$unit.tmp" "$unitdir/$unit"
  fi
done

# 4. Configuration: created once, never overwritten. Group lcsweep may read it; tokens.json
# (SHA-256 digests only) is 0600 for the service user: the coordinator refuses a tokens file that
# group or others can open.
group_args=()
owner_args=()
if [ -n "$destdir" ]; then
  # Under --destdir the host's group database does not apply: use the staged one's numeric id.
  gid="$(awk -F: '$1 == "lcsweep" { print $3 }' "$etc/group" 2>/dev/null || true)"
  [ -n "$gid" ] && group_args=(-g "$gid")
  uid="$(awk -F: '$1 == "lcsweep" { print $3 }' "$etc/passwd" 2>/dev/null || true)"
  [ -n "$uid" ] && owner_args=(-o "$uid")
elif [ "$dry_run" = 1 ] || getent group lcsweep >/dev/null; then
  group_args=(-g lcsweep)
  getent passwd lcsweep >/dev/null && owner_args=(-o lcsweep)
fi
run install -d -m 0750 "${group_args[@]}" "$confdir"

random_token() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
fresh_worker_token=""
if [ -e "$confdir/tokens.json" ]; then
  echo "= keep existing $confdir/tokens.json"
else
  admin="$(random_token)"; client="$(random_token)"; fresh_worker_token="$(random_token)"
  echo "+ write $confdir/tokens.json (fresh random admin, client and worker tokens)"
  if [ "$dry_run" = 0 ]; then
    umask_old="$(umask)"; umask 0077
    digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
    printf '{\n  "tokens": [\n    {"sha256": "%s", "role": "admin", "name": "admin"},\n    {"sha256": "%s", "role": "client", "name": "client"},\n    {"sha256": "%s", "role": "worker", "name": "workers"}\n  ]\n}\n' \
      "$(digest "$admin")" "$(digest "$client")" "$(digest "$fresh_worker_token")" > "$confdir/tokens.json.tmp"
    # The tokens themselves are shown once, in a file only root can read (tokens.json keeps digests).
    printf 'admin %s\nclient %s\nworker %s\n' "$admin" "$client" "$fresh_worker_token" > "$confdir/initial-tokens.txt"
    umask "$umask_old"
    run install -m 0600 "${owner_args[@]}" "${group_args[@]}" "$confdir/tokens.json.tmp" "$confdir/tokens.json"
    rm -f "$confdir/tokens.json.tmp"
    echo "  the admin and client tokens are in $confdir/initial-tokens.txt (mode 0600): hand them out, then delete it"
  fi
fi
for f in coordinator.env worker.env coordinator.json; do
  if [ -e "$confdir/$f" ]; then
    echo "= keep existing $confdir/$f"
    continue
  fi
  run install -m 0640 "${group_args[@]}" "$config_src/$f" "$confdir/$f"
  if [ "$f" = worker.env ] && [ -n "$fresh_worker_token" ] && [ "$dry_run" = 0 ]; then
    sed -i "s/^LCSWEEP_TOKEN=.*/LCSWEEP_TOKEN=$fresh_worker_token/" "$confdir/$f"
  fi
done

# 5. Tell systemd, when this is the live system.
if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
  run systemctl daemon-reload
fi

if [ "$dry_run" = 1 ]; then echo "install.sh: dry run done, nothing was changed"; else echo "install.sh: done"; fi
cat <<EOF
Next: review $confdir/coordinator.env and worker.env, then
  systemctl enable --now lcsweep-coordinator.service lcsweep-worker@cpu.service
EOF
