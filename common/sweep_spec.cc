// The sweep spec parser and expander (see sweep_spec.h). Long because it is
// one strict parser: every key of the document, its field-path errors and the
// four expansions are checked in one pass, and splitting it would split that
// pass.
#include "common/sweep_spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <unordered_map>

#include "common/job_config_json.h"
#include "common/job_identity.h"
#include "common/sha256.h"
#include "common/splitmix64.h"
#include "common/text_checks.h"

namespace lcsweep {
namespace {

using nlohmann::json;

const std::string kNameLength = "1 to " + std::to_string(kMaxSweepNameBytes) + " characters";

const std::vector<std::string> kTopKeys = {"name", "description", "base",     "grid",
                                           "list", "one_factor",  "random",   "seeds",
                                           "priority", "max_attempts", "tags", "early_stopping"};

const char* const kOneExpansion = "exactly one of \"grid\", \"list\", \"one_factor\" or \"random\"";
const std::vector<std::string> kRandomKeys = {"axes", "samples", "seed"};
const std::vector<std::string> kRangeKinds = {"int", "log_uniform", "uniform"};

// A sampled double, rounded to 6 significant digits: readable values, and
// the same value even where another libm's exp/log differs in the last bit.
double Round6(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return std::strtod(buf, nullptr);
}

// One value an expanded job takes from the document.
struct Override {
  std::string path;      // dotted job-config path
  const json* value;
  std::string location;  // path of the value in the sweep document
};

std::vector<std::string> SplitDots(const std::string& p) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = p.find('.', start);
    out.push_back(p.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

// Sets `value` at dotted `path` in `j`, creating objects on the way. The
// caller has checked that `path` is a leaf path and that `j` is well typed
// along it (base passed the field check).
void SetPath(json& j, const std::string& path, const json& value) {
  json* cur = &j;
  std::vector<std::string> parts = SplitDots(path);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    json& next = (*cur)[parts[i]];
    if (!next.is_object()) next = json::object();
    cur = &next;
  }
  (*cur)[parts.back()] = value;
}

const json* GetPath(const json& j, const std::string& path) {
  const json* cur = &j;
  for (const std::string& part : SplitDots(path)) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

// Maps a job-config-relative error path to the sweep document.
std::string MapPath(const std::string& ep, const std::vector<Override>& overrides,
                    const std::string& seed_location) {
  for (const Override& o : overrides) {
    if (ep == o.path) return o.location;
    if (ep.size() > o.path.size() && ep.compare(0, o.path.size(), o.path) == 0 &&
        (ep[o.path.size()] == '[' || ep[o.path.size()] == '.')) {
      return o.location + ep.substr(o.path.size());
    }
  }
  if (ep == "seed" && !seed_location.empty()) return seed_location;
  if (ep == kDocumentPath) return "base";
  if (!ep.empty() && ep[0] == '[') return "base" + ep;
  return "base." + ep;
}

class SweepParser {
 public:
  SweepParser(const json& doc, const SweepLimits& limits) : doc_(doc), limits_(limits) {}

  SweepParseResult Run() {
    SweepParseResult result;
    Sweep sweep;
    if (!doc_.is_object()) {
      Err(kDocumentPath, DescribeJson(doc_), "a sweep object {\"name\": ..., \"base\": ..., \"grid\" | \"list\" | \"one_factor\" | \"random\": ...}");
      result.errors = std::move(errors_);
      return result;
    }
    sweep.spec = doc_;
    CheckTopKeys();
    ReadHeader(&sweep);
    ReadEarlyStopping(&sweep);
    ReadSeeds();
    ReadBase();
    ReadExpansion(&sweep);
    if (errors_.empty()) CheckSize();
    if (errors_.empty()) Expand(&sweep);
    if (!errors_.empty()) {
      result.errors = std::move(errors_);
      return result;
    }
    result.sweep = std::move(sweep);
    return result;
  }

 private:
  void Err(std::string p, std::string found, std::string expected, std::string hint = "") {
    FieldError e{std::move(p), std::move(found), std::move(expected), std::move(hint)};
    std::string key = e.ToString();
    if (seen_errors_.insert(key).second) errors_.push_back(std::move(e));
  }

  void CheckTopKeys() {
    for (auto it = doc_.begin(); it != doc_.end(); ++it) {
      if (std::find(kTopKeys.begin(), kTopKeys.end(), it.key()) != kTopKeys.end()) continue;
      std::string close = ClosestName(it.key(), kTopKeys);
      std::vector<std::string> sorted = kTopKeys;
      std::sort(sorted.begin(), sorted.end());
      Err(JoinPath(kDocumentPath, it.key()), "an unknown key", "one of " + QuoteList(sorted),
          close.empty() ? "" : "did you mean \"" + close + "\"?");
    }
  }

  void ReadHeader(Sweep* s) {
    auto name = doc_.find("name");
    if (name == doc_.end()) {
      Err("name", "nothing", "a sweep name (letters, digits, '.', '_', '-'; " + kNameLength + ")");
    } else if (!name->is_string()) {
      Err("name", DescribeJson(*name), "a string");
    } else {
      const std::string& n = name->get_ref<const std::string&>();
      bool ok = !n.empty() && n.size() <= kMaxSweepNameBytes;
      for (char c : n)
        ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      if (!ok) {
        Err("name", DescribeJson(*name), "letters, digits, '.', '_' or '-', " + kNameLength);
      } else {
        s->name = n;
      }
    }
    if (auto d = doc_.find("description"); d != doc_.end()) {
      if (!d->is_string()) {
        Err("description", DescribeJson(*d), "a string");
      } else if (d->get_ref<const std::string&>().size() > kMaxDescriptionBytes) {
        Err("description",
            "a string of " + std::to_string(d->get_ref<const std::string&>().size()) + " bytes",
            "at most " + std::to_string(kMaxDescriptionBytes) + " bytes (kMaxDescriptionBytes)");
      } else {
        s->description = d->get<std::string>();
      }
    }
    ReadInt("priority", kMinPriority, kMaxPriority, &s->priority);
    ReadInt("max_attempts", 1, 100, &s->max_attempts);
    if (auto t = doc_.find("tags"); t != doc_.end()) {
      if (!t->is_array()) {
        Err("tags", DescribeJson(*t), "an array of strings");
      } else if (t->size() > kMaxTags) {
        Err("tags", DescribeJson(*t),
            "at most " + std::to_string(kMaxTags) + " tags (kMaxTags)");
      } else {
        std::set<std::string> seen;
        for (size_t i = 0; i < t->size(); ++i) {
          const json& v = (*t)[i];
          if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
              v.get_ref<const std::string&>().size() > kMaxTagBytes) {
            Err(IndexPath("tags", i), DescribeJson(v),
                "a string of 1 to " + std::to_string(kMaxTagBytes) + " bytes (kMaxTagBytes)");
          } else if (!seen.insert(v.get<std::string>()).second) {
            Err(IndexPath("tags", i), DescribeJson(v), "distinct tags");
          } else {
            s->tags.push_back(v.get<std::string>());
          }
        }
      }
    }
  }

  void ReadEarlyStopping(Sweep* s) {
    auto e = doc_.find("early_stopping");
    if (e == doc_.end()) return;
    FieldErrors errors;
    s->early_stopping = ParseEarlyStopping(*e, "early_stopping", &errors);
    for (const FieldError& f : errors.errors()) Err(f.path, f.found, f.expected, f.hint);
  }

  void ReadInt(const char* key, int64_t lo, int64_t hi, int64_t* out) {
    auto v = doc_.find(key);
    if (v == doc_.end()) return;
    std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (!v->is_number_integer()) {
      Err(key, DescribeJson(*v), "an integer in " + range);
      return;
    }
    if (v->is_number_unsigned() ? (v->get<uint64_t>() > static_cast<uint64_t>(hi) ||
                                   static_cast<int64_t>(v->get<uint64_t>()) < lo)
                                : (v->get<int64_t>() < lo || v->get<int64_t>() > hi)) {
      Err(key, DescribeJson(*v), "an integer in " + range);
      return;
    }
    *out = v->get<int64_t>();
  }

  void ReadSeeds() {
    auto s = doc_.find("seeds");
    if (s == doc_.end()) {
      seeds_ = {0};
      seed_locations_ = {"seed 0"};
      return;
    }
    if (!s->is_array() || s->empty()) {
      Err("seeds", DescribeJson(*s), "a non-empty array of integers >= 0, e.g. [0, 1, 2, 3]");
      return;
    }
    for (size_t i = 0; i < s->size(); ++i) {
      const json& v = (*s)[i];
      std::string p = IndexPath("seeds", i);
      if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0) ||
          (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
        Err(p, DescribeJson(v), "an integer >= 0");
        continue;
      }
      int64_t seed = v.get<int64_t>();
      auto dup = std::find(seeds_.begin(), seeds_.end(), seed);
      if (dup != seeds_.end()) {
        Err(p, DescribeJson(v),
            "distinct seeds (also at " + seed_locations_[dup - seeds_.begin()] + ")");
        continue;
      }
      seeds_.push_back(seed);
      seed_locations_.push_back(p);
    }
  }

