#include <gtest/gtest.h>

#include "tests/nn/test_util.h"
#include "worker/nn/describe.h"

namespace lcsweep::nn {
namespace {

// Forward MACs of ResNet-D-W on 32x32 written out from the architecture:
// per conv (c_in, c_out, output side), plus shortcuts and the classifier.
struct Macs {
  int64_t plain = 0, lc_unfolded = 0, fold = 0;
};
Macs ExpectedMacs(int64_t depth, int64_t width, int64_t e, int64_t classes) {
  const int64_t n = (depth - 2) / 6, k2 = 9;
  Macs m;
  auto conv = [&](int64_t cin, int64_t cout, int64_t side) {
    m.plain += cout * cin * k2 * side * side;
    m.lc_unfolded += e * cout * (cin * k2 + cout) * side * side;
    m.fold += cout * (e * cout) * cin * k2;
  };
  int64_t side = 32, channels = width;
  conv(3, width, 32);
  int64_t extra = 0;
  for (int64_t stage = 0; stage < 3; ++stage) {
    const int64_t w = width << stage;
    for (int64_t b = 0; b < n; ++b) {
      if (stage > 0 && b == 0) side /= 2;
      conv(channels, w, side);
      conv(w, w, side);
      if (channels != w) extra += channels * w * side * side;
      channels = w;
    }
  }
  extra += channels * classes;
  m.plain += extra;
  m.lc_unfolded += extra;
  return m;
}

TEST(DescribeTest, JsonTotalsAndLayers) {
  ModelSpec spec;
  spec.model.conv.lc_rate = 128;
  spec.batch_size = 128;
  auto j = DescribeModel(spec);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)["parameters"]["total"], 38431402);
  EXPECT_EQ((*j)["parameters"]["learned"], 4166314);
  EXPECT_EQ((*j)["parameters"]["frozen"], 38431402 - 4166314);
  // Auto trains the reduced form: Q per block, the plain conv's shape, plus 19 decay scalars.
  EXPECT_EQ((*j)["parameters"]["trained"], 272474 + 19);
  EXPECT_EQ((*j)["parameters"]["stored_frozen_regenerated"], 272474 + 19);
  EXPECT_EQ((*j)["parameters"]["trained_state_bytes"], 2 * (272474 + 19) * 4);
  const Macs m = ExpectedMacs(20, 16, 128, 10);
  EXPECT_EQ((*j)["macs_per_image"]["inference"], m.plain);
  EXPECT_EQ((*j)["macs_per_image"]["train_unfolded"], m.lc_unfolded);
  EXPECT_EQ((*j)["macs_per_image"]["fold_per_step"], m.fold);
  const int64_t folded = (*j)["macs_per_image"]["train_folded"];
  EXPECT_GE(folded, m.plain + m.fold / 128 - 19);  // per-layer integer division
  EXPECT_LE(folded, m.plain + m.fold / 128);
  // Auto picks reduced everywhere here (m = 16*128 > c_in*9 in every layer):
  // the fold costs c_out * (c_in*9)^2 per layer instead of c_out * m * c_in*9.
  int64_t reduced_fold = 0;
  for (const auto& l : (*j)["layers"]) {
    if (l["kind"] != "spatial") continue;
    const int64_t n = l["in_channels"].get<int64_t>() * 9;
    EXPECT_EQ(l["execution"], "reduced") << l["name"];
    EXPECT_EQ(l["fold_macs_reduced"], l["out_channels"].get<int64_t>() * n * n) << l["name"];
    reduced_fold += l["fold_macs_reduced"].get<int64_t>();
  }
  EXPECT_EQ((*j)["macs_per_image"]["fold_reduced_per_step"], reduced_fold);
  const int64_t reduced = (*j)["macs_per_image"]["train_reduced"];
  EXPECT_GE(reduced, m.plain + reduced_fold / 128 - 19);
  EXPECT_LE(reduced, m.plain + reduced_fold / 128);
  EXPECT_EQ((*j)["macs_per_image"]["train"], reduced);
  // 19 spatial + 2 shortcut convs + 21 BN + fc.
  ASSERT_EQ((*j)["layers"].size(), 19u + 2u + 21u + 1u);
  int64_t sum = 0;
  for (const auto& l : (*j)["layers"]) sum += l["params_total"].get<int64_t>();
  EXPECT_EQ(sum, 38431402);
  EXPECT_EQ((*j)["layers"][0]["name"], "conv1");
  EXPECT_EQ((*j)["layers"][0]["lc_rate"], 128);
}

TEST(DescribeTest, PlainResnet20Macs) {
  ModelSpec spec;
  spec.model.conv.mode = "learned";
  auto j = DescribeModel(spec);
  ASSERT_TRUE(j.ok());
  const Macs m = ExpectedMacs(20, 16, 1, 10);
  EXPECT_EQ((*j)["macs_per_image"]["train_folded"], m.plain);
  EXPECT_EQ((*j)["macs_per_image"]["train_unfolded"], m.plain);
  EXPECT_EQ((*j)["macs_per_image"]["inference"], m.plain);
  EXPECT_EQ((*j)["parameters"]["total"], 272474);
  EXPECT_EQ((*j)["parameters"]["frozen"], 0);
}

TEST(DescribeTest, ModelSpecForJobUsesDataSetFacts) {
  JobConfig job;
  job.seed = 3;
  job.data.name = "fashion_mnist";
  job.train.batch_size = 64;
  auto spec = ModelSpecForJob(job);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->in_channels, 1);
  EXPECT_EQ(spec->num_classes, 10);
  EXPECT_EQ(spec->image_size, 32);
  EXPECT_EQ(spec->mean.size(), 1u);
  EXPECT_EQ(spec->seed, 3);
  EXPECT_EQ(spec->batch_size, 64);
  job.data.name = "cifar100";
  EXPECT_EQ(ModelSpecForJob(job)->num_classes, 100);
  job.data.name = "nope";
  EXPECT_FALSE(ModelSpecForJob(job).ok());
  job.data.name = "cifar10";
  job.model.conv.intermediate = "bn";
  job.model.conv.execution = "folded";
  auto d = DescribeModel(*ModelSpecForJob(job));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("unfolded"), std::string::npos);
}

}  // namespace
}  // namespace lcsweep::nn
