#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "tests/nn/test_util.h"
#include "worker/nn/describe.h"
#include "worker/nn/fold.h"
#include "worker/nn/resnet.h"

namespace lcsweep::nn {
namespace {

using testing::MustBuild;
using testing::RelativeError;
using testing::SmallSpec;

// Parameter counts of ResNet-D-W from the architecture (docs/method.md section 4),
// written out independently of the model code.
struct Counts {
  int64_t total = 0, learned = 0;
};
Counts ExpectedCounts(int64_t depth, int64_t width, int64_t e, const std::string& mode,
                      const std::string& spatial, int64_t in_channels, int64_t classes, int64_t k = 3) {
  const int64_t n = (depth - 2) / 6;
  std::vector<std::pair<int64_t, int64_t>> convs = {{in_channels, width}};  // (c_in, c_out)
  int64_t channels = width;
  int64_t other = 2 * width;  // stem BN
  for (int64_t stage = 0; stage < 3; ++stage) {
    const int64_t w = width << stage;
    for (int64_t b = 0; b < n; ++b) {
      convs.push_back({channels, w});
      convs.push_back({w, w});
      other += 2 * (2 * w);  // bn1, bn2
      if (channels != w) other += channels * w + 2 * w;  // 1x1 shortcut + BN
      channels = w;
    }
  }
  other += channels * classes + classes;
  Counts c;
  int64_t spatial_params = 0, p_params = 0;
  for (auto [cin, cout] : convs) {
    spatial_params += (mode == "lc" ? e : 1) * cout * cin * k * k;
    if (mode == "lc") p_params += e * cout * cout;
  }
  c.total = spatial_params + p_params + other;
  c.learned = p_params + other + ((mode == "learned" || (mode == "lc" && spatial == "learned")) ? spatial_params : 0);
  return c;
}

ModelSpec Resnet20Spec(const std::string& mode, int64_t e, const std::string& spatial = "frozen") {
  ModelSpec spec;
  spec.model.depth = 20;
  spec.model.width = 16;
  spec.model.conv.mode = mode;
  spec.model.conv.lc_rate = e;
  spec.model.conv.spatial = spatial;
  spec.mean = {0.4914, 0.4822, 0.4465};
  spec.std = {0.2470, 0.2435, 0.2616};
  return spec;
}

int64_t CountParameters(NetworkImpl& net) {
  int64_t n = 0;
  for (const auto& p : net.parameters()) n += p.numel();
  return n;
}

TEST(ParamCountTest, PaperNumbers) {
  Network plain = MustBuild(Resnet20Spec("learned", 1));
  EXPECT_EQ(CountParameters(*plain), 272474);
  auto a = AccountModel(*plain);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->params_total, 272474);

  ModelSpec folded_spec = Resnet20Spec("lc", 128);
  folded_spec.model.conv.execution = "folded";
  Network lc128 = MustBuild(folded_spec);
  EXPECT_EQ(CountParameters(*lc128), 4166314);
  auto b = AccountModel(*lc128);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->params_total, 38431402);
  EXPECT_EQ(b->params_learned, 4166314);
  EXPECT_EQ(b->params_trained, 4166314);
  EXPECT_EQ(b->params_frozen, 38431402 - 4166314);
  EXPECT_EQ(b->params_stored, 38431402);
  EXPECT_EQ(b->params_stored_frozen_regenerated, 4166314);
  // Reduced (what auto picks here): the same function and counts, but the
  // optimizer holds Q [c_out, c_in*k^2] per block, the plain conv's shape,
  // plus one decay scalar per spatial layer (19).
  Network reduced = MustBuild(Resnet20Spec("lc", 128));
  EXPECT_EQ(CountParameters(*reduced), 272474 + 19);
  auto r = AccountModel(*reduced);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->params_total, 38431402);
  EXPECT_EQ(r->params_learned, 4166314);
  EXPECT_EQ(r->params_trained, 272474 + 19);
  EXPECT_EQ(r->params_stored_frozen_regenerated, 272474 + 19);
  // The formula agrees with the paper's numbers, so it can be trusted below.
  EXPECT_EQ(ExpectedCounts(20, 16, 128, "lc", "frozen", 3, 10).total, 38431402);
  EXPECT_EQ(ExpectedCounts(20, 16, 1, "learned", "frozen", 3, 10).total, 272474);
}

