// .npy reader on files written byte by byte in NumPy's format, good and broken.
#include "worker/eval/npy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace lcsweep::eval {
namespace {

namespace fs = std::filesystem;

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lcsweep_npy_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes magic, version, header (padded so data starts at a multiple of 64,
  // as numpy does) and raw data bytes.
  std::string Write(const std::string& name, int major, const std::string& dict, const std::string& data,
                    bool pad = true) {
    std::string header = dict;
    const size_t prefix = major == 1 ? 10 : 12;
    if (pad) {
      const size_t total = prefix + header.size() + 1;
      header += std::string((64 - total % 64) % 64, ' ');
    }
    header += "\n";
    std::string bytes = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
    const uint32_t len = static_cast<uint32_t>(header.size());
    bytes += static_cast<char>(len & 0xFF);
    bytes += static_cast<char>((len >> 8) & 0xFF);
    if (major != 1) {
      bytes += static_cast<char>((len >> 16) & 0xFF);
      bytes += static_cast<char>((len >> 24) & 0xFF);
    }
    bytes += header + data;
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  fs::path dir_;
};

std::string Bytes(int64_t n, int mul) {
  std::string s;
  for (int64_t i = 0; i < n; ++i) s += static_cast<char>((i * mul) & 0xFF);
  return s;
}

TEST_F(NpyTest, ReadsCifar10CLayoutVersion1) {
  // A miniature CIFAR-10-C file: 5 severities x 2 images of 32x32x3 uint8.
  const std::string data = Bytes(10 * 32 * 32 * 3, 7);
  const std::string path =
      Write("fog.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (10, 32, 32, 3), }", data);
  auto header = ReadNpyHeader(path);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->shape, (std::vector<int64_t>{10, 32, 32, 3}));
  EXPECT_EQ(header->data_offset % 64, 0);
  auto rows = ReadNpyRows(path, 4, 3);  // severity 3's first image onwards
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->sizes(), (std::vector<int64_t>{3, 32, 32, 3}));
  EXPECT_EQ(rows->scalar_type(), torch::kUInt8);
  const int64_t row = 32 * 32 * 3;
  for (int64_t k : {int64_t{0}, int64_t{5}, 3 * row - 1}) {
    const int64_t i = 4 * row + k;
    EXPECT_EQ(rows->view({-1})[k].item<int64_t>(), (i * 7) & 0xFF) << k;
  }
}

TEST_F(NpyTest, ReadsVersion2AndLabelDtypes) {
  std::string labels;
  for (int64_t v : {3, 1, 4, 1, 5}) labels += std::string(reinterpret_cast<const char*>(&v), 8);
  const std::string p2 = Write("labels.npy", 2, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }", labels);
  auto l = ReadNpyRows(p2, 1, 3);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_TRUE(torch::equal(*l, torch::tensor({1, 4, 1}, torch::kLong)));
  // The published labels.npy is uint8; double quotes are legal in the dict too.
  const std::string p1 = Write("labels_u1.npy", 1, "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (4,)}",
                               std::string("\x09\x00\x02\x07", 4));
  auto u = ReadNpyRows(p1, 0, 4);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(torch::equal(u->to(torch::kLong), torch::tensor({9, 0, 2, 7}, torch::kLong)));
}

TEST_F(NpyTest, WriterRoundTrips) {
  torch::Tensor t = torch::randint(0, 256, {3, 4, 2}, torch::kLong).to(torch::kUInt8);
  const std::string path = (dir_ / "w.npy").string();
  ASSERT_TRUE(WriteNpy(path, t).ok());
  auto back = ReadNpyRows(path, 0, 3);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(torch::equal(*back, t));
}

void ExpectError(const StatusOr<torch::Tensor>& r, const std::string& path, const std::string& what) {
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
}

TEST_F(NpyTest, BrokenFilesGiveErrorsNamingTheFile) {
  const std::string missing = (dir_ / "nope.npy").string();
  auto r = ReadNpyRows(missing, 0, 1);
  ExpectError(r, missing, "cannot open");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);

  const std::string magic = (dir_ / "magic.npy").string();
  std::ofstream(magic) << "PK\x03\x04 this is a zip, not an npy file";
  ExpectError(ReadNpyRows(magic, 0, 1), magic, "magic");

  const std::string truncated =
      Write("trunc.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (10, 32, 32, 3), }", Bytes(1000, 1));
  auto t = ReadNpyRows(truncated, 0, 1);
  ExpectError(t, truncated, "truncated");
  EXPECT_EQ(t.status().code(), StatusCode::kDataLoss);

  const std::string fortran =
      Write("fortran.npy", 1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }", Bytes(4, 1));
  ExpectError(ReadNpyRows(fortran, 0, 1), fortran, "Fortran");

  const std::string floats =
      Write("float.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", Bytes(8, 1));
  ExpectError(ReadNpyRows(floats, 0, 1), floats, "dtype '<f4'");

  const std::string version = Write("v9.npy", 9, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", "ab");
  ExpectError(ReadNpyRows(version, 0, 1), version, "version 9");

  const std::string no_shape = Write("noshape.npy", 1, "{'descr': '|u1', 'fortran_order': False}", "ab");
  ExpectError(ReadNpyRows(no_shape, 0, 1), no_shape, "malformed");

  const std::string short_header = (dir_ / "short.npy").string();
  std::ofstream(short_header, std::ios::binary) << std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 18);
  ExpectError(ReadNpyRows(short_header, 0, 1), short_header, "truncated");

  const std::string good = Write("good.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", "abcd");
  ExpectError(ReadNpyRows(good, 2, 5), good, "has 4 rows");
}

}  // namespace
}  // namespace lcsweep::eval
