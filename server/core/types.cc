// Names of the coordinator's enums (server/core/types.h).
#include "server/core/types.h"

namespace lcsweep {

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
    case JobState::kStopped: return "stopped";
  }
  return "unknown";
}

std::optional<JobState> ParseJobState(const std::string& name) {
  for (int i = 0; i < kNumJobStates; ++i) {
    JobState s = static_cast<JobState>(i);
    if (name == JobStateName(s)) return s;
  }
  return std::nullopt;
}

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled || state == JobState::kStopped;
}

const char* SubmitOutcomeName(SubmitOutcome outcome) {
  switch (outcome) {
    case SubmitOutcome::kCreated: return "created";
    case SubmitOutcome::kReused: return "reused";
    case SubmitOutcome::kReusedResult: return "reused_result";
    case SubmitOutcome::kRequeued: return "requeued";
    case SubmitOutcome::kForced: return "forced";
  }
  return "unknown";
}

StatusOr<int64_t> ParseIdPageToken(const std::string& token) {
  if (token.empty()) return int64_t{0};
  int64_t v = 0;
  bool ok = token.size() <= 18;
  for (char c : token) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) v = v * 10 + (c - '0');
  }
  if (!ok)
    return InvalidArgumentError("page_token: \"" + token.substr(0, 32) +
                                "\" is not a token of this server; pass the next_page_token of "
                                "the previous reply unchanged");
  return v;
}

}  // namespace lcsweep
