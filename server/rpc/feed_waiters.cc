// FeedWaiters (see feed_waiters.h).
#include "server/rpc/feed_waiters.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace lcsweep::rpc {
namespace {

// Whether a change may have made a queued job leasable.
bool MayLease(const Change& c) {
  return c.kind == Change::Kind::kSweep ||
         (c.kind == Change::Kind::kJob && c.state == JobState::kQueued);
}

// The longest the dispatcher sleeps with nothing due (it also wakes on every
// change and every Park).
constexpr std::chrono::seconds kIdle(5);

}  // namespace

FeedWaiters::FeedWaiters(ChangeFeed* feed) : feed_(feed) {
  subscription_ = feed_->Subscribe([this] {
    {
      MutexLock lock(&mu_);
      fed_ = true;
    }
    cv_.NotifyAll();
  });
  thread_ = std::thread([this] { Run(); });
}

FeedWaiters::~FeedWaiters() { Stop(); }

void FeedWaiters::Park(FeedWaiter* waiter, Kind kind, uint64_t cursor,
                       std::chrono::steady_clock::time_point deadline) {
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      parked_[waiter] = Entry{kind, cursor, deadline, poked_.erase(waiter) > 0};
      fed_ = true;  // look at the feed from this cursor now
      cv_.NotifyAll();
      return;
    }
  }
  waiter->OnWake(/*stopping=*/true);
}

void FeedWaiters::Poke(FeedWaiter* waiter) {
  {
    MutexLock lock(&mu_);
    auto it = parked_.find(waiter);
    if (it == parked_.end()) {
      poked_.insert(waiter);
      return;
    }
    it->second.poked = true;
  }
  cv_.NotifyAll();
}

void FeedWaiters::Forget(FeedWaiter* waiter) {
  MutexLock lock(&mu_);
  parked_.erase(waiter);
  poked_.erase(waiter);
}

size_t FeedWaiters::parked() const {
  MutexLock lock(&mu_);
  return parked_.size();
}

void FeedWaiters::Stop() {
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
  feed_->Unsubscribe(subscription_);
}

void FeedWaiters::Run() {
  while (true) {
    std::vector<std::pair<FeedWaiter*, bool>> due;  // (waiter, stopping)
    {
      MutexLock lock(&mu_);
      auto next_deadline = [&]() LCSWEEP_NO_THREAD_SAFETY_ANALYSIS {  // under mu_
        auto t = std::chrono::steady_clock::now() + kIdle;
        for (const auto& [w, e] : parked_) t = std::min(t, e.deadline);
        return t;
      };
      const auto until = next_deadline();
      const auto now = std::chrono::steady_clock::now();
      if (!fed_ && !stopping_ && until > now) {
        cv_.WaitFor(&lock, std::chrono::ceil<std::chrono::milliseconds>(until - now),
                    [&]() LCSWEEP_NO_THREAD_SAFETY_ANALYSIS {  // under mu_
                      if (fed_ || stopping_) return true;
                      for (const auto& [w, e] : parked_)
                        if (e.poked) return true;
                      return false;
                    });
      }
      const bool stopping = stopping_;
      const bool fed = fed_;
      fed_ = false;
      // Per kind, the oldest cursor parked: read the feed once from there.
      uint64_t from = UINT64_MAX;
      for (const auto& [w, e] : parked_) from = std::min(from, e.cursor);
      ChangeFeed::Batch batch;
      if (fed && from != UINT64_MAX) batch = feed_->Read(from);
      // Sequence number of the last change that may make a job leasable: a
      // lease waiter is due if it lies at or past the waiter's cursor.
      bool any_lease = false;
      uint64_t last_lease = 0;
      uint64_t seq = batch.next_cursor - batch.changes.size();
      for (const auto& c : batch.changes) {
        if (MayLease(*c)) {
          any_lease = true;
          last_lease = seq;
        }
        ++seq;
      }
      const auto now_t = std::chrono::steady_clock::now();
      for (auto it = parked_.begin(); it != parked_.end();) {
        const Entry& e = it->second;
        bool wake = stopping || e.poked || now_t >= e.deadline || batch.lost;
        if (!wake && e.kind == Kind::kAny) wake = batch.next_cursor > e.cursor;
        if (!wake && e.kind == Kind::kLease) wake = any_lease && last_lease >= e.cursor;
        if (wake) {
          due.push_back({it->first, stopping});
          it = parked_.erase(it);
        } else {
          ++it;
        }
      }
      if (stopping && due.empty()) return;
    }
    // Outside mu_: a waiter parks itself again from its OnWake.
    for (auto& [waiter, stopping] : due) waiter->OnWake(stopping);
  }
}

}  // namespace lcsweep::rpc
