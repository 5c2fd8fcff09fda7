// CheckpointFiles: the coordinator's artifact directory for job checkpoints
// and final models.
//
// Layout: <root>/checkpoints/job-<id>/e<epoch>-s<step>-<unique>.ckpt,
// <root>/models/job-<id>-<unique>.pt, and <root>/tmp/ for uploads in
// progress. An upload streams into a temp file
// while hashing (SHA-256); Commit() checks the declared size and digest,
// fsyncs, and renames into place atomically, so a checkpoint file either is
// complete and verified or does not exist. Leftover temp files (a crash
// mid-upload) are removed by Open().
//
// Thread-safety: Open/Remove/paths are safe concurrently; one Upload object
// is used by one thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "common/sha256.h"
#include "common/status.h"

namespace lcsweep::rpc {

class CheckpointFiles {
 public:
  // Creates the directories when missing. INTERNAL naming the path otherwise.
  static StatusOr<std::unique_ptr<CheckpointFiles>> Open(const std::string& root);

  class Upload {
   public:
    ~Upload();  // removes the temp file unless committed
    // Appends bytes; DATA_LOSS when they exceed the declared size,
    // RESOURCE_EXHAUSTED when the disk is full.
    Status Append(const std::string& bytes);
    // Verifies size and SHA-256 (DATA_LOSS on mismatch, temp removed) and
    // moves the file into place; returns its final path.
    StatusOr<std::string> Commit();
    int64_t received() const { return received_; }

   private:
    friend class CheckpointFiles;
    Upload() = default;
    std::string temp_path_, final_path_, expected_sha256_;
    int64_t expected_size_ = 0;
    int64_t received_ = 0;
    std::FILE* file_ = nullptr;
    Sha256 hash_;
    bool done_ = false;
  };

  // Starts an upload for a job. `sha256` must be 64 hex digits (lower or
  // upper case); `size_bytes` >= 0. INVALID_ARGUMENT otherwise.
  StatusOr<std::unique_ptr<Upload>> BeginUpload(int64_t job_id, int64_t epoch, int64_t step,
                                                int64_t size_bytes, const std::string& sha256);

  // The same for a job's final model (UploadModel).
  StatusOr<std::unique_ptr<Upload>> BeginModelUpload(int64_t job_id, int64_t size_bytes,
                                                     const std::string& sha256);

  // Deletes a stored checkpoint or model file (pruning); missing files are fine.
  void Remove(const std::string& path);

  const std::string& root() const { return root_; }

 private:
  explicit CheckpointFiles(std::string root) : root_(std::move(root)) {}
  // An upload into <root>/<subdir>/<file_name>; `unique` names its temp file.
  StatusOr<std::unique_ptr<Upload>> Begin(int64_t job_id, const std::string& subdir,
                                          const std::string& file_name, const std::string& unique,
                                          int64_t size_bytes, const std::string& sha256);
  std::string root_;
};

}  // namespace lcsweep::rpc
