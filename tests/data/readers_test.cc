// Readers: good files in the exact published formats give the right pixels
// and labels; each kind of damage gives an error naming the file and problem.
#include "worker/data/readers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/data/test_files.h"
#include "worker/data/file_io.h"

namespace lcsweep::data {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::TestPixel;

void ExpectPixels(const TensorDataSet& set, int64_t n_check) {
  auto a = set.images.accessor<uint8_t, 4>();
  for (int64_t n = 0; n < n_check; ++n)
    for (int64_t c = 0; c < set.images.size(1); ++c)
      for (int64_t y = 0; y < set.images.size(2); y += 7)
        for (int64_t x = 0; x < set.images.size(3); x += 5)
          ASSERT_EQ(a[n][c][y][x], TestPixel(n, c, y, x)) << n << "," << c << "," << y << "," << x;
}

TEST(Cifar10, ReadsTestBatch) {
  TempDir dir;
  std::vector<uint8_t> labels(10000);
  for (int i = 0; i < 10000; ++i) labels[i] = static_cast<uint8_t>((i * 3) % 10);
  testing::WriteBytes(dir / "test_batch.bin", testing::CifarRecords(10000, 1, labels));
  auto set = ReadCifar10(dir.path(), /*train=*/false);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->images.sizes(), (std::vector<int64_t>{10000, 3, 32, 32}));
  EXPECT_EQ(set->classes, 10);
  EXPECT_EQ(set->labels[17].item<int64_t>(), (17 * 3) % 10);
  ExpectPixels(*set, 3);
}

TEST(Cifar10, MissingFileNamesIt) {
  TempDir dir;
  auto set = ReadCifar10(dir.path(), /*train=*/true);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(set.status().message(), HasSubstr("data_batch_1.bin"));
}

TEST(Cifar10, TruncatedFile) {
  TempDir dir;
  std::string bytes = testing::CifarRecords(10000, 1, std::vector<uint8_t>(10000, 1));
  bytes.resize(bytes.size() - 100);
  testing::WriteBytes(dir / "test_batch.bin", bytes);
  auto set = ReadCifar10(dir.path(), false);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(set.status().message(), HasSubstr("test_batch.bin"));
  EXPECT_THAT(set.status().message(), HasSubstr("30730000 bytes"));
  EXPECT_THAT(set.status().message(), HasSubstr("found 30729900"));
}

TEST(Cifar10, LabelOutOfRange) {
  TempDir dir;
  std::vector<uint8_t> labels(10000, 2);
  labels[42] = 10;
  testing::WriteBytes(dir / "test_batch.bin", testing::CifarRecords(10000, 1, labels));
  auto set = ReadCifar10(dir.path(), false);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kOutOfRange);
  EXPECT_THAT(set.status().message(), HasSubstr("record 42 has label 10, expected 0..9"));
}

TEST(Cifar100, CoarseAndFineLabels) {
  TempDir dir;
  std::vector<uint8_t> labels;
  for (int i = 0; i < 50; ++i) {
    labels.push_back(static_cast<uint8_t>(i % 20));       // coarse
    labels.push_back(static_cast<uint8_t>((i * 7) % 100));  // fine
  }
  testing::WriteBytes(dir / "train.bin", testing::CifarRecords(50, 2, labels));
  auto fine = ReadCifar100(dir.path(), true, /*fine=*/true);
  ASSERT_TRUE(fine.ok()) << fine.status().ToString();
  EXPECT_EQ(fine->classes, 100);
  EXPECT_EQ(fine->labels[13].item<int64_t>(), (13 * 7) % 100);
  ExpectPixels(*fine, 50);
  auto coarse = ReadCifar100(dir.path(), true, /*fine=*/false);
  ASSERT_TRUE(coarse.ok());
  EXPECT_EQ(coarse->classes, 20);
  EXPECT_EQ(coarse->labels[13].item<int64_t>(), 13);
}

