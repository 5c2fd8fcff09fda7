// Loader: determinism across thread counts, epochs as permutations, the last
// partial batch, resume mid-epoch, bad images, and JPEG folders end to end.
#include "worker/data/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <turbojpeg.h>

#include "tests/data/epoch.h"
#include "tests/data/test_files.h"

namespace lcsweep::data {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const Source> CifarLikeSource(int64_t n) {
  SyntheticDataConfig cfg;
  cfg.train_size = n;
  return std::make_shared<TensorSource>(MakeSynthetic(cfg, 1, true), 32, TensorAugment::kPadCropFlip);
}

using testing::Epoch;

TEST(Loader, SameBatchesForAnyThreadCount) {
  auto src = CifarLikeSource(150);
  std::vector<std::vector<Batch>> runs;
  for (int64_t threads : {0, 1, 3}) {
    LoaderOptions o;
    o.batch_size = 32;
    o.seed = 11;
    o.threads = threads;
    o.prefetch_batches = 2;
    Loader loader(src, o);
    runs.push_back(Epoch(loader, 2));
  }
  ASSERT_EQ(runs[0].size(), 5u);  // 150 = 4 * 32 + 22: last partial batch kept
  EXPECT_EQ(runs[0].back().images.size(0), 22);
  for (size_t r = 1; r < runs.size(); ++r) {
    ASSERT_EQ(runs[r].size(), runs[0].size());
    for (size_t b = 0; b < runs[0].size(); ++b) {
      EXPECT_TRUE(torch::equal(runs[r][b].images, runs[0][b].images)) << "threads run " << r << " batch " << b;
      EXPECT_TRUE(torch::equal(runs[r][b].labels, runs[0][b].labels));
    }
  }
}

TEST(Loader, EpochsArePermutationsWithFreshAugmentation) {
  auto src = CifarLikeSource(100);
  LoaderOptions o;
  o.batch_size = 30;
  o.seed = 3;
  Loader loader(src, o);
  auto e0 = Epoch(loader, 0), e1 = Epoch(loader, 1), e0again = Epoch(loader, 0);
  std::vector<torch::Tensor> l0, l1;
  for (auto& b : e0) l0.push_back(b.labels);
  for (auto& b : e1) l1.push_back(b.labels);
  auto all0 = torch::cat(l0), all1 = torch::cat(l1);
  EXPECT_FALSE(torch::equal(all0, all1));  // different order
  EXPECT_TRUE(torch::equal(std::get<0>(all0.sort()), std::get<0>(all1.sort())));  // same multiset
  EXPECT_FALSE(torch::equal(all0, std::get<0>(all0.sort())));  // shuffled
  EXPECT_TRUE(torch::equal(e0[0].images, e0again[0].images));  // replayable
  // Augmentation is active: some image differs from its un-augmented version.
  auto* ts = dynamic_cast<const TensorSource*>(src.get());
  torch::Tensor plain, labels;
  ASSERT_TRUE(Materialize(*ts, 0, &plain, &labels).ok());
  auto order = EpochOrder(100, 3, 0, true);
  EXPECT_FALSE(torch::equal(e0[0].images[0], plain[order[0]]));
}

TEST(Loader, ResumeMidEpochGivesTheRest) {
  auto src = CifarLikeSource(128);
  LoaderOptions o;
  o.batch_size = 16;
  o.seed = 5;
  Loader loader(src, o);
  auto full = Epoch(loader, 4);
  auto rest = Epoch(loader, 4, /*first=*/5);
  ASSERT_EQ(rest.size(), full.size() - 5);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(rest[i].index, full[i + 5].index);
    EXPECT_TRUE(torch::equal(rest[i].images, full[i + 5].images));
  }
}

TEST(Loader, NoShuffleNoAugmentIsTheDataInOrder) {
  SyntheticDataConfig cfg;
  cfg.train_size = 40;
  auto set = MakeSynthetic(cfg, 2, true);
  auto src = std::make_shared<TensorSource>(set, 32, TensorAugment::kPadCropFlip);
  LoaderOptions o;
  o.batch_size = 40;
  o.shuffle = false;
  o.augment = false;
  Loader loader(src, o);
  auto e = Epoch(loader, 0);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_TRUE(torch::equal(e[0].labels, set.labels));
  EXPECT_TRUE(torch::allclose(e[0].images, set.images.to(torch::kFloat32) / 255.0));
}