TEST(ParamCountTest, OtherRatesDepthsWidthsAndModes) {
  struct Case {
    int64_t depth, width, e, in_channels, classes, k;
    std::string mode, spatial;
  };
  for (const Case& c : {Case{20, 16, 1, 3, 10, 3, "lc", "frozen"}, Case{20, 16, 8, 3, 10, 3, "lc", "frozen"},
                        Case{20, 16, 64, 3, 10, 3, "lc", "frozen"}, Case{20, 16, 8, 3, 10, 3, "lc", "learned"},
                        Case{14, 8, 4, 1, 100, 5, "lc", "frozen"}, Case{8, 32, 1, 3, 10, 3, "frozen", "frozen"}}) {
    ModelSpec spec = Resnet20Spec(c.mode, c.e, c.spatial);
    spec.model.depth = c.depth;
    spec.model.width = c.width;
    spec.model.kernel_size = c.k;
    spec.in_channels = c.in_channels;
    spec.num_classes = c.classes;
    spec.mean.resize(c.in_channels, 0.5);
    spec.std.resize(c.in_channels, 0.25);
    Network net = MustBuild(spec);
    const Counts want = ExpectedCounts(c.depth, c.width, c.e, c.mode, c.spatial, c.in_channels, c.classes, c.k);
    auto a = AccountModel(*net);
    ASSERT_TRUE(a.ok());
    SCOPED_TRACE(c.mode + " E=" + std::to_string(c.e) + " D=" + std::to_string(c.depth));
    EXPECT_EQ(a->params_total, want.total);
    EXPECT_EQ(a->params_learned, want.learned);
    EXPECT_EQ(CountParameters(*net), a->params_trained);
    spec.model.conv.execution = c.mode == "lc" ? "folded" : "auto";
    Network folded = MustBuild(spec);
    EXPECT_EQ(CountParameters(*folded), want.learned);
  }
}

TEST(NetworkTest, ParameterNamesMatchPyTorchPort) {
  Network net = MustBuild(SmallSpec("lc", 2));
  auto params = net->named_parameters();
  for (const char* name : {"conv1.lc.weight", "bn1.weight", "layer1.0.conv1.lc.weight", "layer1.0.bn2.bias",
                           "layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight", "fc.weight",
                           "fc.bias"}) {
    EXPECT_TRUE(params.contains(name)) << name;
  }
  EXPECT_FALSE(params.contains("conv1.spatial.weight"));
  EXPECT_TRUE(net->named_buffers().contains("conv1.spatial.weight"));
  EXPECT_EQ(net->SpatialLayers().size(), 7u);  // stem + 3 stages x 1 block x 2 convs
  for (const auto& v : net->SpatialLayers()) EXPECT_EQ(v.folded.dim(), 4) << v.name;

  Network plain = MustBuild(SmallSpec("learned", 1));
  EXPECT_TRUE(plain->named_parameters().contains("layer3.0.conv2.weight"));
}

TEST(NetworkTest, Resnet18dBuildsAndRuns) {
  ModelSpec spec;
  spec.model.arch = "resnet18d";
  spec.model.width = 8;
  spec.model.conv.lc_rate = 2;
  spec.image_size = 32;
  spec.num_classes = 7;
  Network net = MustBuild(spec);
  auto params = net->named_parameters();
  for (const char* name : {"conv1.0.lc.weight", "conv1.1.weight", "conv1.3.lc.weight", "conv1.4.weight",
                           "conv1.6.lc.weight", "bn1.weight", "layer4.1.conv2.lc.weight",
                           "layer2.0.downsample.1.weight", "layer2.0.downsample.2.weight", "fc.weight"}) {
    EXPECT_TRUE(params.contains(name)) << name;
  }
  EXPECT_FALSE(params.contains("layer1.0.downsample.1.weight"));  // 8 -> 8, stride 1: identity
  EXPECT_EQ(net->SpatialLayers().size(), 3u + 16u);
  torch::Tensor y = net->forward(torch::rand({2, 3, 32, 32}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 7}));
  auto a = AccountModel(*net);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
}

TEST(NetworkTest, RejectsImpossibleSpecs) {
  ModelSpec spec = SmallSpec();
  spec.model.arch = "vgg";
  auto s = BuildNetwork(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("resnet_cifar"), std::string::npos);
  spec = SmallSpec();
  spec.model.depth = 21;
  EXPECT_NE(BuildNetwork(spec).status().message().find("6n+2"), std::string::npos);
  spec = SmallSpec();
  spec.mean = {0.5};
  EXPECT_EQ(BuildNetwork(spec).status().code(), StatusCode::kInvalidArgument);
}

