// The job table's filter and sort (see job_query.h).
#include "server/http/job_query.h"

#include <cstdlib>
#include <set>

#include "analysis/groups.h"
#include "server/http/api_types.h"

namespace lcsweep {

std::optional<std::string> ResolveColumn(const std::string& key, const std::vector<std::string>& columns) {
  for (const auto& c : columns) {
    if (c == key) return c;
  }
  std::optional<std::string> found;
  for (const auto& path : columns) {
    if (path.size() > key.size() && path.compare(path.size() - key.size(), key.size(), key) == 0 &&
        path[path.size() - key.size() - 1] == '.') {
      found = path;
    }
  }
  return found;
}

std::optional<std::vector<FilterTerm>> ParseFilter(const std::string& text, const KeyResolver& resolve,
                                                   const std::string& columns_hint, QueryError* error) {
  static const std::set<std::string> kOps = {"=", "!=", "<", "<=", ">", ">="};
  std::vector<FilterTerm> terms;
  for (const auto& tok : api::SplitList(text, ' ')) {
    FilterTerm t;
    const size_t pos = tok.find_first_of("=<>!");
    if (pos == std::string::npos || pos == 0) {
      t.value = api::Lower(tok);
      terms.push_back(t);
      continue;
    }
    size_t end = pos;
    while (end < tok.size() && std::string("=<>!").find(tok[end]) != std::string::npos) ++end;
    t.op = tok.substr(pos, end - pos);
    if (t.op == "==") t.op = "=";
    if (!kOps.count(t.op)) {
      *error = {"bad operator '" + t.op + "' in filter term '" + tok + "'",
                "use key=value, key!=value, key<value, key<=value, key>value or key>=value"};
      return std::nullopt;
    }
    auto key = resolve(tok.substr(0, pos));
    if (!key) {
      *error = {"unknown filter key '" + tok.substr(0, pos) + "'",
                "filter on id, state, attempt, worker, metric, variant or an axis:" + columns_hint};
      return std::nullopt;
    }
    t.key = *key;
    t.value = tok.substr(end);
    terms.push_back(t);
  }
  return terms;
}

bool TermHolds(const FilterTerm& t, const nlohmann::json& v) {
  int cmp;
  char* end = nullptr;
  const double num = std::strtod(t.value.c_str(), &end);
  if (v.is_number() && end && *end == '\0' && !t.value.empty()) {
    const double d = v.get<double>();
    cmp = d < num ? -1 : (d > num ? 1 : 0);
  } else {
    const std::string s = analysis::AxisValueText(v);
    cmp = s < t.value ? -1 : (s > t.value ? 1 : 0);
  }
  if (t.op == "=") return cmp == 0;
  if (t.op == "!=") return cmp != 0;
  if (t.op == "<") return cmp < 0;
  if (t.op == "<=") return cmp <= 0;
  if (t.op == ">") return cmp > 0;
  if (t.op == ">=") return cmp >= 0;
  return false;
}

bool TextHolds(const FilterTerm& t, const std::string& row_text) {
  return api::Lower(row_text).find(t.value) != std::string::npos;
}

bool SortBefore(const nlohmann::json& a, int64_t a_id, const nlohmann::json& b, int64_t b_id, bool descending) {
  if (a.is_null() != b.is_null()) return b.is_null();
  if (analysis::JsonLess(a, b)) return !descending;
  if (analysis::JsonLess(b, a)) return descending;
  return a_id < b_id;
}

}  // namespace lcsweep
