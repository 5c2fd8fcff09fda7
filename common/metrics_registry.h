// MetricsRegistry: counters, gauges and histograms for a process, rendered in
// the Prometheus text exposition format 0.0.4 (what GET /metrics serves on the
// coordinator's dashboard port and on a worker's --metrics-listen port).
//
// Model: a family is one metric name with its help text, type and label
// names; each distinct tuple of label values is one series. Families are
// created once (usually at start-up) and return a pointer that stays valid
// for the registry's life; a series is looked up by its label values and its
// pointer likewise stays valid, so hot paths may cache it:
//
//   MetricsRegistry registry;
//   CounterFamily* rpcs = registry.AddCounter("lcsweep_rpc_requests_total",
//                                             "gRPC calls handled", {"method", "code"});
//   rpcs->With({"/lcsweep.v1.JobService/GetJob", "OK"})->Inc();
//   HistogramFamily* latency = registry.AddHistogram(
//       "lcsweep_store_commit_seconds", "...", {}, HistogramBuckets::Latency());
//   latency->With({})->Observe(0.004);
//   registry.AddCallbackGauge("lcsweep_workers_alive", "...", [&] { return n; });
//   std::string text = registry.Expose();
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
// (checked: a bad name or a second family with the same name is a programming
// error and aborts). Counter names should end in _total (the convention).
//
// Exposition: families in registration order, series within a family in
// ascending order of their label values, so the text is deterministic. Label
// values escape \ " and newline; help text escapes \ and newline. Values:
// integers print without a fraction, others as the shortest text that reads
// back as the same double, and +Inf, -Inf, NaN as Prometheus spells them.
//
// Thread-safety: everything may be called from any thread. Inc/Set/Observe
// on a series are lock-free (relaxed atomics; a scrape may see a histogram's
// count and sum a few observations apart, which Prometheus tolerates). With()
// takes the family's mutex (one map lookup); Expose() takes each family's
// mutex in turn and calls the callback gauges, which must be quick and must
// not call back into the registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lcsweep {

class Counter {
 public:
  // `v` must be >= 0 (a counter never goes down); negative values are ignored.
  void Inc(double v = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the upper bounds of the buckets, strictly ascending, finite
  // (the +Inf bucket is implicit).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket (not cumulative), bounds().size() + 1 entries, the last one +Inf.
  std::vector<uint64_t> BucketCounts() const;
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Bucket bounds for histograms.
struct HistogramBuckets {
  // Seconds from 0.5 ms to 10 s, roughly x2.5 apart: RPC and commit latency.
  static std::vector<double> Latency();
};

// One metric name and its series. T is Counter, Gauge or Histogram.
template <typename T>
class Family {
 public:
  // The series with these label values (as many as the family has label
  // names; missing ones are "", extra ones dropped), created on first use.
  T* With(const std::vector<std::string>& label_values);

 private:
  friend class MetricsRegistry;
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}

  const std::string name_, help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;  // Histogram only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  CounterFamily* AddCounter(const std::string& name, const std::string& help,
                            std::vector<std::string> labels = {});
  GaugeFamily* AddGauge(const std::string& name, const std::string& help,
                        std::vector<std::string> labels = {});
  HistogramFamily* AddHistogram(const std::string& name, const std::string& help,
                                std::vector<std::string> labels, std::vector<double> bounds);
  // A gauge without labels whose value `read` computes at each scrape.
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> read);

  // The whole registry in the text exposition format 0.0.4.
  std::string Expose() const;

  // The Content-Type of Expose()'s text.
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry;
  void Register(std::unique_ptr<Entry> entry);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace lcsweep
