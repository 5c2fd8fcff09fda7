// lcsweep: the command line of lcsweep (submit sweeps, follow them, tabulate
// results). Argument parsing only; the commands live in the files that
// cli/commands.h lists.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/token.h"
#ifdef LCSWEEP_HAVE_TORCH
#include <map>

#include "common/job_config_json.h"
#include "worker/nn/memory_estimate.h"
#endif

namespace {

constexpr const char* kFooter = R"(Connection: --coordinator/--token/--token-file/--tls-ca (--tls-cert/--tls-key), else
LCSWEEP_COORDINATOR / LCSWEEP_TOKEN (LCSWEEP_TOKEN_FILE, LCSWEEP_TLS_CA, LCSWEEP_TLS_CERT, LCSWEEP_TLS_KEY),
else $XDG_CONFIG_HOME/lcsweep/config.json
(~/.config/lcsweep/config.json: {"coordinator": "host:50051", "token_file": "...", "tls_ca": "..."}),
else 127.0.0.1:50051 without TLS.

Exit codes:
  0  success (watch: every job succeeded; health: SERVING)
  1  failure (watch: some job failed or was cancelled; a refused operation)
  2  usage error or invalid input (bad flags, sweep spec errors)
  3  not found (unknown sweep or job)
  4  authentication / permission (missing or unknown token, role not allowed)
  5  coordinator unreachable, unavailable or not SERVING

Examples:
  lcsweep submit deploy/examples/quick_fashion_mnist.json --dry-run
  lcsweep submit deploy/examples/quick_fashion_mnist.json
  lcsweep watch 1
  lcsweep results 1 --vs-paper
  lcsweep compare 1 --ref lc_rate=1,spatial=frozen
  lcsweep results 1 --rows model.conv.lc_rate --cols model.conv.spatial --format markdown
  lcsweep export 1 --format csv > sweep1.csv
  lcsweep model 12 -o model.pt)";

