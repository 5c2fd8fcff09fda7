#include "common/job_config_json.h"
#include "common/job_identity.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

namespace lcsweep {
namespace {

using nlohmann::json;

std::vector<std::string> Paths(const json& j) {
  std::vector<FieldError> errs;
  JobConfigFromJsonWithErrors(j, &errs);
  std::vector<std::string> out;
  for (const auto& e : errs) out.push_back(e.path);
  return out;
}

JobConfig NonDefault() {
  JobConfig c;
  c.seed = 7;
  c.data.name = "cifar100";
  c.data.root = "/data/c100";
  c.data.augment = false;
  c.data.train_limit = 5000;
  c.data.test_limit = 100;
  c.data.loader_threads = 3;
  c.data.image_size = 160;
  c.data.on_bad_image = "fail";
  c.data.placement = "host";
  c.data.synthetic.train_size = 99;
  c.data.synthetic.noise = 0.25;
  c.data.synthetic.test_size = 77;
  c.data.synthetic.image_size = 28;
  c.data.synthetic.channels = 1;
  c.data.synthetic.classes = 5;
  c.model.depth = 56;
  c.model.width = 32;
  c.model.kernel_size = 7;
  c.model.conv.lc_rate = 64;
  c.model.conv.spatial = "learned";
  c.model.conv.init = "orthogonal";
  c.model.conv.intermediate = "bn_relu";
  c.model.conv.execution = "unfolded";
  c.train.epochs = 3;
  c.train.batch_size = 64;
  c.train.lr = 0.1;
  c.train.momentum = 0.8;
  c.train.nesterov = false;
  c.train.weight_decay = 5e-4;
  c.train.schedule = "step";
  c.train.step_gamma = 0.2;
  c.train.step_epochs = 2;
  c.train.warmup_epochs = 1;
  c.train.label_smoothing = 0;
  c.train.threads = 2;
  c.train.amp = true;
  c.train.channels_last = true;
  c.train.log_every_steps = 5;
  c.eval.fgsm_eps = {1.0 / 255, 2.0 / 255};
  c.eval.pgd_eps = {8.0 / 255};
  c.eval.pgd_steps = 10;
  c.eval.pgd_step_fraction = 0.1;
  c.eval.corruptions = {"contrast", "fog"};
  c.eval.severities = {1, 5};
  c.eval.corruptions_root = "/data/c10c";
  c.eval.robustness_limit = 0;
  c.eval.filter_stats = false;
  c.resources.device = "cuda";
  c.resources.min_gpu_memory_gb = 12.5;
  c.checkpoint.every_epochs = 0;
  return c;
}

TEST(JobConfigJsonTest, EmptyObjectGivesDefaults) {
  auto c = JobConfigFromJson(json::object());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(CanonicalJobJson(*c), CanonicalJobJson(JobConfig{}));
  EXPECT_EQ(c->model.depth, 20);
  EXPECT_EQ(c->train.epochs, 75);
}

TEST(JobConfigJsonTest, RoundTripNonDefault) {
  JobConfig c = NonDefault();
  ASSERT_TRUE(ValidateJobConfig(c).ok()) << ValidateJobConfig(c).ToString();
  json j = JobConfigToJson(c);
  auto back = JobConfigFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(JobConfigToJson(*back), j);
  EXPECT_EQ(back->eval.corruptions, c.eval.corruptions);
  EXPECT_EQ(back->model.conv.intermediate, "bn_relu");
  EXPECT_EQ(back->data.synthetic.noise, 0.25);
  EXPECT_NE(JobConfigHash(c), JobConfigHash(JobConfig{}));
  EXPECT_EQ(JobConfigHash(*back), JobConfigHash(c));
}

TEST(JobConfigJsonTest, ToJsonIsFullyExplicit) {
  json j = JobConfigToJson(JobConfig{});
  EXPECT_EQ(j["model"]["conv"]["lc_rate"], 1);
  EXPECT_TRUE(j["eval"]["pgd_eps"].is_array());
  EXPECT_TRUE(j["eval"]["corruptions"].is_array());
  EXPECT_TRUE(j["train"]["lr"].is_number_float());
  EXPECT_TRUE(j["train"]["epochs"].is_number_integer());
  // Every leaf path is present.
  for (const std::string& p : JobConfigLeafPaths()) {
    std::string ptr = "/" + p;
    std::replace(ptr.begin(), ptr.end(), '.', '/');
    EXPECT_TRUE(j.contains(json::json_pointer(ptr))) << p;
  }
  EXPECT_GE(JobConfigLeafPaths().size(), 50u);
}

TEST(JobConfigJsonTest, HashStableUnderKeyOrderDefaultsAndNumberForm) {
  std::string a = R"({"model": {"conv": {"lc_rate": 8, "mode": "lc"}, "depth": 20}, "train": {"lr": 1}})";
  std::string b = R"({"train": {"lr": 1.0, "epochs": 75}, "model": {"depth": 20.0, "conv": {"mode": "lc", "lc_rate": 8}}, "seed": 0})";
  auto ca = JobConfigFromJson(json::parse(a));
  auto cb = JobConfigFromJson(json::parse(b));
  ASSERT_TRUE(ca.ok()) << ca.status().ToString();
  ASSERT_TRUE(cb.ok()) << cb.status().ToString();
  EXPECT_EQ(CanonicalJobJson(*ca), CanonicalJobJson(*cb));
  EXPECT_EQ(JobConfigHash(*ca), JobConfigHash(*cb));
  // Integers stay integers, doubles are written as doubles.
  EXPECT_NE(CanonicalJobJson(*ca).find("\"lr\":1.0"), std::string::npos);
  EXPECT_NE(CanonicalJobJson(*ca).find("\"depth\":20,"), std::string::npos);
  // Sorted keys: "checkpoint" < "data" < "eval" < "model" < "resources" < "seed" < "train".
  std::string canon = CanonicalJobJson(*ca);
  EXPECT_LT(canon.find("\"checkpoint\""), canon.find("\"data\""));
  EXPECT_LT(canon.find("\"seed\""), canon.find("\"train\""));
  EXPECT_EQ(JobConfigHash(*ca).size(), 64u);
}

TEST(JobConfigJsonTest, EvalListOrderIsNormalised) {
  auto a = JobConfigFromJson(json::parse(R"({"eval": {"severities": [5, 1, 3], "corruptions": ["fog", "contrast"]}})"));
  auto b = JobConfigFromJson(json::parse(R"({"eval": {"severities": [1, 3, 5], "corruptions": ["contrast", "fog"]}})"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(JobConfigHash(*a), JobConfigHash(*b));
}

// Changing any single leaf field to another valid value changes the hash,
// except the run settings (common/job_identity.h), which change neither
// hash; the group hash changes for every other field except the seed.
TEST(JobConfigJsonTest, EveryFieldChangesTheHash) {
  JobConfig base;
  const std::string h0 = JobConfigHash(base), g0 = JobGroupHash(base);
  JobConfig nd = NonDefault();
  json nj = JobConfigToJson(nd);
  json bj = JobConfigToJson(base);
  std::set<std::string> covered;
  for (const std::string& p : JobConfigLeafPaths()) {
    std::string ptr = "/" + p;
    std::replace(ptr.begin(), ptr.end(), '.', '/');
    json::json_pointer jp(ptr);
    json changed = bj;
    if (nj.at(jp) == bj.at(jp)) continue;  // NonDefault keeps this one
    changed[jp] = nj.at(jp);
    // Some fields only make sense with others; fix up the combination.
    if (p.rfind("model.conv.", 0) == 0 || p == "model.kernel_size") {
      changed["model"]["conv"]["mode"] = "lc";
    }
    if (p == "model.conv.sharing") changed["model"]["conv"]["spatial"] = "frozen";
    if (p == "train.amp" || p == "train.channels_last") changed["resources"]["device"] = "cuda";
    if (p == "train.nesterov") changed["train"]["momentum"] = 0.9;
    std::vector<FieldError> errs;
    JobConfig c = JobConfigFromJsonWithErrors(changed, &errs);
    ASSERT_TRUE(errs.empty()) << p << ": " << errs[0].ToString();
    bool run_setting = false;
    for (const std::string& r : IgnoredForIdentity(base)) {
      const bool section = r.size() > 2 && r.compare(r.size() - 2, 2, ".*") == 0;
      run_setting |= section ? p.rfind(r.substr(0, r.size() - 1), 0) == 0 : p == r;
    }
    if (run_setting) {
      // A device or memory-format change drags no identity field along.
      EXPECT_EQ(JobConfigHash(c), h0) << p;
      EXPECT_EQ(JobGroupHash(c), g0) << p;
      covered.insert(p);
      continue;
    }
    EXPECT_NE(JobConfigHash(c), h0) << p;
    if (p == "seed") {
      EXPECT_EQ(JobGroupHash(c), g0);
    } else {
      EXPECT_NE(JobGroupHash(c), g0) << p;
    }
    covered.insert(p);
  }
  // NonDefault keeps arch, mode and sharing (they constrain other fields) and
  // the optimizer (only "sgd" exists); test those directly.
  JobConfig s;
  s.model.conv.sharing = "global";
  JobConfig m;
  m.model.conv.mode = "frozen";
  JobConfig a;
  a.model.arch = "resnet18d";
  a.model.depth = 18;
  a.model.width = 64;
  JobConfig a2 = a;
  a2.model.arch = "resnet_cifar";
  a2.model.depth = 20;  // a valid resnet_cifar with width 64 for comparison
  for (const JobConfig* x : {&s, &m}) {
    EXPECT_TRUE(ValidateJobConfig(*x).ok());
    EXPECT_NE(JobConfigHash(*x), h0);
    EXPECT_NE(JobGroupHash(*x), g0);
  }
  EXPECT_TRUE(ValidateJobConfig(a).ok());
  a2.model.depth = 18 + 2;
  EXPECT_NE(JobConfigHash(a), JobConfigHash(a2));
  covered.insert({"model.conv.sharing", "model.conv.mode", "model.arch", "train.optimizer"});
  EXPECT_EQ(covered.size(), JobConfigLeafPaths().size())
      << "NonDefault should change every other field";
}

TEST(JobConfigJsonTest, AllErrorsAtOnceWithPaths) {
  json j = json::parse(R"({
    "seed": -1,
    "data": {"name": "cifar11", "train_limit": "10"},
    "model": {"depth": 21, "kernel_size": 4, "conv": {"lc_rate": 0, "intermdiate": "relu"}},
    "train": {"lr": 0, "batch_size": 0, "epochs": 2.5},
    "eval": {"fgsm_eps": [0.5, 2], "severities": [1, 6], "corruptions": ["fogg"]},
    "resources": {"device": "tpu"},
    "extra": 1
  })");
  std::vector<std::string> paths = Paths(j);
  std::vector<std::string> expected = {
      "data.train_limit", "model.conv.intermdiate", "train.epochs", "extra",  // type / key errors
      "seed", "data.name", "model.kernel_size", "model.conv.lc_rate", "train.batch_size",
      "train.lr", "eval.fgsm_eps[1]", "eval.corruptions[0]", "eval.severities[1]",
      "resources.device", "model.depth"};
  std::sort(paths.begin(), paths.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(paths, expected);
  auto st = JobConfigFromJson(j);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("data.name: found \"cifar11\"; expected one of"),
            std::string::npos);
  EXPECT_NE(st.status().message().find("did you mean \"cifar10\"?"), std::string::npos);
  EXPECT_NE(st.status().message().find(
                "model.conv.intermdiate: found an unknown key; expected one of \"execution\", "
                "\"init\", \"intermediate\""),
            std::string::npos)
      << st.status().message();
}

struct ComboCase {
  const char* json;
  const char* path;
};

TEST(JobConfigJsonTest, ImpossibleCombinations) {
  const ComboCase cases[] = {
      {R"({"model": {"conv": {"execution": "folded", "intermediate": "relu"}}})", "model.conv.execution"},
      {R"({"model": {"conv": {"mode": "learned", "lc_rate": 8}}})", "model.conv.lc_rate"},
      {R"({"model": {"conv": {"mode": "frozen", "spatial": "learned"}}})", "model.conv.spatial"},
      {R"({"model": {"conv": {"mode": "learned", "intermediate": "bn"}}})", "model.conv.intermediate"},
      {R"({"model": {"conv": {"mode": "learned", "execution": "unfolded"}}})", "model.conv.execution"},
      {R"({"model": {"conv": {"spatial": "learned", "sharing": "global"}}})", "model.conv.sharing"},
      {R"({"model": {"conv": {"mode": "learned", "sharing": "per_stage"}}})", "model.conv.sharing"},
      {R"({"resources": {"device": "cpu", "min_gpu_memory_gb": 8}})", "resources.min_gpu_memory_gb"},
      {R"({"resources": {"device": "cpu"}, "train": {"amp": true}})", "train.amp"},
      {R"({"model": {"arch": "resnet18d", "depth": 18, "width": 32}})", "model.width"},
      {R"({"model": {"arch": "resnet18d", "width": 64}})", "model.depth"},
      {R"({"model": {"depth": 22}})", "model.depth"},
      {R"({"train": {"momentum": 0}})", "train.nesterov"},
      {R"({"train": {"epochs": 2, "warmup_epochs": 3}})", "train.warmup_epochs"},
      {R"({"eval": {"corruptions": ["fog", "all"]}})", "eval.corruptions[1]"},
      {R"({"eval": {"severities": [2, 2]}})", "eval.severities[1]"},
      {R"({"data": {"name": "imagenet", "root": "/data/in", "placement": "device"}})", "data.placement"},
  };
  for (const ComboCase& c : cases) {
    EXPECT_EQ(Paths(json::parse(c.json)), std::vector<std::string>{c.path}) << c.json;
  }
  // Allowed combinations.
  for (const char* ok : {R"({"model": {"conv": {"mode": "frozen", "sharing": "global"}}})",
                         R"({"model": {"conv": {"sharing": "per_stage", "init": "sign"}}})",
                         R"({"model": {"conv": {"intermediate": "relu", "execution": "unfolded"}}})",
                         R"({"model": {"arch": "resnet18d", "depth": 18, "width": 64}})",
                         R"({"resources": {"device": "cuda", "min_gpu_memory_gb": 8}, "train": {"amp": true}})",
                         R"({"eval": {"corruptions": ["all"]}, "model": {"depth": 8}})",
                         R"({"data": {"name": "imagenet", "root": "/data/in", "placement": "auto"}})",
                         R"({"data": {"name": "cifar10", "placement": "device"}})"}) {
    EXPECT_TRUE(Paths(json::parse(ok)).empty()) << ok;
  }
}

TEST(JobConfigJsonTest, IntegerFieldsAcceptIntegralFloatsOnly) {
  EXPECT_TRUE(Paths(json::parse(R"({"train": {"epochs": 3.0}})")).empty());
  EXPECT_EQ(Paths(json::parse(R"({"train": {"epochs": 3.5}})")), std::vector<std::string>{"train.epochs"});
  EXPECT_EQ(Paths(json::parse(R"({"train": {"epochs": "3"}})")), std::vector<std::string>{"train.epochs"});
  EXPECT_EQ(Paths(json::parse(R"({"seed": 18446744073709551615})")), std::vector<std::string>{"seed"});
  EXPECT_EQ(Paths(json::parse(R"([1])")), std::vector<std::string>{"(document)"});
  EXPECT_EQ(Paths(json::parse(R"({"model": 5})")), std::vector<std::string>{"model"});
}

TEST(JobConfigJsonTest, AllCorruptionsNormaliseToAll) {
  json names = json::array();
  for (const char* n : kCorruptionNames) names.push_back(n);
  auto a = JobConfigFromJson(json{{"eval", {{"corruptions", names}}}});
  auto b = JobConfigFromJson(json::parse(R"({"eval": {"corruptions": ["all"]}})"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->eval.corruptions, std::vector<std::string>{"all"});
  EXPECT_EQ(JobConfigHash(*a), JobConfigHash(*b));
}

}  // namespace
}  // namespace lcsweep
