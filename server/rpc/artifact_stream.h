// Moving artifact bytes (checkpoints, models) between a gRPC stream and the
// artifact directory, shared by the upload and download handlers of
// WorkerService and JobService.
//
// Thread-safety: each call uses only its arguments (one stream, one file).
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "server/rpc/checkpoint_files.h"

namespace lcsweep::rpc {

inline constexpr int kDefaultChunkBytes = 1 << 20;
inline constexpr int kMaxChunkBytes = 4 << 20;

// The chunk size a download uses for a requested one (0 or less: default).
inline int DownloadChunkBytes(int requested) {
  return requested <= 0 ? kDefaultChunkBytes : std::min(requested, kMaxChunkBytes);
}

// Appends every later message's chunk of an upload stream whose first
// (metadata) message was read already. INVALID_ARGUMENT for a second
// metadata message; Append's errors as they are; CANCELLED when the client
// gave up (nothing may be committed then).
template <typename Request>
Status ReceiveChunks(grpc::ServerContext* context, grpc::ServerReader<Request>* reader,
                     CheckpointFiles::Upload* upload, const char* method) {
  Request msg;
  while (reader->Read(&msg)) {
    if (msg.has_metadata()) {
      return InvalidArgumentError(std::string(method) + ": metadata may only be sent in the first message");
    }
    LCSWEEP_RETURN_IF_ERROR(upload->Append(msg.chunk()));
  }
  if (context->IsCancelled()) return CancelledError("upload cancelled; nothing stored");
  return OkStatus();
}

// Writes `first` (the metadata message), then the file at `path` in chunks
// of `chunk` bytes. OK also when the client went away mid-stream (nothing to
// report to anyone); DATA_LOSS when the file is missing or its size is not
// `size_bytes` (`what` names the artifact in the message).
template <typename Response>
Status SendFile(const Response& first, const std::string& path, int64_t size_bytes, int chunk,
                grpc::ServerWriter<Response>* writer, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return DataLossError(what + " is recorded but its file is missing: " + path);
  if (!writer->Write(first)) return OkStatus();
  std::string buf(static_cast<size_t>(chunk), '\0');
  int64_t sent = 0;
  while (in) {
    in.read(buf.data(), chunk);
    const std::streamsize got = in.gcount();
    if (got <= 0) break;
    Response part;
    part.set_chunk(buf.data(), static_cast<size_t>(got));
    if (!writer->Write(part)) return OkStatus();
    sent += got;
  }
  if (sent != size_bytes) {
    return DataLossError(what + " file " + path + " has " + std::to_string(sent) + " bytes, recorded " +
                         std::to_string(size_bytes));
  }
  return OkStatus();
}

}  // namespace lcsweep::rpc