  void ReadBase() {
    auto b = doc_.find("base");
    if (b == doc_.end()) {
      base_ = json::object();
      return;
    }
    if (!b->is_object()) {
      Err("base", DescribeJson(*b), "an object (a partial job config)");
      base_ok_ = false;
      return;
    }
    base_ = *b;
    if (base_.contains("seed")) {
      Err("base.seed", DescribeJson(base_["seed"]), "no seed in base",
          "list the seeds in the top-level \"seeds\" array");
      base_.erase("seed");
    }
    // Field-level check of the base alone; cross-field rules are checked per
    // job, where axis values may complete the picture.
    std::vector<FieldError> errs;
    JobConfigFromJsonWithErrors(base_, &errs, JobCheck::kFieldsOnly);
    for (FieldError& e : errs) {
      e.path = MapPath(e.path, {}, "");
      Err(std::move(e.path), std::move(e.found), std::move(e.expected), std::move(e.hint));
    }
    if (!errs.empty()) base_ok_ = false;
  }

  // Checks that `path` names one field; `location` is the key's path in the document.
  bool CheckAxisPath(const std::string& path, const std::string& location) {
    const auto& leaves = JobConfigLeafPaths();
    if (std::binary_search(leaves.begin(), leaves.end(), path)) {
      if (path == "seed") {
        Err(location, "the seed as an axis", "a field path other than \"seed\"",
            "list the seeds in the top-level \"seeds\" array");
        return false;
      }
      return true;
    }
    std::string prefix = path + ".";
    for (const std::string& l : leaves) {
      if (l.compare(0, prefix.size(), prefix) == 0) {
        Err(location, "a path to a group of fields", "a path to one field, such as \"" + l + "\"");
        return false;
      }
    }
    std::string hint;
    std::string close = ClosestName(path, leaves);
    if (close.empty()) {
      // "lc_rate" for "model.conv.lc_rate": match the last segment.
      std::string last = SplitDots(path).back();
      for (const std::string& l : leaves) {
        if (SplitDots(l).back() == last) {
          close = close.empty() ? l : "";  // only when unique
          if (close.empty()) break;
        }
      }
    }
    if (!close.empty()) hint = "did you mean \"" + close + "\"?";
    Err(location, "an unknown path",
        "a dotted path to a job config field, such as \"model.conv.lc_rate\"", hint);
    return false;
  }

