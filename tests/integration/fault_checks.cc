#include "tests/integration/fault_checks.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>
#include <tuple>

namespace lcsweep::testing {
namespace {

namespace fs = std::filesystem;

// What the worker's runner logs (worker/runner/trainer_job_runner.cc): these
// per logged step, ...
const char* const kStepMetrics[] = {"train.step_loss", "train.step_accuracy", "train.lr",
                                    "train.images_per_second"};
// ... and these once per epoch (at the epoch's last step).
const char* const kEpochMetrics[] = {"train.loss", "train.accuracy", "test.loss", "test.accuracy",
                                     "test.top5", "epoch.seconds", "epoch.images_per_second"};

constexpr v1::JobState kStates[] = {v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING,
                                    v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED,
                                    v1::JOB_STATE_CANCELLED};

// job id -> the states whose ListJobs filter lists it.
std::map<int64_t, std::vector<v1::JobState>> ListedStates(LocalCluster& cluster, int64_t sweep_id) {
  std::map<int64_t, std::vector<v1::JobState>> out;
  for (v1::JobState state : kStates) {
    v1::ListJobsRequest req;
    req.set_sweep_id(sweep_id);
    req.add_states(state);
    req.set_page_size(1000);
    do {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::ListJobsResponse resp;
      const grpc::Status st = cluster.stub().ListJobs(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << "ListJobs: " << st.error_message();
      if (!st.ok()) break;
      for (const auto& j : resp.jobs()) out[j.id()].push_back(state);
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
  }
  return out;
}

// The audit trail is one chain ending in the job's state; returns the
// number of transitions to succeeded.
int CheckAuditChain(LocalCluster& cluster, const v1::Job& job) {
  const std::vector<v1::Event> events = cluster.Events(job.id());
  EXPECT_FALSE(events.empty()) << "job " << job.id() << " has no audit trail";
  int succeeded = 0;
  v1::JobState state = v1::JOB_STATE_UNSPECIFIED;
  for (const auto& e : events) {
    // A creation event starts from UNSPECIFIED; re-linking by a later
    // submission may record a no-op (same state) event.
    EXPECT_TRUE(e.from_state() == state || (state == v1::JOB_STATE_UNSPECIFIED))
        << "job " << job.id() << " event " << e.id() << " (" << e.reason() << ") leaves state "
        << v1::JobState_Name(e.from_state()) << " but the job was "
        << v1::JobState_Name(state);
    state = e.to_state();
    succeeded += e.to_state() == v1::JOB_STATE_SUCCEEDED;
  }
  EXPECT_EQ(state, job.state()) << "job " << job.id() << ": audit trail ends in "
                                << v1::JobState_Name(state) << ", the job is "
                                << v1::JobState_Name(job.state());
  return succeeded;
}

}  // namespace

void FaultTally::Print() const {
  std::cout << "FAULT_TALLY fault=" << fault << " jobs=" << jobs << " acknowledged=" << acknowledged
            << " lost=" << lost << " duplicated=" << duplicated << std::endl;
}

std::string IntegrityCheck(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = "cannot open " + db_path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return msg;
  }
  std::string result;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) != SQLITE_OK) {
    result = std::string("cannot prepare integrity_check: ") + sqlite3_errmsg(db);
  } else {
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!result.empty()) result += "\n";
      result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    if (rc != SQLITE_DONE) result += std::string("\nstep failed: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

std::vector<v1::Job> CheckSweep(LocalCluster& cluster, int64_t sweep_id, const SweepShape& shape,
                                FaultTally* tally) {
  const std::vector<v1::Job> jobs = cluster.Jobs(sweep_id);
  EXPECT_EQ(static_cast<int>(jobs.size()), shape.jobs) << "sweep " << sweep_id;
  const int64_t steps = static_cast<int64_t>(shape.epochs) * (shape.train_size / shape.batch_size);
  const int64_t logged_steps = steps / shape.log_every_steps;
  const int64_t expected_points =
      logged_steps * std::size(kStepMetrics) + shape.epochs * std::size(kEpochMetrics);
  const auto listed = ListedStates(cluster, sweep_id);

  for (const v1::Job& job : jobs) {
    ++tally->jobs;
    tally->acknowledged += expected_points + 1;  // the points and the completion
    EXPECT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << "job " << job.id() << ": " << job.error();
    if (job.state() != v1::JOB_STATE_SUCCEEDED) ++tally->lost;
    const int succeeded = CheckAuditChain(cluster, job);
    EXPECT_EQ(succeeded, 1) << "job " << job.id() << " succeeded " << succeeded << " times";
    if (succeeded > 1) tally->duplicated += succeeded - 1;
    auto it = listed.find(job.id());
    const std::vector<v1::JobState> states =
        it == listed.end() ? std::vector<v1::JobState>{} : it->second;
    EXPECT_EQ(states, std::vector<v1::JobState>{job.state()})
        << "job " << job.id() << " is listed under " << states.size() << " state filters";
    if (!job.result_json().empty()) {
      const nlohmann::json result = nlohmann::json::parse(job.result_json());
      EXPECT_EQ(result.value("steps", int64_t{-1}), steps) << "job " << job.id();
    }

    // Live series: every (name, step) once.
    const auto live = cluster.Metrics(job.id());
    auto check_live = [&](const char* name, int64_t step) {
      int n = 0;
      auto series = live.find(name);
      if (series != live.end()) {
        for (const auto& p : series->second) n += p.step() == step;
      }
      EXPECT_EQ(n, 1) << "job " << job.id() << " " << name << " step " << step << " appears " << n
                      << " times in the live series";
      if (n == 0) ++tally->lost;
      if (n > 1) tally->duplicated += n - 1;
    };
    for (const char* name : kStepMetrics) {
      for (int64_t s = shape.log_every_steps; s <= steps; s += shape.log_every_steps) check_live(name, s);
    }
    for (const char* name : kEpochMetrics) {
      for (int e = 1; e <= shape.epochs; ++e) check_live(name, e * (shape.train_size / shape.batch_size));
    }
    int64_t live_total = 0;
    for (const auto& [name, points] : live) live_total += static_cast<int64_t>(points.size());
    EXPECT_EQ(live_total, expected_points) << "job " << job.id() << ": live points beyond the run's";
    if (live_total > expected_points) tally->duplicated += live_total - expected_points;

    // All stored points: no report stored twice within an attempt.
    std::map<std::tuple<int, std::string, int64_t>, int> stored;
    for (const auto& [name, points] : cluster.Metrics(job.id(), /*include_superseded=*/true)) {
      for (const auto& p : points) ++stored[{p.attempt(), name, p.step()}];
    }
    for (const auto& [key, n] : stored) {
      EXPECT_EQ(n, 1) << "job " << job.id() << " attempt " << std::get<0>(key) << " "
                      << std::get<1>(key) << " step " << std::get<2>(key) << " stored " << n
                      << " times (a report stored twice)";
      if (n > 1) tally->duplicated += n - 1;
    }
  }

  if (!shape.compare_with_standalone) return jobs;
  // Results equal an uninterrupted run, bitwise (CPU, one thread, the
  // deterministic loader and filters: see chaos_test.cc). Two at a time.
  std::vector<nlohmann::json> fresh(jobs.size());
  std::atomic<size_t> next{0};
  auto run = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      const std::string dir = cluster.dir() + "/standalone-" + std::to_string(jobs[i].id());
      fs::create_directories(dir);
      fresh[i] = RunStandalone(jobs[i].config_json(), dir);
    }
  };
  std::thread a(run), b(run);
  a.join();
  b.join();
  for (size_t i = 0; i < jobs.size(); ++i) {
    const v1::Job& job = jobs[i];
    if (fresh[i].empty() || job.result_json().empty()) {
      ADD_FAILURE() << "job " << job.id() << ": no result to compare";
      continue;
    }
    const nlohmann::json result = nlohmann::json::parse(job.result_json());
    for (const char* key : {"test_accuracy", "test_loss", "train_loss"}) {
      EXPECT_EQ(result.at("final").at(key).get<double>(), fresh[i].at("final").at(key).get<double>())
          << "job " << job.id() << " final." << key << " differs from the uninterrupted run";
    }
    const auto live = cluster.Metrics(job.id());
    const std::map<std::string, std::string> series = {
        {"test.accuracy", "test_accuracy"}, {"test.loss", "test_loss"}, {"train.loss", "train_loss"}};
    const nlohmann::json& history = fresh[i].at("history");
    for (const auto& [metric, key] : series) {
      auto it = live.find(metric);
      if (it == live.end()) continue;  // reported as lost above
      for (const auto& p : it->second) {
        if (p.epoch() < 0 || p.epoch() >= static_cast<int64_t>(history.size())) continue;
        EXPECT_EQ(p.value(), history[p.epoch()].at(key).get<double>())
            << "job " << job.id() << " " << metric << " epoch " << p.epoch()
            << " differs from the uninterrupted run";
      }
    }
  }
  return jobs;
}

void KillCoordinatorAndCheckIntegrity(LocalCluster& cluster) {
  cluster.KillCoordinator(SIGKILL);
  EXPECT_EQ(IntegrityCheck(cluster.db_path()), "ok") << cluster.db_path();
}

void KeepLogs(const LocalCluster& cluster, const std::string& fault) {
  const char* keep = std::getenv("LCSWEEP_FAULT_LOG_DIR");
  if (keep == nullptr || *keep == '\0') return;
  const fs::path to = fs::path(keep) / fault;
  std::error_code ec;
  fs::create_directories(to, ec);
  for (const auto& entry : fs::directory_iterator(cluster.dir(), ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && (name.rfind("coordinator", 0) == 0 || name.rfind("worker", 0) == 0)) {
      fs::copy_file(entry.path(), to / name, fs::copy_options::overwrite_existing, ec);
    }
  }
}

int64_t CountSweeps(LocalCluster& cluster) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListSweepsRequest req;
  req.set_page_size(1000);
  v1::ListSweepsResponse resp;
  EXPECT_TRUE(cluster.stub().ListSweeps(&ctx, req, &resp).ok());
  return resp.sweeps_size();
}

}  // namespace lcsweep::testing
