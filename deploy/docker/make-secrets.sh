#!/usr/bin/env bash
# Creates ./secrets/tokens.json (random admin, client and worker tokens in the coordinator's
# {"tokens": [{"token", "role", "name"}]} format) and
# ./secrets/worker.token (the worker one) for compose.yaml. Never overwrites existing files.
# The files are bind-mounted into containers that run as uid 10001, hence mode 0644 inside a 0700 folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ -e secrets/tokens.json ] || [ -e secrets/worker.token ]; then
  echo "make-secrets.sh: secrets/ already has tokens; remove them first to regenerate" >&2
  exit 1
fi
token() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
admin="$(token)"; client="$(token)"; worker="$(token)"
install -d -m 0700 secrets
printf '{\n  "tokens": [\n    {"token": "%s", "role": "admin", "name": "admin"},\n    {"token": "%s", "role": "client", "name": "client"},\n    {"token": "%s", "role": "worker", "name": "workers"}\n  ]\n}\n' \
  "$admin" "$client" "$worker" > secrets/tokens.json
printf '%s\n' "$worker" > secrets/worker.token
chmod 0644 secrets/tokens.json secrets/worker.token
echo "make-secrets.sh: wrote secrets/tokens.json and secrets/worker.token"
echo "admin token (for the CLI: LCSWEEP_TOKEN=...): $admin"
