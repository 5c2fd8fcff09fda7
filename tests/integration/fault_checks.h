// The invariants every fault test (tests/integration/fault_*_test.cc) checks
// once its fault is over, and the tally line each prints for the fault
// suite's report (docs/fault_suite.md).
//
// Definitions used in the tally (one home for them):
//  - acknowledged: writes whose acknowledgement is known to the test: the
//    live metric points a worker must have had acknowledged before it could
//    complete a job (every logged step of every step metric, every epoch of
//    every epoch metric), each job's completion, plus the writes the test
//    itself had acknowledged (added by the test: submits, reports).
//  - lost: acknowledged writes missing afterwards (a gap in a live series,
//    a job not succeeded, an acknowledged sweep not found).
//  - duplicated: writes stored more than once: a (name, step) twice in a
//    live series, a (attempt, name, step) twice among all stored points (a
//    report stored twice), a job succeeded twice, a second sweep or job
//    where exactly one was asked for.
//
// Functions add gtest failures (EXPECT_*) for every violation and never abort
// the test, so one run reports every broken invariant. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/integration/local_cluster.h"

namespace lcsweep::testing {

struct FaultTally {
  std::string fault;
  int64_t jobs = 0;
  int64_t acknowledged = 0;
  int64_t lost = 0;
  int64_t duplicated = 0;
  // Prints "FAULT_TALLY fault=NAME jobs=J acknowledged=A lost=L duplicated=D"
  // on stdout (docs/fault_suite.md is filled from these lines).
  void Print() const;
};

// PRAGMA integrity_check of a SQLite file, opened read-only: "ok", or what
// SQLite reported (or why the file could not be opened).
std::string IntegrityCheck(const std::string& db_path);

// The shape of the sweep the checks expect (TinySweep's defaults).
struct SweepShape {
  int jobs = 0;
  int epochs = 0;
  int train_size = 0;        // a multiple of batch_size
  int batch_size = 64;
  int log_every_steps = 2;
  // Compare each job's final figures and per-epoch live series bitwise with
  // an uninterrupted lcsweep-train run of its config.
  bool compare_with_standalone = true;
};

// Checks, for every job of `sweep_id` (all of them expected to succeed):
//  - it succeeded exactly once (one transition to succeeded in its audit
//    trail) with a result whose step count matches `shape`;
//  - no job in two states: its audit trail is one chain (each event starts
//    in the state the previous one ended in) ending in the job's state, and
//    ListJobs filtered by each state lists it under its state only;
//  - its live series holds every (name, step) the run logs exactly once
//    (train.step_* every log_every_steps, epoch metrics once per epoch);
//  - no (attempt, name, step) is stored twice among all stored points;
//  - optionally the results equal uninterrupted runs (see SweepShape).
// Adds the jobs, their acknowledged writes, and what was lost or duplicated
// to `tally`. Returns the sweep's jobs.
std::vector<v1::Job> CheckSweep(LocalCluster& cluster, int64_t sweep_id, const SweepShape& shape,
                                FaultTally* tally);

// Stops the coordinator (SIGKILL: nothing is flushed on the way out) and
// expects PRAGMA integrity_check to be "ok" on its database.
void KillCoordinatorAndCheckIntegrity(LocalCluster& cluster);

// Sweeps the coordinator lists (one page of up to 1,000).
int64_t CountSweeps(LocalCluster& cluster);

// Copies the coordinator's and workers' logs to $LCSWEEP_FAULT_LOG_DIR/<fault>
// when that variable is set (for post-mortems of a failed run).
void KeepLogs(const LocalCluster& cluster, const std::string& fault);

}  // namespace lcsweep::testing
