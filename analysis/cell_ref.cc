// References to a results cell (see cell_ref.h).
#include "analysis/cell_ref.h"

#include <algorithm>

namespace lcsweep::analysis {
namespace {

std::string LastPart(const std::string& p) { return p.substr(p.rfind('.') == std::string::npos ? 0 : p.rfind('.') + 1); }

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

StatusOr<CellRef> ParseCellRef(const std::string& text) {
  CellRef ref;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string part = Trim(text.substr(start, end - start));
    start = end + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("cell reference \"" + text + "\": \"" + part + "\" is not AXIS=VALUE");
    }
    ref.pairs.emplace_back(Trim(part.substr(0, eq)), Trim(part.substr(eq + 1)));
  }
  if (ref.pairs.empty()) return InvalidArgumentError("cell reference is empty; expected AXIS=VALUE[,AXIS=VALUE...]");
  return ref;
}

std::string ResolveAxis(const std::string& key, const std::vector<std::string>& axes) {
  if (key == kVariantAxis || std::find(axes.begin(), axes.end(), key) != axes.end()) return key;
  std::string found;
  for (const auto& a : axes) {
    if (LastPart(a) != key) continue;
    if (!found.empty()) return "";
    found = a;
  }
  return found;
}

bool MatchesCellRef(const GroupFigure& g, const CellRef& ref, const std::vector<std::string>& axes) {
  for (const auto& [key, value] : ref.pairs) {
    const std::string axis = ResolveAxis(key, axes);
    if (axis.empty() || AxisValueText(AxisValue(g, axis)) != value) return false;
  }
  return true;
}

Status CheckCellRef(const CellRef& ref, const std::vector<std::string>& axes) {
  for (const auto& [key, value] : ref.pairs) {
    if (!ResolveAxis(key, axes).empty()) continue;
    std::string list;
    for (const auto& a : axes) list += (list.empty() ? "" : ", ") + a;
    return InvalidArgumentError("cell reference: " + key + " names no single swept axis (swept: " +
                                (list.empty() ? std::string("none") : list) + ", variant)");
  }
  return OkStatus();
}

}  // namespace lcsweep::analysis
