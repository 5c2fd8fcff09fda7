#include "server/rpc/checkpoint_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/ids.h"

namespace lcsweep::rpc {
namespace fs = std::filesystem;

namespace {

Status ErrnoStatus(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return ResourceExhaustedError(msg + " (disk full)");
  return InternalError(msg);
}

void FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

StatusOr<std::unique_ptr<CheckpointFiles>> CheckpointFiles::Open(const std::string& root) {
  std::error_code ec;
  for (const char* sub : {"checkpoints", "tmp"}) {
    fs::create_directories(fs::path(root) / sub, ec);
    if (ec) {
      return InternalError("cannot create artifact directory " + (fs::path(root) / sub).string() +
                           ": " + ec.message());
    }
  }
  // Uploads interrupted by a crash: their temp files are garbage.
  for (const auto& entry : fs::directory_iterator(fs::path(root) / "tmp", ec)) {
    fs::remove(entry.path(), ec);
  }
  return std::unique_ptr<CheckpointFiles>(new CheckpointFiles(root));
}

StatusOr<std::unique_ptr<CheckpointFiles::Upload>> CheckpointFiles::BeginUpload(
    int64_t job_id, int64_t epoch, int64_t step, int64_t size_bytes, const std::string& sha256) {
  const std::string unique = NewId("u").substr(2, 12);
  return Begin(job_id, fs::path("checkpoints") / ("job-" + std::to_string(job_id)),
               "e" + std::to_string(epoch) + "-s" + std::to_string(step) + "-" + unique + ".ckpt",
               unique, size_bytes, sha256);
}

StatusOr<std::unique_ptr<CheckpointFiles::Upload>> CheckpointFiles::BeginModelUpload(
    int64_t job_id, int64_t size_bytes, const std::string& sha256) {
  // A unique name per upload: a replacement never overwrites the file the
  // database still names until the new row is committed.
  const std::string unique = NewId("u").substr(2, 12);
  return Begin(job_id, "models", "job-" + std::to_string(job_id) + "-" + unique + ".pt", unique,
               size_bytes, sha256);
}

StatusOr<std::unique_ptr<CheckpointFiles::Upload>> CheckpointFiles::Begin(
    int64_t job_id, const std::string& subdir, const std::string& file_name, const std::string& unique,
    int64_t size_bytes, const std::string& sha256) {
  if (size_bytes < 0) return InvalidArgumentError("upload size_bytes must be >= 0");
  bool hex = sha256.size() == 64;
  for (char c : sha256) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
  if (!hex) {
    return InvalidArgumentError("upload sha256 must be 64 hex digits, found \"" +
                                sha256.substr(0, 80) + "\"");
  }
  std::unique_ptr<Upload> up(new Upload());
  up->temp_path_ = (fs::path(root_) / "tmp" / ("job-" + std::to_string(job_id) + "-" + unique)).string();
  fs::path dir = fs::path(root_) / subdir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError("cannot create " + dir.string() + ": " + ec.message());
  up->final_path_ = (dir / file_name).string();
  up->expected_size_ = size_bytes;
  up->expected_sha256_ = sha256;
  for (char& c : up->expected_sha256_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  up->file_ = std::fopen(up->temp_path_.c_str(), "wb");
  if (up->file_ == nullptr) return ErrnoStatus("cannot create " + up->temp_path_, errno);
  return up;
}

CheckpointFiles::Upload::~Upload() {
  if (file_ != nullptr) std::fclose(file_);
  if (!done_) {
    std::error_code ec;
    fs::remove(temp_path_, ec);
  }
}

Status CheckpointFiles::Upload::Append(const std::string& bytes) {
  if (done_ || file_ == nullptr) return FailedPreconditionError("upload already finished");
  if (received_ + static_cast<int64_t>(bytes.size()) > expected_size_) {
    return DataLossError("upload sent more bytes than the declared size_bytes=" +
                         std::to_string(expected_size_) + "; nothing stored");
  }
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return ErrnoStatus("writing " + temp_path_, errno);
  }
  hash_.Update(bytes);
  received_ += static_cast<int64_t>(bytes.size());
  return OkStatus();
}

StatusOr<std::string> CheckpointFiles::Upload::Commit() {
  if (done_ || file_ == nullptr) return FailedPreconditionError("upload already finished");
  if (received_ != expected_size_) {
    return DataLossError("upload ended after " + std::to_string(received_) +
                         " bytes but size_bytes declared " + std::to_string(expected_size_) +
                         "; nothing stored");
  }
  const std::string actual = hash_.FinishHex();
  if (actual != expected_sha256_) {
    return DataLossError("upload SHA-256 mismatch: declared " + expected_sha256_ +
                         ", received bytes hash to " + actual + "; nothing stored");
  }
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    return ErrnoStatus("flushing " + temp_path_, errno);
  }
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return ErrnoStatus("renaming " + temp_path_ + " to " + final_path_, errno);
  }
  FsyncDir(fs::path(final_path_).parent_path().string());
  done_ = true;
  return final_path_;
}

void CheckpointFiles::Remove(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

}  // namespace lcsweep::rpc
