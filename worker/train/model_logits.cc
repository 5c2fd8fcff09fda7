#include "worker/train/model_logits.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/job_config_json.h"
#include "worker/data/source.h"
#include "worker/nn/describe.h"
#include "worker/nn/network.h"
#include "worker/train/model_export.h"

namespace lcsweep::train {

StatusOr<ModelLogits> ComputeModelLogits(const std::string& model_path, int64_t limit, int64_t batch_size) {
  LCSWEEP_ASSIGN_OR_RETURN(ModelExport exported, LoadModelExport(model_path));
  nlohmann::json config = nlohmann::json::parse(exported.config_json, nullptr, false);
  if (config.is_discarded()) return DataLossError(model_path + ": the job config inside is not JSON");
  LCSWEEP_ASSIGN_OR_RETURN(JobConfig job, JobConfigFromJson(config));
  LCSWEEP_ASSIGN_OR_RETURN(nn::ModelSpec spec, nn::ModelSpecForJob(job));
  LCSWEEP_ASSIGN_OR_RETURN(nn::Network model, nn::BuildNetwork(spec));
  LCSWEEP_RETURN_IF_ERROR(LoadModelExportInto(exported, *model));
  model->eval();

  LCSWEEP_ASSIGN_OR_RETURN(data::DataSplits splits, data::OpenDataSet(job.data, job.seed));
  ModelLogits out;
  LCSWEEP_RETURN_IF_ERROR(data::Materialize(*splits.test, limit, &out.images, &out.labels));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  const int64_t n = out.images.size(0);
  for (int64_t start = 0; start < n; start += batch_size) {
    parts.push_back(model->forward(out.images.slice(0, start, std::min(n, start + batch_size))));
  }
  out.logits = parts.empty() ? torch::zeros({0, spec.num_classes}) : torch::cat(parts).contiguous();
  out.labels = out.labels.to(torch::kInt64);
  out.correct = n == 0 ? 0 : out.logits.argmax(1).eq(out.labels).sum().item<int64_t>();
  return out;
}

}  // namespace lcsweep::train
