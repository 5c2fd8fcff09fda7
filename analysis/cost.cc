#include "analysis/cost.h"

#include <algorithm>
#include <unordered_map>

namespace lcsweep::analysis {
namespace {

void Add(const CostAttempt& a, CostTotals* t) {
  const ResourceUsage& u = a.usage;
  ++t->attempts;
  ++t->outcomes[std::string(a.outcome)];
  const bool running = a.outcome == "running";
  const bool succeeded = a.outcome == "succeeded";
  if (running) ++t->running;
  if (succeeded) ++t->succeeded;
  if (!running && !succeeded) {
    ++t->abandoned;
    t->abandoned_cpu_seconds += u.cpu_seconds;
    t->abandoned_gpu_seconds += u.gpu_seconds;
  }
  if (!a.measured) {
    ++t->unmeasured;
    return;
  }
  t->wall_seconds += u.wall_seconds;
  t->cpu_seconds += u.cpu_seconds;
  t->gpu_seconds += u.gpu_seconds;
  t->images += u.images;
  t->peak_host_bytes = std::max(t->peak_host_bytes, u.peak_host_bytes);
  t->peak_device_bytes = std::max(t->peak_device_bytes, u.peak_device_bytes);
  if (!u.energy_source.empty()) {
    t->energy_joules += u.energy_joules;
    ++t->energy_attempts;
  }
  if (!u.device_model.empty()) t->device_models.insert(u.device_model);
}

nlohmann::json TotalsJson(const CostTotals& t) {
  return {{"attempts", t.attempts},
          {"succeeded", t.succeeded},
          {"abandoned", t.abandoned},
          {"running", t.running},
          {"unmeasured", t.unmeasured},
          {"wall_seconds", t.wall_seconds},
          {"cpu_seconds", t.cpu_seconds},
          {"cpu_hours", t.cpu_seconds / 3600},
          {"gpu_seconds", t.gpu_seconds},
          {"gpu_hours", t.gpu_seconds / 3600},
          {"abandoned_cpu_seconds", t.abandoned_cpu_seconds},
          {"abandoned_gpu_seconds", t.abandoned_gpu_seconds},
          {"images", t.images},
          {"peak_host_bytes", t.peak_host_bytes},
          {"peak_device_bytes", t.peak_device_bytes},
          {"energy_joules", t.energy_joules},
          {"energy_kwh", t.energy_joules / 3.6e6},
          {"energy_attempts", t.energy_attempts},
          {"outcomes", t.outcomes},
          {"device_models", t.device_models}};
}

}  // namespace

CostReport SummarizeCost(const std::vector<CostJob>& jobs, const std::vector<CostAttempt>& attempts) {
  CostReport report;
  report.jobs = static_cast<int64_t>(jobs.size());
  std::unordered_map<std::string, size_t> arm_of_group;
  std::unordered_map<int64_t, size_t> arm_of_job;
  for (const CostJob& j : jobs) {
    auto [it, fresh] = arm_of_group.try_emplace(std::string(j.group_hash), report.arms.size());
    if (fresh) {
      ArmCost arm;
      arm.group_hash = std::string(j.group_hash);
      nlohmann::json axes = nlohmann::json::parse(j.axes_json, nullptr, false);
      if (axes.is_object()) {
        axes.erase("seed");
        arm.axes = std::move(axes);
      }
      report.arms.push_back(std::move(arm));
    }
    ++report.arms[it->second].jobs;
    arm_of_job[j.id] = it->second;
  }
  for (const CostAttempt& a : attempts) {
    auto it = arm_of_job.find(a.job_id);
    if (it == arm_of_job.end()) continue;
    Add(a, &report.arms[it->second].totals);
    Add(a, &report.total);
  }
  return report;
}

nlohmann::json CostReportJson(const CostReport& report) {
  nlohmann::json arms = nlohmann::json::array();
  for (const ArmCost& a : report.arms)
    arms.push_back({{"group_hash", a.group_hash},
                    {"axes", a.axes},
                    {"jobs", a.jobs},
                    {"totals", TotalsJson(a.totals)}});
  return {{"jobs", report.jobs}, {"total", TotalsJson(report.total)}, {"arms", arms}};
}

}  // namespace lcsweep::analysis