  // Field-level check of one axis value on its own (defaults elsewhere).
  void CheckAxisValue(const std::string& path, const json& value, const std::string& location) {
    json tmp = json::object();
    SetPath(tmp, path, value);
    std::vector<FieldError> errs;
    JobConfigFromJsonWithErrors(tmp, &errs, JobCheck::kFieldsOnly);
    std::vector<Override> o = {{path, &value, location}};
    for (FieldError& e : errs) Err(MapPath(e.path, o, ""), e.found, e.expected, e.hint);
  }

  // For grid and one_factor: {path: [values...]}.
  void ReadAxes(const char* key, const json& axes) {
    if (!axes.is_object()) {
      Err(key, DescribeJson(axes), "an object of dotted path -> array of values");
      return;
    }
    // An empty grid would be the base alone and an empty one_factor the same:
    // both are refused, so a spec that lost its axes is not silently one job
    // (a sweep of the base alone is "list": [{}]).
    if (axes.empty()) {
      Err(key, "an empty object",
          "at least one axis (dotted path -> array of values); for the base alone use "
          "\"list\": [{}]");
    }
    for (auto it = axes.begin(); it != axes.end(); ++it) {
      std::string loc = QuotedKeyPath(key, it.key());
      bool path_ok = CheckAxisPath(it.key(), loc);
      if (!it->is_array() || it->empty()) {
        Err(loc, DescribeJson(*it), "a non-empty array of values");
        continue;
      }
      if (!path_ok) continue;
      for (size_t i = 0; i < it->size(); ++i) CheckAxisValue(it.key(), (*it)[i], IndexPath(loc, i));
      axis_values_.push_back({it.key(), &*it, loc});
    }
  }

