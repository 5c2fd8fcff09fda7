#include "cli/results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "cli/table.h"

namespace lcsweep::cli {
namespace {

using Key = std::vector<nlohmann::json>;

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string ShortName(const std::string& path, const std::vector<std::string>& all) {
  std::string last = path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
  int same = 0;
  for (const auto& p : all) {
    std::string l = p.substr(p.rfind('.') == std::string::npos ? 0 : p.rfind('.') + 1);
    if (l == last) ++same;
  }
  return same > 1 ? path : last;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// The paper's Table 1 (v2): data set -> {plain learned, LC learned x128, LC frozen x128}.
struct Table1Row {
  const char* dataset;
  double m[3], s[3];
};
constexpr Table1Row kTable1[] = {
    {"cifar10", {91.60, 91.39, 91.89}, {0.23, 0.29, 0.10}},
    {"cifar100", {60.84, 59.44, 61.31}, {0.52, 0.55, 0.74}},
    {"fashion_mnist", {93.65, 93.44, 93.65}, {0.18, 0.18, 0.06}},
    {"svhn", {96.36, 96.31, 96.34}, {0.04, 0.08, 0.11}},
};
// Table 3: intermediate op -> {frozen, learned}, ResNet-LC-20-16x64, CIFAR-10.
struct Table3Row {
  const char* op;
  double frozen, learned;
};
constexpr Table3Row kTable3[] = {
    {"none", 91.71, 91.18}, {"relu", 92.78, 93.38}, {"bn", 91.50, 91.06}, {"bn_relu", 93.26, 94.72}};

}  // namespace

std::string AxisValueText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

bool IsAccuracyMetric(const std::string& metric) {
  return metric.find("accuracy") != std::string::npos || metric.find("top5") != std::string::npos;
}

std::optional<PaperNumber> LookupPaper(const v1::JobSummary& s, std::string* mismatch) {
  std::vector<std::string> why;
  auto need = [&](bool ok, const std::string& what) {
    if (!ok) why.push_back(what);
  };
  auto fail = [&]() -> std::optional<PaperNumber> {
    if (mismatch) *mismatch = Join(why, ", ");
    return std::nullopt;
  };
  if (s.arch() == "resnet18d") {
    need(s.dataset() == "imagenet", "ResNet-18d numbers are for imagenet");
    need(s.kernel_size() == 3, "kernel size " + std::to_string(s.kernel_size()) + " (paper: 3)");
    need(s.init() == "kaiming_uniform", "init " + s.init() + " (paper: kaiming_uniform)");
    need(s.sharing() == "none", "sharing " + s.sharing() + " (paper: none)");
    if (!why.empty()) return fail();
    if (s.conv_mode() == "learned") return PaperNumber{72.60, -1, "ImageNet ResNet-18d, plain learned"};
    if (s.conv_mode() == "frozen") return PaperNumber{37.85, -1, "ImageNet ResNet-18d, plain frozen"};
    if (s.conv_mode() == "lc" && s.lc_rate() == 64 && s.spatial() == "frozen" &&
        s.intermediate() == "none") {
      return PaperNumber{72.46, -1, "ImageNet ResNet-18d, frozen LC x64"};
    }
    why.push_back("ImageNet numbers exist for plain learned/frozen and frozen LC x64 only");
    return fail();
  }
  need(s.arch() == "resnet_cifar", "arch " + s.arch() + " (paper: resnet_cifar)");
  need(s.depth() == 20, "depth " + std::to_string(s.depth()) + " (paper: 20)");
  need(s.width() == 16, "width " + std::to_string(s.width()) + " (paper: 16)");
  need(s.kernel_size() == 3, "kernel size " + std::to_string(s.kernel_size()) + " (paper: 3)");
  need(s.init() == "kaiming_uniform", "init " + s.init() + " (paper: kaiming_uniform)");
  need(s.sharing() == "none", "sharing " + s.sharing() + " (paper: none)");
  if (!why.empty()) return fail();
  if (s.conv_mode() == "lc" && s.lc_rate() == 64 && s.dataset() == "cifar10") {
    for (const auto& r : kTable3) {
      if (s.intermediate() == r.op) {
        bool frozen = s.spatial() == "frozen";
        return PaperNumber{frozen ? r.frozen : r.learned, -1,
                           std::string("Table 3, x64 ") + (frozen ? "frozen" : "learned") +
                               " intermediate " + r.op};
      }
    }
  }
  const Table1Row* row = nullptr;
  for (const auto& r : kTable1) {
    if (s.dataset() == r.dataset) row = &r;
  }
  if (row == nullptr) {
    why.push_back("data set " + s.dataset() + " (paper: cifar10, cifar100, fashion_mnist, svhn)");
    return fail();
  }
  if (s.conv_mode() == "learned") {
    return PaperNumber{row->m[0], row->s[0], "Table 1, plain conv learned, 4 seeds"};
  }
  if (s.conv_mode() == "lc") {
    if (s.lc_rate() != 128) why.push_back("E " + std::to_string(s.lc_rate()) + " (paper: 128)");
    if (s.intermediate() != "none") why.push_back("intermediate " + s.intermediate() + " (paper: none)");
    if (!why.empty()) return fail();
    int i = s.spatial() == "frozen" ? 2 : 1;
    return PaperNumber{row->m[i], row->s[i],
                       std::string("Table 1, LC ") + (i == 2 ? "frozen" : "learned") + " x128, 4 seeds"};
  }
  why.push_back("conv mode " + s.conv_mode() + " (paper: learned or lc)");
  return fail();
}

StatusOr<std::string> RenderResults(const std::vector<GroupView>& groups,
                                    const ResultsOptions& options) {
  static const std::set<std::string> kFormats = {"table", "markdown", "csv", "json", "latex"};
  if (!kFormats.count(options.format)) {
    return InvalidArgumentError("--format " + options.format +
                                ": expected table, markdown, csv, json or latex");
  }
  if (groups.empty()) return NotFoundError("the sweep has no jobs");

  // Swept axes and their distinct values.
  std::map<std::string, std::set<nlohmann::json>> values;
  std::set<std::string> figure_names;
  for (const auto& g : groups) {
    for (const auto& [k, v] : g.axes.items()) values[k].insert(v);
    for (const auto& [name, cell] : g.figures) figure_names.insert(name);
  }
  std::vector<std::string> axes;
  for (const auto& [k, v] : values) axes.push_back(k);

  if (figure_names.empty()) {
    return NotFoundError("no job of the sweep has succeeded yet (nothing to tabulate)");
  }
  if (!figure_names.count(options.metric)) {
    std::vector<std::string> hints;
    for (const auto& f : figure_names) {
      if (f.rfind("final.", 0) == 0 || f.find("accuracy") != std::string::npos) hints.push_back(f);
      if (hints.size() >= 25) break;
    }
    return InvalidArgumentError("--metric " + options.metric +
                                ": no succeeded job has this figure; some that exist: " +
                                Join(hints, ", ") + " (`lcsweep show JOB` lists all)");
  }

  // Rows and columns.
  std::string col = options.cols;
  if (col == "-") {
    col.clear();
  } else if (col.empty() && axes.size() >= 2) {
    size_t best = 0;
    for (size_t i = 0; i < axes.size(); ++i) {
      if (values[axes[i]].size() <= values[axes[best]].size()) best = i;
    }
    col = axes[best];
  }
  std::vector<std::string> rows = options.rows;
  if (rows.empty()) {
    for (const auto& a : axes) {
      if (a != col) rows.push_back(a);
    }
  }
  auto check_axis = [&](const std::string& a, const char* flag) -> Status {
    if (values.count(a)) return OkStatus();
    return InvalidArgumentError(std::string(flag) + " " + a + ": not a swept axis of this sweep; " +
                                (axes.empty() ? std::string("it sweeps only seeds")
                                              : "swept axes: " + Join(axes, ", ")));
  };
  for (const auto& r : rows) LCSWEEP_RETURN_IF_ERROR(check_axis(r, "--rows"));
  if (!col.empty()) LCSWEEP_RETURN_IF_ERROR(check_axis(col, "--cols"));
  if (std::find(rows.begin(), rows.end(), col) != rows.end()) {
    return InvalidArgumentError("axis " + col + " is in both --rows and --cols");
  }
  std::vector<std::string> unused;
  for (const auto& a : axes) {
    if (a != col && std::find(rows.begin(), rows.end(), a) == rows.end() && values[a].size() > 1) {
      unused.push_back(a);
    }
  }
  if (!unused.empty()) {
    return InvalidArgumentError("axes " + Join(unused, ", ") +
                                " vary too but are neither --rows nor --cols; add them to --rows");
  }

  struct CellData {
    const GroupView* group = nullptr;
    std::optional<PaperNumber> paper;
  };
  std::map<Key, std::map<nlohmann::json, CellData>> cells;
  std::set<nlohmann::json> col_values;
  std::string first_mismatch;
  int paper_matches = 0;
  std::set<int64_t> epochs_seen;
  for (const auto& g : groups) {
    Key rk;
    for (const auto& r : rows) rk.push_back(g.axes.contains(r) ? g.axes[r] : nlohmann::json());
    nlohmann::json ck = col.empty() ? nlohmann::json("") : (g.axes.contains(col) ? g.axes[col] : nlohmann::json());
    col_values.insert(ck);
    CellData& c = cells[rk][ck];
    c.group = &g;
    if (options.vs_paper && g.summary) {
      std::string why;
      c.paper = LookupPaper(*g.summary, &why);
      if (c.paper) {
        ++paper_matches;
        epochs_seen.insert(g.summary->epochs());
      } else if (first_mismatch.empty()) {
        first_mismatch = why;
      }
    }
  }

  const bool percent = IsAccuracyMetric(options.metric);
  const bool human = options.format == "table" || options.format == "markdown" || options.format == "latex";
  const double scale = (percent && human) ? 100.0 : 1.0;
  const bool paper_applies = options.metric == "final.test_accuracy";
  // Paper columns only when some group has a published number (else just the note why not).
  const bool show_paper = options.vs_paper && paper_applies && paper_matches > 0;

  if (!human) {
    // Long format: one record per cell.
    nlohmann::json records = nlohmann::json::array();
    std::vector<std::string> header = rows;
    if (!col.empty()) header.push_back(col);
    for (const char* h : {"metric", "mean", "std", "n"}) header.push_back(h);
    if (show_paper) {
      for (const char* h : {"paper_mean", "paper_std", "paper_source"}) header.push_back(h);
    }
    Table t(header);
    for (const auto& [rk, by_col] : cells) {
      for (const auto& [ck, c] : by_col) {
        auto it = c.group->figures.find(options.metric);
        nlohmann::json rec;
        std::vector<std::string> line;
        for (size_t i = 0; i < rows.size(); ++i) {
          rec["row"][rows[i]] = rk[i];
          line.push_back(AxisValueText(rk[i]));
        }
        if (!col.empty()) {
          rec["col"][col] = ck;
          line.push_back(AxisValueText(ck));
        }
        rec["metric"] = options.metric;
        line.push_back(options.metric);
        if (it != c.group->figures.end()) {
          rec["mean"] = it->second.mean;
          rec["std"] = it->second.std;
          rec["n"] = it->second.n;
          char buf[3][40];
          std::snprintf(buf[0], 40, "%.17g", it->second.mean);
          std::snprintf(buf[1], 40, "%.17g", it->second.std);
          std::snprintf(buf[2], 40, "%lld", static_cast<long long>(it->second.n));
          line.insert(line.end(), {buf[0], buf[1], buf[2]});
        } else {
          rec["mean"] = nullptr;
          rec["std"] = nullptr;
          rec["n"] = 0;
          line.insert(line.end(), {"", "", "0"});
        }
        if (show_paper) {
          if (c.paper) {
            rec["paper"] = {{"mean", c.paper->mean / 100.0},
                            {"std", c.paper->std < 0 ? nlohmann::json() : nlohmann::json(c.paper->std / 100.0)},
                            {"source", c.paper->source}};
            line.push_back(Fixed(c.paper->mean / 100.0, 6));
            line.push_back(c.paper->std < 0 ? "" : Fixed(c.paper->std / 100.0, 6));
            line.push_back(c.paper->source);
          } else {
            rec["paper"] = nullptr;
            line.insert(line.end(), {"", "", ""});
          }
        }
        records.push_back(rec);
        t.AddRow(line);
      }
    }
    if (options.format == "csv") return t.RenderCsv();
    nlohmann::json doc = {{"metric", options.metric}, {"rows", rows},
                          {"cols", col.empty() ? nlohmann::json() : nlohmann::json(col)},
                          {"cells", records}};
    return doc.dump(2) + "\n";
  }

  // Human formats: a pivot.
  const std::string pm = "\xC2\xB1";  // ±
  std::vector<std::string> header;
  for (const auto& r : rows) header.push_back(ShortName(r, axes));
  std::string col_short = col.empty() ? "" : ShortName(col, axes);
  for (const auto& cv : col_values) {
    header.push_back(col.empty() ? options.metric : col_short + "=" + AxisValueText(cv));
    if (show_paper) header.push_back("paper");
  }
  Table t(header);
  for (size_t i = rows.size(); i < header.size(); ++i) t.SetRightAligned(i);
  for (const auto& [rk, by_col] : cells) {
    std::vector<std::string> line;
    for (const auto& v : rk) line.push_back(AxisValueText(v));
    for (const auto& cv : col_values) {
      auto c = by_col.find(cv);
      std::string text = "-", paper = "-";
      if (c != by_col.end()) {
        auto it = c->second.group->figures.find(options.metric);
        if (it != c->second.group->figures.end()) {
          text = Fixed(it->second.mean * scale, options.decimals) + " " + pm + " " +
                 Fixed(it->second.std * scale, options.decimals) + " (" + std::to_string(it->second.n) + ")";
        } else {
          text = "no result (0/" + std::to_string(c->second.group->n_jobs) + ")";
        }
        if (c->second.paper) {
          paper = Fixed(c->second.paper->mean, 2);
          if (c->second.paper->std >= 0) paper += " " + pm + " " + Fixed(c->second.paper->std, 2);
        }
      }
      line.push_back(text);
      if (show_paper) line.push_back(paper);
    }
    t.AddRow(line);
  }
  std::string title = options.metric + (scale == 100.0 ? " (%)" : "") + ", mean " + pm +
                      " std (n seeds)";
  std::vector<std::string> notes;
  if (options.vs_paper && !paper_applies) {
    notes.push_back("--vs-paper: the published numbers are test accuracies; use --metric final.test_accuracy");
  } else if (options.vs_paper && paper_matches == 0) {
    notes.push_back("--vs-paper: no group matches a published configuration (PAPER.md section 7: "
                    "ResNet-20-16, 3x3, kaiming_uniform, E=128 or plain conv; E=64 intermediate ops); "
                    "here: " + (first_mismatch.empty() ? std::string("no configs") : first_mismatch));
  } else if (options.vs_paper) {
    std::vector<std::string> e;
    for (int64_t x : epochs_seen) {
      if (x != 75) e.push_back(std::to_string(x));
    }
    notes.push_back("paper: PAPER.md section 7 (v2, mean " + pm + " std over 4 seeds, 75 epochs)" +
                    (e.empty() ? std::string() : "; these jobs trained " + Join(e, "/") + " epochs"));
  }
  std::string out;
  if (options.format == "table") {
    out = title + "\n" + t.RenderText();
    for (const auto& n : notes) out += n + "\n";
  } else if (options.format == "markdown") {
    out = "**" + title + "**\n\n" + t.RenderMarkdown();
    if (!notes.empty()) out += "\n";
    for (const auto& n : notes) out += "_" + n + "_\n";
  } else {
    out = "% " + title + "\n" + t.RenderLatex();
    for (const auto& n : notes) out += "% " + n + "\n";
  }
  return out;
}

}  // namespace lcsweep::cli
