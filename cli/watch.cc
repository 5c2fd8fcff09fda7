#include "cli/watch.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>

#include <nlohmann/json.hpp>

#include "cli/call.h"
#include "cli/format.h"
#include "proto/convert.h"

namespace lcsweep::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct JobView {
  v1::Job job;
  int64_t epoch = 0, step = 0, total_steps = 0, epochs = 0, batch_size = 0;
  double loss = NAN, accuracy = NAN, images_per_second = NAN, test_accuracy = NAN;
  Clock::time_point last_plain{};
  bool announced_final = false;
};

bool IsFinal(v1::JobState s) {
  return s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED ||
         s == v1::JOB_STATE_CANCELLED || s == v1::JOB_STATE_STOPPED;
}

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

class Watcher {
 public:
  Watcher(Io io, bool tty, int64_t sweep_id, std::string sweep_name)
      : io_(io), tty_(tty), sweep_id_(sweep_id), sweep_name_(std::move(sweep_name)), start_(Clock::now()) {}

  void OnJob(const v1::Job& j) {
    JobView& v = jobs_[j.id()];
    bool is_new = v.job.id() == 0;
    v1::JobState before = v.job.state();
    v.job = j;
    if (is_new) {
      nlohmann::json cfg = nlohmann::json::parse(j.config_json(), nullptr, false);
      if (cfg.is_object() && cfg.contains("train") && cfg["train"].is_object()) {
        v.epochs = cfg["train"].value("epochs", 0);
        v.batch_size = cfg["train"].value("batch_size", 0);
      }
    }
    const auto& m = j.progress().metrics();
    if (j.progress().updated_at_ms() > 0) {
      v.epoch = std::max(v.epoch, j.progress().epoch());
      v.step = std::max(v.step, j.progress().step());
    }
    if (m.count("total_steps")) v.total_steps = static_cast<int64_t>(m.at("total_steps"));
    if (m.count("epochs")) v.epochs = static_cast<int64_t>(m.at("epochs"));
    if (m.count("train.step_loss")) v.loss = m.at("train.step_loss");
    if (m.count("train.images_per_second")) v.images_per_second = m.at("train.images_per_second");
    if (m.count("test.accuracy")) v.test_accuracy = m.at("test.accuracy");
    if (!is_new && before != j.state()) Announce(v, "");
    if (is_new && IsFinal(j.state())) v.announced_final = true;  // finished before we started watching
    if (is_new && !tty_ && !IsFinal(j.state())) Announce(v, "");
    if (IsFinal(j.state()) && !v.announced_final) Announce(v, "");
  }

  void OnMetrics(const v1::MetricBatch& b) {
    auto it = jobs_.find(b.job_id());
    if (it == jobs_.end()) return;
    JobView& v = it->second;
    for (const auto& p : b.points()) {
      v.step = std::max(v.step, p.step());
      v.epoch = std::max(v.epoch, p.epoch());
      const std::string& n = p.name();
      if (n == "train.step_loss") v.loss = p.value();
      else if (n == "train.step_accuracy") v.accuracy = p.value();
      else if (n == "train.images_per_second") v.images_per_second = p.value();
      else if (n == "test.accuracy") {
        v.test_accuracy = p.value();
        Announce(v, "epoch " + std::to_string(p.epoch() + 1) + (v.epochs ? "/" + std::to_string(v.epochs) : "") +
                        ": test accuracy " + Fmt("%.2f%%", p.value() * 100));
      }
    }
    if (!tty_) {
      auto now = Clock::now();
      if (now - v.last_plain > std::chrono::seconds(10) && v.job.state() == v1::JOB_STATE_RUNNING) {
        v.last_plain = now;
        Print("job " + std::to_string(v.job.id()) + " " + JobLine(v));
      }
    }
  }

  void OnEvent(const v1::Event&) {}

