#include "worker/train/trainer.h"

#include <ATen/Version.h>
#include <ATen/autocast_mode.h>
#include <sys/stat.h>
#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include "common/data_placement.h"
#include "common/dataset_info.h"
#include "common/job_config_json.h"
#include "common/logging.h"
#include "worker/data/batch_loader.h"
#include "worker/data/source.h"
#include "worker/eval/evaluate.h"
#include "worker/nn/describe.h"
#include "worker/nn/network.h"
#include "worker/train/checkpoint.h"
#include "worker/train/model_export.h"
#include "worker/train/recipe.h"

#ifndef LCSWEEP_GIT_COMMIT
#define LCSWEEP_GIT_COMMIT "unknown"
#endif
#ifndef LCSWEEP_VERSION
#define LCSWEEP_VERSION "0.0.0"
#endif

namespace lcsweep::train {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Mixed precision on CUDA for the forward pass. bfloat16 needs no loss
// scaling (LibTorch's C++ API has no GradScaler), so that is the autocast
// dtype; BatchNorm and the loss stay in float32 per autocast's op lists.
class AutocastScope {
 public:
  explicit AutocastScope(bool on) : on_(on) {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
  }
  ~AutocastScope() {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
    at::autocast::set_enabled(false);
#endif
    at::autocast::clear_cache();
  }

 private:
  bool on_;
};

torch::optim::SGDOptions& SgdOptions(torch::optim::SGD& opt) {
  return static_cast<torch::optim::SGDOptions&>(opt.param_groups()[0].options());
}

struct TestMetrics {
  double loss = 0, accuracy = 0, top5 = 0;
  int64_t n = 0;
};

// Plain (unsmoothed) cross-entropy, top-1 and top-k over a whole split.
StatusOr<TestMetrics> Evaluate(nn::NetworkImpl& model, data::BatchLoader& loader, torch::Device device,
                               bool amp, bool channels_last) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  loader.StartEpoch(0);
  double loss_sum = 0;
  int64_t correct = 0, correct5 = 0, n = 0;
  while (true) {
    LCSWEEP_ASSIGN_OR_RETURN(std::optional<data::Batch> batch, loader.Next());
    if (!batch) break;
    torch::Tensor x = batch->images.to(device, /*non_blocking=*/true);
    if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    torch::Tensor y = batch->labels.to(device);
    torch::Tensor logits;
    {
      AutocastScope autocast(amp);
      logits = model.forward(x);
    }
    logits = logits.to(torch::kFloat32);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
    const int64_t k = std::min<int64_t>(5, logits.size(1));
    torch::Tensor topk = std::get<1>(logits.topk(k, 1));
    correct5 += topk.eq(y.unsqueeze(1)).any(1).sum().item<int64_t>();
    n += y.size(0);
  }
  if (was_training) model.train();
  TestMetrics m;
  m.n = n;
  if (n > 0) {
    m.loss = loss_sum / n;
    m.accuracy = static_cast<double>(correct) / n;
    m.top5 = static_cast<double>(correct5) / n;
  }
  return m;
}

void ToChannelsLast(nn::NetworkImpl& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters(/*recurse=*/true))
    if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
  for (auto& b : model.buffers(/*recurse=*/true))
    if (b.dim() == 4) b.set_data(b.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

bool MakeDirs(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty()) ::mkdir(cur.c_str(), 0755);
    }
    if (i < dir.size()) cur.push_back(dir[i]);
  }
  struct stat st;
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

