#include "common/text_checks.h"

#include <cstdint>
#include <string>

#include "common/limits.h"

namespace lcsweep {

JsonTextShape ScanJsonText(std::string_view text, size_t max_depth) {
  JsonTextShape shape;
  shape.bytes = text.size();
  size_t depth = 0;
  bool in_string = false, escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > shape.max_depth) shape.max_depth = depth;
        if (depth > max_depth) {
          shape.depth_exceeded = true;
          return shape;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;  // unbalanced text is the parser's to report
        break;
      default: break;
    }
  }
  return shape;
}

namespace {

// The deepest level of `text`, counting on past the limit (for the message),
// still in one pass and O(1) memory.
size_t FullDepth(std::string_view text) {
  return ScanJsonText(text, SIZE_MAX).max_depth;
}

}  // namespace

Status CheckJsonText(std::string_view field, std::string_view text, NamedLimit max_bytes,
                     NamedLimit max_depth) {
  if (text.size() > max_bytes.value) {
    return InvalidArgumentError(std::string(field) + ": " + std::to_string(text.size()) +
                                " bytes; the limit is " + std::to_string(max_bytes.value) +
                                " bytes (" + max_bytes.name + ")");
  }
  JsonTextShape shape = ScanJsonText(text, max_depth.value);
  if (shape.depth_exceeded) {
    return InvalidArgumentError(std::string(field) + ": nested " +
                                std::to_string(FullDepth(text)) + " levels deep; the limit is " +
                                std::to_string(max_depth.value) + " (" + max_depth.name + ")");
  }
  return OkStatus();
}

size_t FirstInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;  // a continuation byte or 0xF8..0xFF where a sequence must start
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return n;
}

bool IsValidUtf8(std::string_view s) { return FirstInvalidUtf8(s) == s.size(); }

Status CheckText(std::string_view field, std::string_view value, NamedLimit max_bytes) {
  if (value.size() > max_bytes.value) {
    return InvalidArgumentError(std::string(field) + ": " + std::to_string(value.size()) +
                                " bytes; the limit is " + std::to_string(max_bytes.value) +
                                " bytes (" + max_bytes.name + ")");
  }
  size_t bad = FirstInvalidUtf8(value);
  if (bad != value.size()) {
    return InvalidArgumentError(std::string(field) + ": not valid UTF-8 (byte " +
                                std::to_string(bad) + " of " + std::to_string(value.size()) +
                                "); text fields must be UTF-8");
  }
  return OkStatus();
}

std::string_view CutUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  // Step back over continuation bytes so no sequence is split.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace lcsweep

namespace lcsweep {

Status CheckSpecJsonText(std::string_view text) {
  return CheckJsonText("spec_json", text, {kMaxSpecBytes, "kMaxSpecBytes"},
                       {kMaxSpecDepth, "kMaxSpecDepth"});
}

Status CheckResultJsonText(std::string_view text) {
  return CheckJsonText("result_json", text, {kMaxResultBytes, "kMaxResultBytes"},
                       {kMaxResultDepth, "kMaxResultDepth"});
}

}  // namespace lcsweep
