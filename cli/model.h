// lcsweep model JOB -o PATH: downloads a succeeded job's final model
// (spec.proto Model: a state dict for Python's torch.load) with GetModel,
// writes it to PATH.part while hashing, checks size and SHA-256 against the
// metadata, then renames it to PATH; nothing is left at PATH on any error.
// A job without a model fails with the coordinator's reason (not succeeded,
// pruned by the retention policy, never uploaded).
// Thread-safety: one command per process.
#pragma once

#include <cstdint>
#include <string>

#include "cli/connection.h"
#include "cli/io.h"

namespace lcsweep::cli {

struct ModelArgs {
  int64_t job = 0;
  std::string out;   // required: where the file goes
  bool json = false; // print the metadata as JSON instead of a line
};

int RunModel(const ConnectionFlags& flags, const ModelArgs& args, Io io);

}  // namespace lcsweep::cli
