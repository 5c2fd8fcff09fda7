"""Early stopping end to end, and what it saves, measured: a real coordinator
and one real worker (one thread) train seeded Fashion-MNIST sweeps.

  1. Three arms, one clearly worse (a learning rate too small to learn in
     three epochs), two seeds, without early stopping: the baseline cost.
  2. The same arms on two other seeds with the median rule: the bad arm's
     jobs are stopped after their first epoch (state stopped, a reason that
     names the rule), the good arms run to the end, and `lcsweep cost`
     measures the CPU-seconds saved against the baseline.
  3. Three equal arms (they differ only in an evaluation setting that does
     not touch training, so their test accuracy per epoch is identical) with
     the median rule: nothing is stopped.

Usage: test_early_stopping.py COORDINATOR WORKER CLI
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, fashion_mnist_base, require_fashion_mnist  # noqa: E402

MEDIAN = {"rule": "median", "metric": "test.accuracy", "grace_epochs": 1, "min_arms": 2}


def spec(name, grid, seeds, early_stopping=None):
    s = {
        "name": name,
        "base": fashion_mnist_base(2000, 500, epochs=3, batch_size=100, log_every_steps=10, lr=0.05),
        "grid": grid,
        "seeds": seeds,
    }
    if early_stopping:
        s["early_stopping"] = early_stopping
    return s


def arm_cpu(report, lr):
    return sum(a["totals"]["cpu_seconds"] for a in report["arms"] if a["axes"].get("train.lr") == lr)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    require_fashion_mnist()
    bins = dict(zip(("coordinator", "worker", "cli"), sys.argv[1:4]))
    bad_lr = 1e-6
    lrs = {"train.lr": [0.05, 0.1, bad_lr]}
    with Cluster(bins) as c:
        c.start_worker("w")
        base = c.submit(spec("baseline", lrs, [0, 1]))
        c.wait(base, seconds=900)
        stopped = c.submit(spec("stopped", lrs, [2, 3], MEDIAN))
        jobs = c.wait(stopped, seconds=900)
        by_lr = {}
        for j in jobs:
            lr = json.loads(j["axes_json"])["train.lr"]
            by_lr.setdefault(lr, []).append(j)
        states = {lr: sorted(j["state"] for j in js) for lr, js in by_lr.items()}
        assert states[bad_lr] == ["JOB_STATE_STOPPED"] * 2, states
        assert states[0.05] == states[0.1] == ["JOB_STATE_SUCCEEDED"] * 2, states
        for j in by_lr[bad_lr]:
            events = json.loads(c.cli("events", j["id"], "--json"))["events"]
            assert "median rule: test.accuracy" in events[-1]["reason"], events[-1]

        full = json.loads(c.cli("cost", str(base), "--format", "json"))
        early = json.loads(c.cli("cost", str(stopped), "--format", "json"))
        assert early["total"]["outcomes"].get("stopped") == 2, early["total"]
        bad_full, bad_early = arm_cpu(full, bad_lr), arm_cpu(early, bad_lr)
        saved = full["total"]["cpu_seconds"] - early["total"]["cpu_seconds"]
        print("bad arm: %.1f CPU-s run to the end, %.1f CPU-s stopped early (%.0f%% saved)"
              % (bad_full, bad_early, 100 * (1 - bad_early / bad_full)))
        print("whole sweep: %.1f CPU-s without, %.1f CPU-s with early stopping (%.1f CPU-s, %.0f%% saved)"
              % (full["total"]["cpu_seconds"], early["total"]["cpu_seconds"], saved,
                 100 * saved / full["total"]["cpu_seconds"]))
        # Stopped after 1 of 3 epochs: at least a third of the arm's cost saved.
        assert bad_early < 0.67 * bad_full, (bad_early, bad_full)
        assert saved > 0.25 * bad_full, (saved, bad_full)

        equal = c.submit(spec("equal", {"eval.robustness_limit": [100, 200, 300]}, [0], MEDIAN))
        jobs = c.wait(equal, seconds=900)
        assert all(j["state"] == "JOB_STATE_SUCCEEDED" for j in jobs), [j["state"] for j in jobs]
        print(c.cli("cost", str(stopped)))
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