StatusOr<torch::Device> ResolveDevice(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "any" || name.empty()) {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  }
  if (name.rfind("cuda", 0) == 0) {
    int index = 0;
    if (name.size() > 4) {
      if (name[4] != ':' || name.size() == 5 || name.find_first_not_of("0123456789", 5) != std::string::npos) {
        return InvalidArgumentError("device '" + name + "': expected cpu, cuda, cuda:N or any");
      }
      index = std::stoi(name.substr(5));
    }
    if (!torch::cuda::is_available()) {
      return FailedPreconditionError("device '" + name + "' requested but this LibTorch sees no CUDA device");
    }
    if (index >= static_cast<int>(torch::cuda::device_count())) {
      return FailedPreconditionError("device '" + name + "': only " + std::to_string(torch::cuda::device_count()) +
                                     " CUDA devices present");
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return InvalidArgumentError("device '" + name + "': expected cpu, cuda, cuda:N or any");
}

nlohmann::json VersionInfo() {
  nlohmann::json v = {{"lcsweep", LCSWEEP_VERSION},
                      {"git_commit", LCSWEEP_GIT_COMMIT},
                      {"libtorch", TORCH_VERSION},
#if defined(__clang__)
                      {"compiler", std::string("clang ") + __clang_version__},
#elif defined(__GNUC__)
                      {"compiler", std::string("gcc ") + __VERSION__},
#else
                      {"compiler", "unknown"},
#endif
                      {"cuda_available", torch::cuda::is_available()},
                      {"cuda_devices", torch::cuda::is_available() ? torch::cuda::device_count() : 0}};
  // The CUDA runtime LibTorch was built with, from its build configuration.
  const std::string config = at::show_config();
  const auto pos = config.find("CUDA Runtime ");
  if (pos != std::string::npos) {
    v["cuda"] = config.substr(pos + 13, config.find_first_of("\n ", pos + 13) - pos - 13);
  } else {
    v["cuda"] = nullptr;
  }
  return v;
}

StatusOr<nlohmann::json> RunJob(const JobConfig& job, const RunOptions& options) {
  auto log = GetLogger("train");
  const auto t_start = Clock::now();
  LCSWEEP_RETURN_IF_ERROR(ValidateJobConfig(job));
  LCSWEEP_RETURN_IF_ERROR(ValidateSchedule(job.train));
  const TrainConfig& tc = job.train;
  ProgressSink null_sink;
  ProgressSink& sink = options.sink ? *options.sink : null_sink;

  // Device and threads.
  LCSWEEP_ASSIGN_OR_RETURN(torch::Device device,
                           ResolveDevice(options.device.empty() ? job.resources.device : options.device));
  const bool cuda = device.is_cuda();
  const bool amp = tc.amp && cuda;
  const bool channels_last = tc.channels_last && cuda;
  if (tc.amp && !cuda) log->warn("train.amp ignored on cpu (mixed precision is CUDA only)");
  int64_t threads = options.threads > 0 ? options.threads : tc.threads;
  if (threads <= 0) threads = std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(static_cast<uint64_t>(job.seed));

  try {
    // Data.
    const auto t_data = Clock::now();
    LCSWEEP_ASSIGN_OR_RETURN(data::DataSplits splits, data::OpenDataSet(job.data, job.seed));
    const double data_load_s = Seconds(t_data, Clock::now());
    data::LoaderOptions train_opts;
    train_opts.batch_size = tc.batch_size;
    train_opts.shuffle = true;
    train_opts.augment = job.data.augment;
    train_opts.seed = static_cast<uint64_t>(job.seed);
    train_opts.threads = job.data.loader_threads;
    train_opts.prefetch_batches = std::max<int64_t>(2, 2 * job.data.loader_threads);
    train_opts.fail_on_bad_image = job.data.on_bad_image == "fail";
    data::LoaderOptions test_opts = train_opts;
    test_opts.shuffle = false;
    test_opts.augment = false;
    const DataPlacement placement = ResolveDataPlacement(job.data, cuda);
    LCSWEEP_ASSIGN_OR_RETURN(std::unique_ptr<data::BatchLoader> train_batches,
                             data::MakeBatchLoader(splits.train, train_opts, placement, device));
    LCSWEEP_ASSIGN_OR_RETURN(std::unique_ptr<data::BatchLoader> test_batches,
                             data::MakeBatchLoader(splits.test, test_opts, placement, device));
    data::BatchLoader& train_loader = *train_batches;
    data::BatchLoader& test_loader = *test_batches;
    const int64_t steps_per_epoch = train_loader.batches_per_epoch();
    const int64_t total_steps = steps_per_epoch * tc.epochs;
    if (steps_per_epoch == 0) return InvalidArgumentError("data: the training split is empty");

    // Model and optimizer (weight decay only on parameters(): the trained tensors).
    LCSWEEP_ASSIGN_OR_RETURN(nn::ModelSpec spec, nn::ModelSpecForJob(job));
    LCSWEEP_ASSIGN_OR_RETURN(nn::Network model, nn::BuildNetwork(spec));
    model->to(device);
    if (channels_last) ToChannelsLast(*model);
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(tc.lr)
                                                         .momentum(tc.momentum)
                                                         .nesterov(tc.nesterov)
                                                         .weight_decay(tc.weight_decay));

    TrainState state;
    state.config_hash = JobConfigHash(job);
    std::string resumed_from;
    if (!options.resume_path.empty()) {
      LCSWEEP_ASSIGN_OR_RETURN(state, LoadCheckpoint(options.resume_path, *model, optimizer, device));
      if (state.config_hash != JobConfigHash(job)) {
        return InvalidArgumentError(options.resume_path + ": checkpoint belongs to job " + state.config_hash +
                                    ", not to this job (" + JobConfigHash(job) + ")");
      }
      resumed_from = options.resume_path;
      log->info("resumed {} {} {}", Kv("checkpoint", options.resume_path), Kv("epoch", state.epoch),
                Kv("step", state.step));
    }
    std::string checkpoint_path;
    if (!options.checkpoint_dir.empty()) {
      if (!MakeDirs(options.checkpoint_dir)) {
        return InvalidArgumentError("checkpoint dir " + options.checkpoint_dir + ": cannot create it");
      }
      checkpoint_path = options.checkpoint_dir + "/" + kCheckpointFile;
    }
    auto write_checkpoint = [&](bool final) -> Status {
      if (checkpoint_path.empty()) return OkStatus();
      int64_t bytes = 0;
      LCSWEEP_RETURN_IF_ERROR(SaveCheckpoint(checkpoint_path, *model, optimizer, state, &bytes));
      CheckpointInfo info{checkpoint_path, bytes, state.epoch, state.step, final};
      sink.OnCheckpoint(info);
      return OkStatus();
    };

    // Training.
    model->train();
    double last_lr = 0;
    double window_loss = 0;
    int64_t window_correct = 0, window_seen = 0;
    int64_t run_images = 0;  // this run's (compute accounting)
    auto window_start = Clock::now();
    for (; state.epoch < tc.epochs; ++state.epoch, state.batch = 0) {
      const auto epoch_start = Clock::now();
      const double epoch_seconds_before = state.epoch_seconds;
      train_loader.StartEpoch(state.epoch, state.batch);
      while (true) {
        const Control control = sink.ShouldStop();
        if (control == Control::kCancel) {
          return CancelledError("cancelled at epoch " + std::to_string(state.epoch) + " step " +
                                std::to_string(state.step));
        }
        if (control == Control::kDrain) {
          state.epoch_seconds = epoch_seconds_before + Seconds(epoch_start, Clock::now());
          if (checkpoint_path.empty()) {
            return AbortedError("drained at epoch " + std::to_string(state.epoch) + " step " +
                                std::to_string(state.step) + " without a checkpoint (no checkpoint dir)");
          }
          LCSWEEP_RETURN_IF_ERROR(write_checkpoint(/*final=*/true));
          return AbortedError("drained at epoch " + std::to_string(state.epoch) + " step " +
                              std::to_string(state.step) + "; checkpoint " + checkpoint_path);
        }
        LCSWEEP_ASSIGN_OR_RETURN(std::optional<data::Batch> batch, train_loader.Next());
        if (!batch) break;
        last_lr = LearningRate(tc, state.step, steps_per_epoch);
        SgdOptions(optimizer).lr(last_lr);
        torch::Tensor x = batch->images.to(device, /*non_blocking=*/true);
        if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
        torch::Tensor y = batch->labels.to(device, /*non_blocking=*/true);
        optimizer.zero_grad();
        torch::Tensor logits;
        {
          AutocastScope autocast(amp);
          logits = model->forward(x);
        }
        torch::Tensor loss = SmoothedCrossEntropy(logits, y, tc.label_smoothing);
        const double loss_value = loss.item<double>();
        if (!std::isfinite(loss_value)) {
          return InternalError("training diverged: loss is " + std::to_string(loss_value) + " at epoch " +
                               std::to_string(state.epoch) + " step " + std::to_string(state.step + 1) +
                               " (lr " + std::to_string(last_lr) + "); lower train.lr or check the data");
        }
        loss.backward();
        optimizer.step();
        const int64_t b = y.size(0);
        const int64_t correct = logits.detach().argmax(1).eq(y).sum().item<int64_t>();
        state.epoch_loss_sum += loss_value * b;
        state.epoch_correct += correct;
        state.epoch_seen += b;
        run_images += b;
        ++state.step;
        ++state.batch;
        window_loss += loss_value * b;
        window_correct += correct;
        window_seen += b;
        if (tc.log_every_steps > 0 && state.step % tc.log_every_steps == 0) {
          const auto now = Clock::now();
          StepProgress p;
          p.epoch = state.epoch;
          p.step = state.step;
          p.total_steps = total_steps;
          p.epoch_step = state.batch;
          p.steps_per_epoch = steps_per_epoch;
          p.loss = window_loss / window_seen;
          p.accuracy = static_cast<double>(window_correct) / window_seen;
          p.lr = last_lr;
          p.images_per_second = window_seen / std::max(1e-9, Seconds(window_start, now));
          p.run_images = run_images;
          sink.OnStep(p);
          window_loss = 0;
          window_correct = window_seen = 0;
          window_start = now;
        }
      }
      const double train_epoch_s = epoch_seconds_before + Seconds(epoch_start, Clock::now());
      LCSWEEP_ASSIGN_OR_RETURN(TestMetrics test, Evaluate(*model, test_loader, device, amp, channels_last));
      const double epoch_s = epoch_seconds_before + Seconds(epoch_start, Clock::now());
      state.train_seconds += train_epoch_s;
      EpochProgress ep;
      ep.epoch = state.epoch;
      ep.epochs = tc.epochs;
      ep.step = state.step;
      ep.train_loss = state.epoch_seen ? state.epoch_loss_sum / state.epoch_seen : 0;
      ep.train_accuracy = state.epoch_seen ? static_cast<double>(state.epoch_correct) / state.epoch_seen : 0;
      ep.test_loss = test.loss;
      ep.test_accuracy = test.accuracy;
      ep.test_top5 = test.top5;
      ep.seconds = epoch_s;
      ep.images_per_second = state.epoch_seen / std::max(1e-9, train_epoch_s);
      ep.run_images = run_images;
      state.history.push_back({{"epoch", ep.epoch},
                               {"step", ep.step},
                               {"lr", last_lr},
                               {"train_loss", ep.train_loss},
                               {"train_accuracy", ep.train_accuracy},
                               {"test_loss", ep.test_loss},
                               {"test_accuracy", ep.test_accuracy},
                               {"test_top5", ep.test_top5},
                               {"test_n", test.n},
                               {"seconds", ep.seconds},
                               {"images_per_second", ep.images_per_second}});
      state.bad_images = train_loader.bad_images() + test_loader.bad_images();
      sink.OnEpoch(ep);
      state.epoch_loss_sum = 0;
      state.epoch_correct = state.epoch_seen = 0;
      state.epoch_seconds = 0;
      const bool last = state.epoch + 1 == tc.epochs;
      if (job.checkpoint.every_epochs > 0 && ((state.epoch + 1) % job.checkpoint.every_epochs == 0 || last)) {
        TrainState next = state;  // the checkpoint resumes at the start of the next epoch
        ++next.epoch;
        next.batch = 0;
        std::swap(state, next);
        Status st = write_checkpoint(false);
        std::swap(state, next);
        LCSWEEP_RETURN_IF_ERROR(st);
      }
    }
    const double train_s = state.train_seconds;

    // Final evaluation on the first eval.robustness_limit test images.
    nlohmann::json result;
    const auto t_eval = Clock::now();
    if (options.evaluate) {
      eval::EvalInputs in;
      LCSWEEP_RETURN_IF_ERROR(data::Materialize(*splits.test, job.eval.robustness_limit, &in.images, &in.labels));
      in.device = device;
      in.batch_size = tc.batch_size;
      in.seed = job.seed;
      LCSWEEP_ASSIGN_OR_RETURN(nlohmann::json ev, eval::RunEvaluation(*model, job.eval, in));
      sink.OnEvaluation(ev);
      result["evaluation"] = std::move(ev);
    }
    const double eval_s = Seconds(t_eval, Clock::now());

    LCSWEEP_ASSIGN_OR_RETURN(nlohmann::json described, nn::DescribeModel(spec));
    const nlohmann::json& last_epoch = state.history.back();
    result["job"] = JobConfigToJson(job);
    result["config_hash"] = JobConfigHash(job);
    result["model"] = std::move(described);
    result["data"] = {{"name", job.data.name},
                      {"train_source", splits.train->description()},
                      {"test_source", splits.test->description()},
                      {"train_size", splits.train->size()},
                      {"test_size", splits.test->size()},
                      {"image_size", splits.train->image_size()},
                      {"channels", splits.train->channels()},
                      {"classes", splits.info.classes},
                      {"bad_images", state.bad_images}};
    result["device"] = {{"type", cuda ? "cuda" : "cpu"},
                        {"index", cuda ? device.index() : -1},
                        {"threads", threads},
                        {"loader_threads", job.data.loader_threads},
                        {"data_placement", placement == DataPlacement::kDevice ? "device" : "host"},
                        {"amp", amp ? "bfloat16" : "off"},
                        {"channels_last", channels_last}};
    result["versions"] = VersionInfo();
    result["final"] = {{"train_loss", last_epoch["train_loss"]},
                       {"train_accuracy", last_epoch["train_accuracy"]},
                       {"test_loss", last_epoch["test_loss"]},
                       {"test_accuracy", last_epoch["test_accuracy"]},
                       {"test_top5", last_epoch["test_top5"]},
                       {"test_n", last_epoch["test_n"]}};
    result["history"] = state.history;
    result["steps"] = state.step;
    result["resumed_from"] = resumed_from.empty() ? nlohmann::json(nullptr) : nlohmann::json(resumed_from);
    const double train_images = static_cast<double>(splits.train->size()) * tc.epochs;
    if (options.trained_model) *options.trained_model = model;
    if (!options.model_path.empty()) {
      LCSWEEP_RETURN_IF_ERROR(
          SaveModelExport(options.model_path, *model, spec, JobConfigToJson(job).dump(), nullptr));
    }
    result["timings_s"] = {{"total", Seconds(t_start, Clock::now())},
                           {"train", train_s},
                           {"evaluation", eval_s},
                           {"data_load", data_load_s}};
    result["throughput"] = {{"train_images_per_second", train_s > 0 ? train_images / train_s : 0.0}};
    return result;
  } catch (const c10::OutOfMemoryError& e) {
    // A shared device may have room later, or another worker more of it.
    log->error("out of memory: {}", e.what_without_backtrace());
    return ResourceExhaustedError(std::string("out of memory: ") + e.what_without_backtrace());
  } catch (const c10::Error& e) {
    log->error("libtorch error: {}", e.what_without_backtrace());
    return InternalError(std::string("libtorch: ") + e.what_without_backtrace());
  } catch (const nlohmann::json::exception& e) {
    return InternalError(std::string("json: ") + e.what());
  }
}

}  // namespace lcsweep::train