// Builds the same network folded and unfolded and compares everything.
void ExpectFoldedMatchesUnfolded(ModelSpec spec, torch::Dtype dtype, double tol) {
  spec.model.conv.execution = "folded";
  Network folded = MustBuild(spec);
  spec.model.conv.execution = "unfolded";
  Network unfolded = MustBuild(spec);
  folded->to(dtype);
  unfolded->to(dtype);
  torch::manual_seed(3);
  torch::Tensor x = torch::rand({4, spec.in_channels, spec.image_size, spec.image_size}, dtype);
  torch::Tensor probe = torch::randn({4, spec.num_classes}, dtype);
  auto run = [&](Network& net) {
    torch::Tensor xi = x.clone().requires_grad_(true);
    torch::Tensor y = net->forward(xi);
    (y * probe).sum().backward();
    std::map<std::string, torch::Tensor> grads;
    for (const auto& p : net->named_parameters()) grads[p.key()] = p.value().grad().clone();
    return std::make_tuple(y.detach(), xi.grad().clone(), grads);
  };
  auto [yf, gxf, gf] = run(folded);
  auto [yu, gxu, gu] = run(unfolded);
  EXPECT_LT(RelativeError(yf, yu), tol);
  EXPECT_LT(RelativeError(gxf, gxu), tol);
  ASSERT_EQ(gf.size(), gu.size());
  int checked_lc = 0;
  for (const auto& [name, g] : gf) {
    EXPECT_LT(RelativeError(g, gu.at(name)), tol) << name;
    checked_lc += name.find(".lc.weight") != std::string::npos || name.find(".spatial.weight") != std::string::npos;
  }
  EXPECT_GE(checked_lc, 7);
}

TEST(NetworkTest, FoldedAndUnfoldedNetworksAgree) {
  for (int64_t e : {1, 4}) {
    for (const char* spatial : {"frozen", "learned"}) {
      ModelSpec spec = SmallSpec("lc", e);
      spec.model.conv.spatial = spatial;
      SCOPED_TRACE(std::string(spatial) + " E=" + std::to_string(e));
      ExpectFoldedMatchesUnfolded(spec, torch::kFloat32, 1e-5);
      ExpectFoldedMatchesUnfolded(spec, torch::kFloat64, 1e-11);
    }
  }
  ModelSpec k5 = SmallSpec("lc", 3);
  k5.model.kernel_size = 5;
  ExpectFoldedMatchesUnfolded(k5, torch::kFloat32, 1e-5);
  ModelSpec shared = SmallSpec("lc", 2);
  shared.model.conv.sharing = "per_stage";
  ExpectFoldedMatchesUnfolded(shared, torch::kFloat32, 1e-5);
}

TEST(NetworkTest, SameSeedSameFiltersOtherSeedDiffers) {
  ModelSpec spec = SmallSpec("lc", 2);
  spec.model.conv.init = "gaussian_envelope";
  Network a = MustBuild(spec), b = MustBuild(spec);
  spec.seed = 8;
  Network c = MustBuild(spec);
  auto la = a->SpatialLayers(), lb = b->SpatialLayers(), lc = c->SpatialLayers();
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_TRUE(torch::equal(la[i].spatial, lb[i].spatial));
    EXPECT_TRUE(torch::equal(la[i].combination, lb[i].combination));
    EXPECT_FALSE(torch::equal(la[i].spatial, lc[i].spatial));
  }
  EXPECT_FALSE(torch::equal(la[1].spatial, la[2].spatial));  // same shape, other layer
  EXPECT_TRUE(torch::equal(a->named_parameters()["fc.weight"], b->named_parameters()["fc.weight"]));
}

