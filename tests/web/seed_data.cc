#include "tests/web/seed_data.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

namespace lcsweep::webtest {
namespace {

using json = nlohmann::json;

const char* const kCorruptions[] = {
    "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "defocus_blur",
    "glass_blur", "motion_blur", "zoom_blur", "gaussian_blur", "snow", "frost", "fog",
    "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression", "spatter",
    "saturate"};

struct Shape {
  std::string mode, spatial, dataset;
  int64_t rate = 1, seed = 0, depth = 20, width = 16;
  double log_rate = 0;
};

Shape ShapeOf(const std::string& config_json) {
  const json c = json::parse(config_json);
  Shape s;
  s.mode = c.at("model").at("conv").value("mode", "lc");
  s.spatial = c.at("model").at("conv").value("spatial", "frozen");
  s.rate = c.at("model").at("conv").value("lc_rate", int64_t{1});
  s.seed = c.value("seed", int64_t{0});
  s.dataset = c.at("data").value("name", "fashion_mnist");
  s.depth = c.at("model").value("depth", int64_t{20});
  s.width = c.at("model").value("width", int64_t{16});
  s.log_rate = std::log2(static_cast<double>(std::max<int64_t>(1, s.rate)));
  return s;
}

// Clean accuracy: frozen LC gains with E and overtakes learned LC (the published Table 1's shape).
double CleanAccuracy(const Shape& s, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 0.0015);
  double acc;
  if (s.mode == "learned") acc = 0.9365;
  else if (s.mode == "frozen") acc = 0.86;
  else if (s.spatial == "frozen") acc = 0.905 + 0.0045 * s.log_rate;
  else acc = 0.921 + 0.0019 * s.log_rate;
  return std::min(0.999, acc + noise(rng));
}

}  // namespace

