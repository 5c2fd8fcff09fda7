// LeaseJob's long poll and the watch streams as callback-API reactors (see
// long_polls.h).
#include "server/rpc/long_polls.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <utility>

#include "common/mutex.h"
#include "proto/convert.h"
#include "server/rpc/convert.h"
#include "server/rpc/feed_waiters.h"

namespace lcsweep::rpc {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

class LeasePoll final : public grpc::ServerUnaryReactor, public FeedWaiter {
 public:
  LeasePoll(const ServiceEnv* env, grpc::CallbackServerContext* context, LeaseRequest request,
            v1::LeaseJobResponse* response, SteadyTime deadline)
      : env_(env), context_(context), request_(std::move(request)), response_(response),
        deadline_(deadline) {}

  // One attempt; parks until a job may have become leasable if none fits.
  // Finish or Park is its last action: after either, `this` may be gone.
  void Try() {
    // The cursor before the attempt: a job queued between the attempt and
    // the park still wakes this poll.
    const uint64_t cursor = env_->coordinator->feed().Cursor();
    if (cancelled_.load()) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled"));
    StatusOr<std::optional<Lease>> lease = env_->coordinator->LeaseJob(request_);
    if (!lease.ok()) return Finish(ToGrpcStatus(lease.status()));
    if (lease->has_value()) {
      if (cancelled_.load() || context_->IsCancelled()) {
        // The worker is gone: give the job straight back, attempt unchanged.
        env_->coordinator->ReleaseJob((*lease)->token, "lease reply not deliverable");
        return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled"));
      }
      AfterCommit(*env_, "LeaseJob");
      ToProto(**lease, response_->mutable_lease());
      return Finish(grpc::Status::OK);
    }
    if (std::chrono::steady_clock::now() >= deadline_ || env_->stopping->load())
      return Finish(grpc::Status::OK);  // no lease this time
    env_->waiters->Park(this, FeedWaiters::Kind::kLease, cursor, deadline_);
  }

  void OnWake(bool stopping) override {
    if (stopping) return Finish(grpc::Status::OK);
    Try();
  }
  void OnCancel() override {
    cancelled_ = true;
    env_->waiters->Poke(this);
  }
  void OnDone() override {
    env_->waiters->Forget(this);
    delete this;
  }

 private:
  const ServiceEnv* const env_;
  grpc::CallbackServerContext* const context_;
  const LeaseRequest request_;
  v1::LeaseJobResponse* const response_;
  const SteadyTime deadline_;
  std::atomic<bool> cancelled_{false};
};

class Watch final : public grpc::ServerWriteReactor<v1::WatchResponse>, public FeedWaiter {
 public:
  Watch(const ServiceEnv* env, std::unique_ptr<WatchSession> session)
      : env_(env), session_(std::move(session)) {}

  // Decides under mu_ and acts after releasing it: Finish may delete this,
  // and Park may call OnWake on this thread.
  void Pump() {
    enum class Next { kNothing, kWrite, kFinish, kPark } next = Next::kNothing;
    grpc::Status status;
    const v1::WatchResponse* msg = nullptr;
    uint64_t cursor = 0;
    {
      MutexLock lock(&mu_);
      if (done_ || writing_) return;
      if (cancelled_) {
        status = grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
      } else if (stopping_ || env_->stopping->load()) {
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "coordinator shutting down");
      } else {
        if (queue_.empty()) queue_ = session_->Next();
        if (!queue_.empty()) {
          writing_ = true;
          msg = &queue_.front();  // a deque keeps it in place while more arrive
          next = Next::kWrite;
        } else if (session_->finished()) {
          status = grpc::Status::OK;
        } else {
          cursor = session_->cursor();
          next = Next::kPark;
        }
      }
      if (next == Next::kNothing) {
        done_ = true;
        next = Next::kFinish;
      }
    }
    switch (next) {
      case Next::kWrite:
        StartWrite(msg);
        break;
      case Next::kFinish:
        Finish(status);
        break;
      case Next::kPark:
        env_->waiters->Park(this, FeedWaiters::Kind::kAny, cursor,
                            std::chrono::steady_clock::now() + std::chrono::hours(24));
        break;
      case Next::kNothing:
        break;
    }
  }

  void OnWriteDone(bool ok) override {
    {
      MutexLock lock(&mu_);
      writing_ = false;
      queue_.pop_front();
      if (!ok) cancelled_ = true;  // the client is gone
    }
    Pump();
  }
  void OnWake(bool stopping) override {
    {
      MutexLock lock(&mu_);
      stopping_ = stopping_ || stopping;
    }
    Pump();
  }
  void OnCancel() override {
    {
      MutexLock lock(&mu_);
      cancelled_ = true;
    }
    env_->waiters->Poke(this);
  }
  void OnDone() override {
    env_->waiters->Forget(this);
    delete this;
  }

 private:
  const ServiceEnv* const env_;
  Mutex mu_;
  std::unique_ptr<WatchSession> session_ LCSWEEP_PT_GUARDED_BY(mu_);
  std::deque<v1::WatchResponse> queue_ LCSWEEP_GUARDED_BY(mu_);  // front: being written
  bool writing_ LCSWEEP_GUARDED_BY(mu_) = false;
  bool cancelled_ LCSWEEP_GUARDED_BY(mu_) = false;
  bool stopping_ LCSWEEP_GUARDED_BY(mu_) = false;
  bool done_ LCSWEEP_GUARDED_BY(mu_) = false;  // Finish decided
};

class Refused final : public grpc::ServerWriteReactor<v1::WatchResponse> {
 public:
  explicit Refused(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* StartLeasePoll(const ServiceEnv* env,
                                         grpc::CallbackServerContext* context,
                                         const v1::LeaseJobRequest* request,
                                         v1::LeaseJobResponse* response) {
  const int wait_s = std::min(request->wait_seconds(), env->max_lease_wait_seconds);
  auto* poll = new LeasePoll(env, context, FromProto(*request), response,
                             std::chrono::steady_clock::now() + std::chrono::seconds(wait_s));
  poll->Try();
  return poll;
}

grpc::ServerWriteReactor<v1::WatchResponse>* StartWatch(const ServiceEnv* env,
                                                        grpc::CallbackServerContext*,
                                                        std::unique_ptr<WatchSession> session) {
  auto* watch = new Watch(env, std::move(session));
  watch->Pump();
  return watch;
}

grpc::ServerWriteReactor<v1::WatchResponse>* RefusedWatch(const grpc::Status& status) {
  return new Refused(status);
}

}  // namespace lcsweep::rpc
