// JobConfig <-> JSON (see job_config_json.h). Long because it reads and
// writes every field of the job config with its range and error path, one
// field after another, in the order of job_config.h.
#include "common/job_config_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>

#include "common/data_placement.h"
#include "common/job_identity.h"
#include "common/sha256.h"

namespace lcsweep {
namespace {

using nlohmann::json;

const std::vector<std::string> kConvModes = {"lc", "learned", "frozen"};
const std::vector<std::string> kSpatialModes = {"frozen", "learned"};
const std::vector<std::string> kInits = {"kaiming_uniform", "kaiming_normal", "uniform", "normal",
                                         "orthogonal",      "sign",           "gaussian_envelope"};
const std::vector<std::string> kSharings = {"none", "global", "per_stage"};
const std::vector<std::string> kIntermediates = {"none", "relu", "bn", "bn_relu"};
const std::vector<std::string> kExecutions = {"auto", "folded", "unfolded", "reduced"};
const std::vector<std::string> kArchs = {"resnet_cifar", "resnet18d"};
const std::vector<std::string> kOptimizers = {"sgd"};
const std::vector<std::string> kSchedules = {"cosine", "step", "constant"};
const std::vector<std::string> kDevices = {"cpu", "cuda", "any"};
const std::vector<std::string> kBadImage = {"skip", "fail"};
const std::vector<std::string> kPlacements = {"auto", "host", "device"};

const std::vector<std::string>& DataSetNames() {
  static const std::vector<std::string> names(std::begin(kDataSets), std::end(kDataSets));
  return names;
}
const std::vector<std::string>& CorruptionNames() {
  static const std::vector<std::string> names(std::begin(kCorruptionNames),
                                              std::end(kCorruptionNames));
  return names;
}
// Corruption names plus "all", and the sorted full list (for normalisation).
const std::vector<std::string>& CorruptionNamesOrAll() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = CorruptionNames();
    n.push_back("all");
    return n;
  }();
  return names;
}
const std::vector<std::string>& SortedCorruptionNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = CorruptionNames();
    std::sort(n.begin(), n.end());
    return n;
  }();
  return names;
}

std::string Quote(const std::string& s) { return DescribeJson(json(s)); }
std::string Num(double d) { return DescribeJson(json(d)); }

// Reads one JSON object into struct fields, recording type errors and
// unknown keys. Fields not present keep their (default) values.
class ObjectReader {
 public:
  ObjectReader(const json* j, std::string path, std::vector<FieldError>* errors)
      : j_(j), path_(std::move(path)), errors_(errors) {
    if (j_ != nullptr && !j_->is_object()) {
      Err(path_, DescribeJson(*j_), "an object");
      j_ = nullptr;
    }
  }

  // The sub-object under `key`, or nullptr when absent (errors if not an object
  // are reported by the child reader).
  const json* Child(const char* key) { return Find(key); }
  std::string ChildPath(const char* key) const { return JoinPath(path_, key); }

