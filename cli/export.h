// `lcsweep export`: every job of a sweep with its axes and result figures
// (and, with --metrics, its metric series) as CSV or JSON, for analysis
// elsewhere. Values are written exactly (%.17g round-trips a double).
//
// CSV without --metrics: one row per job. With --metrics: one row per metric
// point (long format), the job's columns repeated on each.
// JSON: an array of {job_id, state, seed, config_hash, group_hash, axes,
// config, figures[, error][, metrics: {name: [{attempt, epoch, step,
// time_ms, value}]}]}.
// Thread-safety: RenderExport is pure; FetchExport is as thread-safe as the
// connection's stub.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/connection.h"
#include "cli/io.h"
#include "common/status.h"
#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::cli {

struct ExportArgs {
  int64_t sweep = 0;
  std::string format = "csv";  // csv | json
  bool metrics = false;
};
int RunExport(const ConnectionFlags& flags, const ExportArgs& args, Io io);

struct ExportData {
  std::vector<v1::Job> jobs;
  // With metrics: series[i] holds every point of jobs[i], one series per
  // name in ascending name order. Empty otherwise.
  std::vector<std::vector<v1::MetricSeries>> series;
};

// The sweep's jobs and (with_metrics) each job's series, following
// next_page_token of ListJobs and GetMetrics.
StatusOr<ExportData> FetchExport(Connection& c, int64_t sweep, bool with_metrics);

// Every point of a job's metrics; pages of the same series are joined.
StatusOr<std::vector<v1::MetricSeries>> FetchMetrics(Connection& c, int64_t job_id);

// The export in `format` ("csv" or "json"); metrics as in ExportArgs.
std::string RenderExport(const ExportData& data, const std::string& format, bool metrics);

}  // namespace lcsweep::cli
