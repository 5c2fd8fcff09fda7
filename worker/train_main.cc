// lcsweep-train: one job without a coordinator.
//
//   lcsweep-train describe JOB.json
//   lcsweep-train run JOB.json [--out RESULT.json] [--resume CKPT] [--checkpoint-dir DIR]
//                              [--device cpu|cuda[:N]|any] [--threads N] [--no-eval]
//                              [--model-out MODEL.pt]
//   lcsweep-train logits MODEL.pt --out-dir DIR [--limit N] [--threads N]
//
// Builds with LibTorch plus header-only json/spdlog (no CLI11), so the
// arguments are parsed by hand. Progress: a bar on a terminal, plain lines
// otherwise (both on stderr; stdout carries only JSON). Ctrl-C once drains
// (checkpoint, then stop) when a checkpoint dir is set, twice cancels.
// Exit status: 0 success, 1 the job failed, 2 usage or job-file errors.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/job_config_json.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "worker/nn/describe.h"
#include "worker/eval/npy.h"
#include "worker/nn/memory_estimate.h"
#include "worker/nn/network.h"
#include "worker/train/model_logits.h"
#include "worker/train/trainer.h"

namespace lcsweep {
namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  lcsweep-train describe JOB.json\n"
    "  lcsweep-train run JOB.json [--out RESULT.json] [--resume CHECKPOINT] [--checkpoint-dir DIR]\n"
    "                             [--device cpu|cuda|cuda:N|any] [--threads N] [--no-eval]\n"
    "                             [--model-out MODEL.pt]\n"
    "  lcsweep-train logits MODEL.pt --out-dir DIR [--limit N] [--threads N]\n"
    "    runs an exported model (lcsweep model JOB -o MODEL.pt, or run --model-out) on the\n"
    "    first N test images of its job's data set (0 = all); writes DIR/images.npy,\n"
    "    DIR/labels.npy, DIR/logits.npy and prints {\"n\", \"correct\", \"accuracy\"}\n"
    "JOB.json is one job config (see common/job_config.h); unset fields take the paper's defaults.\n";

std::atomic<int> g_interrupts{0};
extern "C" void OnSigint(int) { g_interrupts.fetch_add(1); }

StatusOr<JobConfig> ReadJob(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError(path + ": cannot open job file");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    return InvalidArgumentError(path + ": not valid JSON: " + e.what());
  }
  StatusOr<JobConfig> job = JobConfigFromJson(j);
  if (!job.ok()) return InvalidArgumentError(path + ": " + job.status().message());
  return job;
}

// SHA-256 over every spatial layer's initial filters (name, shape, float32
// bytes): equal digests mean bitwise-identical frozen filters, whichever
// machine or LibTorch built the model.
StatusOr<std::string> SpatialFiltersDigest(const nn::ModelSpec& spec) {
  LCSWEEP_ASSIGN_OR_RETURN(nn::Network model, nn::BuildNetwork(spec));
  Sha256 h;
  for (const auto& layer : model->SpatialLayers()) {
    torch::Tensor t = layer.spatial.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    h.Update(layer.name);
    for (int64_t d : t.sizes()) h.Update(&d, sizeof(d));
    h.Update(t.data_ptr<float>(), static_cast<size_t>(t.numel()) * sizeof(float));
  }
  return h.FinishHex();
}

int Describe(const std::string& path) {
  auto job = ReadJob(path);
  if (!job.ok()) {
    std::cerr << "lcsweep-train: " << job.status().ToString() << "\n";
    return 2;
  }
  torch::set_num_threads(1);
  auto spec = nn::ModelSpecForJob(*job);
  if (!spec.ok()) {
    std::cerr << "lcsweep-train: " << spec.status().ToString() << "\n";
    return 2;
  }
  auto described = nn::DescribeModel(*spec);
  if (!described.ok()) {
    std::cerr << "lcsweep-train: " << described.status().ToString() << "\n";
    return 2;
  }
  auto digest = SpatialFiltersDigest(*spec);
  if (!digest.ok()) {
    std::cerr << "lcsweep-train: " << digest.status().ToString() << "\n";
    return 1;
  }
  // For the device the job asks for ("any" may be a GPU, where the estimate matters).
  auto memory = nn::EstimateJobMemory(*job, job->resources.device != "cpu");
  if (!memory.ok()) {
    std::cerr << "lcsweep-train: " << memory.status().ToString() << "\n";
    return 1;
  }
  nlohmann::json out = *described;
  out["training_memory_bytes"] = nn::MemoryEstimateJson(*memory);
  out["notes"]["training_memory_bytes"] =
      "peak of one training step at train.batch_size: trained tensors, frozen filters, gradients, "
      "momentum, activations kept for backward (unfolded LC keeps its E*c intermediate maps), "
      "backward workspace; data sets only when data.placement keeps them on the device (worker/nn/memory_estimate.h)";
  out["spatial_filters_sha256"] = *digest;
  out["config_hash"] = JobConfigHash(*job);
  std::cout << out.dump(2) << "\n";
  return 0;
}

