#!/usr/bin/env bash
# The example Prometheus files in deploy/prometheus/: promtool (Debian's
# prometheus package, installed by deploy/install-deps.sh) checks the rules'
# syntax, the scrape config, and runs tests/deploy/prometheus_alerts_test.yml
# (each alert fires on the series that should trip it and only then).
# Exits 77 (ctest: skipped) without promtool.
set -uo pipefail
src=${1:?usage: check_prometheus_rules.sh SOURCE_DIR}
command -v promtool >/dev/null || { echo "SKIP: promtool not found (install-deps.sh installs prometheus)"; exit 77; }
pass=0 fail=0
check() {
  local name=$1; shift
  if out=$("$@" 2>&1); then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; echo "$out" | sed 's/^/     /'; fi
}
check "alerts.yml is valid" promtool check rules "$src/deploy/prometheus/alerts.yml"
check "prometheus.yml is valid" promtool check config --syntax-only "$src/deploy/prometheus/prometheus.yml"
check "alert unit tests" promtool test rules "$src/tests/deploy/prometheus_alerts_test.yml"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
