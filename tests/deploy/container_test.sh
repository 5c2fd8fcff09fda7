#!/usr/bin/env bash
# The CPU image and the compose topology run for real with rootful podman. The image is built from
# the binaries in BUILD_DIR (deploy/docker/build-image.sh: deploy/docker/Dockerfile with
# BINARIES=prebuilt, on the debootstrap base of deploy/docker/podman-setup.sh, both cached). The
# coordinator and a worker then run as containers with exactly what deploy/docker/compose.yaml gives
# its services (command, published port, named volume, secrets from make-secrets.sh, data mount,
# stop signal and grace period, health check), translated into `podman run` on a network of their
# own where the coordinator is reachable as "coordinator" over TLS. Debian 12's podman-compose 1.0.3
# cannot run the file as it is (docs/deployment.md says why), hence the translation.
# Checks: the image's health command reports SERVING; a small Fashion-MNIST sweep submitted from the
# host through the published port completes; `podman stop` of the worker container (SIGTERM) while
# it trains drains (exit 0, job released with its attempt unchanged, later resumed from the
# checkpoint); the state survives replacing the coordinator container (a new container on the same
# volume still has the sweep and its stored progress).
# Skipped (exit 77, the reason printed) without root, podman, runc, debootstrap, the built binaries
# or the data set. Leaves no container, network or volume behind; the images stay (cache).
# Usage: container_test.sh SOURCE_DIR BUILD_DIR
# shellcheck disable=SC2034  # variables are read inside the check strings that check() evals
set -uo pipefail
src="${1:?usage: container_test.sh SOURCE_DIR BUILD_DIR}"
build="${2:?usage: container_test.sh SOURCE_DIR BUILD_DIR}"
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (rootful podman)"
for b in podman runc debootstrap openssl; do
  command -v "$b" >/dev/null || skip "'$b' not found (deploy/install-deps.sh installs podman runc netavark aardvark-dns debootstrap)"
done
cli="$(find "$build" -maxdepth 3 -type f -perm -u+x -name lcsweep | head -1)"
for b in lcsweep-coordinator lcsweep-worker lcsweep lcsweep-train; do
  [ -n "$(find "$build" -maxdepth 3 -type f -perm -u+x -name "$b" | head -1)" ] || skip "$b is not built in $build"
