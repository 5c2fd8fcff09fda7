// Text helpers shared by the CLI's renderers: bars, durations, times, axes,
// numbers and proto JSON. Every function is pure; the current time is a
// parameter (now_ms) so that renderers can be tested with a fixed clock.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include <google/protobuf/message.h>

#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::cli {

// "[#####.....]  42%"; a fraction outside [0, 1] (or NaN) is clamped.
std::string ProgressBar(double fraction, int width);
// "1h02m", "3m05s", "12s"; "?" for a negative or non-finite duration.
std::string FormatDuration(double seconds);
// "lc_rate=8 spatial=frozen seed=0" from a job's axes_json (last path part
// of each axis); "" when axes_json is not a JSON object.
std::string AxesText(const std::string& axes_json);
// "2024-05-01 12:00:00Z" (UTC); "-" for 0 or less.
std::string TimeText(int64_t ms);
// "3m05s ago" relative to now_ms; "-" for 0 or less.
std::string AgoText(int64_t ms, int64_t now_ms);
// Milliseconds since the epoch (the now_ms of commands).
int64_t NowMs();
// A message as indented JSON with the proto field names.
std::string ToJson(const google::protobuf::Message& m);
// 0.9123 -> "91.23%".
std::string Pct(double fraction);
// Fixed decimals: Num(0.5, 2) = "0.50".
std::string Num(double v, int decimals = 4);
// "%.17g": round-trips a double exactly (CSV exports).
std::string ExactNum(double v);
// "1,2,3"; `sep` between the values.
template <typename Range>
std::string JoinIds(const Range& ids, const char* sep = ",") {
  std::string out;
  for (int64_t id : ids) out += (out.empty() ? "" : sep) + std::to_string(id);
  return out;
}
// A job's live progress: "epoch 1/2 step 30/100" (queued/running only).
std::string ProgressText(const v1::Job& j);
// The job's test accuracy in percent: final.test_accuracy when it
// succeeded, the last reported test.accuracy while it runs; "" otherwise.
std::string FinalAccuracy(const v1::Job& j);

}  // namespace lcsweep::cli
