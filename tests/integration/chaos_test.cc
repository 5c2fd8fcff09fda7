// Chaos test of issue 9: a real lcsweep-coordinator and 3 real lcsweep-worker
// processes on loopback run a 12-job sweep of tiny models on synthetic data
// while the test, from a seeded RNG, kills workers with SIGKILL (lease expiry,
// a lost attempt) and SIGTERM (drain, release) at random moments and restarts
// them, and restarts the coordinator twice on the same database and port
// (once after SIGKILL, once after SIGTERM).
//
// Afterwards every job must have succeeded exactly once (one transition to
// succeeded in its audit trail, a result stored), its live per-epoch series
// (test.accuracy, train.loss, test.loss) must hold every epoch exactly once,
// and its result must equal, bitwise, that of an uninterrupted lcsweep-train
// run of the same config (both with --threads 1 on the CPU).
//
// The live step-level series (train.step_loss, every log_every_steps steps)
// must also hold every logged step exactly once: a killed attempt's steps
// after its last checkpoint are re-run by the next one, so this is where the
// coordinator's metric lineage (superseded points) is exercised most.
//
// The seed is printed; LCSWEEP_CHAOS_SEED=N replays a schedule (the order and
// kind of faults; their exact moments still depend on the machine's speed).
// LCSWEEP_CHAOS_LOG_DIR=D copies the coordinator's and workers' logs to D.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/local_cluster.h"

namespace lcsweep::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr int kWorkers = 3;
constexpr int kEpochs = 5;
constexpr int kTrainSize = 2048;   // 32 steps of 64 images per epoch
constexpr int kLogEverySteps = 2;  // TinySweep's train.log_every_steps
constexpr int kJobs = 12;