TEST(FrozenFiltersTest, NoGradNoDecayNoChange) {
  Network net = MustBuild(SmallSpec("lc", 3));
  std::vector<torch::Tensor> frozen, before;
  for (const auto& b : net->named_buffers()) {
    if (b.key().find("spatial.weight") != std::string::npos) {
      frozen.push_back(b.value());
      before.push_back(b.value().clone());
    }
  }
  ASSERT_EQ(frozen.size(), 7u);
  for (const auto& p : net->named_parameters()) EXPECT_EQ(p.key().find("spatial"), std::string::npos);
  torch::Tensor p_before = net->named_parameters()["layer1.0.conv1.lc.weight"].clone();
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01));
  torch::manual_seed(0);
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    torch::Tensor loss = torch::cross_entropy_loss(net->forward(torch::rand({4, 3, 8, 8})),
                                                   torch::randint(0, 5, {4}, torch::kLong));
    loss.backward();
    for (const auto& f : frozen) EXPECT_FALSE(f.grad().defined());
    sgd.step();
  }
  for (size_t i = 0; i < frozen.size(); ++i) EXPECT_TRUE(torch::equal(frozen[i], before[i]));
  EXPECT_FALSE(torch::equal(net->named_parameters()["layer1.0.conv1.lc.weight"], p_before));
}

TEST(SharingTest, EachLayerIsScaledSliceAndStoredDrops) {
  for (const char* mode : {"global", "per_stage"}) {
    ModelSpec spec = SmallSpec("lc", 2);
    spec.model.conv.sharing = mode;
    Network net = MustBuild(spec);
    auto* resnet = dynamic_cast<ResNetImpl*>(net.get());
    ASSERT_NE(resnet, nullptr);
    std::map<std::string, torch::Tensor> shared;
    for (const auto& b : net->named_buffers()) {
      if (b.key().rfind("shared_spatial_", 0) == 0) shared[b.key()] = b.value();
    }
    // global: one T; per_stage: resolutions 8 (stem + stage 1), 4, 2.
    ASSERT_EQ(shared.size(), std::string(mode) == "global" ? 1u : 3u);
    int64_t t_numel = 0;
    for (auto& [name, t] : shared) t_numel += t.numel();
    int64_t matched = 0;
    for (auto& [name, layer] : resnet->LcLayers()) {
      const auto& o = layer->options();
      torch::Tensor s = layer->SpatialWeight();
      bool found = false;
      for (auto& [tname, t] : shared) {
        if (t.size(0) < o.out_channels * 2 || t.size(1) < o.in_channels) continue;
        torch::Tensor want = t.slice(0, 0, o.out_channels * 2).slice(1, 0, o.in_channels) /
                             std::sqrt(static_cast<double>(o.in_channels * 9));
        if (torch::allclose(s, want, 1e-6, 0)) found = true;
      }
      EXPECT_TRUE(found) << name;
      matched += found;
    }
    EXPECT_EQ(matched, 7);
    // T ~ U[-1, 1].
    for (auto& [name, t] : shared) EXPECT_LE(t.abs().max().item<double>(), 1.0);
    auto a = AccountModel(*net);
    ASSERT_TRUE(a.ok());
    Network unshared = MustBuild(SmallSpec("lc", 2));
    auto u = AccountModel(*unshared);
    EXPECT_EQ(a->params_total, u->params_total);
    EXPECT_EQ(a->params_learned, u->params_learned);
    EXPECT_EQ(u->params_stored, u->params_learned + u->params_frozen);
    EXPECT_EQ(a->params_stored, a->params_learned + t_numel);
    // Predicted T sizes for W = 4, E = 2, k = 3.
    const int64_t predicted = std::string(mode) == "global"
                                  ? (16 * 2) * 16 * 9
                                  : (4 * 2) * 4 * 9 + (8 * 2) * 8 * 9 + (16 * 2) * 16 * 9;
    EXPECT_EQ(t_numel, predicted);
    EXPECT_LT(a->params_stored, u->params_stored);
    // Shared T is regenerable: not in the checkpoint.
    for (auto& [name, t] : net->CheckpointState()) EXPECT_EQ(name.find("shared"), std::string::npos);
  }
}

TEST(IntermediateOpTest, BuildsTrainsAndRefusesFolded) {
  for (const char* op : {"relu", "bn", "bn_relu"}) {
    SCOPED_TRACE(op);
    ModelSpec spec = SmallSpec("lc", 2);
    spec.model.conv.intermediate = op;
    spec.model.conv.execution = "folded";
    auto refused = BuildNetwork(spec);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("'folded' is impossible"), std::string::npos);
    EXPECT_FALSE(FoldedSpec(spec).ok());
    spec.model.conv.execution = "auto";
    Network net = MustBuild(spec);
    torch::Tensor p = net->named_parameters()["layer2.0.conv1.lc.weight"];
    torch::Tensor before = p.clone();
    torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1).weight_decay(0.01));
    torch::manual_seed(0);
    torch::Tensor loss = torch::cross_entropy_loss(net->forward(torch::rand({4, 3, 8, 8})),
                                                   torch::randint(0, 5, {4}, torch::kLong));
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
    loss.backward();
    sgd.step();
    EXPECT_FALSE(torch::equal(p, before));
    auto fold = FoldForInference(*net, spec);
    EXPECT_EQ(fold.status().code(), StatusCode::kFailedPrecondition);
  }
}

