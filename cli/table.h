// A table of text cells rendered as aligned plain text (the CLI's listings),
// GitHub markdown, CSV (RFC 4180 quoting) or a LaTeX tabular.
// Thread-safety: a value; one thread at a time.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lcsweep::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}

  // Columns right-aligned in text/markdown/latex (numbers); the rest left.
  void SetRightAligned(size_t column, bool right = true);
  void AddRow(std::vector<std::string> cells);  // padded/truncated to the header's width
  // LaTeX only: `before` and `after` (raw LaTeX, not escaped) around the
  // escaped text of body cell (row, column), e.g. "\\textbf{" and "}".
  void SetLatexMarkup(size_t row, size_t column, std::string before, std::string after);
  size_t rows() const { return rows_.size(); }

  // Two spaces between columns, a header row, no borders (like kubectl).
  std::string RenderText() const;
  std::string RenderMarkdown() const;
  std::string RenderCsv() const;
  // \begin{tabular}...\end{tabular} with \toprule/\midrule/\bottomrule (booktabs).
  std::string RenderLatex() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_;
  std::map<std::pair<size_t, size_t>, std::pair<std::string, std::string>> latex_markup_;
};

// Display width of UTF-8 text (counts code points, not bytes).
size_t DisplayWidth(const std::string& s);
// CSV field quoting: quoted when it holds a comma, quote, CR or LF.
std::string CsvField(const std::string& s);
// LaTeX escaping of & % $ # _ { } ~ ^ \ and "±" -> $\pm$.
std::string LatexEscape(const std::string& s);

}  // namespace lcsweep::cli
