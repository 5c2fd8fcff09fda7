// nn_train_bench: training throughput of ResNet-LC-20-16xE in the folded and
// reduced executions (and, with --unfolded, the unfolded one) against the
// plain ResNet-20-16, on the CPU. Reduced (docs/reduced_lc.md) trains Q = P.U
// and a decay scalar, so its per-step fold costs c_out*n^2 whatever E is;
// folded forms P.S every step (c_out*m*n).
//
//   nn_train_bench [--threads N] [--batch B] [--steps S] [--rates 1,8,64,128,512,1024]
//                  [--unfolded] [--unfolded-big-batch B] [--channels-last]
//
// One SGD step = forward + cross-entropy + backward + SGD (momentum 0.9,
// Nesterov, weight decay 0.01) on random 3x32x32 images. Each config gets one
// warm-up step and S timed steps (unfolded E >= 64: one timed step at a
// smaller batch, because at batch 128 its activations alone exceed the
// machine's memory; images/s is per image either way). LibTorch's intra-op
// thread count is set explicitly (--threads, default all cores).
// Reports wall-clock and process CPU-time throughput; the targets are judged
// on CPU time, which other processes on a shared machine disturb far less.
// Also reports the learned state of each config: the trained tensors plus
// their momentum buffers (measured from the optimizer) and the regenerable
// frozen buffers (S, R). Prints tables and the ratios; exits 0 regardless.
#include <torch/torch.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "worker/nn/network.h"

namespace {

using lcsweep::nn::BuildNetwork;
using lcsweep::nn::ModelSpec;

struct Result {
  std::string name;
  int64_t e = 1;
  std::string execution;
  int64_t batch = 0, steps = 0;
  double seconds_per_step = 0, images_per_second = 0;
  double images_per_cpu_second = 0;  // robust to other processes on a shared machine
  double trained_mib = 0;   // parameters + momentum buffers
  double frozen_mib = 0;    // buffers (frozen S, reduced R, BN statistics)
  double build_seconds = 0;
};

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

ModelSpec Spec(const std::string& mode, int64_t e, const std::string& execution, int64_t batch) {
  ModelSpec spec;
  spec.model.depth = 20;
  spec.model.width = 16;
  spec.model.conv.mode = mode;
  spec.model.conv.lc_rate = e;
  spec.model.conv.execution = execution;
  spec.mean = {0.4914, 0.4822, 0.4465};
  spec.std = {0.2470, 0.2435, 0.2616};
  spec.batch_size = batch;
  return spec;
}

bool g_channels_last = false;  // --channels-last: NHWC activations (oneDNN's native layout)

double Mib(int64_t floats) { return static_cast<double>(floats) * 4 / (1024.0 * 1024.0); }

Result Measure(const std::string& name, const ModelSpec& spec, int64_t batch, int64_t steps) {
  const auto build_start = std::chrono::steady_clock::now();
  auto built = BuildNetwork(spec);
  const double build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
  if (!built.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), built.status().ToString().c_str());
    std::exit(1);
  }
  auto net = *built;
  net->train();
  torch::optim::SGD sgd(net->parameters(),
                        torch::optim::SGDOptions(0.01).momentum(0.9).nesterov(true).weight_decay(0.01));
  torch::manual_seed(0);
  torch::Tensor x = torch::rand({batch, 3, 32, 32});
  if (g_channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor y = torch::randint(0, 10, {batch}, torch::kLong);
  auto step = [&] {
    sgd.zero_grad();
    torch::Tensor loss = torch::cross_entropy_loss(net->forward(x), y);
    loss.backward();
    sgd.step();
  };
  step();  // warm-up: allocations, oneDNN primitive caches
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = ProcessCpuSeconds();
  for (int64_t s = 0; s < steps; ++s) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_seconds = ProcessCpuSeconds() - cpu_start;
  Result r;
  r.name = name;
  r.e = spec.model.conv.lc_rate;
  r.execution = spec.model.conv.execution;
  r.batch = batch;
  r.steps = steps;
  r.seconds_per_step = seconds / steps;
  r.images_per_second = batch * steps / seconds;
  r.images_per_cpu_second = batch * steps / cpu_seconds;
  r.build_seconds = build_seconds;
  int64_t trained = 0, frozen = 0;
  for (const auto& p : net->parameters()) trained += p.numel();
  for (const auto& [key, state] : sgd.state()) {
    const auto& buffer = static_cast<const torch::optim::SGDParamState&>(*state).momentum_buffer();
    if (buffer.defined()) trained += buffer.numel();
  }
  for (const auto& b : net->buffers()) frozen += b.numel();
  r.trained_mib = Mib(trained);
  r.frozen_mib = Mib(frozen);
  std::printf("  measured %-28s %8.3f s/step %9.1f img/s %9.2f img/cpu-s  build %.1f s\n", name.c_str(),
              r.seconds_per_step, r.images_per_second, r.images_per_cpu_second, build_seconds);
  std::fflush(stdout);
  return r;
}