  // Redraws the live block (terminal only), at most every `every`.
  void Draw(bool force, std::chrono::milliseconds every) {
    if (!tty_) return;
    auto now = Clock::now();
    if (!force && now - last_draw_ < every) return;
    last_draw_ = now;
    ClearBlock();
    // Lines are cut to the terminal's width: a wrapped line would break the
    // cursor-up count of the next redraw.
    size_t width = 0;
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col - 1;
    auto cut = [width](std::string s) {
      if (width > 0 && s.size() > width) s.resize(width);  // ASCII only
      return s + "\n";
    };
    std::string block;
    int lines = 0;
    for (const auto& [id, v] : jobs_) {
      if (v.job.state() != v1::JOB_STATE_RUNNING) continue;
      block += cut("  job " + std::to_string(id) + "  " + AxesText(v.job.axes_json()));
      block += cut("      " + JobLine(v));
      lines += 2;
    }
    if (sweep_id_) {
      block += cut(SweepLine());
      ++lines;
    }
    io_.out << block << std::flush;
    live_lines_ = lines;
  }

  void Finish() {
    if (tty_) {
      Draw(true, std::chrono::milliseconds(0));
    } else if (sweep_id_) {
      Print(SweepLine());
    }
  }

  // Succeeded / failed-or-cancelled counts.
  std::pair<int, int> Outcome() const {
    int ok = 0, bad = 0;
    for (const auto& [id, v] : jobs_) {
      if (v.job.state() == v1::JOB_STATE_SUCCEEDED) ++ok;
      else ++bad;
    }
    return {ok, bad};
  }

 private:
  std::string JobLine(const JobView& v) const {
    std::string s;
    double frac = v.total_steps > 0 ? static_cast<double>(v.step) / v.total_steps : NAN;
    if (std::isfinite(frac)) s += ProgressBar(frac, 24) + "  ";
    s += "epoch " + std::to_string(std::min(v.epoch + 1, std::max<int64_t>(v.epochs, v.epoch + 1))) +
         (v.epochs ? "/" + std::to_string(v.epochs) : "");
    s += "  step " + std::to_string(v.step) + (v.total_steps ? "/" + std::to_string(v.total_steps) : "");
    if (std::isfinite(v.loss)) s += "  loss " + Fmt("%.4f", v.loss);
    if (std::isfinite(v.accuracy)) s += "  acc " + Fmt("%.1f%%", v.accuracy * 100);
    if (std::isfinite(v.test_accuracy)) s += "  test " + Fmt("%.2f%%", v.test_accuracy * 100);
    if (std::isfinite(v.images_per_second)) s += "  " + Fmt("%.0f", v.images_per_second) + " img/s";
    if (v.total_steps > 0 && v.batch_size > 0 && std::isfinite(v.images_per_second) && v.images_per_second > 0) {
      double eta = (v.total_steps - v.step) * static_cast<double>(v.batch_size) / v.images_per_second;
      s += "  ETA " + FormatDuration(eta) + " (+eval)";
    }
    return s;
  }

