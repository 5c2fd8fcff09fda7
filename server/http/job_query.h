// The job table's query language: filter terms and sort order, independent
// of where the rows come from (server/http/job_index.h), so it is testable
// alone.
//
// Filter text: space-separated terms, all of which must hold.
//   KEY OP VALUE   OP one of = (or ==), !=, <, <=, >, >=; KEY a column
//                  ("id", "state", "metric", an axis path) or the last
//                  components of one ("lc_rate" for "model.conv.lc_rate").
//                  Numeric values compare numerically when the row's value
//                  is a number, else as text.
//   TEXT           case-insensitive substring of the row's free text.
// Sort: by one column; null values last in either order; ties by job id.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lcsweep {

struct FilterTerm {
  std::string key;   // resolved column; "" = free text
  std::string op;    // "=", "!=", "<", "<=", ">", ">="
  std::string value; // lower-cased for free text
};

struct QueryError {
  std::string error;
  std::string hint;
};

// Maps a user's key to a column, nullopt when unknown.
using KeyResolver = std::function<std::optional<std::string>(const std::string&)>;

// The column `key` names among `columns` (exact, else the one whose dotted
// path ends in "." + key; the last such wins); nullopt when none.
std::optional<std::string> ResolveColumn(const std::string& key, const std::vector<std::string>& columns);

// Parses `text`; on an error `*error` says what and how to fix it
// (`columns_hint` lists the keys a user may filter on).
std::optional<std::vector<FilterTerm>> ParseFilter(const std::string& text, const KeyResolver& resolve,
                                                   const std::string& columns_hint, QueryError* error);

// Whether a keyed term holds for the row's value of its column.
bool TermHolds(const FilterTerm& term, const nlohmann::json& value);
// Whether a free-text term holds for the row's (any case) text.
bool TextHolds(const FilterTerm& term, const std::string& row_text);

// Sort order of two rows' values: true when (a, a_id) goes before (b, b_id).
bool SortBefore(const nlohmann::json& a, int64_t a_id, const nlohmann::json& b, int64_t b_id, bool descending);

}  // namespace lcsweep