std::vector<int64_t> ParseList(const char* s) {
  std::vector<int64_t> v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) v.push_back(std::stoll(item));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  int64_t batch = 128, big_unfolded_batch = 32, steps = 2;
  bool with_unfolded = false;
  std::vector<int64_t> rates = {1, 8, 64, 128, 512, 1024};
  for (int i = 1; i < argc; i += 2) {
    if (!std::strcmp(argv[i], "--channels-last")) {
      g_channels_last = true;
      --i;
    } else if (!std::strcmp(argv[i], "--unfolded")) {
      with_unfolded = true;
      --i;
    } else if (i + 1 >= argc) {
      std::fprintf(stderr, "flag %s needs a value\n", argv[i]);
      return 2;
    } else if (!std::strcmp(argv[i], "--threads")) threads = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--unfolded-big-batch")) big_unfolded_batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rates")) rates = ParseList(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  torch::set_num_threads(static_cast<int>(threads));
  std::printf("nn_train_bench: ResNet-LC-20-16xE on CPU, %lld threads, batch %lld, %lld timed steps, %s\n",
              static_cast<long long>(threads), static_cast<long long>(batch), static_cast<long long>(steps),
              g_channels_last ? "channels_last" : "NCHW");

  const Result plain_before = Measure("plain ResNet-20-16", Spec("learned", 1, "auto", batch), batch, steps);
  std::vector<Result> folded, reduced, unfolded;
  for (int64_t e : rates) {
    const std::string tag = "LC x" + std::to_string(e);
    folded.push_back(Measure(tag + " folded", Spec("lc", e, "folded", batch), batch, steps));
    reduced.push_back(Measure(tag + " reduced", Spec("lc", e, "reduced", batch), batch, steps));
    if (with_unfolded && e <= 128) {
      const int64_t ub = e >= 64 ? std::min(batch, big_unfolded_batch) : batch;
      const int64_t us = e >= 64 ? 1 : std::max<int64_t>(1, steps - 1);
      unfolded.push_back(Measure(tag + " unfolded", Spec("lc", e, "unfolded", ub), ub, us));
    }
  }
  const Result plain_after = Measure("plain ResNet-20-16 (again)", Spec("learned", 1, "auto", batch), batch, steps);
  const double plain_ips = 0.5 * (plain_before.images_per_second + plain_after.images_per_second);
  const double plain_ipc = 0.5 * (plain_before.images_per_cpu_second + plain_after.images_per_cpu_second);

  std::printf("\n| model | batch | timed steps | s/step | images/s (wall) | images/cpu-s | vs plain (cpu) | "
              "trained state MiB | frozen buffers MiB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  auto row = [&](const Result& r) {
    std::printf("| %s | %lld | %lld | %.3f | %.2f | %.3f | %.3fx | %.2f | %.1f |\n", r.name.c_str(),
                static_cast<long long>(r.batch), static_cast<long long>(r.steps), r.seconds_per_step,
                r.images_per_second, r.images_per_cpu_second, r.images_per_cpu_second / plain_ipc,
                r.trained_mib, r.frozen_mib);
  };
  row(plain_before);
  for (size_t i = 0; i < rates.size(); ++i) {
    row(folded[i]);
    row(reduced[i]);
  }
  for (const Result& r : unfolded) row(r);
  row(plain_after);
  std::printf("\nplain ResNet-20-16: %.2f images/s wall, %.3f images/cpu-s (mean of the two runs)\n", plain_ips,
              plain_ipc);
  std::printf("\n| E | folded/plain (cpu) | reduced/plain (cpu) | reduced/folded (cpu) | reduced/plain (wall) | "
              "target reduced >= 0.9x plain |\n");
  std::printf("|---|---|---|---|---|---|\n");
  bool all_met = true;
  for (size_t i = 0; i < rates.size(); ++i) {
    const double f = folded[i].images_per_cpu_second / plain_ipc;
    const double r = reduced[i].images_per_cpu_second / plain_ipc;
    all_met &= r >= 0.9;
    std::printf("| %lld | %.3fx | %.3fx | %.2fx | %.3fx | %s |\n", static_cast<long long>(rates[i]), f, r,
                reduced[i].images_per_cpu_second / folded[i].images_per_cpu_second,
                reduced[i].images_per_second / plain_ips, r >= 0.9 ? "met" : "MISSED");
  }
  std::printf("reduced >= 0.9x plain at every E: %s\n", all_met ? "met" : "MISSED");
  std::printf("(targets judged on CPU time: the wall clock of a shared machine measures the neighbours)\n");
  return 0;
}
