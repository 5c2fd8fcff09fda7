// The published numbers and their matching (see published.h).
#include "analysis/published.h"

#include <cstdio>

#include "analysis/figures.h"

namespace lcsweep::analysis {
namespace {

// Table 1, ResNet-20-16, E = 128: {plain learned, LC learned x128, LC frozen x128}, percent.
struct Table1Row {
  const char* dataset;
  const char* label;
  double mean[3], std[3];
};
constexpr Table1Row kTable1[] = {
    {"cifar10", "CIFAR-10", {91.60, 91.39, 91.89}, {0.23, 0.29, 0.10}},
    {"cifar100", "CIFAR-100", {60.84, 59.44, 61.31}, {0.52, 0.55, 0.74}},
    {"fashion_mnist", "Fashion-MNIST", {93.65, 93.44, 93.65}, {0.18, 0.18, 0.06}},
    {"svhn", "SVHN", {96.36, 96.31, 96.34}, {0.04, 0.08, 0.11}},
};
// Table 3, ResNet-LC-20-16x64 on CIFAR-10, intermediate op: {frozen, learned}, percent, no std.
struct Table3Row {
  const char* op;
  double frozen, learned;
};
constexpr Table3Row kTable3[] = {
    {"none", 91.71, 91.18}, {"relu", 92.78, 93.38}, {"bn", 91.50, 91.06}, {"bn_relu", 93.26, 94.72}};
// ImageNet, ResNet-18d, percent, no std.
constexpr double kImageNetLearned = 72.60, kImageNetFrozen = 37.85, kImageNetLcFrozen64 = 72.46;

PublishedNumber Percent(double mean, std::optional<double> std, std::string source) {
  PublishedNumber p;
  p.mean = mean / 100.0;
  if (std) p.std = *std / 100.0;
  p.source = std::move(source);
  return p;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

// The recipe the tables were trained with is JobConfig's defaults (common/job_config.h).
std::vector<std::string> RecipeDifferences(const JobConfig& c) {
  const JobConfig paper;
  std::vector<std::string> out;
  auto diff_int = [&](const char* path, int64_t v, int64_t p) {
    if (v != p) out.push_back(std::string(path) + " " + std::to_string(v) + " (paper: " + std::to_string(p) + ")");
  };
  auto diff_num = [&](const char* path, double v, double p) {
    if (v != p) out.push_back(std::string(path) + " " + Num(v) + " (paper: " + Num(p) + ")");
  };
  auto diff_str = [&](const char* path, const std::string& v, const std::string& p) {
    if (v != p) out.push_back(std::string(path) + " " + v + " (paper: " + p + ")");
  };
  diff_int("train.epochs", c.train.epochs, paper.train.epochs);
  diff_num("train.lr", c.train.lr, paper.train.lr);
  diff_int("train.batch_size", c.train.batch_size, paper.train.batch_size);
  diff_str("train.schedule", c.train.schedule, paper.train.schedule);
  diff_num("train.weight_decay", c.train.weight_decay, paper.train.weight_decay);
  diff_num("train.label_smoothing", c.train.label_smoothing, paper.train.label_smoothing);
  diff_int("train.warmup_epochs", c.train.warmup_epochs, paper.train.warmup_epochs);
  if (c.data.train_limit > 0)
    out.push_back("data.train_limit " + std::to_string(c.data.train_limit) + " (paper: the full training set)");
  if (c.data.test_limit > 0)
    out.push_back("data.test_limit " + std::to_string(c.data.test_limit) + " (paper: the full test set)");
  if (!c.data.augment) out.push_back("data.augment false (paper: true)");
  return out;
}

std::optional<PublishedNumber> Lookup(const JobConfig& c, std::vector<std::string>* why) {
  const ModelConfig& m = c.model;
  const ConvConfig& conv = m.conv;
  auto need = [&](bool ok, const std::string& what) {
    if (!ok) why->push_back(what);
  };
  need(m.kernel_size == 3, "kernel size " + std::to_string(m.kernel_size) + " (paper: 3)");
  need(conv.init == "kaiming_uniform", "init " + conv.init + " (paper: kaiming_uniform)");
  need(conv.sharing == "none", "sharing " + conv.sharing + " (paper: none)");
  const bool lc = conv.mode == "lc";
  if (m.arch == "resnet18d") {
    need(c.data.name == "imagenet", "ResNet-18d numbers are for imagenet");
    if (!why->empty()) return std::nullopt;
    const std::string where = "ImageNet ResNet-18d, ";
    if (conv.mode == "learned") return Percent(kImageNetLearned, std::nullopt, where + "plain learned");
    if (conv.mode == "frozen") return Percent(kImageNetFrozen, std::nullopt, where + "plain frozen");
    if (lc && conv.lc_rate == 64 && conv.spatial == "frozen" && conv.intermediate == "none")
      return Percent(kImageNetLcFrozen64, std::nullopt, where + "frozen LC x64");
    why->push_back("ImageNet numbers exist for plain learned/frozen and frozen LC x64 only");
    return std::nullopt;
  }
  need(m.arch == "resnet_cifar", "arch " + m.arch + " (paper: resnet_cifar)");
  need(m.depth == 20, "depth " + std::to_string(m.depth) + " (paper: 20)");
  need(m.width == 16, "width " + std::to_string(m.width) + " (paper: 16)");
  if (!why->empty()) return std::nullopt;
  if (lc && conv.lc_rate == 64 && c.data.name == "cifar10") {
    for (const auto& r : kTable3) {
      if (conv.intermediate != r.op) continue;
      const bool frozen = conv.spatial == "frozen";
      return Percent(frozen ? r.frozen : r.learned, std::nullopt,
                     std::string("Table 3: ResNet-LC-20-16x64, CIFAR-10, ") + (frozen ? "frozen" : "learned") +
                         ", intermediate " + r.op);
    }
  }
  const Table1Row* row = nullptr;
  for (const auto& r : kTable1) {
    if (c.data.name == r.dataset) row = &r;
  }
  if (row == nullptr) {
    why->push_back("data set " + c.data.name + " (paper: cifar10, cifar100, fashion_mnist, svhn)");
    return std::nullopt;
  }
  const std::string where = std::string("Table 1: ResNet-20-16, ") + row->label + ", ";
  if (conv.mode == "learned") return Percent(row->mean[0], row->std[0], where + "plain conv learned, 4 seeds");
  if (!lc) {
    why->push_back("conv mode " + conv.mode + " (paper: learned or lc)");
    return std::nullopt;
  }
  need(conv.lc_rate == 128, "E " + std::to_string(conv.lc_rate) + " (paper: 128)");
  need(conv.intermediate == "none", "intermediate " + conv.intermediate + " (paper: none)");
  if (!why->empty()) return std::nullopt;
  const int i = conv.spatial == "frozen" ? 2 : 1;
  return Percent(row->mean[i], row->std[i], where + "LC " + (i == 2 ? "frozen" : "learned") + " x128, 4 seeds");
}

}  // namespace

PublishedMatch MatchPublished(const JobConfig& config) {
  PublishedMatch out;
  std::vector<std::string> why;
  out.number = Lookup(config, &why);
  if (!out.number) {
    out.mismatch = Join(why);
    return out;
  }
  out.recipe_differences = RecipeDifferences(config);
  return out;
}

std::string PublishedComparability(const std::string& figure) {
  if (figure == kPublishedFigure) return "";
  if (figure == kEvalCleanAccuracy) {
    return std::string(kEvalCleanAccuracy) +
           " is measured on the first eval.robustness_limit test images; the published numbers are on the "
           "full test set: use " + kPublishedFigure;
  }
  return std::string("the published numbers are clean test accuracies: use ") + kPublishedFigure;
}

nlohmann::json PublishedJson(const PublishedNumber& number, const std::vector<std::string>& recipe_differences) {
  return nlohmann::json{{"mean", number.mean},
                        {"std", number.std ? nlohmann::json(*number.std) : nlohmann::json(nullptr)},
                        {"source", number.source},
                        {"recipe_differences", recipe_differences}};
}

}  // namespace lcsweep::analysis
