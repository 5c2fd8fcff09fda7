// `lcsweep results`: parsing GetResults and rendering analysis::Pivot (see results.h).
#include "cli/results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "analysis/cell_ref.h"
#include "analysis/flatten.h"
#include "analysis/pivot.h"
#include "analysis/published.h"
#include "cli/format.h"
#include "cli/table.h"
#include "common/job_config_json.h"

namespace lcsweep::cli {
namespace {

std::string ShortName(const std::string& path, const std::vector<std::string>& all) {
  auto last_of = [](const std::string& p) { return p.substr(p.rfind('.') == std::string::npos ? 0 : p.rfind('.') + 1); };
  const std::string last = last_of(path);
  int same = 0;
  for (const auto& p : all) same += last_of(p) == last;
  return same > 1 ? path : last;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

}  // namespace

std::vector<GroupView> GroupViewsOf(const v1::GetResultsResponse& response, const std::vector<v1::Job>& jobs,
                                    const std::string& metric) {
  std::map<int64_t, const v1::Job*> by_id;
  for (const auto& j : jobs) by_id[j.id()] = &j;
  std::map<std::string, std::vector<analysis::SeedValue>> seed_values;  // by group hash
  if (!metric.empty()) {
    for (const auto& j : jobs) {
      if (j.state() != v1::JOB_STATE_SUCCEEDED) continue;
      const nlohmann::json config = nlohmann::json::parse(j.config_json(), nullptr, false);
      const nlohmann::json result = nlohmann::json::parse(j.result_json(), nullptr, false);
      if (!config.is_object() || !config.contains("seed") || !config["seed"].is_number_integer()) continue;
      if (result.is_discarded()) continue;
      const auto figures = analysis::FlattenResult(result);
      auto it = figures.find(metric);
      if (it != figures.end()) seed_values[j.group_hash()].push_back({config["seed"].get<int64_t>(), it->second});
    }
  }
  std::vector<GroupView> groups;
  for (const auto& g : response.groups()) {
    GroupView v;
    v.axes = nlohmann::json::parse(g.axes_json(), nullptr, false);
    if (!v.axes.is_object()) v.axes = nlohmann::json::object();
    v.axes.erase("seed");
    for (const auto& [name, stat] : g.figures()) v.figures[name] = ResultCell{stat.mean(), stat.std(), stat.n()};
    v.n_jobs = g.job_ids_size();
    if (auto it = seed_values.find(g.group_hash()); it != seed_values.end()) v.seed_values = it->second;
    if (g.job_ids_size() && by_id.count(g.job_ids(0))) {
      auto config = JobConfigFromJson(nlohmann::json::parse(by_id[g.job_ids(0)]->config_json(), nullptr, false));
      if (config.ok()) v.config = *config;
    }
    groups.push_back(std::move(v));
  }
  return groups;
}

std::vector<analysis::GroupFigure> FiguresOf(const std::vector<GroupView>& groups, const std::string& metric,
                                             bool vs_paper) {
  const bool paper_applies = analysis::PublishedComparability(metric).empty();
  std::vector<analysis::GroupFigure> out;
  for (const auto& g : groups) {
    analysis::GroupFigure f;
    f.axes = g.axes;
    auto it = g.figures.find(metric);
    if (it != g.figures.end()) f.stats = it->second;
    f.n_jobs = g.n_jobs;
    f.seed_values = g.seed_values;
    if (vs_paper && paper_applies && g.config) f.published = analysis::MatchPublished(*g.config);
    out.push_back(std::move(f));
  }
  return out;
}

std::string PValueText(double p) {
  if (std::isnan(p)) return "-";
  if (p < 0.001) return "<0.001";
  return Num(p, 3);
}

std::vector<int> BestRanks(const std::vector<double>& values, bool higher_is_better) {
  std::vector<double> distinct;
  for (double v : values) {
    if (!std::isnan(v)) distinct.push_back(higher_is_better ? -v : v);
  }
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<int> ranks;
  for (double v : values) {
    int r = 0;
    if (!std::isnan(v)) {
      const double key = higher_is_better ? -v : v;
      if (!distinct.empty() && key == distinct[0]) r = 1;
      else if (distinct.size() > 1 && key == distinct[1]) r = 2;
    }
    ranks.push_back(r);
  }
  return ranks;
}

namespace {

// A cell's comparison with the reference cell: by seed when the jobs were
// fetched, else Welch from the summaries (GetResults alone has no seeds' values).
analysis::Comparison CompareCells(const analysis::PivotCell& a, const analysis::PivotCell& ref,
                                  const ResultsOptions& options) {
  if (!a.seed_values.empty() && !ref.seed_values.empty()) {
    analysis::CompareOptions o;
    o.bootstrap = options.bootstrap;
    o.bootstrap_seed = options.bootstrap_seed;
    return analysis::CompareArms(a.seed_values, ref.seed_values, o);
  }
  return analysis::WelchFromStats(a.stats, ref.stats);
}

// "+0.61 [+0.20, +1.02] p=0.031*" (scaled like the cells); "*" marks p < 0.05,
// "(n<3)" an arm with fewer than 3 seeds.
std::string VsText(const analysis::Comparison& c, double scale, int decimals) {
  auto sgn = [&](double v) { return (v >= 0 ? "+" : "") + Num(v * scale, decimals); };
  std::string t = sgn(c.diff);
  if (c.test != "none") t += " [" + sgn(c.ci_low) + ", " + sgn(c.ci_high) + "]";
  t += " p=" + PValueText(c.p_value) + (c.significant ? "*" : "");
  if (c.few_seeds) t += " (n<3)";
  return t;
}

}  // namespace

StatusOr<std::string> RenderResults(const std::vector<GroupView>& groups, const ResultsOptions& options) {
  static const std::set<std::string> kFormats = {"table", "markdown", "csv", "json", "latex"};
  if (!kFormats.count(options.format)) {
    return InvalidArgumentError("--format " + options.format + ": expected table, markdown, csv, json or latex");
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
  if (figure_names.empty()) return NotFoundError("no job of the sweep has succeeded yet (nothing to tabulate)");
  if (!figure_names.count(options.metric)) {
    std::vector<std::string> hints;
    for (const auto& f : figure_names) {
      if (f.rfind("final.", 0) == 0 || analysis::IsAccuracy(f)) hints.push_back(f);
      if (hints.size() >= 25) break;
    }
    return InvalidArgumentError("--metric " + options.metric + ": no succeeded job has this figure; some that exist: " +
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
    if (values.count(a) || a == analysis::kVariantAxis) return OkStatus();
    return InvalidArgumentError(std::string(flag) + " " + a + ": not a swept axis of this sweep; " +
                                (axes.empty() ? std::string("it sweeps only seeds") : "swept axes: " + Join(axes, ", ")));
  };
  for (const auto& r : rows) LCSWEEP_RETURN_IF_ERROR(check_axis(r, "--rows"));
  if (!col.empty()) LCSWEEP_RETURN_IF_ERROR(check_axis(col, "--cols"));
  if (std::find(rows.begin(), rows.end(), col) != rows.end()) {
    return InvalidArgumentError("axis " + col + " is in both --rows and --cols");
  }

  const std::string comparability = analysis::PublishedComparability(options.metric);
  const bool paper_applies = comparability.empty();
  const std::vector<analysis::GroupFigure> cells_in = FiguresOf(groups, options.metric, options.vs_paper);
  const analysis::PivotTable t = analysis::Pivot(cells_in, {rows, col});
  if (!t.pooled_axes.empty()) {
    return InvalidArgumentError("axes " + Join(t.pooled_axes, ", ") +
                                " vary too but are neither --rows nor --cols; add them to --rows");
  }
  // --vs: the reference cell, one with a result.
  std::optional<std::pair<size_t, size_t>> ref;
  if (!options.vs.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(analysis::CellRef cref, analysis::ParseCellRef(options.vs));
    LCSWEEP_RETURN_IF_ERROR(analysis::CheckCellRef(cref, axes));
    std::vector<std::string> shown = rows;
    if (!col.empty()) shown.push_back(col);
    std::vector<std::pair<size_t, size_t>> hits;
    for (size_t r = 0; r < t.row_keys.size(); ++r) {
      for (size_t ci = 0; ci < t.col_values.size(); ++ci) {
        if (!t.cells[r][ci] || t.cells[r][ci]->stats.n == 0) continue;
        bool match = true;
        for (const auto& [key, value] : cref.pairs) {
          const std::string axis = analysis::ResolveAxis(key, axes);
          auto at = std::find(shown.begin(), shown.end(), axis);
          if (at == shown.end()) {
            return InvalidArgumentError("--vs: axis " + axis + " is neither a row nor the column of this table");
          }
          const size_t i = static_cast<size_t>(at - shown.begin());
          const nlohmann::json& v = i < rows.size() ? t.row_keys[r][i] : t.col_values[ci];
          if (AxisValueText(v) != value) match = false;
        }
        if (match) hits.push_back({r, ci});
      }
    }
    if (hits.size() != 1) {
      return InvalidArgumentError("--vs " + options.vs + ": matches " + std::to_string(hits.size()) +
                                  " cells with results; it must name exactly one (axes: " + Join(shown, ", ") + ")");
    }
    ref = hits[0];
  }
  auto compare_at = [&](size_t r, size_t ci) -> std::optional<analysis::Comparison> {
    if (!ref || !t.cells[r][ci] || t.cells[r][ci]->stats.n == 0) return std::nullopt;
    return CompareCells(*t.cells[r][ci], *t.cells[ref->first][ref->second], options);
  };

  std::set<std::string> differences;
  for (const auto& line : t.cells) {
    for (const auto& c : line) {
      if (c) differences.insert(c->recipe_differences.begin(), c->recipe_differences.end());
    }
  }

  const analysis::FigureFormat format = analysis::DescribeFigure(options.metric);
  const bool human = options.format == "table" || options.format == "markdown" || options.format == "latex";
  const double scale = (format.percent && human) ? 100.0 : 1.0;
  // Paper columns only when some group has a published number (else just the note why not).
  const bool show_paper = options.vs_paper && paper_applies && t.published_cells > 0;

  if (!human) {
    // Long format: one record per cell.
    nlohmann::json records = nlohmann::json::array();
    std::vector<std::string> header = rows;
    if (!col.empty()) header.push_back(col);
    for (const char* h : {"metric", "mean", "std", "n"}) header.push_back(h);
    if (show_paper) {
      for (const char* h : {"paper_mean", "paper_std", "paper_source"}) header.push_back(h);
    }
    if (ref) {
      for (const char* h : {"vs_diff", "vs_ci_low", "vs_ci_high", "vs_p", "vs_test", "vs_seeds_needed", "vs_few_seeds",
                            "vs_boot_low", "vs_boot_high"}) {
        header.push_back(h);
      }
    }
    Table table(header);
    for (size_t r = 0; r < t.row_keys.size(); ++r) {
      for (size_t ci = 0; ci < t.col_values.size(); ++ci) {
        const auto& c = t.cells[r][ci];
        if (!c) continue;
        nlohmann::json rec;
        std::vector<std::string> line;
        for (size_t i = 0; i < rows.size(); ++i) {
          rec["row"][rows[i]] = t.row_keys[r][i];
          line.push_back(AxisValueText(t.row_keys[r][i]));
        }
        if (!col.empty()) {
          rec["col"][col] = t.col_values[ci];
          line.push_back(AxisValueText(t.col_values[ci]));
        }
        rec["metric"] = options.metric;
        line.push_back(options.metric);
        if (c->stats.n > 0) {
          rec["mean"] = c->stats.mean;
          rec["std"] = c->stats.std;
          rec["n"] = c->stats.n;
          line.insert(line.end(), {ExactNum(c->stats.mean), ExactNum(c->stats.std), std::to_string(c->stats.n)});
        } else {
          rec["mean"] = nullptr;
          rec["std"] = nullptr;
          rec["n"] = 0;
          line.insert(line.end(), {"", "", "0"});
        }
        if (show_paper) {
          if (c->published) {
            rec["paper"] = analysis::PublishedJson(*c->published, c->recipe_differences);
            line.push_back(Num(c->published->mean, 6));
            line.push_back(c->published->std ? Num(*c->published->std, 6) : "");
            line.push_back(c->published->source);
          } else {
            rec["paper"] = nullptr;
            line.insert(line.end(), {"", "", ""});
          }
        }
        if (ref) {
          const auto cmp = compare_at(r, ci);
          const bool is_ref = ref->first == r && ref->second == ci;
          rec["reference"] = is_ref;
          if (cmp && !is_ref) {
            rec["vs_ref"] = analysis::ComparisonJson(*cmp);
            auto exact = [](double v) { return std::isfinite(v) ? ExactNum(v) : std::string(); };
            line.insert(line.end(), {exact(cmp->diff), exact(cmp->ci_low), exact(cmp->ci_high), exact(cmp->p_value),
                                     cmp->test, cmp->seeds_needed ? std::to_string(*cmp->seeds_needed) : "",
                                     cmp->few_seeds ? "true" : "false", cmp->boot_low ? ExactNum(*cmp->boot_low) : "",
                                     cmp->boot_high ? ExactNum(*cmp->boot_high) : ""});
          } else {
            rec["vs_ref"] = nullptr;
            line.insert(line.end(), {"", "", "", "", is_ref ? "reference" : "", "", "", "", ""});
          }
        }
        records.push_back(rec);
        table.AddRow(line);
      }
    }
    if (options.format == "csv") return table.RenderCsv();
    nlohmann::json doc = {{"metric", options.metric}, {"rows", rows},
                          {"cols", col.empty() ? nlohmann::json() : nlohmann::json(col)},
                          {"cells", records}};
    if (ref) doc["vs"] = options.vs;
    return doc.dump(2) + "\n";
  }

  // Human formats: a pivot.
  const std::string pm = "\xC2\xB1";  // ±
  std::vector<std::string> header;
  for (const auto& r : rows) header.push_back(ShortName(r, axes));
  const std::string col_short = col.empty() ? "" : ShortName(col, axes);
  for (const auto& cv : t.col_values) {
    header.push_back(col.empty() ? options.metric : col_short + "=" + AxisValueText(cv));
    if (show_paper) header.push_back("paper");
    if (ref) header.push_back("vs ref");
  }
  Table table(header);
  const size_t per_col = 1 + (show_paper ? 1 : 0) + (ref ? 1 : 0);
  bool any_significant = false;
  for (size_t i = rows.size(); i < header.size(); ++i) table.SetRightAligned(i);
  for (size_t r = 0; r < t.row_keys.size(); ++r) {
    std::vector<std::string> line;
    for (const auto& v : t.row_keys[r]) line.push_back(AxisValueText(v));
    for (const auto& c : t.cells[r]) {
      std::string text = "-", paper = "-";
      if (c && c->stats.n > 0) {
        text = Num(c->stats.mean * scale, options.decimals) + " " + pm + " " +
               Num(c->stats.std * scale, options.decimals) + " (" + std::to_string(c->stats.n) + ")";
      } else if (c) {
        text = "no result (0/" + std::to_string(c->n_jobs) + ")";
      }
      if (c && c->published) {
        paper = Num(c->published->mean * 100, 2);
        if (c->published->std) paper += " " + pm + " " + Num(*c->published->std * 100, 2);
      }
      line.push_back(text);
      if (show_paper) line.push_back(paper);
      if (ref) line.push_back("");  // filled below, once the row's cells are known
    }
    if (ref) {
      for (size_t ci = 0; ci < t.col_values.size(); ++ci) {
        std::string& vs = line[rows.size() + ci * per_col + per_col - 1];
        if (ref->first == r && ref->second == ci) {
          vs = "(reference)";
        } else if (const auto cmp = compare_at(r, ci)) {
          vs = VsText(*cmp, scale, options.decimals);
          if (cmp->significant) {
            any_significant = true;
            table.SetLatexMarkup(r, rows.size() + ci * per_col, "", kLatexSignificantMark);
          }
        } else {
          vs = "-";
        }
      }
    }
    table.AddRow(line);
  }
  // LaTeX: best bold, second best underlined, per column (as the paper's tables).
  for (size_t ci = 0; ci < t.col_values.size(); ++ci) {
    std::vector<double> means;
    for (size_t r = 0; r < t.row_keys.size(); ++r) {
      const auto& c = t.cells[r][ci];
      means.push_back(c && c->stats.n > 0 ? c->stats.mean : std::nan(""));
    }
    const std::vector<int> ranks = BestRanks(means, format.higher_is_better);
    for (size_t r = 0; r < ranks.size(); ++r) {
      if (ranks[r] == 0) continue;
      const size_t column = rows.size() + ci * per_col;
      const bool sig = ref && compare_at(r, ci) && compare_at(r, ci)->significant &&
                       !(ref->first == r && ref->second == ci);
      table.SetLatexMarkup(r, column, ranks[r] == 1 ? "\\textbf{" : "\\underline{",
                           std::string("}") + (sig ? kLatexSignificantMark : ""));
    }
  }
  const std::string title = options.metric + (scale == 100.0 ? " (%)" : "") + ", mean " + pm + " std (n seeds)";
  std::vector<std::string> notes;
  if (options.vs_paper && !paper_applies) {
    notes.push_back("--vs-paper: " + comparability);
  } else if (options.vs_paper && t.published_cells == 0) {
    notes.push_back("--vs-paper: no group matches a published configuration (ResNet-20-16, 3x3, kaiming_uniform, "
                    "E=128 or plain conv; E=64 intermediate ops; docs/results.md); here: " +
                    (t.first_mismatch.empty() ? std::string("no configs") : t.first_mismatch));
  } else if (options.vs_paper) {
    notes.push_back("paper: mean " + pm + " std over 4 seeds, full test set (docs/results.md)" +
                    (differences.empty() ? std::string()
                                         : "; these jobs differ in recipe: " +
                                               Join(std::vector<std::string>(differences.begin(), differences.end()), ", ")));
  }
  if (ref) {
    notes.push_back("vs ref: difference to " + options.vs + " with its 95% CI and two-sided p (paired by seed "
                    "when both ran the same seeds, else Welch); * p < 0.05; (n<3): fewer than 3 seeds");
  }
  std::string out;
  if (options.format == "table") {
    out = title + "\n" + table.RenderText();
    for (const auto& n : notes) out += n + "\n";
  } else if (options.format == "markdown") {
    out = "**" + title + "**\n\n" + table.RenderMarkdown();
    if (!notes.empty()) out += "\n";
    for (const auto& n : notes) out += "_" + n + "_\n";
  } else {
    out = "% " + title + "\n" + table.RenderLatex();
    if (any_significant) {
      out += "\\par\\footnotesize " + std::string(kLatexSignificantMark) + " significantly different from " +
             LatexEscape(options.vs) + " (p < 0.05; paired by seed, else Welch's t-test).\n";
    }
    out += "% best in bold, second best underlined (per column)\n";
    for (const auto& n : notes) out += "% " + n + "\n";
  }
  return out;
}

}  // namespace lcsweep::cli
