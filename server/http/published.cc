#include "server/http/published.h"

#include <cstdint>

namespace lcsweep {
namespace {

struct Row {
  const char* dataset;
  const char* label;
  double plain[2];      // plain conv, learned: mean, std
  double lc_learned[2]; // LC learned x128
  double lc_frozen[2];  // LC frozen x128
};

// PAPER.md section 7, ResNet-20-16, E = 128.
constexpr Row kResNet20Table[] = {
    {"cifar10", "CIFAR-10", {91.60, 0.23}, {91.39, 0.29}, {91.89, 0.10}},
    {"cifar100", "CIFAR-100", {60.84, 0.52}, {59.44, 0.55}, {61.31, 0.74}},
    {"fashion_mnist", "Fashion-MNIST", {93.65, 0.18}, {93.44, 0.18}, {93.65, 0.06}},
    {"svhn", "SVHN", {96.36, 0.04}, {96.31, 0.08}, {96.34, 0.11}},
};

struct IntermediateRow {
  const char* op;
  double frozen;
  double learned;
};
// Intermediate-op ablation, ResNet-LC-20-16x64, CIFAR-10 (no std given).
constexpr IntermediateRow kIntermediate[] = {
    {"none", 91.71, 91.18}, {"relu", 92.78, 93.38}, {"bn", 91.50, 91.06}, {"bn_relu", 93.26, 94.72}};

std::string Str(const nlohmann::json& s, const char* key, const char* dflt) {
  auto it = s.find(key);
  return it != s.end() && it->is_string() ? it->get<std::string>() : dflt;
}
int64_t Int(const nlohmann::json& s, const char* key, int64_t dflt) {
  auto it = s.find(key);
  return it != s.end() && it->is_number() ? it->get<int64_t>() : dflt;
}

}  // namespace

std::optional<PublishedNumber> PublishedAccuracy(const nlohmann::json& summary) {
  const std::string data = Str(summary, "data.name", "");
  const std::string arch = Str(summary, "model.arch", "resnet_cifar");
  const std::string mode = Str(summary, "model.conv.mode", "lc");
  const std::string spatial = Str(summary, "model.conv.spatial", "frozen");
  const int64_t rate = Int(summary, "model.conv.lc_rate", 1);
  const bool default_filters = Str(summary, "model.conv.init", "kaiming_uniform") == "kaiming_uniform" &&
                               Str(summary, "model.conv.sharing", "none") == "none";
  const std::string intermediate = Str(summary, "model.conv.intermediate", "none");
  if (!default_filters || Int(summary, "model.kernel_size", 3) != 3) return std::nullopt;

  if (arch == "resnet18d" && data == "imagenet" && intermediate == "none") {
    if (mode == "learned") return PublishedNumber{72.60, 0, "PAPER v2: ResNet-18d, ImageNet, plain learned"};
    if (mode == "frozen") return PublishedNumber{37.85, 0, "PAPER v2: ResNet-18d, ImageNet, plain frozen"};
    if (mode == "lc" && spatial == "frozen" && rate == 64) {
      return PublishedNumber{72.46, 0, "PAPER v2: ResNet-18d, ImageNet, LC frozen x64"};
    }
    return std::nullopt;
  }
  if (arch != "resnet_cifar" || Int(summary, "model.depth", 20) != 20 || Int(summary, "model.width", 16) != 16) {
    return std::nullopt;
  }
  if (mode == "lc" && rate == 64 && data == "cifar10") {
    for (const auto& r : kIntermediate) {
      if (intermediate == r.op) {
        const bool frozen = spatial == "frozen";
        return PublishedNumber{frozen ? r.frozen : r.learned, 0,
                               std::string("PAPER v2: ResNet-LC-20-16x64, CIFAR-10, ") +
                                   (frozen ? "frozen" : "learned") + ", intermediate " + r.op};
      }
    }
  }
  if (intermediate != "none") return std::nullopt;
  for (const auto& r : kResNet20Table) {
    if (data != r.dataset) continue;
    const std::string where = std::string("PAPER v2: ResNet-20-16, ") + r.label + ", ";
    if (mode == "learned") return PublishedNumber{r.plain[0], r.plain[1], where + "plain conv, learned"};
    if (mode == "lc" && rate == 128) {
      if (spatial == "learned") return PublishedNumber{r.lc_learned[0], r.lc_learned[1], where + "LC learned x128"};
      return PublishedNumber{r.lc_frozen[0], r.lc_frozen[1], where + "LC frozen x128"};
    }
  }
  return std::nullopt;
}

}  // namespace lcsweep