// Prints progress: a redrawn bar on a terminal, one line per report otherwise.
class TerminalSink : public train::ProgressSink {
 public:
  explicit TerminalSink(bool can_drain) : tty_(::isatty(STDERR_FILENO) == 1), can_drain_(can_drain) {}

  void OnStep(const train::StepProgress& p) override {
    if (tty_) {
      const int width = 30;
      const double frac = p.total_steps ? static_cast<double>(p.step) / p.total_steps : 0;
      const int filled = static_cast<int>(frac * width);
      std::fprintf(stderr, "\r[%s%s] %5.1f%% epoch %lld step %lld/%lld loss %.4f acc %.3f lr %.5f %.0f img/s  ",
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), 100 * frac,
                   static_cast<long long>(p.epoch + 1), static_cast<long long>(p.step),
                   static_cast<long long>(p.total_steps), p.loss, p.accuracy, p.lr, p.images_per_second);
      std::fflush(stderr);
    } else {
      std::fprintf(stderr, "step epoch=%lld step=%lld/%lld loss=%.4f acc=%.4f lr=%.6f images_per_s=%.1f\n",
                   static_cast<long long>(p.epoch + 1), static_cast<long long>(p.step),
                   static_cast<long long>(p.total_steps), p.loss, p.accuracy, p.lr, p.images_per_second);
    }
  }
  void OnEpoch(const train::EpochProgress& p) override {
    std::fprintf(stderr, "%sepoch %lld/%lld train_loss=%.4f train_acc=%.4f test_loss=%.4f test_acc=%.4f "
                 "top5=%.4f time=%.1fs images_per_s=%.1f\n",
                 tty_ ? "\r\033[K" : "", static_cast<long long>(p.epoch + 1), static_cast<long long>(p.epochs),
                 p.train_loss, p.train_accuracy, p.test_loss, p.test_accuracy, p.test_top5, p.seconds,
                 p.images_per_second);
  }
  void OnCheckpoint(const train::CheckpointInfo& c) override {
    std::fprintf(stderr, "%scheckpoint %s (%lld bytes, epoch %lld, step %lld)\n", tty_ ? "\r\033[K" : "",
                 c.path.c_str(), static_cast<long long>(c.bytes), static_cast<long long>(c.epoch),
                 static_cast<long long>(c.step));
  }
  void OnEvaluation(const nlohmann::json& j) override {
    std::fprintf(stderr, "evaluation done");
    if (j.contains("clean")) std::fprintf(stderr, " clean=%.4f", j["clean"].value("accuracy", 0.0));
    if (j.contains("fgsm"))
      for (const auto& f : j["fgsm"])
        std::fprintf(stderr, " fgsm(%.5f)=%.4f", f.value("eps", 0.0), f.value("accuracy", 0.0));
    if (j.contains("corruptions") && j["corruptions"].contains("mean"))
      std::fprintf(stderr, " corruption_mean=%.4f", j["corruptions"].value("mean", 0.0));
    std::fprintf(stderr, "\n");
  }
  train::Control ShouldStop() override {
    const int n = g_interrupts.load();
    if (n >= 2 || (n == 1 && !can_drain_)) return train::Control::kCancel;
    if (n == 1) return train::Control::kDrain;
    return train::Control::kContinue;
  }

 private:
  bool tty_;
  bool can_drain_;
};

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return InvalidArgumentError(path + ": cannot write");
    out << text;
    if (!out.good()) return InternalError(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return InternalError(path + ": cannot move into place");
  return OkStatus();
}

