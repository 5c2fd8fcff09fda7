#!/usr/bin/env bash
# Builds the tables of docs/fault_suite.md from the verbose output of fault
# suite runs: ctest --test-dir build -L fault -V > run-N.log, one file per run.
#
# Usage: tests/integration/fault_table.sh run-1.log run-2.log ...
# One table per fault: a row per run (its FAULT_TALLY line: jobs,
# acknowledged writes, lost, duplicated; ctest's verdict and seconds) and
# the total over the runs.
set -euo pipefail
[ "$#" -ge 1 ] || { sed -n '2,8p' "$0"; exit 2; }
awk '
  FNR == 1 { run++ }
  /FAULT_TALLY/ {
    for (i = 1; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
    f = v["fault"]; k = f SUBSEP run
    jobs[k] = v["jobs"]; ack[k] = v["acknowledged"]; lost[k] = v["lost"]; dup[k] = v["duplicated"]
  }
  / Test +#[0-9]+: Fault/ {
    # "1/6 Test #39: FaultPause.X ....   Passed   26.39 sec"
    name = $4; sub(/\..*/, "", name)
    verdict[name SUBSEP run] = $(NF - 2); secs[name SUBSEP run] = $(NF - 1)
  }
  END {
    n = split("FaultPause:pause FaultDiskFull:disk_full FaultLossyNetwork:lossy_network " \
              "FaultCrashPoints:crash_points FaultClockSkew:clock_skew FaultDuplicates:duplicates", order, " ")
    for (i = 1; i <= n; ++i) {
      split(order[i], p, ":"); t = p[1]; f = p[2]
      printf "### %s\n\n| run | result | seconds | jobs | acknowledged writes | lost | duplicated |\n", f
      print "|---|---|---|---|---|---|---|"
      tj = ta = tl = td = passed = 0
      for (r = 1; r <= run; ++r) {
        k = f SUBSEP r; c = t SUBSEP r
        res = (c in verdict) ? verdict[c] : "not run"
        printf "| %d | %s | %s | %s | %s | %s | %s |\n", r, res, (c in secs) ? secs[c] : "-",
               (k in jobs) ? jobs[k] : "-", (k in ack) ? ack[k] : "-", (k in lost) ? lost[k] : "-",
               (k in dup) ? dup[k] : "-"
        tj += jobs[k]; ta += ack[k]; tl += lost[k]; td += dup[k]; passed += (res == "Passed")
      }
      printf "| **%d runs** | %d passed | | %d | %d | %d | %d |\n\n", run, passed, tj, ta, tl, td
    }
  }' "$@"