done
[ -d "$build/web-root" ] || skip "the dashboard (target lcsweep_web) is not built in $build"
[ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
  skip "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)"

tmp="$(mktemp -d /tmp/lcsweep-container-test.XXXXXX)"
id="lcsweep-test-$$"
net="$id-net"; vol="$id-state"; coord="$id-coordinator"; work="$id-worker"
image="lcsweep:latest"
cleanup() {
  podman rm -f -t 0 "$work" "$work-2" "$coord" "$coord-2" >/dev/null 2>&1
  podman network rm -f "$net" >/dev/null 2>&1
  podman volume rm -f "$vol" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0; failed=0
check() { if eval "$2"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }
t0=$(date +%s)
say() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
fail_now() {
  echo "FAIL $*"
  for c in "$coord" "$coord-2" "$work" "$work-2"; do
    podman logs --tail 15 "$c" 2>/dev/null | sed "s/^/  $c: /"
  done
  echo "$passed passed, $((failed + 1)) failed"; exit 1
}

# --- podman, the base image and the image (each cached between runs)
eval "$(bash "$src/deploy/docker/podman-setup.sh")" || fail_now "podman-setup.sh"
say "podman ready ($CONTAINERS_CONF)"
bash "$src/deploy/docker/build-image.sh" "$build" --tag "$image" > "$tmp/build.log" 2>&1 ||
  { tail -20 "$tmp/build.log"; fail_now "build-image.sh"; }
say "image $image built"

# --- secrets exactly as the compose instructions make them
cp -r "$src/deploy/docker" "$tmp/docker"
rm -rf "$tmp/docker/secrets"
bash "$tmp/docker/make-secrets.sh" > "$tmp/secrets.out" 2>&1 || { cat "$tmp/secrets.out"; fail_now "make-secrets.sh"; }
admin_token="$(sed -n 's/^admin token.*: //p' "$tmp/secrets.out")"
[ -n "$admin_token" ] || fail_now "make-secrets.sh printed no admin token"
printf '%s\n' "$admin_token" > "$tmp/admin.token"; chmod 0600 "$tmp/admin.token"

# podman_args SERVICE HOST_PORT: `podman run` options for a compose service, one per line: what
# compose.yaml says, with this test's network, volume and host port.
podman_args() {
  python3 - "$tmp/docker/compose.yaml" "$1" "$2" "$tmp/docker" "$net" "$vol" <<'EOF'
import os, re, sys, yaml
path, name, host_port, folder, net, vol = sys.argv[1:]
doc = yaml.safe_load(open(path))
svc = doc["services"][name]
def expand(v):  # ${VAR:-default}
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m.group(1), m.group(2)), str(v))
out = ["--network", net, "--network-alias", name]
for p in svc.get("ports", []):
    hostip, _, container = expand(p).rpartition(":")
    ip = hostip.rsplit(":", 1)[0] if hostip.count(":") else ""
    if container == "50051":
        out += ["-p", f"{ip + ':' if ip else ''}{host_port}:{container}"]
for v in svc.get("volumes", []):
    src, dst = expand(v).split(":")[:2]
    if src in doc.get("volumes", {}):
        out += ["-v", f"{vol}:{dst}"]
    else:
        out += ["-v", f"{src}:{dst}:ro"]
for s in svc.get("secrets", []):
    out += ["-v", f"{os.path.join(folder, doc['secrets'][s]['file'])}:/run/secrets/{s}:ro"]
if "stop_signal" in svc:
    out += ["--stop-signal", svc["stop_signal"]]
if "stop_grace_period" in svc:
    out += ["--stop-timeout", str(int(svc["stop_grace_period"].rstrip("s")))]
hc = svc.get("healthcheck", {})
if hc.get("test"):
    out += ["--health-cmd", " ".join(hc["test"][1:])]
elif hc.get("disable"):
    out += ["--no-healthcheck"]
out.append(svc["image"])
out += [expand(a) for a in svc["command"]]
print("\n".join(out))
EOF
}
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mapfile -t coord_args < <(podman_args coordinator "$port")
mapfile -t worker_args < <(LCSWEEP_WORKER_THREADS=1 podman_args worker 0)
[ "${#coord_args[@]}" -gt 5 ] && [ "${#worker_args[@]}" -gt 5 ] || fail_now "compose.yaml: services not understood"
podman network create "$net" > /dev/null || fail_now "podman network create"
podman volume create "$vol" > /dev/null || fail_now "podman volume create"

lc() { "$cli" --coordinator "127.0.0.1:$port" --tls-ca "$tmp/docker/secrets/tls.crt" --token-file "$tmp/admin.token" --timeout 5 "$@"; }
start_coordinator() {  # start_coordinator NAME: run it and wait until the host's CLI gets SERVING
  podman run -d --name "$1" "${coord_args[@]}" > /dev/null || fail_now "podman run $1"
  for _ in $(seq 150); do lc health "127.0.0.1:$port" > /dev/null 2>&1 && return 0; sleep 0.2; done
  fail_now "$1 did not answer health within 30 s"
}
start_coordinator "$coord"
say "coordinator container up on 127.0.0.1:$port (TLS)"
check "the image's health command (compose healthcheck) reports healthy" 'podman healthcheck run "$coord" > /dev/null'

# --- a small sweep: 2 jobs of 6 epochs of 1,024 images
cat > "$tmp/sweep.json" <<'EOF'
{"name": "container_deploy_test",
 "base": {"data": {"name": "fashion_mnist", "train_limit": 1024, "test_limit": 256, "loader_threads": 1},
          "model": {"arch": "resnet_cifar", "depth": 8, "width": 8, "conv": {"mode": "lc", "lc_rate": 2}},
          "train": {"epochs": 6, "batch_size": 64, "threads": 1, "log_every_steps": 4},
          "eval": {"fgsm_eps": [], "pgd_eps": [], "corruptions": [], "filter_stats": false},
          "resources": {"device": "cpu"}, "checkpoint": {"every_epochs": 1}},
 "list": [{}], "seeds": [0, 1], "max_attempts": 3}
