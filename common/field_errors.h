// FieldError: one problem in a JSON document (a job config or a sweep), with
// the path of the offending field, what was found there and what is allowed.
// FieldErrors collects every problem of a document so that all of them are
// reported at once.
//
// Path notation (used by every parser in common/):
//   - object keys are joined with '.':            model.conv.lc_rate
//   - array elements are "[i]":                   eval.severities[2]
//   - keys that are themselves dotted paths (sweep axes), or that are not
//     plain identifiers, are quoted in brackets: grid["model.conv.lc_rate"][3]
//   - the whole document is "(document)".
// One error renders as one line: "path: found X; expected Y" (plus
// "; did you mean "Z"?" when a close name exists).
//
// Thread-safety: values; a FieldErrors is used by one thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace lcsweep {

inline constexpr const char* kDocumentPath = "(document)";

struct FieldError {
  std::string path;      // see the notation above
  std::string found;     // e.g. "-2", "\"relu6\"", "an unknown key", "nothing"
  std::string expected;  // e.g. "an integer >= 1"
  std::string hint;      // optional, e.g. "did you mean \"intermediate\"?"

  // "path: found X; expected Y[; hint]".
  std::string ToString() const;
  bool operator==(const FieldError& o) const {
    return path == o.path && found == o.found && expected == o.expected && hint == o.hint;
  }
};

class FieldErrors {
 public:
  void Add(std::string path, std::string found, std::string expected, std::string hint = "");
  void Add(FieldError e);
  // Appends `other`'s errors; when `prefix` is not empty each path p becomes
  // JoinPath(prefix, p) (so "model.depth" under "base" is "base.model.depth").
  void Append(const FieldErrors& other, std::string_view prefix = "");
  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  const std::vector<FieldError>& errors() const { return errors_; }
  std::vector<FieldError>& mutable_errors() { return errors_; }
  // OK when empty, else INVALID_ARGUMENT with one error per line.
  Status ToStatus(std::string_view what = "") const;

 private:
  std::vector<FieldError> errors_;
};

// INVALID_ARGUMENT whose message is `what` (if any) followed by one line per
// error, "path: found X; expected Y". OK when `errors` is empty.
Status FieldErrorsToStatus(const std::vector<FieldError>& errors, std::string_view what = "");

// Path building (see notation above).
std::string JoinPath(std::string_view parent, std::string_view key);   // a.b or a["x.y"]
std::string IndexPath(std::string_view parent, size_t index);         // a[3]
std::string QuotedKeyPath(std::string_view parent, std::string_view key);  // a["x.y"]

// A short human description of a JSON value for "found ...": scalars are
// written out (strings quoted, long ones cut), containers are summarised
// ("an array of 3 values", "an object") without recursing into them.
std::string DescribeJson(const nlohmann::json& v);

// The candidate closest to `name` by edit distance when it is close enough to
// be a plausible typo, else "".
std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates);

// "\"a\", \"b\" or \"c\"".
std::string QuoteList(const std::vector<std::string>& items);

}  // namespace lcsweep
