#include "server/rpc/reply_budget.h"

#include <map>
#include <string>

namespace lcsweep::rpc {

size_t EncodedItemSize(const google::protobuf::MessageLite& m) {
  // 1 tag byte (field numbers < 16) + up to 5 varint length bytes.
  return m.ByteSizeLong() + 6;
}

bool PageBudget::Admit(size_t item_bytes) {
  if (cut_) return false;
  if (first_ || item_bytes <= left_) {
    first_ = false;
    left_ = item_bytes >= left_ ? 0 : left_ - item_bytes;
    return true;
  }
  cut_ = true;
  return false;
}

void FitJob(v1::Job* job, size_t budget) {
  if (job->ByteSizeLong() <= budget) return;
  if (!job->result_json().empty()) {
    job->clear_result_json();
    job->add_omitted_fields("result_json");
    if (job->ByteSizeLong() <= budget) return;
  }
  if (!job->config_json().empty()) {
    job->clear_config_json();
    job->add_omitted_fields("config_json");
    if (job->ByteSizeLong() <= budget) return;
  }
  if (!job->error().empty()) {
    job->clear_error();
    job->add_omitted_fields("error");
  }
}

void FitSweep(v1::Sweep* sweep, size_t budget) {
  if (sweep->ByteSizeLong() <= budget) return;
  if (!sweep->spec_json().empty()) {
    sweep->clear_spec_json();
    sweep->add_omitted_fields("spec_json");
    if (sweep->ByteSizeLong() <= budget) return;
  }
  if (!sweep->description().empty()) {
    sweep->clear_description();
    sweep->add_omitted_fields("description");
  }
}

void FitGroup(v1::ResultGroup* group, size_t budget) {
  if (group->ByteSizeLong() <= budget) return;
  // Keep the first figures by name (map order on the wire is unspecified,
  // so sort) while the group fits.
  std::map<std::string, v1::MetricStat> sorted(group->figures().begin(), group->figures().end());
  group->clear_figures();
  size_t size = group->ByteSizeLong();
  int64_t omitted = 0;
  for (const auto& [name, stat] : sorted) {
    // Map entry: key and value fields plus the entry's own tag and length.
    const size_t entry = name.size() + stat.ByteSizeLong() + 16;
    if (omitted == 0 && size + entry <= budget) {
      (*group->mutable_figures())[name] = stat;
      size += entry;
    } else {
      ++omitted;
    }
  }
  group->set_figures_omitted(omitted);
}

}  // namespace lcsweep::rpc
