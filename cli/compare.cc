// `lcsweep compare` (see compare.h).
#include "cli/compare.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "analysis/cell_ref.h"
#include "analysis/published.h"
#include "analysis/significance.h"
#include "cli/call.h"
#include "cli/format.h"
#include "cli/jobs.h"
#include "cli/table.h"

namespace lcsweep::cli {
namespace {

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

}  // namespace

StatusOr<std::string> RenderCompare(const std::vector<GroupView>& groups, const CompareArgs& args) {
  static const std::set<std::string> kFormats = {"table", "markdown", "csv", "json", "latex"};
  if (!kFormats.count(args.format)) {
    return InvalidArgumentError("--format " + args.format + ": expected table, markdown, csv, json or latex");
  }
  std::vector<analysis::GroupFigure> figures = FiguresOf(groups, args.metric, /*vs_paper=*/true);
  figures.erase(std::remove_if(figures.begin(), figures.end(),
                               [](const analysis::GroupFigure& g) { return g.stats.n == 0; }),
                figures.end());
  if (figures.empty()) return NotFoundError("no job of the sweep has a figure " + args.metric + " yet");
  std::vector<std::string> axes;  // swept, for resolving the reference
  {
    std::set<std::string> all;
    for (const auto& g : figures)
      for (auto it = g.axes.begin(); it != g.axes.end(); ++it) all.insert(it.key());
    axes.assign(all.begin(), all.end());
  }
  // The varying axes, "variant" standing for mode and spatial when it varies.
  std::vector<std::string> shown;
  {
    const std::vector<std::string> varying = analysis::VaryingAxes(figures);
    const bool variant = std::count(varying.begin(), varying.end(), analysis::kVariantAxis) > 0;
    for (const auto& a : varying) {
      if (variant && (a == analysis::kModeAxis || a == analysis::kSpatialAxis)) continue;
      shown.push_back(a);
    }
  }
  std::sort(figures.begin(), figures.end(), [&](const analysis::GroupFigure& a, const analysis::GroupFigure& b) {
    for (const auto& x : shown) {
      const auto va = analysis::AxisValue(a, x), vb = analysis::AxisValue(b, x);
      if (analysis::JsonLess(va, vb)) return true;
      if (analysis::JsonLess(vb, va)) return false;
    }
    return false;
  });

  LCSWEEP_ASSIGN_OR_RETURN(analysis::CellRef cref, analysis::ParseCellRef(args.ref));
  LCSWEEP_RETURN_IF_ERROR(analysis::CheckCellRef(cref, axes));
  std::vector<size_t> hits;
  for (size_t i = 0; i < figures.size(); ++i) {
    if (analysis::MatchesCellRef(figures[i], cref, axes)) hits.push_back(i);
  }
  if (hits.size() != 1) {
    return InvalidArgumentError("--ref " + args.ref + ": matches " + std::to_string(hits.size()) +
                                " cells with results; it must name exactly one (varying axes: " + Join(shown, ", ") +
                                ")");
  }
  const size_t ref = hits[0];

  analysis::CompareOptions copt;
  copt.bootstrap = args.bootstrap;
  copt.bootstrap_seed = args.bootstrap_seed;
  std::vector<std::optional<analysis::Comparison>> vs_ref(figures.size()), vs_paper(figures.size());
  bool any_paper = false;
  for (size_t i = 0; i < figures.size(); ++i) {
    const auto& g = figures[i];
    if (i != ref) {
      vs_ref[i] = !g.seed_values.empty() && !figures[ref].seed_values.empty()
                      ? analysis::CompareArms(g.seed_values, figures[ref].seed_values, copt)
                      : analysis::WelchFromStats(g.stats, figures[ref].stats);
    }
    if (g.published && g.published->number) {
      const auto& p = *g.published->number;
      vs_paper[i] = g.seed_values.empty()
                        ? analysis::WelchFromStats(g.stats, analysis::Stats{p.mean, p.std.value_or(0), analysis::kPublishedSeeds})
                        : analysis::CompareWithPublished(g.seed_values, p.mean, p.std, analysis::kPublishedSeeds);
      any_paper = true;
    }
  }

  const analysis::FigureFormat format = analysis::DescribeFigure(args.metric);
  const bool human = args.format == "table" || args.format == "markdown" || args.format == "latex";
  const double scale = (format.percent && human) ? 100.0 : 1.0;
  const int d = args.decimals;
  auto num = [&](double v) { return std::isfinite(v) ? Num(v * scale, d) : std::string("-"); };
  auto sgn = [&](double v) { return std::isfinite(v) ? (v >= 0 ? "+" : "") + Num(v * scale, d) : std::string("-"); };
  auto exact = [](double v) { return std::isfinite(v) ? ExactNum(v) : std::string(); };

  if (args.format == "json") {
    nlohmann::json cells = nlohmann::json::array();
    for (size_t i = 0; i < figures.size(); ++i) {
      const auto& g = figures[i];
      nlohmann::json c = {{"axes", g.axes}, {"variant", analysis::AxisValue(g, analysis::kVariantAxis)},
                          {"stats", analysis::StatsJson(g.stats)}, {"reference", i == ref},
                          {"vs_ref", vs_ref[i] ? analysis::ComparisonJson(*vs_ref[i]) : nlohmann::json()},
                          {"vs_paper", vs_paper[i] ? analysis::ComparisonJson(*vs_paper[i]) : nlohmann::json()},
                          {"paper", g.published && g.published->number
                                        ? analysis::PublishedJson(*g.published->number, g.published->recipe_differences)
                                        : nlohmann::json()}};
      cells.push_back(c);
    }
    nlohmann::json doc = {{"metric", args.metric}, {"ref", args.ref}, {"alpha", analysis::kSignificanceAlpha},
                          {"power", analysis::kSeedsNeededPower}, {"cells", cells}};
    return doc.dump(2) + "\n";
  }

  std::vector<std::string> header;
  for (const auto& a : shown) header.push_back(a);
  const std::string pm = "\xC2\xB1";
  if (human) {
    header.insert(header.end(), {"mean " + pm + " std (n)", "diff vs ref", "95% CI", "p", "test", "seeds needed"});
    if (args.bootstrap) header.push_back("bootstrap CI");
    if (any_paper) header.insert(header.end(), {"paper", "diff vs paper", "p vs paper"});
  } else {
    header.insert(header.end(), {"metric", "mean", "std", "n", "reference", "diff", "ci_low", "ci_high", "p", "test",
                                 "few_seeds", "seeds_needed", "boot_low", "boot_high", "paper_mean", "paper_std",
                                 "paper_diff", "paper_p"});
  }
  Table table(header);
  for (size_t i = shown.size(); i < header.size(); ++i) table.SetRightAligned(i);
  const size_t mean_col = shown.size();
  bool any_significant = false, any_few = false;
  std::vector<double> means;
  for (size_t i = 0; i < figures.size(); ++i) {
    const auto& g = figures[i];
    means.push_back(g.stats.mean);
    std::vector<std::string> line;
    for (const auto& a : shown) line.push_back(AxisValueText(analysis::AxisValue(g, a)));
    const auto& c = vs_ref[i];
    const auto& p = vs_paper[i];
    const analysis::PublishedNumber* pub = g.published && g.published->number ? &*g.published->number : nullptr;
    if (c && c->few_seeds) any_few = true;
    if (human) {
      line.push_back(num(g.stats.mean) + " " + pm + " " + num(g.stats.std) + " (" + std::to_string(g.stats.n) + ")" +
                     (g.stats.n < 3 ? " !" : ""));
      if (!c) {
        line.insert(line.end(), {"(reference)", "", "", "", ""});
        if (args.bootstrap) line.push_back("");
      } else {
        line.push_back(sgn(c->diff));
        line.push_back(c->test == "none" ? "-" : "[" + sgn(c->ci_low) + ", " + sgn(c->ci_high) + "]");
        line.push_back(PValueText(c->p_value) + (c->significant ? " *" : ""));
        line.push_back(c->test);
        line.push_back(c->seeds_needed ? std::to_string(*c->seeds_needed) : "-");
        if (args.bootstrap) line.push_back(c->boot_low ? "[" + sgn(*c->boot_low) + ", " + sgn(*c->boot_high) + "]" : "-");
        if (c->significant) {
          any_significant = true;
          table.SetLatexMarkup(i, mean_col, "", kLatexSignificantMark);
        }
      }
      if (any_paper) {
        if (pub) {
          line.push_back(Num(pub->mean * 100, 2) + (pub->std ? " " + pm + " " + Num(*pub->std * 100, 2) : ""));
          line.push_back(p ? sgn(p->diff) : "-");
          line.push_back(p ? PValueText(p->p_value) + (p->significant ? " *" : "") : "-");
        } else {
          line.insert(line.end(), {"-", "-", "-"});
        }
      }
    } else {
      line.insert(line.end(), {args.metric, ExactNum(g.stats.mean), ExactNum(g.stats.std), std::to_string(g.stats.n),
                               i == ref ? "true" : "false"});
      if (c) {
        line.insert(line.end(), {exact(c->diff), exact(c->ci_low), exact(c->ci_high), exact(c->p_value), c->test,
                                 c->few_seeds ? "true" : "false", c->seeds_needed ? std::to_string(*c->seeds_needed) : "",
                                 c->boot_low ? ExactNum(*c->boot_low) : "", c->boot_high ? ExactNum(*c->boot_high) : ""});
      } else {
        line.insert(line.end(), {"", "", "", "", "reference", "", "", "", ""});
      }
      line.push_back(pub ? ExactNum(pub->mean) : "");
      line.push_back(pub && pub->std ? ExactNum(*pub->std) : "");
      line.push_back(p ? exact(p->diff) : "");
      line.push_back(p ? exact(p->p_value) : "");
    }
    table.AddRow(line);
  }
  if (args.format == "csv") return table.RenderCsv();

  // LaTeX: best mean bold, second best underlined, as the paper's tables.
  const std::vector<int> ranks = BestRanks(means, format.higher_is_better);
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (ranks[i] == 0) continue;
    const bool sig = vs_ref[i] && vs_ref[i]->significant;
    table.SetLatexMarkup(i, mean_col, ranks[i] == 1 ? "\\textbf{" : "\\underline{",
                         std::string("}") + (sig ? kLatexSignificantMark : ""));
  }
  const std::string title = args.metric + (scale == 100.0 ? " (% points)" : "") + " vs " + args.ref;
  std::vector<std::string> notes = {
      "diff = mean - mean(ref); 95% CI and two-sided p from a paired t-test by seed when both cells ran the same "
      "seeds, else Welch's t-test; * p < 0.05; seeds needed: per arm, for p < 0.05 at power 0.8 given the observed "
      "variance (t-based)"};
  if (any_few) notes.push_back("!: fewer than 3 seeds; a p-value over 2 seeds means little");
  if (any_paper) notes.push_back("paper: published mean +- std over 4 seeds (docs/results.md); Welch from its summary");
  std::string out;
  if (args.format == "table") {
    out = title + "\n" + table.RenderText();
    for (const auto& n : notes) out += n + "\n";
  } else if (args.format == "markdown") {
    out = "**" + title + "**\n\n" + table.RenderMarkdown() + "\n";
    for (const auto& n : notes) out += "_" + n + "_\n";
  } else {
    out = "% " + title + "\n" + table.RenderLatex();
    if (any_significant) {
      out += "\\par\\footnotesize " + std::string(kLatexSignificantMark) + " significantly different from " +
             LatexEscape(args.ref) + " (p < 0.05; paired by seed, else Welch's t-test).\n";
    }
    out += "% best in bold, second best underlined\n";
    for (const auto& n : notes) out += "% " + n + "\n";
  }
  return out;
}

int RunCompare(const ConnectionFlags& flags, const CompareArgs& args, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(v1::GetResultsResponse resp, FetchResults(c, args.sweep));
    LCSWEEP_ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, FetchJobs(c, args.sweep, {}));
    StatusOr<std::string> text = RenderCompare(GroupViewsOf(resp, jobs, args.metric), args);
    if (!text.ok()) {
      return Status(text.status().code(), "sweep " + std::to_string(args.sweep) + ": " + text.status().message());
    }
    io.out << *text;
    return OkStatus();
  });
}

}  // namespace lcsweep::cli