TEST(Cifar100, FineLabelOutOfRangeAndTruncation) {
  TempDir dir;
  std::vector<uint8_t> labels = {1, 2, 3, 100};
  testing::WriteBytes(dir / "test.bin", testing::CifarRecords(2, 2, labels));
  auto set = ReadCifar100(dir.path(), false);
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("record 1 has label 100, expected 0..99"));
  std::string bytes = testing::CifarRecords(2, 2, {1, 2, 3, 4});
  bytes.pop_back();
  testing::WriteBytes(dir / "test.bin", bytes);
  set = ReadCifar100(dir.path(), false);
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("multiple of 3074"));
}

TEST(Idx, PlainAndGzipGiveTheSameData) {
  TempDir dir;
  std::vector<uint8_t> labels = {3, 1, 4, 1, 5, 9, 2};
  testing::WriteBytes(dir / "train-images-idx3-ubyte", testing::IdxImages(7, 28, 28));
  testing::WriteBytes(dir / "train-labels-idx1-ubyte", testing::IdxLabels(labels));
  testing::WriteGz(dir / "t10k-images-idx3-ubyte.gz", testing::IdxImages(7, 28, 28));
  testing::WriteGz(dir / "t10k-labels-idx1-ubyte.gz", testing::IdxLabels(labels));
  auto plain = ReadMnistFolder(dir.path(), true);
  auto gz = ReadMnistFolder(dir.path(), false);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  EXPECT_EQ(plain->images.sizes(), (std::vector<int64_t>{7, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(plain->images, gz->images));
  EXPECT_TRUE(torch::equal(plain->labels, gz->labels));
  EXPECT_EQ(plain->labels[5].item<int64_t>(), 9);
  ExpectPixels(*plain, 7);
}

TEST(Idx, WrongMagicNumber) {
  TempDir dir;
  testing::WriteBytes(dir / "i", testing::IdxImages(2, 28, 28, /*magic=*/0x801));
  testing::WriteBytes(dir / "l", testing::IdxLabels({1, 2}));
  auto set = ReadIdxPair(dir / "i", dir / "l", 10);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(set.status().message(), HasSubstr(dir / "i"));
  EXPECT_THAT(set.status().message(), HasSubstr("expected 0x00000803"));
  EXPECT_THAT(set.status().message(), HasSubstr("found 0x00000801"));
}

TEST(Idx, TruncatedImagesAndLabels) {
  TempDir dir;
  std::string images = testing::IdxImages(3, 28, 28);
  images.resize(images.size() - 10);
  testing::WriteBytes(dir / "i", images);
  testing::WriteBytes(dir / "l", testing::IdxLabels({1, 2, 3}));
  auto set = ReadIdxPair(dir / "i", dir / "l", 10);
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("expected 2368 bytes for 3 images of 28x28, found 2358 (truncated)"));
  testing::WriteBytes(dir / "i", testing::IdxImages(3, 28, 28));
  testing::WriteBytes(dir / "l", testing::IdxLabels({1, 2, 3}).substr(0, 10));
  set = ReadIdxPair(dir / "i", dir / "l", 10);
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("expected 11 bytes for 3 labels, found 10"));
}

TEST(Idx, TruncatedGzipStream) {
  TempDir dir;
  testing::WriteGz(dir / "i.gz", testing::IdxImages(50, 28, 28));
  std::ifstream in(dir / "i.gz", std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  testing::WriteBytes(dir / "cut.gz", gz.substr(0, gz.size() / 2));
  testing::WriteBytes(dir / "l", testing::IdxLabels(std::vector<uint8_t>(50, 0)));
  auto set = ReadIdxPair(dir / "cut.gz", dir / "l", 10);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(set.status().message(), HasSubstr("cut.gz"));
}

TEST(Idx, LabelOutOfRangeAndCountMismatch) {
  TempDir dir;
  testing::WriteBytes(dir / "i", testing::IdxImages(3, 28, 28));
  testing::WriteBytes(dir / "l", testing::IdxLabels({1, 12, 3}));
  auto set = ReadIdxPair(dir / "i", dir / "l", 10);
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("record 1 has label 12, expected 0..9"));
  testing::WriteBytes(dir / "l", testing::IdxLabels({1, 2}));
  set = ReadIdxPair(dir / "i", dir / "l", 10);
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("has 3 images but"));
}