  void Int(const char* key, int64_t* out) {
    const json* v = Find(key);
    if (v != nullptr) ReadInt(*v, JoinPath(path_, key), out);
  }
  void Double(const char* key, double* out) {
    const json* v = Find(key);
    if (v != nullptr) ReadDouble(*v, JoinPath(path_, key), out);
  }
  void Bool(const char* key, bool* out) {
    const json* v = Find(key);
    if (v == nullptr) return;
    if (!v->is_boolean()) {
      Err(JoinPath(path_, key), DescribeJson(*v), "true or false");
      return;
    }
    *out = v->get<bool>();
  }
  void String(const char* key, std::string* out) {
    const json* v = Find(key);
    if (v == nullptr) return;
    if (!v->is_string()) {
      Err(JoinPath(path_, key), DescribeJson(*v), "a string");
      return;
    }
    *out = v->get<std::string>();
  }
  void DoubleList(const char* key, std::vector<double>* out) {
    const json* v = Find(key);
    if (v == nullptr) return;
    std::string p = JoinPath(path_, key);
    if (!v->is_array()) {
      Err(p, DescribeJson(*v), "an array of numbers");
      return;
    }
    std::vector<double> r(v->size());
    bool ok = true;
    for (size_t i = 0; i < v->size(); ++i) ok &= ReadDouble((*v)[i], IndexPath(p, i), &r[i]);
    if (ok) *out = std::move(r);
  }
  void IntList(const char* key, std::vector<int64_t>* out) {
    const json* v = Find(key);
    if (v == nullptr) return;
    std::string p = JoinPath(path_, key);
    if (!v->is_array()) {
      Err(p, DescribeJson(*v), "an array of integers");
      return;
    }
    std::vector<int64_t> r(v->size());
    bool ok = true;
    for (size_t i = 0; i < v->size(); ++i) ok &= ReadInt((*v)[i], IndexPath(p, i), &r[i]);
    if (ok) *out = std::move(r);
  }
  void StringList(const char* key, std::vector<std::string>* out) {
    const json* v = Find(key);
    if (v == nullptr) return;
    std::string p = JoinPath(path_, key);
    if (!v->is_array()) {
      Err(p, DescribeJson(*v), "an array of strings");
      return;
    }
    std::vector<std::string> r(v->size());
    bool ok = true;
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) {
        Err(IndexPath(p, i), DescribeJson((*v)[i]), "a string");
        ok = false;
      } else {
        r[i] = (*v)[i].get<std::string>();
      }
    }
    if (ok) *out = std::move(r);
  }

  // Reports every key that no reader asked for.
  void Finish() {
    if (j_ == nullptr) return;
    for (auto it = j_->begin(); it != j_->end(); ++it) {
      if (std::find(known_.begin(), known_.end(), it.key()) != known_.end()) continue;
      std::string hint;
      std::string close = ClosestName(it.key(), known_);
      if (!close.empty()) hint = "did you mean \"" + close + "\"?";
      std::vector<std::string> sorted = known_;
      std::sort(sorted.begin(), sorted.end());
      Err(JoinPath(path_, it.key()), "an unknown key", "one of " + QuoteList(sorted), hint);
    }
  }

 private:
  const json* Find(const char* key) {
    known_.push_back(key);
    if (j_ == nullptr) return nullptr;
    auto it = j_->find(key);
    return it == j_->end() ? nullptr : &*it;
  }
  bool ReadInt(const json& v, const std::string& p, int64_t* out) {
    if (v.is_number_integer() && !v.is_number_unsigned()) {
      *out = v.get<int64_t>();
      return true;
    }
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        Err(p, DescribeJson(v), "an integer below 2^63");
        return false;
      }
      *out = static_cast<int64_t>(u);
      return true;
    }
    if (v.is_number_float()) {
      double d = v.get<double>();
      // 3.0 is accepted as 3: the value is exactly an integer.
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
        *out = static_cast<int64_t>(d);
        return true;
      }
    }
    Err(p, DescribeJson(v), "an integer");
    return false;
  }
  bool ReadDouble(const json& v, const std::string& p, double* out) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      Err(p, DescribeJson(v), "a number");
      return false;
    }
    *out = v.get<double>();
    return true;
  }
  void Err(std::string p, std::string found, std::string expected, std::string hint = "") {
    errors_->push_back({std::move(p), std::move(found), std::move(expected), std::move(hint)});
  }

  const json* j_;
  std::string path_;
  std::vector<FieldError>* errors_;
  std::vector<std::string> known_;
};

void ParseSynthetic(const json* j, const std::string& path, SyntheticDataConfig* s,
                    std::vector<FieldError>* e) {
  ObjectReader r(j, path, e);
  r.Int("train_size", &s->train_size);
  r.Int("test_size", &s->test_size);
  r.Int("image_size", &s->image_size);
  r.Int("channels", &s->channels);
  r.Int("classes", &s->classes);
  r.Double("noise", &s->noise);
  r.Finish();
}

