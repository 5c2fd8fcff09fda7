// Mutex and MutexLock: std::mutex and a scoped lock with the clang
// thread-safety annotations (common/thread_annotations.h), so members can be
// declared LCSWEEP_GUARDED_BY(mu_) and the compiler checks every access.
// CondVar waits on a MutexLock (the lock is released while waiting and held
// again when Wait returns, as with std::condition_variable).
// Thread-safety: as std::mutex / std::condition_variable_any.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/thread_annotations.h"

namespace lcsweep {

class LCSWEEP_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  void lock() LCSWEEP_ACQUIRE() { mu_.lock(); }
  void unlock() LCSWEEP_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds `mu` from construction to destruction.
class LCSWEEP_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) LCSWEEP_ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() LCSWEEP_RELEASE() { mu_->unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  // For CondVar (std::condition_variable_any's BasicLockable).
  void lock() LCSWEEP_NO_THREAD_SAFETY_ANALYSIS { mu_->lock(); }
  void unlock() LCSWEEP_NO_THREAD_SAFETY_ANALYSIS { mu_->unlock(); }

 private:
  Mutex* const mu_;
};

class CondVar {
 public:
  void NotifyAll() { cv_.notify_all(); }
  void NotifyOne() { cv_.notify_one(); }
  // Waits until `done()` holds (checked with the lock held) or `timeout`.
  template <typename Pred>
  bool WaitFor(MutexLock* lock, std::chrono::milliseconds timeout, Pred done) {
    return cv_.wait_for(*lock, timeout, done);
  }
  template <typename Pred>
  void Wait(MutexLock* lock, Pred done) {
    cv_.wait(*lock, done);
  }

 private:
  std::condition_variable_any cv_;
};

}  // namespace lcsweep
