#!/usr/bin/env bash
# Creates ./secrets/tokens.json (the coordinator's token table: SHA-256 digests of fresh random
# admin, client and worker tokens, {"tokens": [{"sha256", "role", "name"}]}) and
# ./secrets/worker.token (the worker's own token, which it presents) for compose.yaml, and prints
# the admin token once. Never overwrites existing files.
# The coordinator refuses a tokens file that group or others can read, so both files are 0600 and,
# when run as root, owned by uid 10001 (the containers' user); otherwise chown them yourself
# (sudo chown 10001:10001 secrets/*) before `docker compose up`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ -e secrets/tokens.json ] || [ -e secrets/worker.token ]; then
  echo "make-secrets.sh: secrets/ already has tokens; remove them first to regenerate" >&2
  exit 1
fi
token() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
admin="$(token)"; client="$(token)"; worker="$(token)"
install -d -m 0700 secrets
umask 077
printf '{\n  "tokens": [\n    {"sha256": "%s", "role": "admin", "name": "admin"},\n    {"sha256": "%s", "role": "client", "name": "client"},\n    {"sha256": "%s", "role": "worker", "name": "workers"}\n  ]\n}\n' \
  "$(digest "$admin")" "$(digest "$client")" "$(digest "$worker")" > secrets/tokens.json
printf '%s\n' "$worker" > secrets/worker.token
chmod 0600 secrets/tokens.json secrets/worker.token
if [ "$(id -u)" = 0 ]; then
  chown 10001:10001 secrets secrets/tokens.json secrets/worker.token
else
  echo "make-secrets.sh: run 'sudo chown 10001:10001 secrets secrets/*' so the containers can read them" >&2
fi
echo "make-secrets.sh: wrote secrets/tokens.json (digests) and secrets/worker.token"
echo "admin token (for the CLI: LCSWEEP_TOKEN=...; shown once, not stored): $admin"
echo "client token (shown once, not stored): $client"