void ParseData(const json* j, const std::string& path, DataConfig* d, std::vector<FieldError>* e) {
  ObjectReader r(j, path, e);
  r.String("name", &d->name);
  r.String("root", &d->root);
  r.Bool("augment", &d->augment);
  r.Int("train_limit", &d->train_limit);
  r.Int("test_limit", &d->test_limit);
  r.Int("loader_threads", &d->loader_threads);
  r.Int("image_size", &d->image_size);
  r.String("on_bad_image", &d->on_bad_image);
  r.String("placement", &d->placement);
  if (const json* s = r.Child("synthetic")) ParseSynthetic(s, r.ChildPath("synthetic"), &d->synthetic, e);
  r.Finish();
}

void ParseModel(const json* j, const std::string& path, ModelConfig* m, std::vector<FieldError>* e) {
  ObjectReader r(j, path, e);
  r.String("arch", &m->arch);
  r.Int("depth", &m->depth);
  r.Int("width", &m->width);
  r.Int("kernel_size", &m->kernel_size);
  if (const json* cj = r.Child("conv")) {
    ObjectReader c(cj, r.ChildPath("conv"), e);
    c.String("mode", &m->conv.mode);
    c.Int("lc_rate", &m->conv.lc_rate);
    c.String("spatial", &m->conv.spatial);
    c.String("init", &m->conv.init);
    c.String("sharing", &m->conv.sharing);
    c.String("intermediate", &m->conv.intermediate);
    c.String("execution", &m->conv.execution);
    c.Finish();
  }
  r.Finish();
}

void ParseTrain(const json* j, const std::string& path, TrainConfig* t, std::vector<FieldError>* e) {
  ObjectReader r(j, path, e);
  r.Int("epochs", &t->epochs);
  r.Int("batch_size", &t->batch_size);
  r.String("optimizer", &t->optimizer);
  r.Double("lr", &t->lr);
  r.Double("momentum", &t->momentum);
  r.Bool("nesterov", &t->nesterov);
  r.Double("weight_decay", &t->weight_decay);
  r.String("schedule", &t->schedule);
  r.Double("step_gamma", &t->step_gamma);
  r.Int("step_epochs", &t->step_epochs);
  r.Int("warmup_epochs", &t->warmup_epochs);
  r.Double("label_smoothing", &t->label_smoothing);
  r.Int("threads", &t->threads);
  r.Bool("amp", &t->amp);
  r.Bool("channels_last", &t->channels_last);
  r.Int("log_every_steps", &t->log_every_steps);
  r.Finish();
}

void ParseEval(const json* j, const std::string& path, EvalConfig* v, std::vector<FieldError>* e) {
  ObjectReader r(j, path, e);
  r.DoubleList("fgsm_eps", &v->fgsm_eps);
  r.DoubleList("pgd_eps", &v->pgd_eps);
  r.Int("pgd_steps", &v->pgd_steps);
  r.Double("pgd_step_fraction", &v->pgd_step_fraction);
  r.StringList("corruptions", &v->corruptions);
  r.IntList("severities", &v->severities);
  r.String("corruptions_root", &v->corruptions_root);
  r.Int("robustness_limit", &v->robustness_limit);
  r.Bool("filter_stats", &v->filter_stats);
  r.Finish();
}

// ---- validation ----