std::string EncodeJpeg(int w, int h, int seed) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w * h * 3));
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 31 + seed * 17) % 251);
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  tjCompress2(tj, rgb.data(), w, 0, h, TJPF_RGB, &buf, &size, TJSAMP_444, 90, 0);
  std::string out(reinterpret_cast<char*>(buf), size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

TEST(JpegFolder, DecodesCropsAndHandlesBadImages) {
  testing::TempDir dir;
  testing::WriteBytes(dir / "train/cat/a.jpg", EncodeJpeg(64, 48, 1));
  testing::WriteBytes(dir / "train/cat/b.JPEG", EncodeJpeg(40, 80, 2));
  testing::WriteBytes(dir / "train/dog/c.jpeg", EncodeJpeg(50, 50, 3));
  std::string d = EncodeJpeg(60, 60, 4);
  testing::WriteBytes(dir / "train/dog/d.jpg", d.substr(0, d.size() / 2));  // truncated
  testing::WriteBytes(dir / "train/dog/e.jpg", "not a jpeg at all");
  testing::WriteBytes(dir / "train/dog/notes.txt", "ignored");
  auto src = JpegFolderSource::Open(dir / "train", 32, 0);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->classes(), 2);
  EXPECT_EQ((*src)->size(), 5);
  std::vector<float> out(3 * 32 * 32);
  int64_t label = -1;
  ASSERT_TRUE((*src)->Load(2, false, 0, out.data(), &label).ok());
  EXPECT_EQ(label, 1);
  Status bad = (*src)->Load(4, false, 0, out.data(), &label);
  EXPECT_EQ(bad.code(), StatusCode::kDataLoss);
  EXPECT_THAT(bad.message(), HasSubstr("e.jpg"));
  bad = (*src)->Load(3, false, 0, out.data(), &label);
  EXPECT_EQ(bad.code(), StatusCode::kDataLoss) << bad.ToString();
  EXPECT_THAT(bad.message(), HasSubstr("d.jpg"));

  // A flat-colour JPEG decodes (and crops/resizes) to that colour in [0, 1].
  {
    std::vector<uint8_t> rgb(70 * 90 * 3);
    for (size_t i = 0; i < rgb.size(); i += 3) {
      rgb[i] = 200;
      rgb[i + 1] = 100;
      rgb[i + 2] = 50;
    }
    tjhandle tj = tjInitCompress();
    unsigned char* buf = nullptr;
    unsigned long size = 0;
    tjCompress2(tj, rgb.data(), 90, 0, 70, TJPF_RGB, &buf, &size, TJSAMP_444, 95, 0);
    testing::WriteBytes(dir / "flat/x/flat.jpg", std::string(reinterpret_cast<char*>(buf), size));
    tjFree(buf);
    tjDestroy(tj);
    auto flat = JpegFolderSource::Open(dir / "flat", 24, 0);
    ASSERT_TRUE(flat.ok());
    for (bool augment : {false, true}) {
      ASSERT_TRUE((*flat)->Load(0, augment, 9, out.data(), &label).ok());
      const float want[3] = {200 / 255.f, 100 / 255.f, 50 / 255.f};
      for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 24 * 24; ++i) ASSERT_NEAR(out[c * 24 * 24 + i], want[c], 3 / 255.f);
    }
  }

  LoaderOptions o;
  o.batch_size = 4;
  o.threads = 2;
  Loader skipping(*src, o);
  auto e = Epoch(skipping, 0);
  int64_t total = 0;
  for (auto& b : e) total += b.images.size(0);
  EXPECT_EQ(total, 3);
  EXPECT_EQ(skipping.bad_images(), 2);
  for (auto& b : e) {
    EXPECT_GE(b.images.min().item<float>(), 0.f);
    EXPECT_LE(b.images.max().item<float>(), 1.f);
  }

  o.fail_on_bad_image = true;
  Loader failing(*src, o);
  failing.StartEpoch(0);
  Status first_error;
  while (true) {
    auto b = failing.Next();
    if (!b.ok()) {
      first_error = b.status();
      break;
    }
    if (!b->has_value()) break;
  }
  EXPECT_EQ(first_error.code(), StatusCode::kDataLoss);
  EXPECT_THAT(first_error.message(), ::testing::AnyOf(HasSubstr("d.jpg"), HasSubstr("e.jpg")));
}

TEST(JpegFolder, MissingFolder) {
  auto src = JpegFolderSource::Open("/nonexistent/lcsweep/train", 32, 0);
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(src.status().message(), HasSubstr("/nonexistent/lcsweep/train"));
}

}  // namespace
}  // namespace lcsweep::data
