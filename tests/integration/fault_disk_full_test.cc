// Fault suite, disk full: the coordinator's state folder (its SQLite file and
// its checkpoints) lives on a 48 MiB tmpfs. While a worker trains, the test
// fills the file system to the last byte. Then:
//  - callers get RESOURCE_EXHAUSTED: the test's own large submit (a 4,000-job
//    sweep, more than SQLite's spare WAL pages can hold) and the worker's
//    checkpoint uploads; reads keep working;
//  - nothing is corrupted: PRAGMA integrity_check is ok on the full disk, and
//    the refused submit left no sweep behind;
//  - once the ballast is deleted the service resumes by itself (no restart):
//    a new submit succeeds, the worker's training completes, and both sweeps
//    end with every invariant of the suite (results equal uninterrupted runs).
//
// Needs root to mount a tmpfs; skipped with the reason otherwise.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "tests/integration/fault_checks.h"

namespace lcsweep::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr int kEpochs = 6;
constexpr int kTrainSize = 2048;

// A size-limited tmpfs mounted for the test's lifetime.
class SmallFileSystem {
 public:
  explicit SmallFileSystem(const std::string& size) {
    std::string templ = (fs::temp_directory_path() / "lcsweep-diskfull-XXXXXX").string();
    path_ = mkdtemp(templ.data());
    const std::string opts = "size=" + size + ",mode=0755";
    if (mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      error_ = std::string("mount -t tmpfs -o ") + opts + " " + path_ + ": " + std::strerror(errno) +
               " (needs root or CAP_SYS_ADMIN)";
    } else {
      mounted_ = true;
    }
  }
  ~SmallFileSystem() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove(path_, ec);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string error_;
  bool mounted_ = false;
};

// Writes `path` until the file system refuses (ENOSPC); returns the bytes written.
int64_t FillUp(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string chunk(4096, 'x');
  int64_t written = 0;
  while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size()) written += 4096;
  // The last partial page, byte by byte, so not one byte is left.
  while (std::fwrite("x", 1, 1, f) == 1) ++written;
  std::fclose(f);
  return written;
}

TEST(FaultDiskFull, FullStateDiskRefusesWithResourceExhaustedAndResumesWhenFreed) {
  SmallFileSystem disk("48m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a size-limited file system: " << disk.error();
  FaultTally tally{"disk_full"};
  fs::create_directories(disk.path() + "/state");
  {
    LocalCluster cluster(ClusterOptions{/*lease_seconds=*/3, {}, disk.path() + "/state"});
    const nlohmann::json spec = TinySweep("diskfull", kEpochs, kTrainSize, {}, {3});
    v1::SubmitSweepResponse first;
    ASSERT_TRUE(cluster.Submit(spec, &first, "disk-full-first").ok());
    ++tally.acknowledged;
    const int64_t job_id = first.jobs(0).job_id();
    ChildProcess& worker = cluster.StartWorker("w0");
    ASSERT_TRUE(LocalCluster::WaitUntil([&] { return cluster.CheckpointEpoch(job_id) >= 0; },
                                        std::chrono::minutes(2)));

    const std::string ballast = disk.path() + "/ballast";
    const int64_t filled = FillUp(ballast);
    std::cout << "[disk] filled the state disk with " << filled << " bytes\n" << std::flush;
    ASSERT_GT(filled, 0);

    // The test's own large write is refused, and says why.
    nlohmann::json big = TinySweep("too-big", kEpochs, kTrainSize, {}, {});
    big["seeds"] = nlohmann::json::array();
    for (int s = 1000; s < 5000; ++s) big["seeds"].push_back(s);
    v1::SubmitSweepResponse refused;
    const grpc::Status st = cluster.Submit(big, &refused, "disk-full-big");
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
    std::cout << "[disk] large submit: " << st.error_code() << " " << st.error_message() << "\n";
    // Reads still work.
    EXPECT_EQ(cluster.GetJob(job_id).id(), job_id);
    // The worker's checkpoint uploads are refused too.
    EXPECT_TRUE(worker.WaitForOutput("RESOURCE_EXHAUSTED", seconds(30)).has_value())
        << "the worker met no RESOURCE_EXHAUSTED on the full disk:\n" << worker.Stderr();
    EXPECT_EQ(IntegrityCheck(cluster.db_path()), "ok") << "on the full disk";
    EXPECT_EQ(CountSweeps(cluster), 1) << "the refused submit left a sweep behind";

    // Free the space: the same coordinator process carries on.
    fs::remove(ballast);
    std::cout << "[disk] ballast removed\n" << std::flush;
    v1::SubmitSweepResponse after;
    const grpc::Status again = cluster.Submit(TinySweep("after", 2, 512, {}, {4}), &after,
                                              "disk-full-after");
    ASSERT_TRUE(again.ok()) << "no submit after the space was freed: " << again.error_message();
    ++tally.acknowledged;
    EXPECT_TRUE(cluster.coordinator().running()) << "the coordinator died on the full disk";

    ASSERT_TRUE(LocalCluster::WaitUntil(
        [&] {
          return IsFinal(cluster.GetJob(job_id).state()) &&
                 IsFinal(cluster.GetJob(after.jobs(0).job_id()).state());
        },
        std::chrono::minutes(3)));
    EXPECT_EQ(CountSweeps(cluster), 2);
    SweepShape shape;
    shape.jobs = 1;
    shape.epochs = kEpochs;
    shape.train_size = kTrainSize;
    CheckSweep(cluster, first.sweep_id(), shape, &tally);
    SweepShape after_shape;
    after_shape.jobs = 1;
    after_shape.epochs = 2;
    after_shape.train_size = 512;
    after_shape.compare_with_standalone = false;  // ran after the fault
    CheckSweep(cluster, after.sweep_id(), after_shape, &tally);
    KillCoordinatorAndCheckIntegrity(cluster);
    KeepLogs(cluster, "disk_full");
  }
  tally.Print();
}

}  // namespace
}  // namespace lcsweep::testing
