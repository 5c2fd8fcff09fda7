#include "cli/table.h"

#include <algorithm>
#include <cstdint>

namespace lcsweep::cli {

size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;  // count lead bytes only
  }
  return n;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string LatexEscape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "\xC2\xB1") == 0) {  // ±
      out += "$\\pm$";
      ++i;
      continue;
    }
    char c = s[i];
    switch (c) {
      case '&': case '%': case '$': case '#': case '_': case '{': case '}':
        out += '\\';
        out += c;
        break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '\\': out += "\\textbackslash{}"; break;
      default: out += c;
    }
  }
  return out;
}

void Table::SetRightAligned(size_t column, bool right) {
  if (right_.size() <= column) right_.resize(column + 1, false);
  right_[column] = right;
}

void Table::SetLatexMarkup(size_t row, size_t column, std::string before, std::string after) {
  latex_markup_[{row, column}] = {std::move(before), std::move(after)};
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(header_.size());
  rows_.push_back(std::move(cells));
}

namespace {

std::string Pad(const std::string& s, size_t width, bool right) {
  size_t w = DisplayWidth(s);
  std::string fill(width > w ? width - w : 0, ' ');
  return right ? fill + s : s + fill;
}

}  // namespace

std::string Table::RenderText() const {
  std::vector<size_t> widths(header_.size());
  for (size_t c = 0; c < header_.size(); ++c) {
    widths[c] = DisplayWidth(header_[c]);
    for (const auto& r : rows_) widths[c] = std::max(widths[c], DisplayWidth(r[c]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      bool right = c < right_.size() && right_[c];
      bool last = c + 1 == cells.size();
      out += (last && !right) ? cells[c] : Pad(cells[c], widths[c], right);
      if (!last) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header_);
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string Table::RenderMarkdown() const {
  auto esc = [](const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '|') o += '\\';
      o += c;
    }
    return o;
  };
  std::string out = "|";
  for (const auto& h : header_) out += " " + esc(h) + " |";
  out += "\n|";
  for (size_t c = 0; c < header_.size(); ++c) {
    out += (c < right_.size() && right_[c]) ? "---:|" : "---|";
  }
  out += "\n";
  for (const auto& r : rows_) {
    out += "|";
    for (const auto& cell : r) out += " " + esc(cell) + " |";
    out += "\n";
  }
  return out;
}

std::string Table::RenderCsv() const {
  auto line = [](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c) out += ",";
      out += CsvField(cells[c]);
    }
    return out + "\n";
  };
  std::string out = line(header_);
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string Table::RenderLatex() const {
  std::string spec;
  for (size_t c = 0; c < header_.size(); ++c) spec += (c < right_.size() && right_[c]) ? "r" : "l";
  std::string out = "\\begin{tabular}{" + spec + "}\n\\toprule\n";
  auto line = [this](const std::vector<std::string>& cells, size_t row) {
    std::string o;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c) o += " & ";
      auto it = latex_markup_.find({row, c});
      if (it == latex_markup_.end()) {
        o += LatexEscape(cells[c]);
      } else {
        o += it->second.first + LatexEscape(cells[c]) + it->second.second;
      }
    }
    return o + " \\\\\n";
  };
  out += line(header_, SIZE_MAX) + "\\midrule\n";
  for (size_t r = 0; r < rows_.size(); ++r) out += line(rows_[r], r);
  out += "\\bottomrule\n\\end{tabular}\n";
  return out;
}

}  // namespace lcsweep::cli
