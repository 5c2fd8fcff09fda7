"""Compute accounting end to end: a real coordinator and real workers train a
small Fashion-MNIST sweep; one worker is killed (kill -9) in the middle of a
job, so that job has a lost attempt and a second, successful one. Then:

  - every lease has its accounting row (ListUsage through `lcsweep cost
    --attempts --format json`): the lost one with the figures of its last
    heartbeat, the others succeeded with the images they trained;
  - the CPU-seconds the surviving workers' attempts report sum to those
    workers' own CPU time (utime + stime of /proc/PID/stat, read while they
    are idle) within 5%: what a worker does outside jobs (starting up, its
    long polls) is not charged to any, and it is small against the jobs;
  - `lcsweep cost --format json` sums the same rows per arm and in total,
    the lost attempt counted as abandoned.

Usage: test_cost.py COORDINATOR WORKER CLI
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, fashion_mnist_base, require_fashion_mnist  # noqa: E402



def cpu_seconds(pid):
    """utime + stime of a live process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sweep_spec():
    return {
        "name": "cost",
        "base": dict(fashion_mnist_base(5000, 500, epochs=2, batch_size=100, log_every_steps=5),
                     checkpoint={"every_epochs": 1}),
        "grid": {"model.conv.lc_rate": [1, 4]},
        "seeds": [0, 1],
    }


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    require_fashion_mnist()
    bins = dict(zip(("coordinator", "worker", "cli"), sys.argv[1:4]))
    with Cluster(bins) as c:
        sweep = c.submit(sweep_spec())
        victim = c.start_worker("victim")
        # Kill it once a job of its has heartbeaten with figures: its
        # attempt is then lost with a measurement.
        deadline = time.time() + 240
        while time.time() < deadline:
            rows = json.loads(c.cli("cost", str(sweep), "--attempts", "--format", "json"))["attempts"]
            if any(r["measured"] and r["usage"]["cpu_seconds"] > 0.5 and r["outcome"] == "running" for r in rows):
                break
            time.sleep(0.3)
        else:
            raise AssertionError("no measured running attempt within 240 s:\n" + c.log("worker-victim"))
        victim_cpu = cpu_seconds(victim.pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        survivors = [c.start_worker("a"), c.start_worker("b")]
        for name in ("a", "b"):
            c._wait_for_log("worker-" + name, "event=registered", 60)
        # What starting up cost each (LibTorch, gRPC), charged to no job.
        startup_cpu = sum(cpu_seconds(p.pid) for p in survivors)
        jobs = c.wait(sweep, seconds=600)
        assert all(j["state"] == "JOB_STATE_SUCCEEDED" for j in jobs), jobs
        time.sleep(1.5)  # the workers are idle again: their CPU time is final
        worker_cpu = sum(cpu_seconds(p.pid) for p in survivors)

        workers = {w["name"]: int(w["id"]) for w in json.loads(c.cli("workers", "--all", "--json"))["workers"]}
        rows = json.loads(c.cli("cost", str(sweep), "--attempts", "--format", "json"))["attempts"]
        lost = [r for r in rows if r["outcome"] == "lost"]
        assert len(lost) == 1 and lost[0]["worker_id"] == workers["victim"], rows
        assert lost[0]["measured"] and 0.5 < lost[0]["usage"]["cpu_seconds"] <= victim_cpu + 0.05, (lost, victim_cpu)
        succeeded = [r for r in rows if r["outcome"] == "succeeded"]
        assert len(succeeded) == len(jobs) == 4, rows
        for r in succeeded:
            u = r["usage"]
            assert r["measured"] and u["device_kind"] == "cpu" and u["peak_host_bytes"] > 0, r
            assert u["wall_seconds"] > 0 and u["cpu_seconds"] > 0, r
        # Images: a fresh attempt trains 2 epochs of 5,000; the resumed one
        # only the epochs after its checkpoint.
        resumed = {r["job_id"] for r in lost}
        for r in succeeded:
            if r["job_id"] not in resumed:
                assert r["usage"]["images"] == 10000, r
            else:
                assert 0 < r["usage"]["images"] <= 10000, r

        charged = sum(r["usage"]["cpu_seconds"] for r in rows
                      if r["worker_id"] in (workers["a"], workers["b"]))
        ratio = charged / worker_cpu
        print("surviving workers: %.2f CPU-s measured by the kernel (%.2f of them starting up), "
              "%.2f CPU-s charged to attempts (ratio %.4f; %.4f without the start-up)"
              % (worker_cpu, startup_cpu, charged, ratio, charged / (worker_cpu - startup_cpu)))
        assert 0.95 <= ratio <= 1.0 + 1e-6, (charged, worker_cpu)

        report = json.loads(c.cli("cost", str(sweep), "--format", "json"))
        total = report["total"]
        assert total["attempts"] == len(rows) == 5 and total["abandoned"] == 1, total
        assert total["outcomes"] == {"lost": 1, "succeeded": 4}, total
        assert abs(total["cpu_seconds"] - sum(r["usage"]["cpu_seconds"] for r in rows)) < 1e-6, total
        assert abs(total["abandoned_cpu_seconds"] - lost[0]["usage"]["cpu_seconds"]) < 1e-6, total
        assert len(report["arms"]) == 2 and all(a["jobs"] == 2 for a in report["arms"]), report
        assert sorted(a["axes"]["model.conv.lc_rate"] for a in report["arms"]) == [1, 4], report
        print(c.cli("cost", str(sweep)))
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