int Run(const std::vector<std::string>& args) {
  std::string job_path, out_path;
  train::RunOptions opts;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* dst) {
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0) {
        std::cerr << "lcsweep-train: " << a << " needs a value\n" << kUsage;
        return false;
      }
      *dst = args[++i];
      return true;
    };
    std::string threads;
    if (a == "--out") {
      if (!value(&out_path)) return 2;
    } else if (a == "--resume") {
      if (!value(&opts.resume_path)) return 2;
    } else if (a == "--checkpoint-dir") {
      if (!value(&opts.checkpoint_dir)) return 2;
    } else if (a == "--device") {
      if (!value(&opts.device)) return 2;
    } else if (a == "--threads") {
      if (!value(&threads)) return 2;
      if (threads.empty() || threads.find_first_not_of("0123456789") != std::string::npos || std::stoll(threads) < 1) {
        std::cerr << "lcsweep-train: --threads expects a positive integer, got '" << threads << "'\n";
        return 2;
      }
      opts.threads = std::stoll(threads);
    } else if (a == "--no-eval") {
      opts.evaluate = false;
    } else if (a == "--model-out") {
      if (!value(&opts.model_path)) return 2;
    } else if (a.rfind("--", 0) == 0) {
      std::cerr << "lcsweep-train: unknown option " << a << "\n" << kUsage;
      return 2;
    } else if (job_path.empty()) {
      job_path = a;
    } else {
      std::cerr << "lcsweep-train: unexpected argument " << a << "\n" << kUsage;
      return 2;
    }
  }
  if (job_path.empty()) {
    std::cerr << "lcsweep-train: run needs JOB.json\n" << kUsage;
    return 2;
  }
  auto job = ReadJob(job_path);
  if (!job.ok()) {
    std::cerr << "lcsweep-train: " << job.status().ToString() << "\n";
    return 2;
  }
  std::signal(SIGINT, OnSigint);
  TerminalSink sink(!opts.checkpoint_dir.empty());
  opts.sink = &sink;
  auto result = train::RunJob(*job, opts);
  if (!result.ok()) {
    std::cerr << "\nlcsweep-train: job failed: " << result.status().ToString() << "\n";
    return 1;
  }
  const std::string text = result->dump(2) + "\n";
  if (out_path.empty()) {
    std::cout << text;
  } else {
    Status st = WriteFileAtomically(out_path, text);
    if (!st.ok()) {
      std::cerr << "lcsweep-train: " << st.ToString() << "\n";
      std::cout << text;  // lose nothing
      return 1;
    }
  }
  const auto& f = (*result)["final"];
  std::fprintf(stderr, "done: test_accuracy=%.4f test_loss=%.4f wall=%.1fs train_images_per_s=%.1f%s%s\n",
               f["test_accuracy"].get<double>(), f["test_loss"].get<double>(),
               (*result)["timings_s"]["total"].get<double>(),
               (*result)["throughput"]["train_images_per_second"].get<double>(),
               out_path.empty() ? "" : " result=", out_path.c_str());
  return 0;
}

// lcsweep-train logits: the C++ side of the export's reference check.
int Logits(const std::vector<std::string>& args) {
  std::string model_path, out_dir;
  int64_t limit = 0, threads = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto number = [&](int64_t* out, int64_t min) {
      if (i + 1 >= args.size()) return false;
      const std::string& v = args[++i];
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || std::stoll(v) < min) return false;
      *out = std::stoll(v);
      return true;
    };
    if (a == "--out-dir" && i + 1 < args.size()) {
      out_dir = args[++i];
    } else if (a == "--limit") {
      if (!number(&limit, 0)) {
        std::cerr << "lcsweep-train: --limit expects an integer >= 0\n";
        return 2;
      }
    } else if (a == "--threads") {
      if (!number(&threads, 1)) {
        std::cerr << "lcsweep-train: --threads expects a positive integer\n";
        return 2;
      }
    } else if (a.rfind("--", 0) != 0 && model_path.empty()) {
      model_path = a;
    } else {
      std::cerr << "lcsweep-train: unexpected argument " << a << "\n" << kUsage;
      return 2;
    }
  }
  if (model_path.empty() || out_dir.empty()) {
    std::cerr << "lcsweep-train: logits needs MODEL.pt and --out-dir DIR\n" << kUsage;
    return 2;
  }
  torch::set_num_threads(static_cast<int>(threads));
  auto result = train::ComputeModelLogits(model_path, limit);
  if (!result.ok()) {
    std::cerr << "lcsweep-train: " << result.status().ToString() << "\n";
    return 1;
  }
  for (const auto& [name, t] : {std::pair<const char*, torch::Tensor>{"images", result->images},
                                {"labels", result->labels}, {"logits", result->logits}}) {
    Status st = eval::WriteNpy(out_dir + "/" + name + ".npy", t);
    if (!st.ok()) {
      std::cerr << "lcsweep-train: " << st.ToString() << "\n";
      return 1;
    }
  }
  const int64_t n = result->labels.size(0);
  nlohmann::json out{{"n", n}, {"correct", result->correct},
                     {"accuracy", n ? static_cast<double>(result->correct) / static_cast<double>(n) : 0.0}};
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace
}  // namespace lcsweep

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << lcsweep::kUsage;
    return args.empty() ? 2 : 0;
  }
  lcsweep::SetupLogging();
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "describe") {
    if (args.size() != 1) {
      std::cerr << "lcsweep-train: describe needs exactly one JOB.json\n" << lcsweep::kUsage;
      return 2;
    }
    return lcsweep::Describe(args[0]);
  }
  if (cmd == "run") return lcsweep::Run(args);
  if (cmd == "logits") return lcsweep::Logits(args);
  std::cerr << "lcsweep-train: unknown command '" << cmd << "'\n" << lcsweep::kUsage;
  return 2;
}