class Checker {
 public:
  explicit Checker(std::vector<FieldError>* e) : e_(e) {}
  void IntRange(const std::string& p, int64_t v, int64_t lo, int64_t hi) {
    if (v >= lo && v <= hi) return;
    std::string exp = hi == std::numeric_limits<int64_t>::max()
                          ? "an integer >= " + std::to_string(lo)
                          : "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    Add(p, std::to_string(v), exp);
  }
  // lo_open/hi_open: exclusive bounds.
  void DoubleRange(const std::string& p, double v, double lo, bool lo_open, double hi, bool hi_open) {
    bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok) return;
    std::string exp;
    if (hi == std::numeric_limits<double>::infinity()) {
      exp = std::string("a number ") + (lo_open ? "> " : ">= ") + Num(lo);
    } else {
      exp = std::string("a number in ") + (lo_open ? "(" : "[") + Num(lo) + ", " + Num(hi) +
            (hi_open ? ")" : "]");
    }
    Add(p, Num(v), exp);
  }
  void OneOf(const std::string& p, const std::string& v, const std::vector<std::string>& allowed) {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return;
    std::string close = ClosestName(v, allowed);
    Add(p, Quote(v), "one of " + QuoteList(allowed),
        close.empty() ? "" : "did you mean \"" + close + "\"?");
  }
  void Add(std::string p, std::string found, std::string expected, std::string hint = "") {
    e_->push_back({std::move(p), std::move(found), std::move(expected), std::move(hint)});
  }

 private:
  std::vector<FieldError>* e_;
};

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

