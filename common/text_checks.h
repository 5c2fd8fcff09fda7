// Checks on client-supplied text that run before anything else looks at it:
// the shape of a JSON document (size and nesting) measured by one linear,
// non-recursive scan of its bytes, and the length and UTF-8 validity of a
// plain string.
//
// Why a scan before parsing: nlohmann::json parses iteratively, but dump(),
// the result flattener and every reader of a stored document recurse, so a
// document nested 70,000 levels deep crashes them (stack overflow). Scanning
// the text first means nothing recursive ever sees a deep document, and the
// refusal costs O(size) time and O(1) memory whatever the input.
//
// Every refusal is INVALID_ARGUMENT with a message that starts with the
// field's name and names the limit (the constant in common/limits.h):
//   "result_json: nested 70000 levels deep; the limit is 32 (kMaxResultDepth)"
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace lcsweep {

// A limit and the name it is documented under (common/limits.h).
struct NamedLimit {
  size_t value;
  const char* name;  // e.g. "kMaxResultDepth"
};

// What a scan of JSON text found. Depth counts open [ and { outside strings
// (a bare scalar is depth 0, {"a": [1]} is 2).
struct JsonTextShape {
  size_t bytes = 0;
  size_t max_depth = 0;   // stops growing once past the limit given to the scan
  bool depth_exceeded = false;
};

// One pass over `text`, tracking string and escape state; stops as soon as
// the depth passes `max_depth`. Does not validate JSON syntax (the parser
// does that afterwards); unbalanced brackets cannot make it fail or recurse.
JsonTextShape ScanJsonText(std::string_view text, size_t max_depth);

// OK when `text` is at most `max_bytes` long and nested at most `max_depth`
// levels, else INVALID_ARGUMENT naming `field` and the limit that was passed.
Status CheckJsonText(std::string_view field, std::string_view text, NamedLimit max_bytes,
                     NamedLimit max_depth);

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, at
// most U+10FFFF). The empty string is valid.
bool IsValidUtf8(std::string_view s);
// The byte offset of the first invalid sequence, or s.size() when valid.
size_t FirstInvalidUtf8(std::string_view s);

// OK when `value` is valid UTF-8 and at most `max_bytes` long, else
// INVALID_ARGUMENT naming `field`, the offset of the bad byte or the limit.
Status CheckText(std::string_view field, std::string_view value, NamedLimit max_bytes);

// `s` cut to at most `max_bytes` bytes without splitting a UTF-8 sequence.
std::string_view CutUtf8(std::string_view s, size_t max_bytes);

}  // namespace lcsweep

namespace lcsweep {

// The two stored documents, against their limits (common/limits.h): a sweep
// spec ("spec_json": kMaxSpecBytes, kMaxSpecDepth) and a job result
// ("result_json": kMaxResultBytes, kMaxResultDepth).
Status CheckSpecJsonText(std::string_view text);
Status CheckResultJsonText(std::string_view text);

}  // namespace lcsweep