void TrainSteps(Network& net, int steps) {
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(0.01));
  torch::manual_seed(42);
  for (int s = 0; s < steps; ++s) {
    sgd.zero_grad();
    torch::cross_entropy_loss(net->forward(torch::rand({8, 3, 8, 8})), torch::randint(0, 5, {8}, torch::kLong))
        .backward();
    sgd.step();
  }
}

TEST(FoldForInferenceTest, PlainModelComputesTheSameAndSaves) {
  for (const char* spatial : {"frozen", "learned"}) {
    SCOPED_TRACE(spatial);
    ModelSpec spec = SmallSpec("lc", 4);
    spec.model.conv.spatial = spatial;
    spec.model.conv.sharing = std::string(spatial) == "frozen" ? "global" : "none";
    Network net = MustBuild(spec);
    TrainSteps(net, 3);
    net->eval();
    auto plain = FoldForInference(*net, spec);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    (*plain)->eval();
    for (const auto& b : (*plain)->named_buffers()) EXPECT_EQ(b.key().find("spatial"), std::string::npos);
    EXPECT_TRUE((*plain)->named_parameters().contains("layer1.0.conv1.weight"));
    EXPECT_FALSE((*plain)->named_parameters().contains("layer1.0.conv1.lc.weight"));
    torch::NoGradGuard no_grad;
    torch::manual_seed(5);
    torch::Tensor x = torch::rand({6, 3, 8, 8});
    torch::Tensor want = net->forward(x);
    torch::Tensor got = (*plain)->forward(x);
    EXPECT_LT(RelativeError(got, want), 1e-5);
    // Save and load into a freshly built plain model.
    const std::string path = ::testing::TempDir() + "/folded_" + spatial + ".pt";
    ASSERT_TRUE(SaveNetwork(**plain, path).ok());
    auto folded_spec = FoldedSpec(spec);
    ASSERT_TRUE(folded_spec.ok());
    Network fresh = MustBuild(*folded_spec);
    ASSERT_TRUE(LoadNetwork(*fresh, path).ok());
    fresh->eval();
    EXPECT_TRUE(torch::equal(fresh->forward(x), got));
    std::remove(path.c_str());
  }
}

TEST(CheckpointStateTest, ExcludesFrozenAndRestoresExactly) {
  for (const char* spatial : {"frozen", "learned"}) {
    SCOPED_TRACE(spatial);
    ModelSpec spec = SmallSpec("lc", 2);
    spec.model.conv.spatial = spatial;
    Network net = MustBuild(spec);
    TrainSteps(net, 2);
    std::vector<std::pair<std::string, torch::Tensor>> state;
    bool has_spatial = false, has_running = false;
    for (auto& [name, t] : net->CheckpointState()) {
      state.emplace_back(name, t.clone());
      has_spatial |= name.find("spatial.weight") != std::string::npos;
      has_running |= name.find("running_mean") != std::string::npos;
      EXPECT_EQ(name.find("norm_"), std::string::npos);
    }
    EXPECT_EQ(has_spatial, std::string(spatial) == "learned");
    EXPECT_TRUE(has_running);
    Network fresh = MustBuild(spec);
    ASSERT_TRUE(LoadCheckpointState(*fresh, state).ok());
    torch::manual_seed(9);
    torch::Tensor x = torch::rand({4, 3, 8, 8});
    net->eval();
    fresh->eval();
    EXPECT_TRUE(torch::equal(net->forward(x), fresh->forward(x)));
    // Missing and misshaped entries are refused by name.
    auto missing = state;
    missing.pop_back();
    EXPECT_NE(LoadCheckpointState(*fresh, missing).message().find("lacks"), std::string::npos);
    auto bad = state;
    bad[0].second = torch::zeros({1});
    EXPECT_NE(LoadCheckpointState(*fresh, bad).message().find(bad[0].first), std::string::npos);
  }
}

}  // namespace
}  // namespace lcsweep::nn
