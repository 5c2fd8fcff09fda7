#include "cli/format.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "analysis/groups.h"

namespace lcsweep::cli {

std::string ProgressBar(double fraction, int width) {
  fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
  int filled = static_cast<int>(std::round(fraction * width));
  char pct[16];
  std::snprintf(pct, sizeof(pct), "%3d%%", static_cast<int>(std::floor(fraction * 100 + 1e-9)));
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " + pct;
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof(buf), "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else if (s >= 60) std::snprintf(buf, sizeof(buf), "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  else std::snprintf(buf, sizeof(buf), "%llds", (long long)s);
  return buf;
}

std::string AxesText(const std::string& axes_json) {
  nlohmann::json axes = nlohmann::json::parse(axes_json, nullptr, false);
  if (!axes.is_object()) return "";
  std::string out;
  for (const auto& [k, v] : axes.items()) {
    std::string name = k.substr(k.rfind('.') == std::string::npos ? 0 : k.rfind('.') + 1);
    if (!out.empty()) out += " ";
    out += name + "=" + analysis::AxisValueText(v);
  }
  return out;
}

std::string TimeText(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string AgoText(int64_t ms, int64_t now_ms) {
  if (ms <= 0) return "-";
  return FormatDuration((now_ms - ms) / 1000.0) + " ago";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string Pct(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f%%", fraction * 100);
  return buf;
}

std::string Num(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string ExactNum(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string ProgressText(const v1::Job& j) {
  if (j.state() != v1::JOB_STATE_RUNNING && j.state() != v1::JOB_STATE_QUEUED) return "";
  const auto& m = j.progress().metrics();
  std::string out;
  if (j.progress().updated_at_ms() > 0) {
    out = "epoch " + std::to_string(j.progress().epoch());
    if (m.count("epochs")) out += "/" + std::to_string(static_cast<int64_t>(m.at("epochs")));
    out += " step " + std::to_string(j.progress().step());
    if (m.count("total_steps")) out += "/" + std::to_string(static_cast<int64_t>(m.at("total_steps")));
  }
  return out;
}

std::string FinalAccuracy(const v1::Job& j) {
  if (j.state() == v1::JOB_STATE_SUCCEEDED) {
    nlohmann::json r = nlohmann::json::parse(j.result_json(), nullptr, false);
    if (r.is_object() && r.contains("final") && r["final"].is_object() &&
        r["final"].contains("test_accuracy") && r["final"]["test_accuracy"].is_number()) {
      return Pct(r["final"]["test_accuracy"].get<double>());
    }
    return "";
  }
  auto it = j.progress().metrics().find("test.accuracy");
  return it == j.progress().metrics().end() ? "" : Pct(it->second);
}

}  // namespace lcsweep::cli