uint64_t ChaosSeed() {
  if (const char* env = std::getenv("LCSWEEP_CHAOS_SEED"); env != nullptr && *env != '\0') {
    return std::strtoull(env, nullptr, 10);
  }
  return std::random_device{}();
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Workers alive now, with the jobs they hold leases for (empty on errors,
// e.g. while the coordinator restarts).
std::map<std::string, int> BusyWorkers(LocalCluster& cluster) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
  v1::ListWorkersResponse resp;
  std::map<std::string, int> busy;
  if (!cluster.stub().ListWorkers(&ctx, v1::ListWorkersRequest(), &resp).ok()) return busy;
  for (const auto& w : resp.workers()) busy[w.name()] = w.job_ids_size();
  return busy;
}

// Every stored point of one metric, superseded ones included (all pages).
std::vector<v1::MetricPoint> AllPoints(LocalCluster& cluster, int64_t job_id,
                                       const std::string& name) {
  return cluster.Metrics(job_id, /*include_superseded=*/true)[name];
}

// The job's live series of `name`: the value of each epoch, in order; fails
// the test on a duplicate or a gap.
std::vector<double> EpochSeries(const std::map<std::string, std::vector<v1::MetricPoint>>& metrics,
                                const std::string& name, int64_t job_id) {
  std::vector<double> values;
  auto it = metrics.find(name);
  if (it == metrics.end()) {
    ADD_FAILURE() << "job " << job_id << " has no " << name << " series";
    return values;
  }
  std::map<int64_t, std::vector<double>> by_epoch;
  for (const auto& p : it->second) by_epoch[p.epoch()].push_back(p.value());
  for (int64_t e = 0; e < kEpochs; ++e) {
    auto found = by_epoch.find(e);
    if (found == by_epoch.end()) {
      ADD_FAILURE() << "job " << job_id << " " << name << ": epoch " << e << " is missing (gap)";
      values.push_back(0);
      continue;
    }
    EXPECT_EQ(found->second.size(), 1u)
        << "job " << job_id << " " << name << ": epoch " << e << " appears "
        << found->second.size() << " times in the live series";
    values.push_back(found->second.front());
  }
  EXPECT_EQ(by_epoch.size(), static_cast<size_t>(kEpochs))
      << "job " << job_id << " " << name << " has epochs beyond " << kEpochs - 1;
  return values;
}

struct Observed {
  int sigkill = 0, sigterm = 0;            // worker faults
  int sigkill_busy = 0, sigterm_busy = 0;  // ... that hit a worker holding a job
  int coordinator_restarts = 0;
  std::vector<std::string> log;
};

TEST(Chaos, TwelveJobSweepSurvivesKilledWorkersAndCoordinatorRestarts) {
  const uint64_t seed = ChaosSeed();
  std::cout << "[chaos] seed " << seed << " (replay with LCSWEEP_CHAOS_SEED=" << seed << ")\n";
  RecordProperty("chaos_seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  const auto t0 = Clock::now();

  // Lease 3 s: a SIGKILLed worker's job is requeued within ~3-4 s.
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/3, {}, ""});
  nlohmann::json spec =
      TinySweep("chaos", kEpochs, kTrainSize, {{"model.conv.lc_rate", {1, 2, 4}}}, {11, 12, 13, 14});
  ASSERT_EQ(spec["base"]["train"]["log_every_steps"], kLogEverySteps);
  // Each SIGKILL costs the job it hits an attempt; several may hit one job.
  spec["max_attempts"] = 20;
  v1::SubmitSweepResponse submitted;
  ASSERT_TRUE(cluster.Submit(spec, &submitted).ok());
  ASSERT_EQ(submitted.jobs_size(), kJobs);
  const int64_t sweep = submitted.sweep_id();
  std::vector<std::string> names;
  for (int i = 0; i < kWorkers; ++i) {
    names.push_back("w" + std::to_string(i));
    cluster.StartWorker(names.back());
  }

  // The fault schedule: 3 SIGKILLs and 3 SIGTERMs of workers in random order
  // at random gaps, and the coordinator restarts when the sweep has reached
  // random points (so they land mid-sweep on a fast or a slow machine).
  std::vector<int> worker_faults = {SIGKILL, SIGKILL, SIGKILL, SIGTERM, SIGTERM, SIGTERM};
  std::shuffle(worker_faults.begin(), worker_faults.end(), rng);
  struct CoordinatorFault {
    int after_succeeded;
    int sig;
  };
  std::vector<CoordinatorFault> coordinator_faults = {
      {static_cast<int>(rng() % 3) + 1, SIGKILL}, {static_cast<int>(rng() % 3) + 6, SIGTERM}};
  Observed obs;
  auto note = [&](const std::string& what) {
    std::ostringstream line;
    line.setf(std::ios::fixed);
    line.precision(1);
    line << "t=" << SecondsSince(t0) << "s " << what;
    obs.log.push_back(line.str());
    std::cout << "[chaos] " << line.str() << "\n" << std::flush;
  };

  auto succeeded = [&] {
    int n = 0;
    for (const auto& j : cluster.Jobs(sweep)) n += j.state() == v1::JOB_STATE_SUCCEEDED;
    return n;
  };
  auto all_final = [&] {
    auto jobs = cluster.Jobs(sweep);
    if (static_cast<int>(jobs.size()) != kJobs) return false;  // coordinator down
    for (const auto& j : jobs) {
      if (!IsFinal(j.state())) return false;
    }
    return true;
  };

  const auto deadline = Clock::now() + std::chrono::minutes(6);
  auto next_fault = Clock::now() + milliseconds(static_cast<int>(uniform(2000, 4000)));
  while (!all_final()) {
    ASSERT_LT(Clock::now(), deadline) << "the sweep did not finish in 6 minutes; seed " << seed;
    const int done = succeeded();
    if (!coordinator_faults.empty() && done >= coordinator_faults.front().after_succeeded) {
      const CoordinatorFault f = coordinator_faults.front();
      coordinator_faults.erase(coordinator_faults.begin());
      note(std::string("coordinator ") + (f.sig == SIGKILL ? "SIGKILL" : "SIGTERM") + " at " +
           std::to_string(done) + " succeeded");
      cluster.KillCoordinator(f.sig);
      ASSERT_FALSE(cluster.coordinator().running()) << "the coordinator did not stop";
      std::this_thread::sleep_for(milliseconds(static_cast<int>(uniform(300, 2000))));
      cluster.StartCoordinator();
      ++obs.coordinator_restarts;
      note("coordinator restarted");
      continue;
    }
    if (!worker_faults.empty() && Clock::now() >= next_fault) {
      const int sig = worker_faults.front();
      // Prefer a worker that holds a job: that is the interesting moment.
      std::map<std::string, int> busy = BusyWorkers(cluster);
      std::vector<std::string> candidates;
      for (const auto& n : names) {
        if (busy.count(n) && busy[n] > 0) candidates.push_back(n);
      }
      const bool hit_busy = !candidates.empty();
      if (!hit_busy) {
        // Nobody busy (between jobs, or the coordinator restarting): wait a
        // little for a better moment, but not forever.
        if (Clock::now() < next_fault + seconds(5)) {
          std::this_thread::sleep_for(milliseconds(100));
          continue;
        }
        candidates = names;
      }
      worker_faults.erase(worker_faults.begin());
      const std::string victim = candidates[rng() % candidates.size()];
      ChildProcess& proc = cluster.worker(victim);
      note(std::string(sig == SIGKILL ? "SIGKILL" : "SIGTERM") + " worker " + victim +
           (hit_busy ? " (holding a job)" : " (idle)"));
      proc.Signal(sig);
      if (sig == SIGKILL) {
        ++obs.sigkill;
        obs.sigkill_busy += hit_busy;
        ASSERT_TRUE(proc.Wait(seconds(30)).has_value());
      } else {
        ++obs.sigterm;
        obs.sigterm_busy += hit_busy;
        // A drain: checkpoint at the next step, upload, release, exit 0.
        const auto code = proc.Wait(seconds(120));
        ASSERT_TRUE(code.has_value()) << "worker " << victim << " did not drain in 120 s";
        EXPECT_EQ(*code, 0) << "a drained worker exits 0:\n" << proc.Stderr();
        note("worker " + victim + " drained, exit " + std::to_string(*code));
      }
      std::this_thread::sleep_for(milliseconds(static_cast<int>(uniform(0, 1500))));
      cluster.StartWorker(victim);
      note("worker " + victim + " restarted");
      next_fault = Clock::now() + milliseconds(static_cast<int>(uniform(1000, 3500)));
      continue;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  const double sweep_s = SecondsSince(t0);
  note("all jobs final");

  // The schedule must have done what it claims, or the test proves nothing.
  EXPECT_EQ(obs.coordinator_restarts, 2) << "the sweep ended before both coordinator restarts";
  EXPECT_GE(obs.sigkill_busy, 1) << "no SIGKILL hit a worker holding a job";
  EXPECT_GE(obs.sigterm_busy, 1) << "no SIGTERM hit a worker holding a job";

  // Every job succeeded exactly once, with a result.
  const std::vector<v1::Job> jobs = cluster.Jobs(sweep);
  ASSERT_EQ(static_cast<int>(jobs.size()), kJobs);
  int resumed_jobs = 0, total_leases = 0, max_attempt = 0;
  std::map<std::string, int> total_superseded;
  std::map<std::string, int> reasons;
  for (const auto& job : jobs) {
    ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << "job " << job.id() << ": " << job.error();
    ASSERT_FALSE(job.result_json().empty()) << "job " << job.id();
    int to_succeeded = 0, leases = 0;
    for (const auto& e : cluster.Events(job.id())) {
      to_succeeded += e.to_state() == v1::JOB_STATE_SUCCEEDED;
      if (e.to_state() == v1::JOB_STATE_RUNNING) ++leases;
      if (e.from_state() == v1::JOB_STATE_RUNNING && e.to_state() == v1::JOB_STATE_QUEUED) {
        ++reasons[e.reason().substr(0, e.reason().find(':'))];
      }
    }
    EXPECT_EQ(to_succeeded, 1) << "job " << job.id() << " succeeded " << to_succeeded << " times";
    total_leases += leases;
    max_attempt = std::max(max_attempt, job.attempt());
    const nlohmann::json result = nlohmann::json::parse(job.result_json());
    resumed_jobs += result.contains("resumed_from") && result["resumed_from"].is_string();
    for (const char* name : {"test.accuracy", "train.step_loss"}) {
      for (const auto& p : AllPoints(cluster, job.id(), name)) total_superseded[name] += p.superseded();
    }
    // The live step series: every logged step once, whichever attempt ran it.
    const int64_t steps = result.at("steps").get<int64_t>();
    EXPECT_EQ(steps, kEpochs * (kTrainSize / 64));
    std::map<int64_t, int> seen;
    for (const auto& p : cluster.Metrics(job.id())["train.step_loss"]) ++seen[p.step()];
    for (int64_t step = kLogEverySteps; step <= steps; step += kLogEverySteps) {
      auto it = seen.find(step);
      EXPECT_TRUE(it != seen.end() && it->second == 1)
          << "job " << job.id() << " train.step_loss step " << step << " appears "
          << (it == seen.end() ? 0 : it->second) << " times in the live series";
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(steps / kLogEverySteps)) << "job " << job.id();
  }

  // Each job's live per-epoch series has every epoch once, and equals an
  // uninterrupted run's history; the final figures are bitwise equal. Both
  // sides train on the CPU with one thread, the same deterministic loader
  // order (seeded per epoch) and the same counter-based frozen filters, and a
  // checkpoint restores the learned tensors, the optimizer state and the
  // epoch's running sums exactly, so no tolerance is needed.
  std::vector<nlohmann::json> fresh(jobs.size());
  {
    // Two standalone runs at a time (2 cores); each in its own folder.
    std::atomic<size_t> next{0};
    auto run = [&] {
      for (size_t i = next++; i < jobs.size(); i = next++) {
        const std::string dir = cluster.dir() + "/standalone-" + std::to_string(jobs[i].id());
        std::filesystem::create_directories(dir);
        fresh[i] = RunStandalone(jobs[i].config_json(), dir);
      }
    };
    std::thread a(run), b(run);
    a.join();
    b.join();
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    const v1::Job& job = jobs[i];
    ASSERT_FALSE(fresh[i].empty()) << "standalone run of job " << job.id() << " failed";
    const nlohmann::json result = nlohmann::json::parse(job.result_json());
    for (const char* key : {"test_accuracy", "test_loss", "train_loss"}) {
      EXPECT_EQ(result.at("final").at(key).get<double>(), fresh[i].at("final").at(key).get<double>())
          << "job " << job.id() << " final." << key << " differs from the uninterrupted run";
    }
    const auto metrics = cluster.Metrics(job.id());  // live points only
    const std::map<std::string, std::string> series = {
        {"test.accuracy", "test_accuracy"}, {"test.loss", "test_loss"}, {"train.loss", "train_loss"}};
    for (const auto& [metric, history_key] : series) {
      const std::vector<double> live = EpochSeries(metrics, metric, job.id());
      const nlohmann::json& history = fresh[i].at("history");
      ASSERT_EQ(history.size(), static_cast<size_t>(kEpochs));
      for (int e = 0; e < kEpochs && e < static_cast<int>(live.size()); ++e) {
        EXPECT_EQ(live[e], history[e].at(history_key).get<double>())
            << "job " << job.id() << " " << metric << " epoch " << e
            << " differs from the uninterrupted run";
      }
    }
  }

  std::cout << "[chaos] seed " << seed << ": sweep " << sweep_s << " s, whole test "
            << SecondsSince(t0) << " s\n"
            << "[chaos] worker SIGKILL " << obs.sigkill << " (" << obs.sigkill_busy
            << " holding a job), SIGTERM " << obs.sigterm << " (" << obs.sigterm_busy
            << " holding a job), coordinator restarts " << obs.coordinator_restarts << "\n"
            << "[chaos] leases " << total_leases << " for " << kJobs << " jobs, highest attempt "
            << max_attempt << ", results resumed from a checkpoint " << resumed_jobs
            << "; superseded points: test.accuracy " << total_superseded["test.accuracy"]
            << ", train.step_loss " << total_superseded["train.step_loss"] << "\n";
  for (const auto& [reason, n] : reasons) std::cout << "[chaos] requeued: " << reason << " x" << n << "\n";
  if (::testing::Test::HasFailure()) {
    for (const auto& line : obs.log) std::cerr << "[chaos] " << line << "\n";
  }
  if (const char* keep = std::getenv("LCSWEEP_CHAOS_LOG_DIR"); keep != nullptr && *keep != '\0') {
    std::error_code ec;
    std::filesystem::create_directories(keep, ec);
    for (const auto& entry : std::filesystem::directory_iterator(cluster.dir(), ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file() && (name.rfind("coordinator", 0) == 0 || name.rfind("worker", 0) == 0)) {
        std::filesystem::copy_file(entry.path(), std::filesystem::path(keep) / name,
                                   std::filesystem::copy_options::overwrite_existing, ec);
      }
    }
    std::cout << "[chaos] logs copied to " << keep << "\n";
  }
}

}  // namespace
}  // namespace lcsweep::testing
