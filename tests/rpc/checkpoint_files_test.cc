// CheckpointFiles on a real directory: verified, atomic, no leftovers.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "server/rpc/checkpoint_files.h"
#include "tests/rpc/rpc_test_util.h"

namespace lcsweep::rpc {
namespace {

namespace fs = std::filesystem;

size_t Count(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_regular_file()) ++n;
  }
  return n;
}

TEST(CheckpointFilesTest, CommitVerifiesAndRenamesAtomically) {
  testing::TempDir dir;
  // A temp file left by a crash mid-upload is removed on open.
  fs::create_directories(dir.file("tmp"));
  std::ofstream(dir.file("tmp/job-1-stale")) << "half an upload";
  auto files = CheckpointFiles::Open(dir.path());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_FALSE(fs::exists(dir.file("tmp/job-1-stale")));

  std::string data = "0123456789abcdef";
  auto up = (*files)->BeginUpload(7, 1, 100, static_cast<int64_t>(data.size()), Sha256Hex(data));
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE((*up)->Append(data.substr(0, 5)).ok());
  EXPECT_EQ(Count(dir.file("checkpoints")), 0u) << "nothing visible before Commit";
  ASSERT_TRUE((*up)->Append(data.substr(5)).ok());
  auto path = (*up)->Commit();
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  std::ifstream in(*path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), data);
  EXPECT_NE(path->find("job-7"), std::string::npos);
  EXPECT_EQ(Count(dir.file("tmp")), 0u);
  (*files)->Remove(*path);
  EXPECT_FALSE(fs::exists(*path));
}

TEST(CheckpointFilesTest, BadUploadsLeaveNothing) {
  testing::TempDir dir;
  auto files = CheckpointFiles::Open(dir.path());
  ASSERT_TRUE(files.ok());
  std::string data(1000, 'x');
  // Malformed digests and sizes are refused up front.
  EXPECT_EQ((*files)->BeginUpload(1, 0, 0, 10, "abc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*files)->BeginUpload(1, 0, 0, 10, std::string(64, 'g')).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*files)->BeginUpload(1, 0, 0, -1, Sha256Hex(data)).status().code(),
            StatusCode::kInvalidArgument);
  {  // More bytes than declared.
    auto up = (*files)->BeginUpload(1, 0, 0, 10, Sha256Hex(data));
    ASSERT_TRUE(up.ok());
    EXPECT_EQ((*up)->Append(data).code(), StatusCode::kDataLoss);
  }
  {  // Wrong digest.
    auto up = (*files)->BeginUpload(1, 0, 0, 1000, Sha256Hex(data + "y"));
    ASSERT_TRUE(up.ok());
    ASSERT_TRUE((*up)->Append(data).ok());
    auto path = (*up)->Commit();
    EXPECT_EQ(path.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(path.status().message().find(Sha256Hex(data)), std::string::npos)
        << "the message names the digest the bytes really have";
  }
  {  // Abandoned (destroyed without Commit), e.g. a client that went away.
    auto up = (*files)->BeginUpload(1, 0, 0, 1000, Sha256Hex(data));
    ASSERT_TRUE(up.ok());
    ASSERT_TRUE((*up)->Append(data.substr(0, 10)).ok());
  }
  EXPECT_EQ(Count(dir.path()), 0u);
}

}  // namespace
}  // namespace lcsweep::rpc
