#include "common/field_errors.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace lcsweep {
namespace {

bool IsIdentifier(std::string_view key) {
  if (key.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_')) return false;
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

// JSON string literal for `s`, cut to a readable length.
std::string QuoteShort(std::string_view s, size_t max_len = 60) {
  std::string cut(s.substr(0, max_len));
  std::string out =
      nlohmann::json(cut).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > max_len) out.insert(out.size() - 1, "...");
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string FieldError::ToString() const {
  std::string s = path + ": found " + found + "; expected " + expected;
  if (!hint.empty()) s += "; " + hint;
  return s;
}

void FieldErrors::Add(std::string path, std::string found, std::string expected,
                      std::string hint) {
  errors_.push_back({std::move(path), std::move(found), std::move(expected), std::move(hint)});
}

void FieldErrors::Add(FieldError e) { errors_.push_back(std::move(e)); }

void FieldErrors::Append(const FieldErrors& other, std::string_view prefix) {
  for (FieldError e : other.errors_) {
    if (!prefix.empty()) {
      if (e.path == kDocumentPath) {
        e.path = std::string(prefix);
      } else if (!e.path.empty() && e.path[0] == '[') {
        e.path = std::string(prefix) + e.path;
      } else {
        e.path = std::string(prefix) + "." + e.path;
      }
    }
    errors_.push_back(std::move(e));
  }
}

Status FieldErrors::ToStatus(std::string_view what) const {
  return FieldErrorsToStatus(errors_, what);
}

Status FieldErrorsToStatus(const std::vector<FieldError>& errors, std::string_view what) {
  if (errors.empty()) return OkStatus();
  std::string msg(what);
  if (msg.empty()) {
    msg = std::to_string(errors.size()) + (errors.size() == 1 ? " error" : " errors");
  }
  msg += ":";
  for (const FieldError& e : errors) msg += "\n" + e.ToString();
  return InvalidArgumentError(std::move(msg));
}

std::string QuotedKeyPath(std::string_view parent, std::string_view key) {
  std::string p(parent == kDocumentPath ? "" : parent);
  return p + "[" + QuoteShort(key, 200) + "]";
}

std::string JoinPath(std::string_view parent, std::string_view key) {
  if (!IsIdentifier(key)) return QuotedKeyPath(parent, key);
  if (parent.empty() || parent == kDocumentPath) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string IndexPath(std::string_view parent, size_t index) {
  std::string p(parent == kDocumentPath ? "" : parent);
  return p + "[" + std::to_string(index) + "]";
}

std::string DescribeJson(const nlohmann::json& v) {
  using nlohmann::json;
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer: return std::to_string(v.get<int64_t>());
    case json::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
    case json::value_t::number_float: {
      double d = v.get<double>();
      if (!std::isfinite(d)) return "a non-finite number";
      return json(d).dump();
    }
    case json::value_t::string: return QuoteShort(v.get_ref<const std::string&>());
    case json::value_t::array:
      if (v.empty()) return "an empty array";
      return "an array of " + std::to_string(v.size()) + (v.size() == 1 ? " value" : " values");
    case json::value_t::object:
      if (v.empty()) return "an empty object";
      return "an object";
    case json::value_t::binary: return "binary data";
    case json::value_t::discarded: return "a discarded value";
  }
  return "an unknown value";
}

std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // A plausible typo: at most a third of the longer name differs (min 1, max 3 edits).
  size_t len = std::max(name.size(), best.size());
  size_t limit = std::min<size_t>(3, std::max<size_t>(1, len / 3));
  if (best.empty() || best_d > limit) return "";
  return best;
}

std::string QuoteList(const std::vector<std::string>& items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) s += (i + 1 == items.size()) ? " or " : ", ";
    s += "\"" + items[i] + "\"";
  }
  return s;
}

}  // namespace lcsweep