  void ReadExpansion(Sweep* s) {
    std::vector<std::string> given;
    for (const char* k : {"grid", "list", "one_factor", "random"})
      if (doc_.contains(k)) given.push_back(k);
    if (given.empty()) {
      Err("grid", "nothing", kOneExpansion);
      return;
    }
    for (size_t i = 1; i < given.size(); ++i) {
      Err(given[i], "it together with \"" + given[0] + "\"", kOneExpansion);
    }
    if (given.size() > 1) return;
    s->expansion = given[0];
    const json& e = doc_[given[0]];
    std::set<std::string> paths;
    if (s->expansion == "list") {
      if (!e.is_array() || e.empty()) {
        Err("list", DescribeJson(e), "a non-empty array of override objects");
        return;
      }
      for (size_t i = 0; i < e.size(); ++i) {
        std::string entry_loc = IndexPath("list", i);
        const json& entry = e[i];
        if (!entry.is_object()) {
          Err(entry_loc, DescribeJson(entry),
              "an object of dotted path -> value, e.g. {\"model.conv.lc_rate\": 8}");
          continue;
        }
        std::vector<Override> overrides;
        for (auto it = entry.begin(); it != entry.end(); ++it) {
          std::string loc = QuotedKeyPath(entry_loc, it.key());
          if (!CheckAxisPath(it.key(), loc)) continue;
          CheckAxisValue(it.key(), *it, loc);
          overrides.push_back({it.key(), &*it, loc});
          paths.insert(it.key());
        }
        list_entries_.push_back({std::move(overrides), entry_loc});
      }
    } else if (s->expansion == "random") {
      ReadRandom(e);
      for (const RandomAxis& a : random_axes_) paths.insert(a.path);
    } else {
      ReadAxes(s->expansion.c_str(), e);
      for (const Override& a : axis_values_) paths.insert(a.path);
    }
    s->axis_paths.assign(paths.begin(), paths.end());
  }

