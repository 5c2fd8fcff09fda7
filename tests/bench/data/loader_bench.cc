// Benchmark (not a test): whole-epoch training throughput with the real data
// path (prefetching loader + augmentation + training step) against the bare
// training step on pre-loaded tensors, in one run. The loader must cost at
// most 10% (PAPER-scale recipe: batch 256, CIFAR-style pad-crop-flip).
// Also times the device loader (data.placement "device", device_loader.h) on
// the CPU device, alone and with the step: the path GPUs take, here showing
// what its gathers cost against the host threads.
//
//   loader_bench [--images N] [--threads T] [--loader-threads L] [--data cifar_like|fashion_mnist]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/job_config.h"
#include "worker/data/device_loader.h"
#include "worker/data/loader.h"
#include "worker/data/readers.h"
#include "worker/data/source.h"
#include "worker/nn/describe.h"
#include "worker/nn/network.h"
#include "worker/train/recipe.h"

using namespace lcsweep;
using Clock = std::chrono::steady_clock;

namespace {

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void Step(nn::NetworkImpl& model, torch::optim::SGD& opt, const torch::Tensor& x, const torch::Tensor& y) {
  opt.zero_grad();
  torch::Tensor loss = train::SmoothedCrossEntropy(model.forward(x), y, 0.1);
  loss.backward();
  opt.step();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t images = 2048, threads = 2, loader_threads = 1;
  std::string data = "cifar_like";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--images")) images = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--loader-threads")) loader_threads = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--data")) data = argv[i + 1];
  }
  torch::set_num_threads(static_cast<int>(threads));

  JobConfig job;
  job.model.conv.mode = "lc";
  job.model.conv.lc_rate = 8;
  job.model.conv.spatial = "frozen";
  job.model.conv.execution = "folded";
  std::shared_ptr<const data::Source> source;
  if (data == "fashion_mnist") {
    job.data.name = "fashion_mnist";
    auto set = data::ReadMnistFolder("/usr/share/datasets/fashion-mnist", true);
    if (!set.ok()) { std::fprintf(stderr, "%s\n", set.status().ToString().c_str()); return 1; }
    source = std::make_shared<data::TensorSource>(data::Limit(*set, images), 32, data::TensorAugment::kNone);
  } else {
    // CIFAR-10 geometry with the CIFAR augmentation (the most expensive small-image path).
    job.data.name = "synthetic";
    job.data.synthetic.train_size = images;
    job.data.synthetic.channels = 3;
    job.data.synthetic.image_size = 32;
    source = std::make_shared<data::TensorSource>(data::MakeSynthetic(job.data.synthetic, 0, true), 32,
                                                  data::TensorAugment::kPadCropFlip);
  }
  auto spec = nn::ModelSpecForJob(job);
  if (!spec.ok()) { std::fprintf(stderr, "%s\n", spec.status().ToString().c_str()); return 1; }

  data::LoaderOptions lo;
  lo.batch_size = 256;
  lo.seed = 1;
  lo.threads = loader_threads;
  lo.prefetch_batches = std::max<int64_t>(2, 2 * loader_threads);
  data::Loader loader(source, lo);
  const int64_t steps = loader.batches_per_epoch();

  // Loader alone.
  auto t0 = Clock::now();
  loader.StartEpoch(0);
  std::vector<data::Batch> preloaded;
  while (true) {
    auto b = loader.Next();
    if (!b.ok() || !b->has_value()) break;
    preloaded.push_back(**b);
  }
  const double loader_alone = Since(t0);
  auto device_loader = data::DeviceLoader::Create(source, lo, torch::kCPU);
  if (!device_loader.ok()) { std::fprintf(stderr, "%s\n", device_loader.status().ToString().c_str()); return 1; }
  t0 = Clock::now();
  (*device_loader)->StartEpoch(0);
  while (true) {
    auto b = (*device_loader)->Next();
    if (!b.ok() || !b->has_value()) break;
  }
  const double device_alone = Since(t0);

  auto run = [&](data::BatchLoader* batches) {
    auto model = nn::BuildNetwork(*spec).value();
    model->train();
    torch::optim::SGD opt(model->parameters(),
                          torch::optim::SGDOptions(0.01).momentum(0.9).nesterov(true).weight_decay(0.01));
    Step(*model, opt, preloaded[0].images, preloaded[0].labels);  // warm-up (allocator, kernels)
    auto t = Clock::now();
    if (batches != nullptr) {
      batches->StartEpoch(1);
      while (true) {
        auto b = batches->Next();
        if (!b.ok() || !b->has_value()) break;
        Step(*model, opt, (*b)->images, (*b)->labels);
      }
    } else {
      for (const auto& b : preloaded) Step(*model, opt, b.images, b.labels);
    }
    return Since(t);
  };
  // Interleave to spread background noise over all: bare, host, device, twice.
  double bare = 0, full = 0, device_full = 0;
  for (int rep = 0; rep < 2; ++rep) {
    bare += run(nullptr);
    full += run(&loader);
    device_full += run(device_loader->get());
  }
  bare /= 2;
  full /= 2;
  device_full /= 2;
  const double n = static_cast<double>(source->size());
  std::printf("loader_bench: ResNet-LC-20-16x8 frozen folded, batch 256, %lld images (%lld steps), data=%s, "
              "torch threads=%lld, loader threads=%lld\n",
              static_cast<long long>(source->size()), static_cast<long long>(steps), data.c_str(),
              static_cast<long long>(threads), static_cast<long long>(loader_threads));
  std::printf("| %-40s | %10s | %10s | %10s |\n", "mode", "seconds", "images/s", "vs bare");
  std::printf("|%s|%s|%s|%s|\n", std::string(42, '-').c_str(), std::string(12, '-').c_str(),
              std::string(12, '-').c_str(), std::string(12, '-').c_str());
  std::printf("| %-40s | %10.3f | %10.1f | %10s |\n", "bare step on pre-loaded tensors", bare, n / bare, "1.000");
  std::printf("| %-40s | %10.3f | %10.1f | %10.3f |\n", "loader + augmentation + step (epoch)", full, n / full, full / bare);
  std::printf("| %-40s | %10.3f | %10.1f | %10s |\n", "loader + augmentation alone", loader_alone, n / loader_alone, "-");
  std::printf("| %-40s | %10.3f | %10.1f | %10.3f |\n", "device loader (cpu) + step (epoch)", device_full,
              n / device_full, device_full / bare);
  std::printf("| %-40s | %10.3f | %10.1f | %10s |\n", "device loader (cpu) alone", device_alone, n / device_alone, "-");
  // Even without any overlap (loader on the training thread) the data path
  // could cost at most loader_alone / bare; on a loaded machine this ratio is
  // the steadier figure, since the two timed loops see different background load.
  std::printf("loader alone / bare step: %.2f%% (upper bound without prefetch overlap)\n",
              100 * loader_alone / bare);
  const double overhead = full / bare - 1.0;
  std::printf("loader overhead: %.1f%% (limit 10%%): %s\n", 100 * overhead, overhead <= 0.10 ? "PASS" : "FAIL");
  return overhead <= 0.10 ? 0 : 3;
}
