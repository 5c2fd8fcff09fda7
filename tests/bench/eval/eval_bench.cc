// Evaluation throughput on ResNet-20 models, one run, one table:
// clean inference vs FGSM vs PGD-k (images/s and cost relative to clean), for
// the plain ResNet-20-16 and ResNet-LC-20-16x8 (frozen) run folded and
// unfolded; then generated-corruption throughput per corruption.
#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "worker/eval/attacks.h"
#include "worker/eval/clean.h"
#include "worker/eval/corruptions.h"
#include "worker/nn/network.h"

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

lcsweep::nn::Network Build(const std::string& mode, int64_t rate, const std::string& execution) {
  lcsweep::nn::ModelSpec spec;
  spec.model.conv.mode = mode;
  spec.model.conv.lc_rate = rate;
  spec.model.conv.execution = execution;
  spec.mean = {0.4914, 0.4822, 0.4465};
  spec.std = {0.2470, 0.2435, 0.2616};
  auto net = lcsweep::nn::BuildNetwork(spec);
  if (!net.ok()) {
    std::fprintf(stderr, "BuildNetwork: %s\n", net.status().ToString().c_str());
    std::exit(1);
  }
  (*net)->eval();
  return *net;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t images = 32, threads = 2, pgd_steps = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--images")) images = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--pgd-steps")) pgd_steps = std::atoll(argv[i + 1]);
  }
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  torch::Tensor x = torch::rand({images, 3, 32, 32});
  torch::Tensor y = torch::randint(0, 10, {images}, torch::kLong);
  std::printf("eval_bench: %lld images 3x32x32, %lld threads, PGD-%lld\n\n", static_cast<long long>(images),
              static_cast<long long>(threads), static_cast<long long>(pgd_steps));
  std::printf("%-28s %-8s %10s %12s %14s\n", "model", "eval", "seconds", "images/s", "x clean time");
  struct M { const char* name; const char* mode; int64_t rate; const char* exec; };
  const M models[] = {{"ResNet-20-16 (plain)", "learned", 1, "auto"},
                      {"ResNet-LC-20-16x8 folded", "lc", 8, "folded"},
                      {"ResNet-LC-20-16x8 unfolded", "lc", 8, "unfolded"}};
  double pgd_folded = 0, pgd_unfolded = 0;
  for (const M& m : models) {
    lcsweep::nn::Network net = Build(m.mode, m.rate, m.exec);
    lcsweep::eval::EvaluateClean(*net, x.narrow(0, 0, std::min<int64_t>(8, images)), y.narrow(0, 0, std::min<int64_t>(8, images)), torch::kCPU, 64);  // warm-up
    auto t = Clock::now();
    lcsweep::eval::EvaluateClean(*net, x, y, torch::kCPU, 64);
    const double clean = Since(t);
    torch::Tensor ok = torch::ones({images}, torch::kBool);
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
    t = Clock::now();
    lcsweep::eval::RobustAccuracy(*net, x, y, ok, {"fgsm", 1.0 / 255, 0, 0}, torch::kCPU, 64, gen);
    const double fgsm = Since(t);
    t = Clock::now();
    lcsweep::eval::RobustAccuracy(*net, x, y, ok, {"pgd", 8.0 / 255, pgd_steps, 8.0 / 255 / 30}, torch::kCPU, 64, gen);
    const double pgd = Since(t);
    if (std::string(m.exec) == "folded") pgd_folded = pgd;
    if (std::string(m.exec) == "unfolded") pgd_unfolded = pgd;
    const std::pair<const char*, double> rows[] = {{"clean", clean}, {"fgsm", fgsm}, {"pgd", pgd}};
    for (const auto& [what, s] : rows)
      std::printf("%-28s %-8s %10.3f %12.1f %14.1f\n", m.name, what, s, images / s, s / clean);
  }
  if (pgd_folded > 0 && pgd_unfolded > 0)
    std::printf("\nPGD-%lld on ResNet-LC-20-16x8: folded is %.1fx faster than unfolded\n",
                static_cast<long long>(pgd_steps), pgd_unfolded / pgd_folded);

  std::printf("\n%-20s %10s %12s   (generated corruptions, severity 3, %lld images)\n", "corruption", "seconds",
              "images/s", static_cast<long long>(images));
  for (const std::string& name : lcsweep::eval::AllCorruptionNames()) {
    if (!lcsweep::eval::IsGenerated(name)) continue;
    auto t = Clock::now();
    auto c = lcsweep::eval::Corrupt(name, x, 3, 0);
    const double s = Since(t);
    if (!c.ok()) {
      std::printf("%-20s %s\n", name.c_str(), c.status().ToString().c_str());
      continue;
    }
    std::printf("%-20s %10.3f %12.1f\n", name.c_str(), s, images / s);
  }
  return 0;
}