  // "random": {"samples": N, "seed": S, "axes": {path: [values] | {"uniform" | "log_uniform" | "int": [lo, hi]}}}
  void ReadRandom(const json& r) {
    if (!r.is_object()) {
      Err("random", DescribeJson(r), "an object {\"samples\": N, \"seed\": S, \"axes\": {...}}");
      return;
    }
    for (auto it = r.begin(); it != r.end(); ++it) {
      if (std::find(kRandomKeys.begin(), kRandomKeys.end(), it.key()) != kRandomKeys.end()) continue;
      const std::string close = ClosestName(it.key(), kRandomKeys);
      Err(JoinPath("random", it.key()), "an unknown key", "one of " + QuoteList(kRandomKeys),
          close.empty() ? "" : "did you mean \"" + close + "\"?");
    }
    const std::string max_jobs = std::to_string(limits_.max_jobs);
    auto n = r.find("samples");
    if (n == r.end()) {
      Err("random.samples", "nothing", "the number of samples, an integer in [1, " + max_jobs + "]");
    } else if (!n->is_number_integer() ||
               (n->is_number_unsigned() ? n->get<uint64_t>() < 1 || n->get<uint64_t>() > limits_.max_jobs
                                        : n->get<int64_t>() < 1 ||
                                              static_cast<uint64_t>(n->get<int64_t>()) > limits_.max_jobs)) {
      Err("random.samples", DescribeJson(*n), "an integer in [1, " + max_jobs + "]");
    } else {
      random_samples_ = n->get<int64_t>();
    }
    if (auto sd = r.find("seed"); sd != r.end()) {
      if (!sd->is_number_integer() || (!sd->is_number_unsigned() && sd->get<int64_t>() < 0)) {
        Err("random.seed", DescribeJson(*sd), "an integer >= 0 (the seed of the sampling, not of the jobs)");
      } else {
        random_seed_ = sd->get<uint64_t>();
      }
    }
    auto axes = r.find("axes");
    if (axes == r.end() || !axes->is_object() || axes->empty()) {
      Err("random.axes", axes == r.end() ? "nothing" : DescribeJson(*axes),
          "an object of dotted path -> [values] or {\"uniform\" | \"log_uniform\" | \"int\": [lo, hi]}");
      return;
    }
    const json defaults = JobConfigToJson(JobConfig{});
    for (auto it = axes->begin(); it != axes->end(); ++it) {  // sorted by path
      RandomAxis a;
      a.path = it.key();
      a.location = QuotedKeyPath("random.axes", it.key());
      if (!CheckAxisPath(a.path, a.location)) continue;
      if (it->is_array()) {
        if (it->empty()) {
          Err(a.location, "an empty array", "a non-empty array of values");
          continue;
        }
        for (size_t i = 0; i < it->size(); ++i) CheckAxisValue(a.path, (*it)[i], IndexPath(a.location, i));
        a.choices = &*it;
        random_axes_.push_back(a);
        continue;
      }
      if (!it->is_object() || it->size() != 1 ||
          std::find(kRangeKinds.begin(), kRangeKinds.end(), it->begin().key()) == kRangeKinds.end()) {
        Err(a.location, DescribeJson(*it),
            "an array of values, or one range: {\"uniform\": [lo, hi]}, {\"log_uniform\": [lo, hi]} or "
            "{\"int\": [lo, hi]}");
        continue;
      }
      a.kind = it->begin().key();
      const json& range = it->begin().value();
      const std::string rloc = JoinPath(a.location, a.kind);
      const json* def = GetPath(defaults, a.path);
      const bool int_field = def != nullptr && def->is_number_integer();
      const bool number_field = def != nullptr && def->is_number();
      if (!number_field) {
        Err(a.location, "a range over a field that is not a number", "an array of values for " + a.path);
        continue;
      }
      if (a.kind == "int") {
        if (!range.is_array() || range.size() != 2 || !range[0].is_number_integer() ||
            !range[1].is_number_integer() || range[0].get<int64_t>() > range[1].get<int64_t>()) {
          Err(rloc, DescribeJson(range), "[lo, hi]: two integers, lo <= hi (both included)");
          continue;
        }
        a.ilo = range[0].get<int64_t>();
        a.ihi = range[1].get<int64_t>();
        CheckAxisValue(a.path, range[0], IndexPath(rloc, 0));
        CheckAxisValue(a.path, range[1], IndexPath(rloc, 1));
      } else {
        if (int_field) {
          Err(a.location, DescribeJson(*it), "{\"int\": [lo, hi]} or an array: " + a.path + " is an integer field");
          continue;
        }
        const bool log = a.kind == "log_uniform";
        if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number() ||
            range[0].get<double>() > range[1].get<double>() || (log && !(range[0].get<double>() > 0))) {
          Err(rloc, DescribeJson(range),
              log ? "[lo, hi]: two numbers, 0 < lo <= hi" : "[lo, hi]: two numbers, lo <= hi");
          continue;
        }
        a.lo = range[0].get<double>();
        a.hi = range[1].get<double>();
        CheckAxisValue(a.path, range[0], IndexPath(rloc, 0));
        CheckAxisValue(a.path, range[1], IndexPath(rloc, 1));
      }
      random_axes_.push_back(a);
    }
  }

