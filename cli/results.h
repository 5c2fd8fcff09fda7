// `lcsweep results`: a pivot table of one figure (mean ± std (n) over seeds)
// from the result groups of GetResults, with the published numbers of
// PAPER.md section 7 beside the measured ones on request.
//
// Rows are keyed by the values of one or more swept axes, columns by one
// axis. Formats: text table, markdown, LaTeX (human: accuracies in percent),
// CSV and JSON (long format, one record per cell, raw values as stored:
// accuracies as fractions).
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "lcsweep/v1/spec.pb.h"

namespace lcsweep::cli {

struct ResultCell {
  double mean = 0, std = 0;
  int64_t n = 0;
};

// One result group as the pivot needs it.
struct GroupView {
  nlohmann::json axes = nlohmann::json::object();  // swept axis path -> value (no seed)
  std::map<std::string, ResultCell> figures;
  std::optional<v1::JobSummary> summary;           // of one job of the group (for --vs-paper)
  int64_t n_jobs = 0;                              // jobs of the group (any state)
};

struct ResultsOptions {
  std::vector<std::string> rows;      // empty = every swept axis except cols
  std::string cols;                   // empty = the swept axis with the fewest values ("-" = none)
  std::string metric = "final.test_accuracy";
  std::string format = "table";       // table | markdown | csv | json | latex
  bool vs_paper = false;
  int decimals = 2;
};

// A published number (test accuracy in percent; std < 0 when not published).
struct PaperNumber {
  double mean = 0;
  double std = -1;
  std::string source;  // e.g. "Table 1 (v2), 4 seeds"
};

// The published number for a job of this configuration, when the paper has
// one: ResNet-20-16 (3x3, kaiming_uniform, no sharing) at E = 128 or plain
// conv on CIFAR-10/100, Fashion-MNIST, SVHN; ResNet-LC-20-16x64 intermediate
// ops on CIFAR-10; ResNet-18d on ImageNet. `mismatch` gets why not otherwise.
std::optional<PaperNumber> LookupPaper(const v1::JobSummary& s, std::string* mismatch = nullptr);

// True when figures named like `metric` are fractions to be shown in percent.
bool IsAccuracyMetric(const std::string& metric);

// The rendered output. INVALID_ARGUMENT names unknown axes or metrics (and
// lists the available ones); NOT_FOUND when no group has results yet.
StatusOr<std::string> RenderResults(const std::vector<GroupView>& groups,
                                    const ResultsOptions& options);

// The text of an axis value: strings bare, everything else as JSON.
std::string AxisValueText(const nlohmann::json& v);

}  // namespace lcsweep::cli
