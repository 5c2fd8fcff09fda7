// DeviceLoader against the host Loader: the same batches, bit for bit, for
// several epochs with CIFAR augmentation, without it, for a set resized on
// loading (28 -> 32, the MNIST family's path, on the real Fashion-MNIST files
// when installed), after resuming mid-epoch, on the CPU device (and on CUDA
// when there is one). Also: what it refuses, and that DeviceDataSetBytes is
// what it holds.
#include "worker/data/device_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "common/data_placement.h"
#include "tests/data/epoch.h"
#include "worker/data/loader.h"

namespace lcsweep::data {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const Source> Synthetic(int64_t n, int64_t side, int64_t channels, int64_t out_side,
                                        TensorAugment augment) {
  SyntheticDataConfig cfg;
  cfg.train_size = n;
  cfg.image_size = side;
  cfg.channels = channels;
  return std::make_shared<TensorSource>(MakeSynthetic(cfg, 5, true), out_side, augment);
}

using testing::Epoch;

// Every batch of `epochs` equal (values, dtype, shape, index) on both loaders.
void ExpectSameBatches(const std::shared_ptr<const Source>& source, const LoaderOptions& options,
                       torch::Device device, int epochs) {
  Loader host(source, options);
  auto created = DeviceLoader::Create(source, options, device);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  DeviceLoader& dev = **created;
  ASSERT_EQ(dev.batches_per_epoch(), host.batches_per_epoch());
  ASSERT_EQ(dev.size(), host.size());
  for (int e = 0; e < epochs; ++e) {
    const std::vector<Batch> h = Epoch(host, e), d = Epoch(dev, e);
    ASSERT_EQ(d.size(), h.size()) << "epoch " << e;
    for (size_t b = 0; b < h.size(); ++b) {
      EXPECT_EQ(d[b].images.device(), device);
      EXPECT_EQ(d[b].images.dtype(), torch::kFloat32);
      EXPECT_EQ(d[b].index, h[b].index);
      ASSERT_EQ(d[b].images.sizes(), h[b].images.sizes()) << "epoch " << e << " batch " << b;
      EXPECT_TRUE(torch::equal(d[b].images.cpu(), h[b].images)) << "epoch " << e << " batch " << b;
      EXPECT_TRUE(torch::equal(d[b].labels.cpu(), h[b].labels)) << "epoch " << e << " batch " << b;
    }
  }
}

LoaderOptions Train(int64_t batch) {
  LoaderOptions o;
  o.batch_size = batch;
  o.seed = 11;
  o.threads = 2;
  return o;
}

TEST(DeviceLoader, CifarAugmentationMatchesTheHostLoaderForSeveralEpochs) {
  // 150 = 4 * 32 + 22: the last partial batch is kept on both.
  ExpectSameBatches(Synthetic(150, 32, 3, 32, TensorAugment::kPadCropFlip), Train(32), torch::kCPU, 3);
}

TEST(DeviceLoader, AugmentationIsAppliedAndDiffersByEpoch) {
  // Guards the test above against an augmentation that is a no-op on both sides.
  auto source = Synthetic(64, 32, 3, 32, TensorAugment::kPadCropFlip);
  LoaderOptions plain = Train(64);
  plain.shuffle = false;
  LoaderOptions augmented = plain;
  plain.augment = false;
  auto a = DeviceLoader::Create(source, augmented, torch::kCPU);
  auto p = DeviceLoader::Create(source, plain, torch::kCPU);
  ASSERT_TRUE(a.ok() && p.ok());
  const torch::Tensor e0 = Epoch(**a, 0)[0].images, e1 = Epoch(**a, 1)[0].images;
  const torch::Tensor raw = Epoch(**p, 0)[0].images;
  EXPECT_FALSE(torch::equal(e0, raw));
  EXPECT_FALSE(torch::equal(e0, e1));
}

TEST(DeviceLoader, EvaluationOrderWithoutAugmentationMatches) {
  LoaderOptions o = Train(50);
  o.shuffle = false;
  o.augment = false;
  ExpectSameBatches(Synthetic(120, 32, 3, 32, TensorAugment::kPadCropFlip), o, torch::kCPU, 1);
}

TEST(DeviceLoader, SetResizedOnLoadingMatches) {
  ExpectSameBatches(Synthetic(90, 28, 1, 32, TensorAugment::kNone), Train(40), torch::kCPU, 2);
}

TEST(DeviceLoader, RealFashionMnistMatches) {
  struct stat st;
  if (::stat("/usr/share/datasets/fashion-mnist", &st) != 0) {
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (deploy/install-deps.sh installs it)";
  }
  DataConfig data;
  data.name = "fashion_mnist";
  data.train_limit = 300;
  data.test_limit = 100;
  auto splits = OpenDataSet(data, 0);
  ASSERT_TRUE(splits.ok()) << splits.status().ToString();
  ExpectSameBatches(splits->train, Train(128), torch::kCPU, 2);
}

TEST(DeviceLoader, ResumeMidEpochGivesTheRestOfTheEpoch) {
  auto source = Synthetic(150, 32, 3, 32, TensorAugment::kPadCropFlip);
  auto created = DeviceLoader::Create(source, Train(32), torch::kCPU);
  ASSERT_TRUE(created.ok());
  const std::vector<Batch> full = Epoch(**created, 1);
  const std::vector<Batch> rest = Epoch(**created, 1, 3);
  ASSERT_EQ(rest.size(), 2u);
  for (size_t b = 0; b < rest.size(); ++b) {
    EXPECT_EQ(rest[b].index, full[b + 3].index);
    EXPECT_TRUE(torch::equal(rest[b].images, full[b + 3].images));
    EXPECT_TRUE(torch::equal(rest[b].labels, full[b + 3].labels));
  }
}

TEST(DeviceLoader, CudaMatchesTheHostLoader) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: the CPU-device tests above cover the logic";
  ExpectSameBatches(Synthetic(150, 32, 3, 32, TensorAugment::kPadCropFlip), Train(32), torch::Device("cuda:0"), 2);
  ExpectSameBatches(Synthetic(90, 28, 1, 32, TensorAugment::kNone), Train(40), torch::Device("cuda:0"), 1);
}