TEST(FashionMnist, RealDebianFiles) {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  if (!FileExists(root + "/train-images-idx3-ubyte.gz")) GTEST_SKIP() << "fashion-mnist package not installed";
  auto train = ReadMnistFolder(root, true);
  auto test = ReadMnistFolder(root, false);
  ASSERT_TRUE(train.ok()) << train.status().ToString();
  ASSERT_TRUE(test.ok()) << test.status().ToString();
  EXPECT_EQ(train->images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(test->images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  // Published facts: balanced classes; the first training image is an ankle boot (9),
  // the first test image too (9), the second test image a pullover (2).
  auto counts = torch::bincount(train->labels, {}, 10);
  EXPECT_TRUE(torch::all(counts == 6000).item<bool>()) << counts;
  EXPECT_TRUE(torch::all(torch::bincount(test->labels, {}, 10) == 1000).item<bool>());
  EXPECT_EQ(train->labels[0].item<int64_t>(), 9);
  EXPECT_EQ(test->labels[0].item<int64_t>(), 9);
  EXPECT_EQ(test->labels[1].item<int64_t>(), 2);
  const double mean = train->images.to(torch::kFloat64).mean().item<double>() / 255.0;
  EXPECT_NEAR(mean, 0.2860, 0.001);
}

TEST(Svhn, UncompressedAndCompressedMat) {
  TempDir dir;
  std::vector<double> labels = {10, 1, 2, 9, 10, 5};
  testing::WriteBytes(dir / "train_32x32.mat", testing::SvhnMat(labels, /*compressed=*/false));
  testing::WriteBytes(dir / "test_32x32.mat", testing::SvhnMat(labels, /*compressed=*/true));
  for (bool train : {true, false}) {
    auto set = ReadSvhn(dir.path(), train);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    EXPECT_EQ(set->images.sizes(), (std::vector<int64_t>{6, 3, 32, 32}));
    EXPECT_EQ(set->labels[0].item<int64_t>(), 0);  // 10 means digit 0
    EXPECT_EQ(set->labels[3].item<int64_t>(), 9);
    ExpectPixels(*set, 6);
  }
}

TEST(Svhn, BrokenFiles) {
  TempDir dir;
  std::string good = testing::SvhnMat({1, 2, 3}, false);
  testing::WriteBytes(dir / "t.mat", good.substr(0, good.size() - 200));
  auto set = ReadSvhnMat(dir / "t.mat");
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("truncated"));
  testing::WriteBytes(dir / "h.mat", "HDF5" + good.substr(4));
  set = ReadSvhnMat(dir / "h.mat");
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("MATLAB level-5"));
  testing::WriteBytes(dir / "l.mat", testing::SvhnMat({1, 11, 3}, true));
  set = ReadSvhnMat(dir / "l.mat");
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("record 1 has label 11"));
  std::string comp = testing::SvhnMat({1, 2, 3}, true);
  testing::WriteBytes(dir / "c.mat", comp.substr(0, 200));
  set = ReadSvhnMat(dir / "c.mat");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kDataLoss);
}

TEST(Synthetic, DeterministicAndClassDependent) {
  SyntheticDataConfig cfg;
  cfg.train_size = 200;
  cfg.test_size = 50;
  auto a = MakeSynthetic(cfg, 7, true), b = MakeSynthetic(cfg, 7, true), c = MakeSynthetic(cfg, 8, true);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_FALSE(torch::equal(a.images, c.images));
  auto t = MakeSynthetic(cfg, 7, false);
  EXPECT_EQ(t.images.size(0), 50);
  // Learnable structure: nearest class mean (from train) classifies test images well.
  auto x = a.images.to(torch::kFloat32).flatten(1);
  auto xt = t.images.to(torch::kFloat32).flatten(1);
  std::vector<torch::Tensor> means;
  for (int k = 0; k < 10; ++k) means.push_back(x.index({a.labels == k}).mean(0));
  auto m = torch::stack(means);
  auto pred = torch::cdist(xt, m).argmin(1);
  const double acc = pred.eq(t.labels).to(torch::kFloat32).mean().item<double>();
  EXPECT_GT(acc, 0.9);
}

}  // namespace
}  // namespace lcsweep::data