void CheckFields(const JobConfig& c, Checker& k) {
  k.IntRange("seed", c.seed, 0, kMax);
  // data
  k.OneOf("data.name", c.data.name, DataSetNames());
  k.IntRange("data.train_limit", c.data.train_limit, 0, kMax);
  k.IntRange("data.test_limit", c.data.test_limit, 0, kMax);
  k.IntRange("data.loader_threads", c.data.loader_threads, 0, 256);
  k.IntRange("data.image_size", c.data.image_size, 8, 1024);
  k.OneOf("data.on_bad_image", c.data.on_bad_image, kBadImage);
  k.OneOf("data.placement", c.data.placement, kPlacements);
  const SyntheticDataConfig& s = c.data.synthetic;
  k.IntRange("data.synthetic.train_size", s.train_size, 1, kMax);
  k.IntRange("data.synthetic.test_size", s.test_size, 1, kMax);
  k.IntRange("data.synthetic.image_size", s.image_size, 8, 1024);
  k.IntRange("data.synthetic.channels", s.channels, 1, 64);
  k.IntRange("data.synthetic.classes", s.classes, 2, 100000);
  k.DoubleRange("data.synthetic.noise", s.noise, 0, false, kInf, false);
  // model
  k.OneOf("model.arch", c.model.arch, kArchs);
  k.IntRange("model.depth", c.model.depth, 1, 2000);
  k.IntRange("model.width", c.model.width, 1, 4096);
  if (c.model.kernel_size != 3 && c.model.kernel_size != 5 && c.model.kernel_size != 7 &&
      c.model.kernel_size != 9) {
    k.Add("model.kernel_size", std::to_string(c.model.kernel_size), "one of 3, 5, 7 or 9");
  }
  const ConvConfig& cv = c.model.conv;
  k.OneOf("model.conv.mode", cv.mode, kConvModes);
  k.IntRange("model.conv.lc_rate", cv.lc_rate, 1, 4096);
  k.OneOf("model.conv.spatial", cv.spatial, kSpatialModes);
  k.OneOf("model.conv.init", cv.init, kInits);
  k.OneOf("model.conv.sharing", cv.sharing, kSharings);
  k.OneOf("model.conv.intermediate", cv.intermediate, kIntermediates);
  k.OneOf("model.conv.execution", cv.execution, kExecutions);
  // train
  const TrainConfig& t = c.train;
  k.IntRange("train.epochs", t.epochs, 1, 100000);
  k.IntRange("train.batch_size", t.batch_size, 1, 1 << 20);
  k.OneOf("train.optimizer", t.optimizer, kOptimizers);
  k.DoubleRange("train.lr", t.lr, 0, true, kInf, false);
  k.DoubleRange("train.momentum", t.momentum, 0, false, 1, true);
  k.DoubleRange("train.weight_decay", t.weight_decay, 0, false, kInf, false);
  k.OneOf("train.schedule", t.schedule, kSchedules);
  k.DoubleRange("train.step_gamma", t.step_gamma, 0, true, 1, false);
  k.IntRange("train.step_epochs", t.step_epochs, 1, kMax);
  k.IntRange("train.warmup_epochs", t.warmup_epochs, 0, kMax);
  k.DoubleRange("train.label_smoothing", t.label_smoothing, 0, false, 1, true);
  k.IntRange("train.threads", t.threads, 0, 1024);
  k.IntRange("train.log_every_steps", t.log_every_steps, 1, kMax);
  // eval
  const EvalConfig& v = c.eval;
  for (size_t i = 0; i < v.fgsm_eps.size(); ++i)
    k.DoubleRange(IndexPath("eval.fgsm_eps", i), v.fgsm_eps[i], 0, false, 1, false);
  for (size_t i = 0; i < v.pgd_eps.size(); ++i)
    k.DoubleRange(IndexPath("eval.pgd_eps", i), v.pgd_eps[i], 0, false, 1, false);
  k.IntRange("eval.pgd_steps", v.pgd_steps, 1, 100000);
  k.DoubleRange("eval.pgd_step_fraction", v.pgd_step_fraction, 0, true, 1, false);
  const std::vector<std::string>& cnames = CorruptionNamesOrAll();
  for (size_t i = 0; i < v.corruptions.size(); ++i)
    k.OneOf(IndexPath("eval.corruptions", i), v.corruptions[i], cnames);
  for (size_t i = 0; i < v.severities.size(); ++i)
    k.IntRange(IndexPath("eval.severities", i), v.severities[i], 1, 5);
  k.IntRange("eval.robustness_limit", v.robustness_limit, 0, kMax);
  // resources, checkpoint
  k.OneOf("resources.device", c.resources.device, kDevices);
  k.DoubleRange("resources.min_gpu_memory_gb", c.resources.min_gpu_memory_gb, 0, false, kInf, false);
  k.IntRange("checkpoint.every_epochs", c.checkpoint.every_epochs, 0, kMax);

  // Duplicates inside the eval lists would be silently merged by the
  // normalisation; say so instead.
  auto dup_double = [&](const char* p, const std::vector<double>& xs) {
    for (size_t i = 0; i < xs.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (xs[i] == xs[j]) {
          k.Add(IndexPath(p, i), Num(xs[i]), "distinct values (also at " + IndexPath(p, j) + ")");
          break;
        }
  };
  dup_double("eval.fgsm_eps", v.fgsm_eps);
  dup_double("eval.pgd_eps", v.pgd_eps);
  for (size_t i = 0; i < v.severities.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (v.severities[i] == v.severities[j]) {
        k.Add(IndexPath("eval.severities", i), std::to_string(v.severities[i]),
              "distinct values (also at " + IndexPath("eval.severities", j) + ")");
        break;
      }
  for (size_t i = 0; i < v.corruptions.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (v.corruptions[i] == v.corruptions[j]) {
        k.Add(IndexPath("eval.corruptions", i), Quote(v.corruptions[i]),
              "distinct names (also at " + IndexPath("eval.corruptions", j) + ")");
        break;
      }
}

void CheckCombinations(const JobConfig& c, Checker& k) {
  const ConvConfig& cv = c.model.conv;
  if (c.data.placement == "device" && !IsInMemoryDataSet(c.data.name)) {
    k.Add("data.placement", "\"device\"",
          "\"host\" or \"auto\": data set " + Quote(c.data.name) +
              " is read from image files, and only in-memory sets (mnist, fashion_mnist, cifar10, "
              "cifar100, svhn, synthetic) can be kept on the device");
  }
  if (c.model.arch == "resnet_cifar" && c.model.depth >= 1 &&
      (c.model.depth < 8 || (c.model.depth - 2) % 6 != 0)) {
    k.Add("model.depth", std::to_string(c.model.depth),
          "6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, ...) for model.arch \"resnet_cifar\"");
  }
  if (c.model.arch == "resnet18d") {
    if (c.model.depth != 18)
      k.Add("model.depth", std::to_string(c.model.depth), "18 for model.arch \"resnet18d\"");
    if (c.model.width != 64)
      k.Add("model.width", std::to_string(c.model.width), "64 for model.arch \"resnet18d\"");
  }
  if (cv.mode == "learned" || cv.mode == "frozen") {
    std::string why = " (the default): it applies only to model.conv.mode \"lc\", not \"" + cv.mode + "\"";
    if (cv.lc_rate != 1) k.Add("model.conv.lc_rate", std::to_string(cv.lc_rate), "1" + why);
    if (cv.spatial != "frozen") k.Add("model.conv.spatial", Quote(cv.spatial), "\"frozen\"" + why);
    if (cv.intermediate != "none")
      k.Add("model.conv.intermediate", Quote(cv.intermediate), "\"none\"" + why);
    if (cv.execution != "auto") k.Add("model.conv.execution", Quote(cv.execution), "\"auto\"" + why);
  }
  if (cv.execution == "folded" && cv.intermediate != "none" && cv.mode == "lc") {
    k.Add("model.conv.execution", "\"folded\"",
          "\"auto\" or \"unfolded\": model.conv.intermediate is " + Quote(cv.intermediate) +
              ", and only a block with nothing between S and P can be folded");
  }
  if (cv.execution == "reduced" && cv.mode == "lc") {
    // The reduced form factors a frozen S once and relies on a linear optimizer (docs/reduced_lc.md).
    if (cv.spatial != "frozen") {
      k.Add("model.conv.execution", "\"reduced\"",
            "\"auto\", \"folded\" or \"unfolded\": model.conv.spatial is " + Quote(cv.spatial) +
                ", and the reduced form needs frozen spatial filters");
    }
    if (cv.intermediate != "none") {
      k.Add("model.conv.execution", "\"reduced\"",
            "\"auto\" or \"unfolded\": model.conv.intermediate is " + Quote(cv.intermediate) +
                ", and the reduced form needs nothing between S and P");
    }
    if (c.train.optimizer != "sgd") {
      k.Add("model.conv.execution", "\"reduced\"",
            "\"auto\", \"folded\" or \"unfolded\": train.optimizer is " + Quote(c.train.optimizer) +
                ", and the reduced form is exact only for the SGD family (momentum, Nesterov, "
                "coupled weight decay)");
    }
  }
  bool spatial_learned = cv.mode == "learned" || (cv.mode == "lc" && cv.spatial == "learned");
  if (cv.sharing != "none" && spatial_learned) {
    k.Add("model.conv.sharing", Quote(cv.sharing),
          "\"none\" when the spatial filters are learned: sharing ties one frozen random tensor "
          "across layers (use model.conv.mode \"lc\" with spatial \"frozen\", or mode \"frozen\")");
  }
  if (c.resources.device == "cpu") {
    if (c.resources.min_gpu_memory_gb > 0)
      k.Add("resources.min_gpu_memory_gb", Num(c.resources.min_gpu_memory_gb),
            "0 when resources.device is \"cpu\"");
    if (c.train.amp) k.Add("train.amp", "true", "false when resources.device is \"cpu\" (CUDA only)");
    if (c.train.channels_last)
      k.Add("train.channels_last", "true", "false when resources.device is \"cpu\" (CUDA only)");
  }
  if (c.train.nesterov && c.train.momentum == 0) {
    k.Add("train.nesterov", "true", "false when train.momentum is 0 (Nesterov needs momentum)");
  }
  if (c.train.warmup_epochs > c.train.epochs && c.train.warmup_epochs >= 0 && c.train.epochs >= 1) {
    k.Add("train.warmup_epochs", std::to_string(c.train.warmup_epochs),
          "at most train.epochs (" + std::to_string(c.train.epochs) + ")");
  }
  const auto& cs = c.eval.corruptions;
  if (cs.size() > 1) {
    for (size_t i = 0; i < cs.size(); ++i) {
      if (cs[i] == "all") {
        k.Add(IndexPath("eval.corruptions", i), "\"all\"",
              "\"all\" alone (it already selects every corruption)");
      }
    }
  }
}

void Collect(const json& j, const std::string& prefix, std::vector<std::string>* out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string p = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      Collect(*it, p, out);
    } else {
      out->push_back(p);
    }
  }
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

JobConfig JobConfigFromJsonWithErrors(const json& j, std::vector<FieldError>* errors,
                                      JobCheck check) {
  JobConfig c;
  size_t before = errors->size();
  ObjectReader r(&j, kDocumentPath, errors);
  if (!j.is_object()) return c;
  r.Int("seed", &c.seed);
  if (const json* d = r.Child("data")) ParseData(d, "data", &c.data, errors);
  if (const json* m = r.Child("model")) ParseModel(m, "model", &c.model, errors);
  if (const json* t = r.Child("train")) ParseTrain(t, "train", &c.train, errors);
  if (const json* v = r.Child("eval")) ParseEval(v, "eval", &c.eval, errors);
  if (const json* rs = r.Child("resources")) {
    ObjectReader rr(rs, "resources", errors);
    rr.String("device", &c.resources.device);
    rr.Double("min_gpu_memory_gb", &c.resources.min_gpu_memory_gb);
    rr.Finish();
  }
  if (const json* cp = r.Child("checkpoint")) {
    ObjectReader cr(cp, "checkpoint", errors);
    cr.Int("every_epochs", &c.checkpoint.every_epochs);
    cr.Finish();
  }
  r.Finish();
  // Type errors first; range checks only see values that were read.
  ValidateJobConfig(c, errors, check);
  if (errors->size() == before) NormalizeJobConfig(&c);
  return c;
}

StatusOr<JobConfig> JobConfigFromJson(const json& j) {
  std::vector<FieldError> errors;
  JobConfig c = JobConfigFromJsonWithErrors(j, &errors);
  if (!errors.empty()) return FieldErrorsToStatus(errors, "invalid job config");
  return c;
}

void ValidateJobConfig(const JobConfig& c, std::vector<FieldError>* errors, JobCheck check) {
  Checker k(errors);
  CheckFields(c, k);
  if (check == JobCheck::kFull) CheckCombinations(c, k);
}

Status ValidateJobConfig(const JobConfig& c) {
  std::vector<FieldError> errors;
  ValidateJobConfig(c, &errors);
  return FieldErrorsToStatus(errors, "invalid job config");
}

void NormalizeJobConfig(JobConfig* c) {
  auto zero = [](double& d) {
    if (d == 0) d = 0.0;  // -0.0 -> 0.0
  };
  EvalConfig& v = c->eval;
  for (double& d : v.fgsm_eps) zero(d);
  for (double& d : v.pgd_eps) zero(d);
  std::sort(v.fgsm_eps.begin(), v.fgsm_eps.end());
  std::sort(v.pgd_eps.begin(), v.pgd_eps.end());
  std::sort(v.severities.begin(), v.severities.end());
  std::sort(v.corruptions.begin(), v.corruptions.end());
  if (v.corruptions == SortedCorruptionNames()) v.corruptions = {"all"};
  zero(c->train.lr);
  zero(c->train.momentum);
  zero(c->train.weight_decay);
  zero(c->train.step_gamma);
  zero(c->train.label_smoothing);
  zero(v.pgd_step_fraction);
  zero(c->resources.min_gpu_memory_gb);
  zero(c->data.synthetic.noise);
}

json JobConfigToJson(const JobConfig& c) {
  const DataConfig& d = c.data;
  const SyntheticDataConfig& s = d.synthetic;
  const ModelConfig& m = c.model;
  const TrainConfig& t = c.train;
  const EvalConfig& v = c.eval;
  json j;
  j["seed"] = c.seed;
  j["data"] = {{"name", d.name},
               {"root", d.root},
               {"augment", d.augment},
               {"train_limit", d.train_limit},
               {"test_limit", d.test_limit},
               {"loader_threads", d.loader_threads},
               {"image_size", d.image_size},
               {"on_bad_image", d.on_bad_image},
               {"placement", d.placement},
               {"synthetic",
                {{"train_size", s.train_size},
                 {"test_size", s.test_size},
                 {"image_size", s.image_size},
                 {"channels", s.channels},
                 {"classes", s.classes},
                 {"noise", s.noise}}}};
  j["model"] = {{"arch", m.arch},
                {"depth", m.depth},
                {"width", m.width},
                {"kernel_size", m.kernel_size},
                {"conv",
                 {{"mode", m.conv.mode},
                  {"lc_rate", m.conv.lc_rate},
                  {"spatial", m.conv.spatial},
                  {"init", m.conv.init},
                  {"sharing", m.conv.sharing},
                  {"intermediate", m.conv.intermediate},
                  {"execution", m.conv.execution}}}};
  j["train"] = {{"epochs", t.epochs},
                {"batch_size", t.batch_size},
                {"optimizer", t.optimizer},
                {"lr", t.lr},
                {"momentum", t.momentum},
                {"nesterov", t.nesterov},
                {"weight_decay", t.weight_decay},
                {"schedule", t.schedule},
                {"step_gamma", t.step_gamma},
                {"step_epochs", t.step_epochs},
                {"warmup_epochs", t.warmup_epochs},
                {"label_smoothing", t.label_smoothing},
                {"threads", t.threads},
                {"amp", t.amp},
                {"channels_last", t.channels_last},
                {"log_every_steps", t.log_every_steps}};
  j["eval"] = {{"fgsm_eps", v.fgsm_eps},
               {"pgd_eps", json(v.pgd_eps)},
               {"pgd_steps", v.pgd_steps},
               {"pgd_step_fraction", v.pgd_step_fraction},
               {"corruptions", json(v.corruptions)},
               {"severities", v.severities},
               {"corruptions_root", v.corruptions_root},
               {"robustness_limit", v.robustness_limit},
               {"filter_stats", v.filter_stats}};
  // Empty vectors must stay arrays (json(std::vector{}) is []).
  if (v.pgd_eps.empty()) j["eval"]["pgd_eps"] = json::array();
  if (v.corruptions.empty()) j["eval"]["corruptions"] = json::array();
  if (v.fgsm_eps.empty()) j["eval"]["fgsm_eps"] = json::array();
  if (v.severities.empty()) j["eval"]["severities"] = json::array();
  j["resources"] = {{"device", c.resources.device},
                    {"min_gpu_memory_gb", c.resources.min_gpu_memory_gb}};
  j["checkpoint"] = {{"every_epochs", c.checkpoint.every_epochs}};
  return j;
}

std::string CanonicalJobJson(const JobConfig& c) {
  JobConfig n = c;
  NormalizeJobConfig(&n);
  // nlohmann::json objects are std::map: keys come out sorted.
  return Dump(JobConfigToJson(n));
}

std::string CanonicalJsonOf(const json& config_json) { return Dump(config_json); }

std::string JobConfigHash(const JobConfig& c) { return Sha256Hex(Dump(IdentityJson(c))); }

std::string JobGroupHash(const JobConfig& c) {
  json j = IdentityJson(c);
  j.erase("seed");
  return Sha256Hex(Dump(j));
}

const std::vector<std::string>& JobConfigLeafPaths() {
  static const std::vector<std::string> paths = [] {
    std::vector<std::string> out;
    Collect(JobConfigToJson(JobConfig{}), "", &out);
    std::sort(out.begin(), out.end());
    return out;
  }();
  return paths;
}

}  // namespace lcsweep
