#include "server/core/early_stopper.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "analysis/significance.h"

namespace lcsweep {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

int64_t SeedOf(const JobRecord& job) {
  const nlohmann::json config = nlohmann::json::parse(job.config_json, nullptr, false);
  if (!config.is_object()) return 0;
  auto it = config.find("seed");
  return it != config.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

void EarlyStopper::Watch(int64_t sweep_id, const EarlyStopping& policy) {
  auto it = policies_.find(sweep_id);
  if (it != policies_.end()) metrics_.erase(metrics_.find(it->second.metric));
  policies_[sweep_id] = policy;
  metrics_.insert(policy.metric);
}

const EarlyStopping* EarlyStopper::PolicyOf(int64_t sweep_id) const {
  auto it = policies_.find(sweep_id);
  return it == policies_.end() ? nullptr : &it->second;
}

const EarlyStopping* EarlyStopper::PolicyOfJob(const JobRecord& job) const {
  if (job.sweep_ids.empty()) return nullptr;
  for (int64_t s : job.sweep_ids)
    if (PolicyOf(s) == nullptr) return nullptr;
  return PolicyOf(job.sweep_ids.front());
}

void EarlyStopper::Record(int64_t job_id, int64_t epoch, double value) {
  series_[job_id][epoch] = value;
}

std::optional<std::string> EarlyStopper::MedianVerdict(const EarlyStopping& policy,
                                                       const JobRecord& job, int64_t epoch,
                                                       const std::set<int64_t>& sweep_jobs,
                                                       const JobLookup& lookup) const {
  if (policy.rule != EarlyStopping::Rule::kMedian) return std::nullopt;
  if (epoch + 1 < policy.grace_epochs) return std::nullopt;  // epochs are 0-based
  auto own = series_.find(job.id);
  if (own == series_.end() || own->second.count(epoch) == 0) return std::nullopt;
  const double value = own->second.at(epoch);
  if (!std::isfinite(value)) return std::nullopt;  // a diverged job fails on its own
  // Each other arm's mean at this epoch.
  std::map<std::string, std::pair<double, int>> arms;  // group -> (sum, n)
  for (int64_t id : sweep_jobs) {
    if (id == job.id) continue;
    const JobRecord* other = lookup(id);
    if (other == nullptr || other->group_hash == job.group_hash) continue;
    auto s = series_.find(id);
    if (s == series_.end()) continue;
    auto e = s->second.find(epoch);
    if (e == s->second.end() || !std::isfinite(e->second)) continue;
    auto& [sum, n] = arms[other->group_hash];
    sum += e->second;
    ++n;
  }
  if (static_cast<int64_t>(arms.size()) < policy.min_arms) return std::nullopt;
  std::vector<double> means;
  for (const auto& [group, sn] : arms) means.push_back(sn.first / sn.second);
  std::sort(means.begin(), means.end());
  const size_t k = means.size();
  const double median = k % 2 ? means[k / 2] : (means[k / 2 - 1] + means[k / 2]) / 2;
  const bool worse = policy.maximize ? value < median - policy.margin
                                     : value > median + policy.margin;
  if (!worse) return std::nullopt;
  return "median rule: " + policy.metric + " " + Num(value) + " at epoch " +
         std::to_string(epoch) + " is " + (policy.maximize ? "below" : "above") +
         " the median " + Num(median) + " of " + std::to_string(k) + " other arms" +
         (policy.margin > 0 ? " by more than " + Num(policy.margin) : std::string());
}

std::vector<EarlyStopper::ArmVerdict> EarlyStopper::SeedsVerdicts(
    const EarlyStopping& policy, const std::set<int64_t>& sweep_jobs,
    const JobLookup& lookup) const {
  std::vector<ArmVerdict> out;
  if (policy.rule != EarlyStopping::Rule::kSeeds) return out;
  struct Arm {
    std::vector<analysis::SeedValue> done;  // succeeded jobs' final values
    int64_t planned = 0;                    // jobs of the arm in the sweep
  };
  std::map<std::string, Arm> arms;
  for (int64_t id : sweep_jobs) {
    const JobRecord* job = lookup(id);
    if (job == nullptr) continue;
    Arm& arm = arms[job->group_hash];
    ++arm.planned;
    if (job->state != JobState::kSucceeded) continue;
    auto s = series_.find(id);
    if (s == series_.end() || s->second.empty()) continue;
    const double final_value = s->second.rbegin()->second;
    if (std::isfinite(final_value)) arm.done.push_back({SeedOf(*job), final_value});
  }
  // The best arm among those with enough seeds.
  const std::string* best = nullptr;
  double best_mean = 0;
  for (const auto& [group, arm] : arms) {
    if (static_cast<int64_t>(arm.done.size()) < policy.min_seeds) continue;
    double mean = 0;
    for (const auto& v : arm.done) mean += v.value;
    mean /= static_cast<double>(arm.done.size());
    if (best == nullptr || (policy.maximize ? mean > best_mean : mean < best_mean)) {
      best = &group;
      best_mean = mean;
    }
  }
  if (best == nullptr) return out;
  const Arm& reference = arms.at(*best);
  for (const auto& [group, arm] : arms) {
    if (group == *best || static_cast<int64_t>(arm.done.size()) < policy.min_seeds) continue;
    if (static_cast<int64_t>(arm.done.size()) >= arm.planned) continue;  // nothing left to save
    const analysis::Comparison c = analysis::CompareArms(arm.done, reference.done);
    if (c.test == "none" || !std::isfinite(c.p_value)) continue;
    // One-sided p for "worse than the best" from the two-sided one.
    const bool in_direction = policy.maximize ? c.diff < 0 : c.diff > 0;
    const double one_sided = in_direction ? c.p_value / 2 : 1 - c.p_value / 2;
    const double level = policy.alpha / static_cast<double>(std::max<int64_t>(1, arm.planned));
    if (one_sided >= level) continue;
    out.push_back({group, "seeds rule: " + policy.metric + " mean " +
                              Num(best_mean + c.diff) + " over " +
                              std::to_string(arm.done.size()) + " seeds is worse than the best arm's " +
                              Num(best_mean) + " (" + c.test + " t-test, one-sided p " +
                              Num(one_sided) + " < " + Num(level) + ")"});
  }
  return out;
}

}  // namespace lcsweep
