// WatchSession: what one WatchJob or WatchSweep stream sends, apart from how
// the stream is driven (server/rpc/watch_reactor.cc writes it with gRPC's
// callback API). A session reads the coordinator's ChangeFeed from a cursor
// taken before its snapshot, so no change between the two is missed (one may
// be sent twice, which snapshots tolerate), and turns the changes it cares
// about into WatchResponse messages: a job change into the job as it is now
// (read fresh, so a burst of changes costs one message), an audit entry and
// metric points as they are. A session that fell behind the feed's ring
// (ChangeFeed::Batch::lost) sends the snapshot of its jobs again.
//
// Thread-safety: not thread-safe; one driver calls it at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "common/status.h"
#include "lcsweep/v1/coordinator.pb.h"
#include "server/core/coordinator.h"

namespace lcsweep::rpc {

class WatchSession {
 public:
  // NOT_FOUND for an unknown job or sweep. The coordinator must outlive the
  // session.
  static StatusOr<std::unique_ptr<WatchSession>> ForJob(Coordinator* coordinator,
                                                        const v1::WatchJobRequest& request);
  static StatusOr<std::unique_ptr<WatchSession>> ForSweep(Coordinator* coordinator,
                                                          const v1::WatchSweepRequest& request);

  // The messages to send now: at first the snapshot, then what the feed
  // holds past the cursor (never waits).
  std::deque<v1::WatchResponse> Next();
  // Whether the stream is over: the job (every job of the sweep) is final
  // and what the feed held up to then was sent.
  bool finished() const { return finished_; }
  // Where the session reads the feed next (for ChangeFeed::Wait).
  uint64_t cursor() const { return cursor_; }

  WatchSession(const WatchSession&) = delete;
  WatchSession& operator=(const WatchSession&) = delete;

 private:
  WatchSession(Coordinator* coordinator, bool events, bool metrics);
  // Appends the current record of `job_id` if newer than the last one sent.
  void SendJob(int64_t job_id, std::deque<v1::WatchResponse>* out);
  // Appends the snapshot: the job(s), then stored events and metric points.
  Status Snapshot(std::deque<v1::WatchResponse>* out);
  void SendHistory(int64_t job_id, std::deque<v1::WatchResponse>* out);
  void SendPoints(int64_t job_id, const Change& change, std::deque<v1::WatchResponse>* out);
  bool Watches(int64_t job_id) const;
  void CheckFinished();

  Coordinator* const coordinator_;
  const bool events_;
  const bool metrics_;
  int64_t job_id_ = 0;    // WatchJob
  int64_t sweep_id_ = 0;  // WatchSweep
  uint64_t cursor_ = 0;
  std::deque<v1::WatchResponse> pending_;  // the snapshot, until the first Next()
  std::set<int64_t> members_;              // WatchSweep: the sweep's jobs
  std::map<int64_t, uint64_t> sent_;       // job id -> version last sent
  // job id -> its state as of the snapshot or the newest change read
  std::map<int64_t, JobState> states_;
  bool finished_ = false;
};

}  // namespace lcsweep::rpc
