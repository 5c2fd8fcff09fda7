#include "common/metrics_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace lcsweep {
namespace {

// C++17 has no fetch_add for atomic<double>.
void AtomicAdd(std::atomic<double>& a, double v) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

bool ValidName(const std::string& s, bool colons) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (colons && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "MetricsRegistry: %s\n", what.c_str());
  std::abort();
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  // The shortest text that reads back as the same double ("0.1", not
  // "0.10000000000000001").
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string EscapeLabel(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeHelp(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// {a="x",b="y"} plus an optional extra label (le for buckets); "" without labels.
std::string LabelText(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabel(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name + "=\"" + extra_value + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

void Header(std::string* out, const std::string& name, const std::string& help, const char* type) {
  *out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  *out += "# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Counter::Inc(double v) {
  if (v > 0) AtomicAdd(value_, v);
}

void Gauge::Add(double v) { AtomicAdd(value_, v); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i + 1 < bounds_.size(); ++i) {
    if (!(bounds_[i] < bounds_[i + 1])) Die("histogram bounds must be strictly ascending");
  }
  for (double b : bounds_) {
    if (!std::isfinite(b)) Die("histogram bounds must be finite (+Inf is implicit)");
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // First bucket whose upper bound is >= v (Prometheus buckets are "le").
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> HistogramBuckets::Latency() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

namespace {
template <typename T>
std::unique_ptr<T> MakeSeries(const std::vector<double>&) {
  return std::make_unique<T>();
}
template <>
std::unique_ptr<Histogram> MakeSeries<Histogram>(const std::vector<double>& bounds) {
  return std::make_unique<Histogram>(bounds);
}
}  // namespace

template <typename T>
T* Family<T>::With(const std::vector<std::string>& label_values) {
  std::vector<std::string> key = label_values;
  key.resize(labels_.size());
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<T>& slot = series_[key];
  if (!slot) slot = MakeSeries<T>(bounds_);
  return slot.get();
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// One registered family, type-erased for Expose().
struct MetricsRegistry::Entry {
  std::string name;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
  std::string callback_help;
  std::function<double()> callback;

  void Render(std::string* out) const {
    if (counter) {
      Header(out, name, counter->help_, "counter");
      std::lock_guard<std::mutex> lock(counter->mu_);
      for (const auto& [values, c] : counter->series_) {
        *out += name + LabelText(counter->labels_, values) + " " + FormatValue(c->Value()) + "\n";
      }
    } else if (gauge) {
      Header(out, name, gauge->help_, "gauge");
      std::lock_guard<std::mutex> lock(gauge->mu_);
      for (const auto& [values, g] : gauge->series_) {
        *out += name + LabelText(gauge->labels_, values) + " " + FormatValue(g->Value()) + "\n";
      }
    } else if (histogram) {
      Header(out, name, histogram->help_, "histogram");
      std::lock_guard<std::mutex> lock(histogram->mu_);
      for (const auto& [values, h] : histogram->series_) {
        const std::vector<uint64_t> counts = h->BucketCounts();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          const std::string le = i < h->bounds().size() ? FormatValue(h->bounds()[i]) : "+Inf";
          *out += name + "_bucket" + LabelText(histogram->labels_, values, "le", le) + " " +
                  FormatValue(static_cast<double>(cumulative)) + "\n";
        }
        // _count equals the +Inf bucket (the invariant Prometheus expects),
        // even when an Observe is half done.
        const std::string labels = LabelText(histogram->labels_, values);
        *out += name + "_sum" + labels + " " + FormatValue(h->Sum()) + "\n";
        *out += name + "_count" + labels + " " + FormatValue(static_cast<double>(cumulative)) + "\n";
      }
    } else if (callback) {
      Header(out, name, callback_help, "gauge");
      *out += name + " " + FormatValue(callback()) + "\n";
    }
  }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

void MetricsRegistry::Register(std::unique_ptr<Entry> entry) {
  if (!ValidName(entry->name, /*colons=*/true)) Die("bad metric name \"" + entry->name + "\"");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& e : entries_) {
    if (e->name == entry->name) Die("metric \"" + entry->name + "\" registered twice");
  }
  entries_.push_back(std::move(entry));
}

namespace {
void CheckLabels(const std::vector<std::string>& labels) {
  std::set<std::string> seen;
  for (const auto& l : labels) {
    if (!ValidName(l, /*colons=*/false) || l == "le" || !seen.insert(l).second) {
      Die("bad or repeated label name \"" + l + "\"");
    }
  }
}
}  // namespace

CounterFamily* MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                           std::vector<std::string> labels) {
  CheckLabels(labels);
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->counter.reset(new CounterFamily(name, help, std::move(labels), {}));
  CounterFamily* out = e->counter.get();
  Register(std::move(e));
  return out;
}

GaugeFamily* MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels) {
  CheckLabels(labels);
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->gauge.reset(new GaugeFamily(name, help, std::move(labels), {}));
  GaugeFamily* out = e->gauge.get();
  Register(std::move(e));
  return out;
}

HistogramFamily* MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                               std::vector<std::string> labels,
                                               std::vector<double> bounds) {
  CheckLabels(labels);
  Histogram probe(bounds);  // checks the bounds now rather than at the first series
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->histogram.reset(new HistogramFamily(name, help, std::move(labels), std::move(bounds)));
  HistogramFamily* out = e->histogram.get();
  Register(std::move(e));
  return out;
}

void MetricsRegistry::AddCallbackGauge(const std::string& name, const std::string& help,
                                       std::function<double()> read) {
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->callback_help = help;
  e->callback = std::move(read);
  Register(std::move(e));
}

std::string MetricsRegistry::Expose() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& e : entries_) e->Render(&out);
  return out;
}

}  // namespace lcsweep
