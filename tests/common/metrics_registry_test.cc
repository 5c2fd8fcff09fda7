// The Prometheus exposition text of MetricsRegistry, compared whole against
// text written by hand from the format's specification (0.0.4), plus the
// concurrency contract (no lost increments) and the refusal of bad names.
#include "common/metrics_registry.h"

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace lcsweep {
namespace {

TEST(MetricsRegistryTest, ExposesCountersGaugesHistogramsAndCallbacksInOrder) {
  MetricsRegistry r;
  CounterFamily* rpcs = r.AddCounter("rpc_total", "calls handled", {"method", "code"});
  GaugeFamily* jobs = r.AddGauge("jobs", "jobs by state\nper state", {"state"});
  HistogramFamily* lat = r.AddHistogram("commit_seconds", "commit time", {}, {0.01, 0.1, 1});
  r.AddCallbackGauge("workers_alive", "alive workers", [] { return 3.0; });

  rpcs->With({"/a.B/C", "OK"})->Inc();
  rpcs->With({"/a.B/C", "OK"})->Inc(2);
  rpcs->With({"/a.B/A", "NOT_FOUND"})->Inc();
  rpcs->With({"/a.B/A", "NOT_FOUND"})->Inc(-5);  // ignored: counters only grow
  jobs->With({"queued"})->Set(7);
  jobs->With({"running"})->Set(1.5);
  jobs->With({"running"})->Add(-0.25);
  Histogram* h = lat->With({});
  h->Observe(0.005);   // le 0.01
  h->Observe(0.01);    // le 0.01 (bounds are inclusive)
  h->Observe(0.5);     // le 1
  h->Observe(30);      // +Inf only

  EXPECT_EQ(r.Expose(),
            "# HELP rpc_total calls handled\n"
            "# TYPE rpc_total counter\n"
            "rpc_total{method=\"/a.B/A\",code=\"NOT_FOUND\"} 1\n"
            "rpc_total{method=\"/a.B/C\",code=\"OK\"} 3\n"
            "# HELP jobs jobs by state\\nper state\n"
            "# TYPE jobs gauge\n"
            "jobs{state=\"queued\"} 7\n"
            "jobs{state=\"running\"} 1.25\n"
            "# HELP commit_seconds commit time\n"
            "# TYPE commit_seconds histogram\n"
            "commit_seconds_bucket{le=\"0.01\"} 2\n"
            "commit_seconds_bucket{le=\"0.1\"} 2\n"
            "commit_seconds_bucket{le=\"1\"} 3\n"
            "commit_seconds_bucket{le=\"+Inf\"} 4\n"
            "commit_seconds_sum 30.515\n"
            "commit_seconds_count 4\n"
            "# HELP workers_alive alive workers\n"
            "# TYPE workers_alive gauge\n"
            "workers_alive 3\n");
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndPrintsSpecialValues) {
  MetricsRegistry r;
  GaugeFamily* g = r.AddGauge("g", "h\\x", {"l"});
  g->With({"a\"b\\c\nd"})->Set(std::numeric_limits<double>::infinity());
  g->With({"m"})->Set(-std::numeric_limits<double>::infinity());
  g->With({"n"})->Set(std::nan(""));
  g->With({"z"})->Set(-2);
  EXPECT_EQ(r.Expose(),
            "# HELP g h\\\\x\n"
            "# TYPE g gauge\n"
            "g{l=\"a\\\"b\\\\c\\nd\"} +Inf\n"
            "g{l=\"m\"} -Inf\n"
            "g{l=\"n\"} NaN\n"
            "g{l=\"z\"} -2\n");
}

TEST(MetricsRegistryTest, HistogramWithLabelsPutsLeLast) {
  MetricsRegistry r;
  HistogramFamily* f = r.AddHistogram("rpc_seconds", "x", {"method"}, {1});
  f->With({"/m"})->Observe(2);
  EXPECT_EQ(r.Expose(),
            "# HELP rpc_seconds x\n"
            "# TYPE rpc_seconds histogram\n"
            "rpc_seconds_bucket{method=\"/m\",le=\"1\"} 0\n"
            "rpc_seconds_bucket{method=\"/m\",le=\"+Inf\"} 1\n"
            "rpc_seconds_sum{method=\"/m\"} 2\n"
            "rpc_seconds_count{method=\"/m\"} 1\n");
}

TEST(MetricsRegistryTest, SeriesPointersAreStableAndConcurrentIncrementsAreNotLost) {
  MetricsRegistry r;
  CounterFamily* c = r.AddCounter("c_total", "x", {"k"});
  HistogramFamily* hf = r.AddHistogram("h", "x", {}, HistogramBuckets::Latency());
  Counter* first = c->With({"a"});
  constexpr int kThreads = 8, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        c->With({"a"})->Inc();
        c->With({"k" + std::to_string(t)})->Inc();  // new series created while others count
        hf->With({})->Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(first, c->With({"a"}));
  EXPECT_EQ(first->Value(), double{kThreads} * kEach);
  EXPECT_EQ(hf->With({})->Count(), uint64_t{kThreads} * kEach);
  EXPECT_EQ(hf->With({})->BucketCounts()[1], uint64_t{kThreads} * kEach);  // le 0.001
}

TEST(MetricsRegistryDeathTest, RefusesBadAndDuplicateNames) {
  EXPECT_DEATH({ MetricsRegistry r; r.AddCounter("1bad", "x"); }, "bad metric name");
  EXPECT_DEATH({ MetricsRegistry r; r.AddGauge("g", "x", {"le"}); }, "bad or repeated label");
  EXPECT_DEATH({ MetricsRegistry r; r.AddGauge("g", "x"); r.AddGauge("g", "y"); }, "registered twice");
  EXPECT_DEATH({ MetricsRegistry r; r.AddHistogram("h", "x", {}, {1, 1}); }, "strictly ascending");
}

}  // namespace
}  // namespace lcsweep