  // The draws: SplitMix64(seed), sample by sample, axis by axis in path
  // order, one draw per axis (sweep_spec.h gives the rule per kind).
  void SampleRandom() {
    SplitMix64 rng(random_seed_);
    random_draws_.assign(static_cast<size_t>(random_samples_), {});
    for (auto& draw : random_draws_) {
      for (const RandomAxis& a : random_axes_) {
        if (a.choices != nullptr) {
          draw.push_back((*a.choices)[rng.Below(a.choices->size())]);
        } else if (a.kind == "int") {
          const uint64_t span = static_cast<uint64_t>(a.ihi) - static_cast<uint64_t>(a.ilo);
          const uint64_t k = span == UINT64_MAX ? rng.Next() : rng.Below(span + 1);
          draw.push_back(static_cast<int64_t>(static_cast<uint64_t>(a.ilo) + k));
        } else if (a.kind == "uniform") {
          draw.push_back(Round6(a.lo + (a.hi - a.lo) * rng.Uniform()));
        } else {
          const double l = std::log(a.lo), h = std::log(a.hi);
          draw.push_back(Round6(std::exp(l + (h - l) * rng.Uniform())));
        }
      }
    }
  }

  void CheckSize() {
    // Count jobs before building any, saturating far above any limit.
    static constexpr size_t kCap = 1000000000000000ull;  // 10^15
    auto mul = [](size_t a, size_t b) { return (b != 0 && a > kCap / b) ? kCap : std::min(kCap, a * b); };
    std::string exp = doc_.contains("grid")   ? "grid"
                      : doc_.contains("list") ? "list"
                      : doc_.contains("random") ? "random"
                                                : "one_factor";
    size_t n = 1;
    if (exp == "random") {
      n = static_cast<size_t>(random_samples_);
    } else if (exp == "grid") {
      for (const Override& a : axis_values_) n = mul(n, a.value->size());
    } else if (exp == "list") {
      n = list_entries_.size();
    } else {
      for (const Override& a : axis_values_) n = std::min(kCap, n + a.value->size());
    }
    n = mul(n, seeds_.size());
    if (n > limits_.max_jobs) {
      Err(exp, n >= kCap ? "more than 10^15 jobs" : std::to_string(n) + " jobs",
          "at most " + std::to_string(limits_.max_jobs) + " jobs in one sweep",
          "split the sweep, or use \"one_factor\", \"list\" or \"random\" instead of a full grid");
    }
  }

  void AddJob(Sweep* s, const std::vector<Override>& overrides, const std::string& origin,
              std::string* base_group_hash) {
    json merged = base_;
    for (const Override& o : overrides) SetPath(merged, o.path, *o.value);
    // The seed takes part in no cross-field rule, so one validation serves
    // every seed of this setting (and one group hash).
    merged["seed"] = seeds_[0];
    std::vector<FieldError> errs;
    JobConfig c = JobConfigFromJsonWithErrors(merged, &errs, JobCheck::kFull);
    if (!errs.empty()) {
      for (FieldError& e : errs) {
        Err(MapPath(e.path, overrides, seed_locations_[0]), e.found, e.expected, e.hint);
      }
      return;
    }
    if (!errors_.empty()) return;  // keep collecting errors, stop building jobs
    const std::string group_hash = JobGroupHash(c);
    if (base_group_hash != nullptr) {
      // one_factor: the base itself comes first (origin "base"); a varied
      // value that gives the base's job again is not a new job.
      if (origin == "base") {
        *base_group_hash = group_hash;
      } else if (group_hash == *base_group_hash) {
        return;
      }
    }
    for (size_t si = 0; si < seeds_.size(); ++si) {
      c.seed = seeds_[si];
      ExpandedJob job;
      job.config = c;
      job.config_json = JobConfigToJson(c);
      // c is normalised by JobConfigFromJson, so this is CanonicalJobJson(c).
      job.canonical_json = CanonicalJsonOf(job.config_json);
      // The dedupe key covers the identity fields only (common/job_identity.h).
      json identity = job.config_json;
      EraseRunSettings(&identity, c);
      job.hash = Sha256Hex(CanonicalJsonOf(identity));
      job.group_hash = group_hash;
      for (const std::string& p : s->axis_paths) {
        const json* v = GetPath(job.config_json, p);
        job.axes[p] = v != nullptr ? *v : json();
      }
      job.axes["seed"] = c.seed;
      job.origin = origin.empty() ? seed_locations_[si] : origin + ", " + seed_locations_[si];
      auto [it, inserted] = hash_index_.emplace(job.hash, s->jobs.size());
      if (!inserted) {
        ++s->duplicates;
        if (s->notes.size() < 20) {
          s->notes.push_back(job.origin + " is the same job as " + s->jobs[it->second].origin +
                             " (hash " + job.hash.substr(0, 12) + "); run once");
        }
        continue;
      }
      s->jobs.push_back(std::move(job));
    }
  }