  std::string SweepLine() const {
    int n = 0, done = 0, ok = 0, running = 0, queued = 0, failed = 0, cancelled = 0, stopped = 0;
    for (const auto& [id, v] : jobs_) {
      ++n;
      switch (v.job.state()) {
        case v1::JOB_STATE_SUCCEEDED: ++ok; ++done; break;
        case v1::JOB_STATE_FAILED: ++failed; ++done; break;
        case v1::JOB_STATE_CANCELLED: ++cancelled; ++done; break;
        case v1::JOB_STATE_STOPPED: ++stopped; ++done; break;
        case v1::JOB_STATE_RUNNING: ++running; break;
        default: ++queued;
      }
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    return "sweep " + std::to_string(sweep_id_) + " " + sweep_name_ + "  " +
           ProgressBar(n ? static_cast<double>(done) / n : 0, 30) + "  " + std::to_string(done) + "/" +
           std::to_string(n) + " done (" + std::to_string(ok) + " ok, " + std::to_string(failed) + " failed, " +
           std::to_string(cancelled) + " cancelled" +
           (stopped ? ", " + std::to_string(stopped) + " stopped early" : std::string()) + ")  " + std::to_string(running) + " running  " +
           std::to_string(queued) + " queued  " + FormatDuration(elapsed);
  }

  void Announce(JobView& v, const std::string& extra) {
    const v1::Job& j = v.job;
    std::string line = "job " + std::to_string(j.id()) + " [" + AxesText(j.axes_json()) + "] ";
    if (!extra.empty()) {
      line += extra;
    } else {
      line += JobStateName(j.state());
      if (j.state() == v1::JOB_STATE_RUNNING && j.worker_id()) {
        line += " on worker " + std::to_string(j.worker_id()) + " (attempt " + std::to_string(j.attempt()) + ")";
      }
      if (j.state() == v1::JOB_STATE_SUCCEEDED) {
        nlohmann::json r = nlohmann::json::parse(j.result_json(), nullptr, false);
        if (r.is_object() && r.contains("final") && r["final"].is_object() && r["final"].contains("test_accuracy") &&
            r["final"]["test_accuracy"].is_number()) {
          line += ": test accuracy " + Fmt("%.2f%%", r["final"]["test_accuracy"].get<double>() * 100);
        }
        if (r.is_object() && r.contains("timings_s") && r["timings_s"].is_object() &&
            r["timings_s"].contains("total") && r["timings_s"]["total"].is_number()) {
          line += " in " + FormatDuration(r["timings_s"]["total"].get<double>());
        }
      }
      if (j.state() == v1::JOB_STATE_FAILED && !j.error().empty()) line += ": " + j.error();
      if (IsFinal(j.state())) v.announced_final = true;
    }
    Print(line);
  }

  void Print(const std::string& line) {
    ClearBlock();
    io_.out << line << "\n" << std::flush;
    if (tty_) Draw(true, std::chrono::milliseconds(0));
  }

  void ClearBlock() {
    if (tty_ && live_lines_ > 0) io_.out << "\x1b[" << live_lines_ << "F\x1b[J";
    live_lines_ = 0;
  }

  Io io_;
  bool tty_;
  int64_t sweep_id_;
  std::string sweep_name_;
  Clock::time_point start_, last_draw_{};
  std::map<int64_t, JobView> jobs_;
  int live_lines_ = 0;
};

}  // namespace

int RunWatch(const ConnectionFlags& flags, const WatchArgs& args, Io io) {
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  std::string name;
  if (args.sweep) {
    v1::GetSweepRequest req;
    req.set_sweep_id(args.sweep);
    v1::GetSweepResponse resp;
    Status st = Call(c, &v1::JobService::Stub::GetSweep, req, &resp, "sweep " + std::to_string(args.sweep));
    if (!st.ok()) return ReportError(st, io);
    name = resp.sweep().name();
  }
  const bool tty = !args.plain && isatty(STDOUT_FILENO);
  Watcher w(io, tty, args.sweep, name);
  auto ctx = c.Context(/*deadline=*/false);
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader;
  if (args.sweep) {
    v1::WatchSweepRequest req;
    req.set_sweep_id(args.sweep);
    req.set_include_metrics(true);
    reader = c.jobs().WatchSweep(ctx.get(), req);
  } else {
    v1::WatchJobRequest req;
    req.set_job_id(args.job);
    req.set_include_metrics(true);
    reader = c.jobs().WatchJob(ctx.get(), req);
  }
  const auto every = std::chrono::milliseconds(static_cast<int64_t>(args.refresh_seconds * 1000));
  v1::WatchResponse msg;
  while (reader->Read(&msg)) {
    switch (msg.update_case()) {
      case v1::WatchResponse::kJob: w.OnJob(msg.job()); break;
      case v1::WatchResponse::kMetrics: w.OnMetrics(msg.metrics()); break;
      case v1::WatchResponse::kEvent: w.OnEvent(msg.event()); break;
      default: break;
    }
    w.Draw(false, every);
  }
  grpc::Status st = reader->Finish();
  w.Finish();
  if (!st.ok()) {
    return ReportError(c.Explain(st, args.sweep ? "watching sweep " + std::to_string(args.sweep)
                                                : "watching job " + std::to_string(args.job)), io);
  }
  auto [ok, bad] = w.Outcome();
  if (bad) {
    io.out << bad << (bad == 1 ? " job" : " jobs") << " did not succeed (" << ok << " succeeded)\n";
    return kExitFailure;
  }
  io.out << "all " << ok << (ok == 1 ? " job" : " jobs") << " succeeded\n";
  return kExitOk;
}

}  // namespace lcsweep::cli
