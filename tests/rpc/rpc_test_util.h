// Test harness: a real coordinator stack in-process (SqliteStore on a temp
// file, Coordinator, RpcServer on a loopback ephemeral port) and client
// helpers that attach bearer tokens.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "server/auth/token_table.h"
#include "server/core/clock.h"
#include "server/core/coordinator.h"
#include "server/rpc/server.h"
#include "server/store/sqlite_store.h"

namespace lcsweep::testing {

// A fresh directory under $TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lcsweep-rpc-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline const char* kAdminToken = "admin-token-0123456789abcdef";
inline const char* kClientToken = "client-token-0123456789abcdef";
inline const char* kReadOnlyToken = "readonly-token-0123456789abcdef";
inline const char* kWorkerToken = "worker-token-0123456789abcdef";

// The tokens file the way `lcsweep token` writes it: digests, never the tokens.
inline std::string TokensFileText() {
  using auth::Role;
  using auth::TokenFileLine;
  return TokenFileLine(kAdminToken, Role::kAdmin, "alice") + "\n" +
         TokenFileLine(kClientToken, Role::kClient, "bob") + "\n" +
         TokenFileLine(kReadOnlyToken, Role::kReadOnly, "carol") + "\n" +
         TokenFileLine(kWorkerToken, Role::kWorker, "w1") + "\n";
}

struct StackOptions {
  bool auth = false;
  int max_message_bytes = 16 << 20;
  int64_t lease_ttl_ms = 60'000;
  int keep_checkpoints = 2;
  int64_t reap_interval_ms = 0;
  std::string tls_cert_file;  // PEM; TLS when set (with tls_key_file)
  std::string tls_key_file;
  std::function<void(const char* method)> after_commit;  // fault hook (ServiceEnv)
};

// SqliteStore + Coordinator + RpcServer. Tear-down order mirrors main.cc.
class Stack {
 public:
  explicit Stack(const std::string& dir, StackOptions opts = {}) {
    auto store = SqliteStore::Open(dir + "/lcsweep.db");
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    CoordinatorOptions co;
    co.lease_ttl_ms = opts.lease_ttl_ms;
    co.heartbeat_interval_ms = opts.lease_ttl_ms / 4;
    co.keep_checkpoints = opts.keep_checkpoints;
    auto coord = Coordinator::Create(store_.get(), SystemClock::Get(), co);
    EXPECT_TRUE(coord.ok()) << coord.status().ToString();
    coordinator_ = std::move(coord).value();
    rpc::RpcServerOptions ro;
    ro.listen = "127.0.0.1:0";
    ro.artifacts_dir = dir + "/artifacts";
    ro.max_message_bytes = opts.max_message_bytes;
    ro.reap_interval_ms = opts.reap_interval_ms;
    ro.tls_cert_file = opts.tls_cert_file;
    ro.tls_key_file = opts.tls_key_file;
    ro.after_commit = opts.after_commit;
    if (opts.auth) {
      auto tokens = rpc::TokenTable::Parse(TokensFileText());
      EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
      ro.tokens = std::move(tokens).value();
    }
    auto server = rpc::RpcServer::Start(coordinator_.get(), SystemClock::Get(), ro);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    if (server_) {
      channel_ = grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(),
                                           args);
    }
  }
  ~Stack() {
    if (server_) server_->Shutdown(std::chrono::seconds(5));
    if (coordinator_) coordinator_->Shutdown();
    server_.reset();
    coordinator_.reset();
    store_.reset();
  }

  std::unique_ptr<v1::JobService::Stub> jobs() { return v1::JobService::NewStub(channel_); }
  std::unique_ptr<v1::WorkerService::Stub> workers() { return v1::WorkerService::NewStub(channel_); }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  Coordinator* coordinator() { return coordinator_.get(); }
  rpc::RpcServer* server() { return server_.get(); }

 private:
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<rpc::RpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A ClientContext with a deadline and (optionally) a bearer token.
inline std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "",
                                                int deadline_s = 30) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_s));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

// A small valid sweep: `rates` LC rates x `seeds` seeds, cheap synthetic data.
inline std::string SweepSpec(const std::string& name, int rates = 2, int seeds = 2) {
  std::string r, s;
  for (int i = 0; i < rates; ++i) r += (i ? "," : "") + std::to_string(1 << i);
  for (int i = 0; i < seeds; ++i) s += (i ? "," : "") + std::to_string(i);
  return R"({"name": ")" + name + R"(", "base": {"data": {"name": "synthetic"}, "train": {"epochs": 1}},
             "grid": {"model.conv.lc_rate": [)" + r + R"(]}, "seeds": [)" + s + "]}";
}

}  // namespace lcsweep::testing