  void Expand(Sweep* s) {
    if (!base_ok_) return;
    if (s->expansion == "list") {
      for (const auto& [overrides, loc] : list_entries_) AddJob(s, overrides, loc, nullptr);
    } else if (s->expansion == "random") {
      SampleRandom();
      for (size_t i = 0; i < random_draws_.size(); ++i) {
        std::vector<Override> overrides;
        for (size_t a = 0; a < random_axes_.size(); ++a) {
          overrides.push_back({random_axes_[a].path, &random_draws_[i][a], random_axes_[a].location});
        }
        AddJob(s, overrides, IndexPath("random.samples", i), nullptr);
      }
    } else if (s->expansion == "one_factor") {
      std::string base_group_hash;
      AddJob(s, {}, "base", &base_group_hash);
      if (base_group_hash.empty()) return;  // the base failed; errors recorded
      for (const Override& a : axis_values_) {
        for (size_t i = 0; i < a.value->size(); ++i) {
          std::string loc = IndexPath(a.location, i);
          AddJob(s, {{a.path, &(*a.value)[i], loc}}, loc, &base_group_hash);
        }
      }
    } else {
      // Cartesian product; the last axis varies fastest.
      std::vector<size_t> idx(axis_values_.size(), 0);
      bool done = false;
      while (!done) {
        std::vector<Override> overrides;
        std::string origin;
        for (size_t a = 0; a < axis_values_.size(); ++a) {
          const Override& ax = axis_values_[a];
          std::string loc = IndexPath(ax.location, idx[a]);
          overrides.push_back({ax.path, &(*ax.value)[idx[a]], loc});
          origin += (origin.empty() ? "" : ", ") + loc;
        }
        AddJob(s, overrides, origin, nullptr);
        size_t a = axis_values_.size();
        while (true) {
          if (a == 0) {
            done = true;
            break;
          }
          --a;
          if (++idx[a] < axis_values_[a].value->size()) break;
          idx[a] = 0;
        }
      }
    }
    if (s->duplicates > static_cast<int64_t>(s->notes.size())) {
      s->notes.push_back("... and " + std::to_string(s->duplicates - s->notes.size()) +
                         " more duplicates");
    }
  }

  const json& doc_;
  SweepLimits limits_;
  std::vector<FieldError> errors_;
  std::set<std::string> seen_errors_;
  std::vector<int64_t> seeds_;
  std::vector<std::string> seed_locations_;  // "seeds[i]" for each seed, in order
  json base_;
  bool base_ok_ = true;
  std::vector<Override> axis_values_;  // grid / one_factor: path -> array
  std::vector<std::pair<std::vector<Override>, std::string>> list_entries_;
  std::unordered_map<std::string, size_t> hash_index_;
  // random: the axes (sorted by path), the sample count and seed, and the draws.
  struct RandomAxis {
    std::string path;
    std::string location;           // random.axes["path"]
    const json* choices = nullptr;  // a list: one of its values
    std::string kind;               // else "uniform" | "log_uniform" | "int"
    double lo = 0, hi = 0;
    int64_t ilo = 0, ihi = 0;
  };
  std::vector<RandomAxis> random_axes_;
  int64_t random_samples_ = 0;
  uint64_t random_seed_ = 0;
  std::vector<std::vector<json>> random_draws_;  // [sample][axis]
};

// Where the parser is inside the document, from its callback events, so a
// duplicate key or a value that cannot be read (a number out of range) is
// reported at its own path rather than at "(document)".
class PathTracker {
 public:
  void ObjectStart() { frames_.push_back({false, false, "", 0}); }
  void ArrayStart() { frames_.push_back({true, false, "", 0}); }
  void Key(const std::string& key) {
    if (frames_.empty()) return;
    frames_.back().key = key;
    frames_.back().has_key = true;
  }
  // A scalar, or a container (after its end event popped it), was finished.
  void ValueDone() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }
  void End() {
    if (!frames_.empty()) frames_.pop_back();
    ValueDone();
  }
  // The path of the value being read now.
  std::string Path() const {
    std::string p = kDocumentPath;
    for (const Frame& f : frames_) {
      if (f.array) {
        p = IndexPath(p, f.index);
      } else if (f.has_key) {
        p = JoinPath(p, f.key);
      }
    }
    return p;
  }

 private:
  struct Frame {
    bool array;
    bool has_key;     // object: a key was read
    std::string key;  // object: the key being read
    size_t index;     // array: the element being read
  };
  std::vector<Frame> frames_;
};

}  // namespace

