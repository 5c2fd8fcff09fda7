// Jobs as a store of identity rule 1 held them (hashed over the whole
// config, train.threads included), for the rehash tests of the core and of
// the SQLite store.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "common/job_config_json.h"
#include "common/sha256.h"
#include "server/core/types.h"

namespace lcsweep::testing {

// Job `id` of sweep 1: synthetic data, 1 epoch, `threads` CPU threads;
// job 1 succeeded, the others queued.
inline JobRecord OldHashJob(int64_t id, int64_t threads) {
  JobConfig c;
  c.data.name = "synthetic";
  c.train.epochs = 1;
  c.train.threads = threads;
  JobRecord j;
  j.id = id;
  j.sweep_ids = {1};
  j.config_json = CanonicalJobJson(c);
  j.hash = Sha256Hex(j.config_json);
  nlohmann::json no_seed = nlohmann::json::parse(j.config_json);
  no_seed.erase("seed");
  j.group_hash = Sha256Hex(CanonicalJsonOf(no_seed));
  j.axes_json = "{}";
  j.state = id == 1 ? JobState::kSucceeded : JobState::kQueued;
  if (id == 1) j.result_json = R"({"final": {"test_accuracy": 0.5}})";
  return j;
}

// A batch that writes sweep 1 with jobs 1 (threads 1) and 2 (threads 4)
// under rule 1.
inline WriteBatch OldHashStore() {
  WriteBatch b;
  SweepRecord s;
  s.id = 1;
  s.name = "old";
  s.spec_json = "{}";
  b.sweeps.push_back(s);
  b.jobs = {OldHashJob(1, 1), OldHashJob(2, 4)};
  b.sweep_jobs = {{1, 1}, {1, 2}};
  b.config_hash_version = 1;
  return b;
}

}  // namespace lcsweep::testing