std::string SyntheticResultJson(const std::string& config_json) {
  const Shape s = ShapeOf(config_json);
  std::mt19937_64 rng(static_cast<uint64_t>(s.seed * 1000003 + s.rate * 101 + s.spatial.size() + s.mode.size() * 7));
  std::uniform_real_distribution<double> u(-1, 1);
  const double clean = CleanAccuracy(s, rng);
  // The shape of worker/train + worker/eval's result document.
  json ev;
  ev["clean"] = {{"accuracy", clean}, {"top5", std::min(1.0, clean + 0.06)}, {"loss", 0.35 + (1 - clean) * 2 + 0.01 * u(rng)},
                 {"n", 10000}};
  ev["robustness_n"] = 1000;
  // Robustness: frozen LC gets more robust with E.
  const double k = s.mode == "lc" && s.spatial == "frozen" ? 0.30 - 0.02 * s.log_rate : 0.32;
  json fgsm = json::array(), pgd = json::array();
  for (int e : {1, 2, 4, 8}) {
    const double eps = e / 255.0;
    fgsm.push_back({{"eps", eps}, {"accuracy", clean * std::exp(-k * e) + 0.003 * u(rng)}});
    pgd.push_back({{"eps", eps}, {"steps", 40}, {"step_size", eps / 30}, {"accuracy", clean * std::exp(-1.6 * k * e) + 0.003 * u(rng)}});
  }
  ev["fgsm"] = fgsm;
  ev["pgd"] = pgd;
  json corruptions = json::object();
  double sum = 0;
  int n = 0;
  int ci = 0;
  for (const char* name : kCorruptions) {
    const double hard = 0.02 + 0.012 * (ci++ % 7);
    json accs = json::array();
    for (int sev = 1; sev <= 5; ++sev) {
      const double a = std::max(0.05, clean - hard * sev * (1 + 0.2 * u(rng)));
      accs.push_back(a);
      sum += a;
      ++n;
    }
    corruptions[name] = accs;
  }
  corruptions["severities"] = {1, 2, 3, 4, 5};
  corruptions["mean"] = sum / n;
  corruptions["source"] = "generated";
  ev["corruptions"] = corruptions;
  // Filter statistics per spatial layer of ResNet-D: stem + 3 stages x n blocks x 2 convs.
  json layers = json::array();
  const int64_t blocks = std::max<int64_t>(1, (s.depth - 2) / 6);
  std::vector<std::string> names = {"stem"};
  for (int st = 1; st <= 3; ++st) {
    for (int64_t b = 0; b < blocks; ++b) {
      for (int c = 1; c <= 2; ++c) names.push_back("layer" + std::to_string(st) + "." + std::to_string(b) + ".conv" + std::to_string(c));
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const double depth_frac = static_cast<double>(i) / static_cast<double>(names.size());
    auto stats = [&](double sparsity, double fve, bool spatial) {
      return json{{"sparsity", std::clamp(sparsity + 0.01 * u(rng), 0.0, 1.0)},
                  {"fve", spatial ? json(fve * 0.95) : json(nullptr)},
                  {"fve_normalised", spatial ? json(std::clamp(fve + 0.02 * u(rng), 0.0, 1.2)) : json(nullptr)},
                  {"orthogonality", std::clamp(0.9 - 0.2 * depth_frac + 0.02 * u(rng), 0.0, 1.0)}};
    };
    json layer = {{"name", names[i]}, {"index", i}};
    if (s.mode == "lc") {
      layer["S"] = stats(0.0, s.spatial == "frozen" ? 1.0 : 0.9, true);
      layer["P"] = stats(0.05 + 0.1 * depth_frac, 0, false);
    }
    layer["folded"] = stats(0.02 + 0.3 * depth_frac, 0.85 - 0.3 * depth_frac, true);
    layers.push_back(layer);
  }
  ev["filter_stats"] = layers;
  ev["timings_s"] = {{"clean", 2.0}, {"fgsm", 4.0}, {"pgd", 60.0}, {"corruptions", 30.0}, {"filter_stats", 0.5}};
  json r;
  r["evaluation"] = ev;
  // Parameter counts of ResNet-20-16, scaled for E.
  const double plain = 272474;
  const double e = static_cast<double>(s.rate);
  const double frozen = s.mode == "lc" && s.spatial == "frozen" ? 270000 * e : 0;
  const double total = s.mode == "lc" ? plain + 270000 * e + 30000 * e : plain;
  r["model"] = {
      {"parameters", {{"total", total}, {"learned", total - frozen}, {"frozen", frozen}, {"stored", total - frozen},
                      {"stored_frozen_regenerated", total - frozen}}},
      {"macs_per_image", {{"train_unfolded", 40.8e6 * (s.mode == "lc" ? e : 1)}, {"train_folded", 40.8e6},
                          {"train", 40.8e6}, {"inference", 40.8e6}, {"fold_per_step", 1.2e6 * e}}}};
  // The full test set's accuracy differs from the evaluation's (first 1,000
  // images), as on real runs, so a view that shows the wrong one is caught.
  const double full = std::min(0.999, clean + 0.004 + 0.002 * u(rng));
  r["final"] = {{"train_loss", 0.5}, {"train_accuracy", 0.95}, {"test_loss", 0.4}, {"test_accuracy", full},
                {"test_top5", 0.99}, {"test_n", 10000}};
  r["throughput"] = {{"train_images_per_second", 1800.0 + 50 * u(rng)}};
  r["timings_s"] = {{"total", 1300 + 10 * u(rng)}, {"evaluation", 90 + u(rng)}};
  r["device"] = {{"type", "cpu"}};
  return r.dump();
}

std::vector<MetricPoint> SyntheticCurves(const std::string& config_json, int64_t steps, int64_t epochs,
                                         int64_t first_step) {
  const Shape s = ShapeOf(config_json);
  std::mt19937_64 rng(static_cast<uint64_t>(s.seed * 7919 + s.rate + first_step));
  std::normal_distribution<double> noise(0, 1);
  std::vector<MetricPoint> out;
  out.reserve(static_cast<size_t>(steps * 4 + epochs));
  const int64_t steps_per_epoch = std::max<int64_t>(1, steps / std::max<int64_t>(1, epochs));
  const double pi = std::acos(-1.0);
  for (int64_t i = 0; i < steps; ++i) {
    const int64_t step = first_step + i;
    const double t = static_cast<double>(i) / static_cast<double>(std::max<int64_t>(1, steps - 1));
    const int64_t epoch = i / steps_per_epoch;
    auto add = [&](const char* name, double v) {
      MetricPoint p;
      p.step = step;
      p.epoch = epoch;
      p.name = name;
      p.value = v;
      out.push_back(p);
    };
    add("train/loss", 0.45 + 1.8 * std::exp(-4 * t) + 0.04 * noise(rng));
    add("train/acc", std::min(0.99, 0.97 - 0.8 * std::exp(-5 * t) + 0.01 * noise(rng)));
    add("train/lr", 0.01 * 0.5 * (1 + std::cos(pi * t)));
    add("train/images_per_s", 1800 + 40 * noise(rng));
  }
  for (int64_t e = 0; e < epochs; ++e) {
    MetricPoint p;
    p.step = first_step + (e + 1) * steps_per_epoch - 1;
    p.epoch = e;
    p.name = "test/acc";
    p.value = 0.93 - 0.5 * std::exp(-0.6 * static_cast<double>(e + 1)) + 0.003 * noise(rng);
    out.push_back(p);
    // Seconds per epoch: a unit of its own (the job page must not put it on the loss or accuracy axis).
    p.name = "epoch.seconds";
    p.value = 17.0 + 0.5 * noise(rng);
    out.push_back(p);
  }
  // ReportMetrics wants points in order per name; sort by (name, step).
  std::stable_sort(out.begin(), out.end(), [](const MetricPoint& a, const MetricPoint& b) {
    return a.name != b.name ? a.name < b.name : a.step < b.step;
  });
  return out;
}

ResourceUsage SeededUsage(int64_t job_id) {
  ResourceUsage u;
  u.wall_seconds = 600.0 * static_cast<double>(1 + job_id % 5);
  u.cpu_seconds = u.wall_seconds * 1.25;
  u.gpu_seconds = u.wall_seconds;
  u.device_kind = "cuda";
  u.device_model = "NVIDIA H100 80GB HBM3";
  u.images = 50000 * (1 + job_id % 3);
  u.peak_host_bytes = int64_t{3} << 30;
  u.peak_device_bytes = int64_t{2} << 30;
  return u;
}

StatusOr<SeedSummary> Seed(Coordinator* coordinator, const SeedOptions& options) {
  SeedSummary summary;
  SubmitSweepRequest submit;
  submit.spec_json = options.spec_json;
  LCSWEEP_ASSIGN_OR_RETURN(SubmitSweepResult submitted, coordinator->SubmitSweep(submit));
  summary.sweep_id = submitted.sweep_id;
  for (const auto& j : submitted.jobs) summary.job_ids.push_back(j.job_id);

  WorkerRecord worker;
  worker.name = options.worker_name;
  worker.host = "localhost";
  worker.devices = {WorkerDevice{"cpu", "cpu (2 cores)", 0}};
  worker.cores = 2;
  worker.slots = 1;
  worker.versions = {{"lcsweep", "0.1.0"}, {"libtorch", "1.13.1"}};
  LCSWEEP_ASSIGN_OR_RETURN(RegisterWorkerResult reg, coordinator->RegisterWorker(worker));
  summary.worker_id = reg.worker_id;

  const int64_t total = static_cast<int64_t>(summary.job_ids.size());
  const int64_t complete =
      options.complete >= 0 ? options.complete : std::max<int64_t>(0, total - options.fail - options.keep_running);
  LeaseRequest lease_req;
  lease_req.worker_id = reg.worker_id;
  auto report = [&](const std::string& token, std::vector<MetricPoint> points) -> Status {
    for (size_t at = 0; at < points.size(); at += static_cast<size_t>(options.metric_batch)) {
      const size_t end = std::min(points.size(), at + static_cast<size_t>(options.metric_batch));
      LCSWEEP_RETURN_IF_ERROR(coordinator->ReportMetrics(
          token, std::vector<MetricPoint>(points.begin() + static_cast<std::ptrdiff_t>(at),
                                          points.begin() + static_cast<std::ptrdiff_t>(end))));
    }
    summary.metric_points += static_cast<int64_t>(points.size());
    return OkStatus();
  };
  for (int64_t i = 0; i < complete + options.fail + options.keep_running; ++i) {
    if (i >= complete + options.fail) {
      // Each running job on a worker of its own, as on a real cluster.
      WorkerRecord w = worker;
      w.name = options.worker_name + "-" + std::to_string(i - complete - options.fail + 2);
      w.devices = {WorkerDevice{"cuda", "NVIDIA H100 80GB HBM3", 79.6}};
      LCSWEEP_ASSIGN_OR_RETURN(RegisterWorkerResult r, coordinator->RegisterWorker(w));
      lease_req.worker_id = r.worker_id;
      lease_req.has_cuda = true;
      lease_req.free_gpu_memory_gb = 79.6;
    }
    LCSWEEP_ASSIGN_OR_RETURN(std::optional<Lease> lease, coordinator->LeaseJob(lease_req));
    if (!lease) break;
    const std::string& cfg = lease->job.config_json;
    if (i < complete) {
      if (options.steps_per_job > 0) {
        LCSWEEP_RETURN_IF_ERROR(report(lease->token, SyntheticCurves(cfg, options.steps_per_job, options.epochs)));
      }
      const ResourceUsage usage = SeededUsage(lease->job.id);
      LCSWEEP_RETURN_IF_ERROR(coordinator->CompleteJob(lease->token, SyntheticResultJson(cfg), usage));
      summary.finished_cpu_seconds += usage.cpu_seconds;
      summary.succeeded.push_back(lease->job.id);
    } else if (i < complete + options.fail) {
      LCSWEEP_RETURN_IF_ERROR(report(lease->token, SyntheticCurves(cfg, options.steps_per_job / 4, 1)));
      const ResourceUsage usage = SeededUsage(lease->job.id);
      LCSWEEP_RETURN_IF_ERROR(
          coordinator->FailJob(lease->token, "training diverged: loss is NaN at step 57", false, usage)
              .status());
      summary.finished_cpu_seconds += usage.cpu_seconds;
      summary.failed.push_back(lease->job.id);
    } else {
      LCSWEEP_RETURN_IF_ERROR(report(lease->token, SyntheticCurves(cfg, options.steps_per_job / 2, 2)));
      summary.running.push_back(RunningJob{lease->job.id, lease->token});
    }
  }
  return summary;
}

}  // namespace lcsweep::webtest