SweepParseResult ParseSweepWithErrors(const json& doc, const SweepLimits& limits) {
  return SweepParser(doc, limits).Run();
}

SweepParseResult ParseSweepTextWithErrors(std::string_view text, const SweepLimits& limits) {
  SweepParseResult result;
  // Size and depth first, by a linear scan: nothing recursive (the parser's
  // callers, dump) may see a deep document.
  Status shape = CheckJsonText("spec", text, {kMaxSpecBytes, "kMaxSpecBytes"},
                               {kMaxSpecDepth, "kMaxSpecDepth"});
  if (!shape.ok()) {
    std::string m = shape.message();
    result.errors.push_back({kDocumentPath, m.substr(m.find(": ") + 2),
                             "a sweep document of at most " + std::to_string(kMaxSpecBytes) +
                                 " bytes and " + std::to_string(kMaxSpecDepth) + " levels",
                             ""});
    return result;
  }
  // Track the keys of every open object to reject duplicates, which JSON
  // parsers silently resolve by keeping the last value, and the path of the
  // value being read, for errors.
  std::vector<std::set<std::string>> open_objects;
  std::vector<FieldError> duplicates;
  PathTracker where;
  json::parser_callback_t cb = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        where.ObjectStart();
        break;
      case json::parse_event_t::array_start: where.ArrayStart(); break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        where.End();
        break;
      case json::parse_event_t::array_end: where.End(); break;
      case json::parse_event_t::key:
        if (parsed.is_string()) {
          where.Key(parsed.get<std::string>());
          if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second) {
            duplicates.push_back({where.Path(), "the key " + DescribeJson(parsed) + " twice in one object",
                                  "each key once (JSON keeps only the last value, so one would be lost)",
                                  ""});
          }
        }
        break;
      case json::parse_event_t::value: where.ValueDone(); break;
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true);
  } catch (const json::parse_error& e) {
    size_t byte = e.byte == 0 ? 0 : e.byte - 1;  // nlohmann counts from 1
    size_t line = 1, col = 1;
    for (size_t i = 0; i < byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    size_t colon = what.find(": ");
    std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
    result.errors.push_back({where.Path(),
                             "a JSON syntax error at line " + std::to_string(line) + ", column " +
                                 std::to_string(col) + " (byte " + std::to_string(byte) +
                                 "): " + reason,
                             "a valid JSON document", ""});
    return result;
  } catch (const json::out_of_range& e) {
    // "number overflow parsing '1e999'": a number no double can hold.
    std::string what = e.what();
    size_t at = what.find("] ");
    result.errors.push_back({where.Path(),
                             (at == std::string::npos ? what : what.substr(at + 2)),
                             "a number within the range of a double", ""});
    return result;
  } catch (const json::exception& e) {
    result.errors.push_back({where.Path(), std::string("invalid JSON: ") + e.what(),
                             "a valid JSON document", ""});
    return result;
  }
  if (!duplicates.empty()) {
    result.errors = std::move(duplicates);
    return result;
  }
  return ParseSweepWithErrors(doc, limits);
}

StatusOr<Sweep> ParseSweep(const json& doc, const SweepLimits& limits) {
  SweepParseResult r = ParseSweepWithErrors(doc, limits);
  if (!r.errors.empty()) return FieldErrorsToStatus(r.errors, "invalid sweep");
  return std::move(*r.sweep);
}

StatusOr<Sweep> ParseSweepText(std::string_view text, const SweepLimits& limits) {
  SweepParseResult r = ParseSweepTextWithErrors(text, limits);
  if (!r.errors.empty()) return FieldErrorsToStatus(r.errors, "invalid sweep");
  return std::move(*r.sweep);
}

}  // namespace lcsweep
