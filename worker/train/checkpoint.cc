#include "worker/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <mutex>

namespace lcsweep::train {

nlohmann::json TrainStateToJson(const TrainState& s) {
  return {{"format", 1},
          {"epoch", s.epoch},
          {"batch", s.batch},
          {"step", s.step},
          {"epoch_loss_sum", s.epoch_loss_sum},
          {"epoch_correct", s.epoch_correct},
          {"epoch_seen", s.epoch_seen},
          {"epoch_seconds", s.epoch_seconds},
          {"history", s.history},
          {"train_seconds", s.train_seconds},
          {"bad_images", s.bad_images},
          {"config_hash", s.config_hash}};
}

StatusOr<TrainState> TrainStateFromJson(const nlohmann::json& j) {
  try {
    if (j.at("format").get<int>() != 1) return DataLossError("unsupported checkpoint format");
    TrainState s;
    s.epoch = j.at("epoch").get<int64_t>();
    s.batch = j.at("batch").get<int64_t>();
    s.step = j.at("step").get<int64_t>();
    s.epoch_loss_sum = j.at("epoch_loss_sum").get<double>();
    s.epoch_correct = j.at("epoch_correct").get<int64_t>();
    s.epoch_seen = j.at("epoch_seen").get<int64_t>();
    s.epoch_seconds = j.at("epoch_seconds").get<double>();
    s.history = j.at("history");
    s.train_seconds = j.at("train_seconds").get<double>();
    s.bad_images = j.at("bad_images").get<int64_t>();
    s.config_hash = j.at("config_hash").get<std::string>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    return DataLossError(std::string("checkpoint state is incomplete: ") + e.what());
  }
}

namespace {

torch::Tensor StringTensor(const std::string& s) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}

std::string TensorString(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU).contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

}  // namespace

Status SaveCheckpoint(const std::string& path, nn::NetworkImpl& model, torch::optim::Optimizer& optimizer,
                      const TrainState& state, int64_t* bytes) {
  const std::string tmp = path + ".tmp";
  try {
    torch::serialize::OutputArchive archive;
    for (const auto& [name, tensor] : model.CheckpointState()) {
      archive.write("model/" + name, tensor.detach().to(torch::kCPU), /*is_buffer=*/true);
    }
    torch::serialize::OutputArchive opt;
    optimizer.save(opt);
    archive.write("optimizer", opt);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      archive.write("rng/torch_cpu", gen.get_state(), true);
    }
    archive.write("state", StringTensor(TrainStateToJson(state).dump()), true);
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    return InternalError(path + ": writing checkpoint failed: " + e.what_without_backtrace());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    std::remove(tmp.c_str());
    return InternalError(path + ": cannot move checkpoint into place: " + err);
  }
  struct stat st;
  *bytes = ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
  return OkStatus();
}

StatusOr<TrainState> LoadCheckpoint(const std::string& path, nn::NetworkImpl& model,
                                    torch::optim::Optimizer& optimizer, torch::Device device) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return NotFoundError(path + ": no such checkpoint file");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  TrainState state;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    for (const auto& [name, tensor] : model.CheckpointState()) {
      torch::Tensor t;
      if (!archive.try_read("model/" + name, t, true)) {
        return InvalidArgumentError(path + ": checkpoint has no tensor '" + name +
                                    "'; it was written for a different model");
      }
      tensors.emplace_back(name, t);
    }
    LCSWEEP_RETURN_IF_ERROR(nn::LoadCheckpointState(model, tensors));
    torch::serialize::InputArchive opt;
    archive.read("optimizer", opt);
    optimizer.load(opt);
    torch::Tensor rng;
    archive.read("rng/torch_cpu", rng, true);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng.to(torch::kCPU));
    }
    torch::Tensor meta;
    archive.read("state", meta, true);
    nlohmann::json j = nlohmann::json::parse(TensorString(meta));
    LCSWEEP_ASSIGN_OR_RETURN(state, TrainStateFromJson(j));
  } catch (const c10::Error& e) {
    return DataLossError(path + ": unreadable or incomplete checkpoint: " + e.what_without_backtrace());
  } catch (const nlohmann::json::exception& e) {
    return DataLossError(path + ": checkpoint state is not valid JSON: " + e.what());
  }
  return state;
}

}  // namespace lcsweep::train
