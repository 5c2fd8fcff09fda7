#!/usr/bin/env bash
# Creates ./secrets/tokens.json (the coordinator's token table: SHA-256 digests of fresh random
# admin, client and worker tokens, {"tokens": [{"sha256", "role", "name"}]}),
# ./secrets/worker.token (the worker's own token, which it presents) and a self-signed TLS
# certificate and key (./secrets/tls.crt, tls.key; names "coordinator" and "localhost", address
# 127.0.0.1: what the workers, the health check and the host's CLI connect to) for compose.yaml,
# and prints the admin token once. Never overwrites existing files. Replace tls.* with a
# certificate of your own CA to add workers from other hosts.
# The coordinator refuses a tokens file that group or others can read, so both files are 0600 and,
# when run as root, owned by uid 10001 (the containers' user); otherwise chown them yourself
# (sudo chown 10001:10001 secrets/*) before `docker compose up`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ -e secrets/tokens.json ] || [ -e secrets/worker.token ] || [ -e secrets/tls.key ]; then
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
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj /CN=coordinator \
  -addext "subjectAltName=DNS:coordinator,DNS:localhost,IP:127.0.0.1" \
  -keyout secrets/tls.key -out secrets/tls.crt 2>/dev/null
chmod 0600 secrets/tokens.json secrets/worker.token secrets/tls.key
chmod 0644 secrets/tls.crt
if [ "$(id -u)" = 0 ]; then
  chown 10001:10001 secrets secrets/tokens.json secrets/worker.token secrets/tls.crt secrets/tls.key
else
  echo "make-secrets.sh: run 'sudo chown 10001:10001 secrets secrets/*' so the containers can read them" >&2
fi
echo "make-secrets.sh: wrote secrets/tokens.json (digests), secrets/worker.token, secrets/tls.crt and tls.key"
echo "admin token (for the CLI: LCSWEEP_TOKEN=...; shown once, not stored): $admin"
echo "client token (shown once, not stored): $client"