// A split that is not held in memory (as JPEG folders are not).
class FileBackedSource : public Source {
 public:
  int64_t size() const override { return 4; }
  int64_t channels() const override { return 3; }
  int64_t image_size() const override { return 8; }
  int64_t classes() const override { return 2; }
  std::string description() const override { return "/data/imagenet/train"; }
  Status Load(int64_t, bool, uint64_t, float* out, int64_t* label) const override {
    std::fill(out, out + 3 * 8 * 8, 0.f);
    *label = 0;
    return OkStatus();
  }
};

TEST(DeviceLoader, RefusesASplitReadFromFiles) {
  auto created = DeviceLoader::Create(std::make_shared<FileBackedSource>(), Train(2), torch::kCPU);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(created.status().message(), HasSubstr("data.placement"));
  EXPECT_THAT(created.status().message(), HasSubstr("/data/imagenet/train"));
}

TEST(DeviceLoader, MakeBatchLoaderFollowsThePlacement) {
  auto source = Synthetic(10, 32, 3, 32, TensorAugment::kNone);
  auto host = MakeBatchLoader(source, Train(4), DataPlacement::kHost, torch::kCPU);
  auto dev = MakeBatchLoader(source, Train(4), DataPlacement::kDevice, torch::kCPU);
  ASSERT_TRUE(host.ok() && dev.ok());
  EXPECT_NE(dynamic_cast<Loader*>(host->get()), nullptr);
  EXPECT_NE(dynamic_cast<DeviceLoader*>(dev->get()), nullptr);
}

TEST(DeviceLoader, DeviceDataSetBytesIsWhatTheLoadersHold) {
  DataConfig synthetic;
  synthetic.name = "synthetic";
  synthetic.synthetic.train_size = 70;
  synthetic.synthetic.test_size = 30;
  std::vector<DataConfig> configs = {synthetic};
  struct stat st;
  if (::stat("/usr/share/datasets/fashion-mnist", &st) == 0) {
    DataConfig fashion;  // resized on loading: held as float32
    fashion.name = "fashion_mnist";
    fashion.train_limit = 200;
    fashion.test_limit = 50;
    configs.push_back(fashion);
  }
  for (const DataConfig& data : configs) {
    auto splits = OpenDataSet(data, 0);
    ASSERT_TRUE(splits.ok()) << splits.status().ToString();
    auto train = DeviceLoader::Create(splits->train, Train(16), torch::kCPU);
    auto test = DeviceLoader::Create(splits->test, Train(16), torch::kCPU);
    ASSERT_TRUE(train.ok() && test.ok());
    EXPECT_EQ((*train)->resident_bytes() + (*test)->resident_bytes(), DeviceDataSetBytes(data)) << data.name;
  }
}

}  // namespace
}  // namespace lcsweep::data
