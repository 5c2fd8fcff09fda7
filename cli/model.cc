#include "cli/model.h"

#include <cstdio>
#include <fstream>

#include "cli/call.h"
#include "cli/format.h"
#include "common/sha256.h"
#include "lcsweep/v1/coordinator.grpc.pb.h"

namespace lcsweep::cli {

int RunModel(const ConnectionFlags& flags, const ModelArgs& args, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    const std::string what = "the model of job " + std::to_string(args.job);
    const std::string part = args.out + ".part";
    v1::GetModelRequest req;
    req.set_job_id(args.job);
    // No deadline: a large model on a slow link may take longer than one call's timeout.
    auto ctx = c.Context(/*deadline=*/false);
    auto reader = c.jobs().GetModel(ctx.get(), req);
    std::ofstream out;
    v1::Model meta;
    bool have_meta = false;
    int64_t received = 0;
    Sha256 hash;
    v1::GetModelResponse msg;
    while (reader->Read(&msg)) {
      if (msg.has_metadata()) {
        meta = msg.metadata();
        have_meta = true;
        out.open(part, std::ios::binary | std::ios::trunc);
        if (!out) {
          ctx->TryCancel();
          reader->Finish();
          return InvalidArgumentError("cannot write " + part);
        }
        continue;
      }
      if (!have_meta) continue;
      hash.Update(msg.chunk());
      out.write(msg.chunk().data(), static_cast<std::streamsize>(msg.chunk().size()));
      received += static_cast<int64_t>(msg.chunk().size());
    }
    grpc::Status st = reader->Finish();
    if (out.is_open()) out.close();
    auto discard = [&] { std::remove(part.c_str()); };
    if (!st.ok()) {
      discard();
      return c.Explain(st, what);
    }
    if (!have_meta) {
      discard();
      return DataLossError(what + ": the coordinator sent no metadata");
    }
    const std::string digest = hash.FinishHex();
    if (received != meta.size_bytes() || digest != meta.sha256()) {
      discard();
      return DataLossError(what + ": received " + std::to_string(received) + " bytes hashing to " + digest +
                           ", expected " + std::to_string(meta.size_bytes()) + " bytes with SHA-256 " +
                           meta.sha256() + "; nothing written");
    }
    if (!out || std::rename(part.c_str(), args.out.c_str()) != 0) {
      discard();
      return InvalidArgumentError("cannot write " + args.out);
    }
    if (args.json) {
      io.out << ToJson(meta) << "\n";
    } else {
      io.out << "job " << meta.job_id() << " model: " << args.out << " (" << meta.size_bytes()
             << " bytes, sha256 " << meta.sha256() << ", verified)\n";
    }
    return OkStatus();
  });
}

}  // namespace lcsweep::cli