int Exit(CLI::App& app, const CLI::ParseError& e) {
  int code = app.exit(e);
  return code == 0 ? 0 : lcsweep::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lcsweep::cli;
  // gRPC's own log lines (a failed handshake logs one per retry) would bury
  // the one-line error the commands print; GRPC_VERBOSITY=error brings them back.
  setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/0);
  ConnectionFlags conn;
  CLI::App app{"lcsweep: submit LC-CNN ablation sweeps to an lcsweep coordinator, follow them, tabulate results"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();  // connection flags work after the subcommand too
  app.set_version_flag("--version", "lcsweep 0.1.0");
  app.add_option("--coordinator", conn.coordinator, "coordinator HOST:PORT (default 127.0.0.1:50051)");
  app.add_option("--token", conn.token, "bearer token");
  app.add_option("--token-file", conn.token_file, "file whose first line is the bearer token");
  app.add_option("--tls-ca", conn.tls_ca, "PEM root certificate(s): connect with TLS");
  app.add_option("--tls-cert", conn.tls_cert, "PEM client certificate, for a coordinator with --tls-client-ca");
  app.add_option("--tls-key", conn.tls_key, "PEM private key of --tls-cert");
  app.add_option("--config", conn.config_file, "connection config file (JSON)");
  app.add_option("--timeout", conn.timeout_seconds, "seconds to connect / per call")->capture_default_str();
  Io io{std::cout, std::cerr};
  int code = 0;

  SubmitArgs submit;
  auto* s = app.add_subcommand("submit", "validate a sweep spec and queue its jobs (or --dry-run)");
  s->add_option("SWEEP", submit.file, "sweep JSON file ('-' = stdin)")->required();
  s->add_flag("--dry-run", submit.dry_run, "expand and show the jobs and what the coordinator already has; submit nothing");
  s->add_flag("--offline", submit.offline, "with --dry-run: only validate and expand, without asking the coordinator");
  s->add_option("--priority", submit.priority, "override the spec's priority (higher runs first)");
  s->add_flag("--force", submit.force, "re-run jobs even when an identical job already finished");
  s->add_flag("--json", submit.json, "print the coordinator's answer as JSON");
#ifdef LCSWEEP_HAVE_TORCH
  // One model build per distinct (model, data section, batch size, momentum):
  // a sweep's seeds and learning rates share an estimate. Estimated for a GPU
  // (only GPU leases are matched on memory), so data kept on the device counts.
  std::map<std::string, lcsweep::StatusOr<double>> estimates;
  submit.memory_estimate_gb = [&estimates](const lcsweep::JobConfig& job) -> lcsweep::StatusOr<double> {
    const nlohmann::json full = lcsweep::JobConfigToJson(job);
    const std::string key = nlohmann::json{full.at("model"), full.at("data"), job.train.batch_size,
                                           job.train.momentum}.dump();
    auto it = estimates.find(key);
    if (it == estimates.end()) {
      lcsweep::StatusOr<lcsweep::nn::MemoryEstimate> e = lcsweep::nn::EstimateJobMemory(job, /*on_cuda=*/true);
      it = estimates.emplace(key, e.ok() ? lcsweep::StatusOr<double>(e->total() / (1024.0 * 1024.0 * 1024.0))
                                         : lcsweep::StatusOr<double>(e.status())).first;
    }
    return it->second;
  };
#endif
  s->callback([&] { code = RunSubmit(conn, submit, io); });

  std::string tag;
  bool ls_json = false;
  auto* ls = app.add_subcommand("ls", "list sweeps with their progress");
  ls->add_option("--tag", tag, "only sweeps with this tag");
  ls->add_flag("--json", ls_json, "JSON output");
  ls->callback([&] { code = RunListSweeps(conn, tag, ls_json, io); });

  JobsArgs jobs;
  auto* jb = app.add_subcommand("jobs", "list jobs");
  jb->add_option("--sweep", jobs.sweep, "only jobs of this sweep");
  jb->add_option("--state", jobs.states, "queued, running, succeeded, failed, cancelled (repeat or comma-separate)");
  jb->add_option("--worker", jobs.worker, "only jobs leased by this worker id");
  jb->add_flag("--json", jobs.json, "JSON output");
  jb->callback([&] { code = RunJobs(conn, jobs, io); });

  int64_t show_job = 0;
  bool show_json = false;
  auto* sh = app.add_subcommand("show", "one job: config, state, attempts, progress, result figures, checkpoint");
  sh->add_option("JOB", show_job, "job id")->required();
  sh->add_flag("--json", show_json, "JSON output");
  sh->callback([&] { code = RunShow(conn, show_job, show_json, io); });

  bool workers_all = false, workers_json = false;
  auto* wk = app.add_subcommand("workers", "list live workers and the jobs they hold");
  wk->add_flag("--all", workers_all, "also workers not seen within one lease period");
  wk->add_flag("--json", workers_json, "JSON output");
  wk->callback([&] { code = RunWorkers(conn, workers_all, workers_json, io); });

  int64_t ev_job = 0, ev_sweep = 0;
  bool ev_json = false;
  auto* ev = app.add_subcommand("events", "the audit trail of a job (or --sweep S)");
  ev->add_option("JOB", ev_job, "job id");
  ev->add_option("--sweep", ev_sweep, "every job of this sweep");
  ev->add_flag("--json", ev_json, "JSON output");
  ev->callback([&] {
    if ((ev_job == 0) == (ev_sweep == 0)) {
      std::cerr << "error: events: give a JOB id or --sweep S (one of them)\n";
      code = kExitUsage;
      return;
    }
    code = RunEvents(conn, ev_job, ev_sweep, ev_json, io);
  });

  WatchArgs watch;
  auto* wa = app.add_subcommand("watch", "live progress of a sweep (or --job J) until it finishes");
  wa->add_option("SWEEP", watch.sweep, "sweep id");
  wa->add_option("--job", watch.job, "watch one job instead");
  wa->add_flag("--plain", watch.plain, "plain lines even on a terminal");
  wa->add_option("--refresh", watch.refresh_seconds, "seconds between redraws")->capture_default_str();
  wa->callback([&] {
    if ((watch.sweep == 0) == (watch.job == 0)) {
      std::cerr << "error: watch: give a SWEEP id or --job J (one of them)\n";
      code = kExitUsage;
      return;
    }
    code = RunWatch(conn, watch, io);
  });

  int64_t cancel_job = 0, cancel_sweep = 0;
  std::string reason;
  auto* ca = app.add_subcommand("cancel", "cancel a queued/running job (or every job of --sweep S)");
  ca->add_option("JOB", cancel_job, "job id");
  ca->add_option("--sweep", cancel_sweep, "cancel the whole sweep");
  ca->add_option("--reason", reason, "recorded in the audit trail");
  ca->callback([&] {
    if ((cancel_job == 0) == (cancel_sweep == 0)) {
      std::cerr << "error: cancel: give a JOB id or --sweep S (one of them)\n";
      code = kExitUsage;
      return;
    }
    code = RunCancel(conn, cancel_job, cancel_sweep, reason, io);
  });

  int64_t retry_job = 0, retry_sweep = 0;
  auto* re = app.add_subcommand("retry", "re-queue a failed or cancelled job (or all of --sweep S)");
  re->add_option("JOB", retry_job, "job id");
  re->add_option("--sweep", retry_sweep, "every failed/cancelled job of this sweep");
  re->callback([&] {
    if ((retry_job == 0) == (retry_sweep == 0)) {
      std::cerr << "error: retry: give a JOB id or --sweep S (one of them)\n";
      code = kExitUsage;
      return;
    }
    code = RunRetry(conn, retry_job, retry_sweep, io);
  });

  int64_t results_sweep = 0;
  ResultsOptions results;
  std::string rows;
  auto* rs = app.add_subcommand("results", "pivot table of a figure over the swept axes, mean +- std (n) over seeds");
  rs->add_option("SWEEP", results_sweep, "sweep id")->required();
  rs->add_option("--rows", rows, "row axes, comma-separated (default: every swept axis but --cols)");
  rs->add_option("--cols", results.cols, "column axis (default: the swept axis with the fewest values; '-' = none)");
  rs->add_option("--metric", results.metric, "figure name (see `lcsweep show JOB`)")->capture_default_str();
  rs->add_option("--format", results.format, "table | markdown | csv | json | latex")->capture_default_str();
  rs->add_flag("--vs-paper", results.vs_paper, "add the published numbers (docs/method.md section 7) where configs match");
  rs->add_option("--decimals", results.decimals, "decimals in table/markdown/latex")->capture_default_str();
  rs->add_option("--vs", results.vs, "reference cell, e.g. lc_rate=1,spatial=frozen: difference, 95% CI and p per cell");
  rs->add_flag("--bootstrap", results.bootstrap, "with --vs: add a percentile bootstrap CI (10000 resamples)");
  rs->add_option("--bootstrap-seed", results.bootstrap_seed, "seed of the bootstrap resampling")->capture_default_str();
  rs->callback([&] {
    std::stringstream in(rows);
    for (std::string r; std::getline(in, r, ',');) {
      if (!r.empty()) results.rows.push_back(r);
    }
    code = RunResults(conn, results_sweep, results, io);
  });

  CompareArgs cmp;
  auto* cm = app.add_subcommand("compare", "every cell against a reference cell (and its published number): "
                                           "difference, 95% CI, p, seeds needed");
  cm->add_option("SWEEP", cmp.sweep, "sweep id")->required();
  cm->add_option("--ref", cmp.ref, "reference cell, e.g. lc_rate=1,spatial=frozen or variant=plain learned")->required();
  cm->add_option("--metric", cmp.metric, "figure name (see `lcsweep show JOB`)")->capture_default_str();
  cm->add_option("--format", cmp.format, "table | markdown | csv | json | latex")->capture_default_str();
  cm->add_option("--decimals", cmp.decimals, "decimals in table/markdown/latex")->capture_default_str();
  cm->add_flag("--bootstrap", cmp.bootstrap, "add a percentile bootstrap CI (10000 resamples)");
  cm->add_option("--bootstrap-seed", cmp.bootstrap_seed, "seed of the bootstrap resampling")->capture_default_str();
  cm->callback([&] { code = RunCompare(conn, cmp, io); });

  ExportArgs exp;
  auto* ex = app.add_subcommand("export", "every job with its axes and result figures (csv or json)");
  ex->add_option("SWEEP", exp.sweep, "sweep id")->required();
  ex->add_option("--format", exp.format, "csv | json")->capture_default_str();
  ex->add_flag("--metrics", exp.metrics, "add the metric series (csv: one row per metric point)");
  ex->callback([&] { code = RunExport(conn, exp, io); });

  CostArgs cost;
  auto* co = app.add_subcommand("cost", "compute used per arm and in total: attempts, wall/CPU/GPU hours (abandoned too), images, memory, energy");
  co->add_option("SWEEP", cost.sweep, "sweep id")->required();
  co->add_option("--format", cost.format, "table | markdown | csv | json | latex")->capture_default_str();
  co->add_flag("--attempts", cost.attempts, "one row per attempt (job, lease, worker, outcome, figures)");
  co->callback([&] { code = RunCost(conn, cost, io); });

  ModelArgs mdl;
  auto* md = app.add_subcommand("model", "download a succeeded job's final model (a PyTorch state dict; docs/python.md)");
  md->add_option("JOB", mdl.job, "job id")->required();
  md->add_option("-o,--out", mdl.out, "where to write it, e.g. model.pt")->required();
  md->add_flag("--json", mdl.json, "print the model's metadata (size, sha256, attempt) as JSON");
  md->callback([&] { code = RunModel(conn, mdl, io); });

  std::string health_address;
  auto* he = app.add_subcommand("health", "grpc.health.v1 check (no token needed): exit 0 when SERVING");
  he->add_option("ADDRESS", health_address, "HOST:PORT (default: the configured coordinator)");
  he->callback([&] { code = RunHealth(conn, health_address, io); });

  TokenArgs tok;
  auto* tk = app.add_subcommand("token", "make a bearer token and print its --tokens-file line (no coordinator needed)");
  tk->add_option("--role", tok.role, "admin | client | read-only | worker")->required();
  tk->add_option("--name", tok.name, "who holds it (shown in logs; default: the role)");
  tk->add_flag("--hash", tok.hash, "print the line for a token read from stdin instead of making one");
  tk->add_flag("--json", tok.json, "one JSON object: token, line, role, name");
  tk->callback([&] { code = RunToken(tok, std::cin, io); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return Exit(app, e);
  }
  return code;
}