EOF
lc submit "$tmp/sweep.json" > "$tmp/submit.out" || fail_now "lcsweep submit: $(cat "$tmp/submit.out")"
sweep="$(sed -n 's/^submitted sweep \([0-9]*\).*/\1/p' "$tmp/submit.out")"

podman run -d --name "$work" "${worker_args[@]}" > /dev/null || fail_now "podman run $work"
busy=""
for _ in $(seq 600); do
  busy="$(lc jobs --sweep "$sweep" --state running --json 2>/dev/null | python3 -c '
import json, sys
for j in json.load(sys.stdin).get("jobs", []):
    if int(j.get("progress", {}).get("step", 0)) >= 8:
        print(j["id"]); break' 2>/dev/null)"
  [ -n "$busy" ] && break
  sleep 0.5
done
[ -n "$busy" ] || fail_now "the worker container did not start training within 300 s"
say "worker container trains job $busy; podman stop (SIGTERM)"
podman stop "$work" > /dev/null
rc="$(podman inspect --format '{{.State.ExitCode}}' "$work")"
check "SIGTERM to the worker container: it drained and exited 0 (exit $rc)" \
  '[ "$rc" = 0 ] && podman logs "$work" 2>&1 | grep -q "event=exit reason=drained"'
check "the drained job $busy went back to the queue with its attempt unchanged" \
  'lc events "$busy" --json | grep -q "released: worker drain" && [ "$(lc jobs --sweep "$sweep" --json | python3 -c "import json,sys; print([j for j in json.load(sys.stdin)[\"jobs\"] if j[\"id\"] == sys.argv[1]][0][\"attempt\"])" "$busy")" = 1 ]'

# --- the coordinator container replaced by a new one on the same volume
lc jobs --sweep "$sweep" --json > "$tmp/before.json"
podman stop "$coord" > /dev/null
crc="$(podman inspect --format '{{.State.ExitCode}}' "$coord")"
check "SIGTERM to the coordinator container: graceful exit 0 (exit $crc)" '[ "$crc" = 0 ]'
podman rm "$coord" > /dev/null
start_coordinator "$coord-2"
lc jobs --sweep "$sweep" --json > "$tmp/after.json"
check "state survives the container: the new coordinator has the sweep, its jobs and the checkpoint" \
  'python3 - "$tmp/before.json" "$tmp/after.json" "$busy" <<'"'EOF'"'
import json, sys
before, after = ({j["id"]: j for j in json.load(open(f))["jobs"]} for f in sys.argv[1:3])
ok = before.keys() == after.keys() and len(after) == 2
ok = ok and all(after[i]["config_hash"] == before[i]["config_hash"] for i in after)
ok = ok and after[sys.argv[3]].get("progress") == before[sys.argv[3]].get("progress")
sys.exit(0 if ok else 1)
EOF'

# --- a new worker container finishes the sweep
podman run -d --name "$work-2" "${worker_args[@]}" > /dev/null || fail_now "podman run $work-2"
done_ok=0
for _ in $(seq 600); do
  n="$(lc jobs --sweep "$sweep" --state succeeded --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("jobs", [])))' 2>/dev/null)"
  [ "${n:-0}" = 2 ] && { done_ok=1; break; }
  sleep 0.5
done
say "sweep finished: $done_ok"
check "the sweep completes in containers (2 jobs succeeded)" '[ "$done_ok" = 1 ]'
check "the drained job resumed from its checkpoint" \
  'lc jobs --sweep "$sweep" --json | python3 -c "
import json, sys
j = [j for j in json.load(sys.stdin)[\"jobs\"] if j[\"id\"] == sys.argv[1]][0]
sys.exit(0 if isinstance(json.loads(j[\"result_json\"]).get(\"resumed_from\"), str) else 1)" "$busy"'
podman stop "$work-2" > /dev/null
say "done"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
