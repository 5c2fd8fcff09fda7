"""A real lcsweep-coordinator and lcsweep-worker on loopback for the Python-driven
integration tests (the Prometheus scrape, the Python client). The C++ tests have
their own harness (tests/integration/local_cluster.h); this one only starts
processes and calls the real `lcsweep` CLI.

Usage:
    with Cluster(bins) as c:          # tokens on, a read-only and a client token
        sweep = c.submit(tiny_sweep("s", seeds=[0, 1]))
        c.start_worker("w1")
        c.wait(sweep)
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SKIP = 77  # ctest SKIP_RETURN_CODE
FINAL = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_STOPPED")


def skip(reason):
    print("SKIP: " + reason)
    raise SystemExit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_sweep(name, seeds, lc_rates=(2,), train_size=256):
    """Jobs that train in about a second on one core (synthetic data; 2048
    images: a few seconds, long enough for heartbeats)."""
    return {
        "name": name,
        "base": {
            "data": {"name": "synthetic",
                     "synthetic": {"train_size": train_size, "test_size": 64, "image_size": 16, "classes": 4}},
            "model": {"arch": "resnet_cifar", "depth": 8, "width": 8, "conv": {"mode": "lc"}},
            "train": {"epochs": 1, "batch_size": 64, "log_every_steps": 1, "threads": 1},
            "eval": {"fgsm_eps": [], "filter_stats": False},
            "resources": {"device": "cpu"},
        },
        "grid": {"model.conv.lc_rate": list(lc_rates)},
        "seeds": list(seeds),
    }


FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def require_fashion_mnist():
    """Skips the test when Debian's dataset-fashion-mnist is not installed."""
    for split in ("train", "t10k"):
        if not os.path.exists(os.path.join(FASHION_MNIST, split + "-images-idx3-ubyte.gz")):
            skip("Debian's dataset-fashion-mnist is not installed in %s (deploy/install-deps.sh installs it)"
                 % FASHION_MNIST)


def fashion_mnist_base(train_limit, test_limit, epochs, batch_size, log_every_steps, **train):
    """The base of a small real-data sweep: ResNet-LC-8-8 on the first images
    of Fashion-MNIST, one LibTorch thread, no robustness evaluation; `train`
    adds train.* fields (lr, ...)."""
    return {
        "data": {"name": "fashion_mnist", "train_limit": train_limit, "test_limit": test_limit,
                 "loader_threads": 1},
        "model": {"arch": "resnet_cifar", "depth": 8, "width": 8, "conv": {"mode": "lc"}},
        "train": dict({"epochs": epochs, "batch_size": batch_size, "log_every_steps": log_every_steps,
                       "threads": 1}, **train),
        "eval": {"fgsm_eps": [], "filter_stats": False},
        "resources": {"device": "cpu"},
    }


class Cluster:
    def __init__(self, bins, coordinator_args=()):
        self.bins = {k: os.path.abspath(v) for k, v in bins.items()}  # coordinator, worker, cli
        self.dir = tempfile.mkdtemp(prefix="lcsweep-py-")
        self.procs = []
        self.tokens = {}
        lines = []
        for role in ("admin", "client", "read-only", "worker"):
            out = json.loads(self._run([self.bins["cli"], "token", "--role", role, "--json"]))
            self.tokens[role] = out["token"]
            lines.append(out["line"])
            path = os.path.join(self.dir, role + ".token")
            with open(path, "w") as f:
                f.write(out["token"] + "\n")
            os.chmod(path, 0o600)
        self.tokens_file = os.path.join(self.dir, "tokens")
        with open(self.tokens_file, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.tokens_file, 0o600)
        self.port = free_port()
        self.http_port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.http = "http://127.0.0.1:%d" % self.http_port
        self.coordinator = self._spawn("coordinator", [
            self.bins["coordinator"], "--listen", self.address, "--http-listen", "127.0.0.1:%d" % self.http_port,
            "--db", os.path.join(self.dir, "lcsweep.db"), "--artifacts", os.path.join(self.dir, "artifacts"),
            "--tokens-file", self.tokens_file, "--lease-seconds", "4"] + list(coordinator_args))
        self._wait_for_log("coordinator", "lcsweep-coordinator listening on", 30)

    def token_file(self, role):
        return os.path.join(self.dir, role + ".token")

    def _run(self, argv, **kw):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
        if r.returncode != 0:
            raise AssertionError("%s exited %d:\n%s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
        return r.stdout

    def _spawn(self, name, argv):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.procs.append((name, p))
        return p

    def log(self, name):
        with open(os.path.join(self.dir, name + ".log")) as f:
            return f.read()

    def _wait_for_log(self, name, text, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if text in self.log(name):
                return
            time.sleep(0.05)
        raise AssertionError("%s did not print %r within %ds:\n%s" % (name, text, seconds, self.log(name)))

    def cli(self, *args, role="admin"):
        return self._run([self.bins["cli"], "--coordinator", self.address, "--token-file", self.token_file(role)]
                         + list(args))

    def submit(self, spec):
        path = os.path.join(self.dir, "sweep-%s.json" % spec["name"])
        with open(path, "w") as f:
            json.dump(spec, f)
        out = json.loads(self.cli("submit", path, "--json"))
        return int(out["sweep_id"])

    def start_worker(self, name, extra=()):
        return self._spawn("worker-" + name, [
            self.bins["worker"], "--coordinator", self.address, "--token-file", self.token_file("worker"),
            "--name", name, "--threads", "1", "--lease-wait", "1",
            "--work-dir", os.path.join(self.dir, "work-" + name)] + list(extra))

    def wait(self, sweep, seconds=300):
        """Until every job of the sweep is final; returns the jobs (CLI JSON)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            jobs = self.jobs(sweep)
            if jobs and all(j.get("state") in FINAL for j in jobs):
                return jobs
            time.sleep(0.5)
        raise AssertionError("sweep %d did not finish within %ds" % (sweep, seconds))

    def jobs(self, sweep):
        """The sweep's jobs as `lcsweep jobs --json` prints them (proto field names)."""
        return json.loads(self.cli("jobs", "--sweep", str(sweep), "--json", role="read-only")).get("jobs", [])

    def close(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in reversed(self.procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        if exc[0] is None and not os.environ.get("LCSWEEP_KEEP_TEST_DIR"):
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("test folder kept: " + self.dir)
        return False
