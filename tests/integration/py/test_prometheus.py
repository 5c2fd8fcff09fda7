"""A real Prometheus (Debian's `prometheus`) scrapes a real coordinator and worker
on loopback during a small sweep; its query API must then report the job counts
the coordinator itself reports, the leases and RPCs the sweep took, and the
worker's finished jobs. A scrape job without the token must be refused (up == 0).

    python3 test_prometheus.py COORDINATOR WORKER CLI [PROMETHEUS]
Exits 77 (ctest: skipped) when prometheus is not installed."""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, free_port, skip, tiny_sweep  # noqa: E402

JOBS = 3


def main():
    bins = {"coordinator": sys.argv[1], "worker": sys.argv[2], "cli": sys.argv[3]}
    prometheus = sys.argv[4] if len(sys.argv) > 4 else shutil.which("prometheus")
    if not prometheus or not os.access(prometheus, os.X_OK):
        skip("prometheus is not installed (deploy/install-deps.sh installs Debian's)")
    with Cluster(bins) as c:
        worker_port = free_port()
        prom_port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": "lcsweep", "authorization": {"type": "Bearer",
                                                          "credentials_file": c.token_file("read-only")},
                 "static_configs": [{"targets": ["127.0.0.1:%d" % c.http_port]}]},
                {"job_name": "lcsweep-noauth", "static_configs": [{"targets": ["127.0.0.1:%d" % c.http_port]}]},
                {"job_name": "lcsweep-worker", "static_configs": [{"targets": ["127.0.0.1:%d" % worker_port]}]},
            ],
        }
        # JSON is YAML: Prometheus reads it as its config file.
        config_path = os.path.join(c.dir, "prometheus.yml")
        with open(config_path, "w") as f:
            json.dump(config, f)
        c._spawn("prometheus", [prometheus, "--config.file", config_path,
                                "--storage.tsdb.path", os.path.join(c.dir, "tsdb"),
                                "--web.listen-address", "127.0.0.1:%d" % prom_port])
        api = "http://127.0.0.1:%d/api/v1/query?query=" % prom_port

        def query(expr):
            try:
                with urllib.request.urlopen(api + urllib.parse.quote(expr), timeout=5) as r:
                    body = json.load(r)
            except OSError:
                return None
            result = body.get("data", {}).get("result", [])
            return float(result[0]["value"][1]) if result else None

        def expect(expr, want, seconds=60):
            deadline = time.time() + seconds
            got = None
            while time.time() < deadline:
                got = query(expr)
                if got == want:
                    print("ok   %s == %g" % (expr, want))
                    return
                time.sleep(0.5)
            raise AssertionError("%s: Prometheus says %r, expected %g\nprometheus log:\n%s"
                                 % (expr, got, want, c.log("prometheus")[-3000:]))

        # About 4 s a job: longer than the 1 s heartbeat interval (lease 4 s), so
        # the worker's heartbeat age is measured, not NaN.
        sweep = c.submit(tiny_sweep("scraped", seeds=list(range(JOBS)), train_size=8192))
        expect('lcsweep_jobs{job="lcsweep",state="queued"}', JOBS)
        expect('sum(lcsweep_queue_depth{job="lcsweep"})', JOBS)
        expect('lcsweep_leases_granted_total{job="lcsweep"}', 0)
        expect('up{job="lcsweep-noauth"}', 0)  # the coordinator refused the scrape without a token

        c.start_worker("w1", ["--metrics-listen", "127.0.0.1:%d" % worker_port])
        jobs = c.wait(sweep)
        succeeded = sum(1 for j in jobs if j.get("state") == "JOB_STATE_SUCCEEDED")
        if succeeded != JOBS:
            raise AssertionError("only %d of %d jobs succeeded:\n%s" % (succeeded, JOBS, json.dumps(jobs)[:3000]))
        expect('lcsweep_jobs{job="lcsweep",state="succeeded"}', succeeded)
        expect('lcsweep_jobs{job="lcsweep",state="queued"}', 0)
        expect('lcsweep_jobs{job="lcsweep",state="running"}', 0)
        expect('sum(lcsweep_queue_depth{job="lcsweep"})', 0)
        expect('lcsweep_leases_granted_total{job="lcsweep"}', JOBS)
        expect('lcsweep_rpc_requests_total{job="lcsweep",method="/lcsweep.v1.WorkerService/CompleteJob",code="OK"}',
               JOBS)
        expect('lcsweep_workers_alive{job="lcsweep"}', 1)
        expect('lcsweep_metric_points_ingested_total{job="lcsweep"} > bool 0', 1)
        expect('lcsweep_store_commit_seconds_count{job="lcsweep"} > bool 0', 1)
        expect('lcsweep_worker_jobs_finished_total{job="lcsweep-worker",outcome="succeeded"}', JOBS)
        expect('lcsweep_worker_jobs_running{job="lcsweep-worker"}', 0)
        expect('max_over_time(lcsweep_worker_jobs_running{job="lcsweep-worker"}[10m])', 1)
        expect('max_over_time(lcsweep_worker_images_per_second{job="lcsweep-worker",device="cpu"}[10m]) > bool 0', 1)
        expect('lcsweep_worker_last_heartbeat_age_seconds{job="lcsweep-worker"} < bool 60', 1)
    print("PASS")


if __name__ == "__main__":
    main()
