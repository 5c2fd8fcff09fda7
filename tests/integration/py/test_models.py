"""Trained models into PyTorch, end to end: a real coordinator and worker
train three tiny Fashion-MNIST jobs (a plain learned conv net, a folded LC
net, an unfolded LC net with a BN+ReLU between S and P); each final model is
downloaded with `lcsweep model JOB -o model.pt` (which verifies its
SHA-256), loaded with Debian's python3-torch into the reference module
python/lcsweep_models, and run on the same test images as the C++ model
(`lcsweep-train logits`, an independent implementation: LibTorch's modules
filled from the same file). Checked per job:
  - logits: max |python - C++| < 1e-4;
  - accuracy: the same number of correct images, equal to the test accuracy
    the job itself reported (its result's final.test_accuracy);
  - the folded job also in the module's unfolded mode, and the
    unfolded one's frozen filters S are what the file holds.
Plus: the dashboard's GET /api/v1/jobs/<id>/model serves the same bytes
with a token and refuses without one; a resend of an upload stores nothing
new (the coordinator's log); `lcsweep model` of a job without a model says
why and exits 1 (FAILED_PRECONDITION) or 3 (NOT_FOUND).

    python3 test_models.py COORDINATOR WORKER CLI TRAIN PYTHON_SRC
Exits 77 (ctest: skipped) when torch / numpy cannot be imported or the
Fashion-MNIST files are not installed."""
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, fashion_mnist_base, require_fashion_mnist, skip  # noqa: E402

TEST_IMAGES = 300


def sweep_spec():
    base = fashion_mnist_base(512, TEST_IMAGES, epochs=1, batch_size=64, log_every_steps=4)
    return {"name": "models", "base": base, "list": [
        {"model.conv.mode": "learned"},
        {"model.conv.execution": "folded", "model.conv.lc_rate": 2},
        {"model.conv.execution": "unfolded", "model.conv.intermediate": "bn_relu", "model.conv.lc_rate": 2},
    ]}


def run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main():
    bins = {"coordinator": sys.argv[1], "worker": sys.argv[2], "cli": sys.argv[3]}
    train_bin, python_src = sys.argv[4], sys.argv[5]
    try:
        import numpy as np
        import torch
    except ImportError as e:
        skip("%s (deploy/install-deps.sh installs python3-torch and python3-numpy)" % e)
    require_fashion_mnist()
    sys.path.insert(0, python_src)
    import lcsweep_models
    torch.set_num_threads(1)

    with Cluster(bins) as c:
        sweep = c.submit(sweep_spec())
        c.start_worker("w1")
        jobs = c.wait(sweep, seconds=500)
        assert all(j["state"] == "JOB_STATE_SUCCEEDED" for j in jobs), jobs
        assert len(jobs) == 3, jobs
        for job in sorted(jobs, key=lambda j: int(j["id"])):
            job_id = int(job["id"])
            conv = json.loads(job["config_json"])["model"]["conv"]
            label = "%s/%s/%s" % (conv["mode"], conv["execution"], conv["intermediate"])
            path = os.path.join(c.dir, "job-%d.pt" % job_id)
            meta = json.loads(c.cli("model", str(job_id), "-o", path, "--json", role="read-only"))
            with open(path, "rb") as f:
                data = f.read()
            assert int(meta["size_bytes"]) == len(data), meta
            assert meta["sha256"] == hashlib.sha256(data).hexdigest(), meta

            # The C++ model's logits on the job's test images.
            out_dir = os.path.join(c.dir, "logits-%d" % job_id)
            os.makedirs(out_dir)
            r = run([train_bin, "logits", path, "--out-dir", out_dir])
            assert r.returncode == 0, r.stderr
            cpp = json.loads(r.stdout)
            images = torch.from_numpy(np.load(os.path.join(out_dir, "images.npy")))
            labels = torch.from_numpy(np.load(os.path.join(out_dir, "labels.npy")))
            cpp_logits = torch.from_numpy(np.load(os.path.join(out_dir, "logits.npy")))
            assert images.shape[0] == TEST_IMAGES == cpp["n"], (images.shape, cpp)

            # The same file in the reference module.
            state = torch.load(path, weights_only=True)
            assert isinstance(state, dict) and "fc.weight" in state, sorted(state)[:5]
            model, config = lcsweep_models.load(path)
            assert config["model"]["conv"] == conv, (config["model"]["conv"], conv)
            with torch.no_grad():
                logits = model(images)
            diff = (logits - cpp_logits).abs().max().item()
            assert diff < 1e-4, "%s: max |logits diff| = %g" % (label, diff)
            correct = int((logits.argmax(1) == labels).sum())
            assert correct == cpp["correct"], (label, correct, cpp)
            shown = json.loads(c.cli("show", str(job_id), "--json", role="read-only"))
            final = json.loads(shown["job"]["result_json"])["final"]
            assert final["test_n"] == TEST_IMAGES, final
            assert correct == round(final["test_accuracy"] * TEST_IMAGES), (label, correct, final)
            print("ok   job %d (%s): %d tensors, max |logits diff| %.2e, accuracy %d/%d = the job's %.4f"
                  % (job_id, label, len(state) - 3, diff, correct, TEST_IMAGES, final["test_accuracy"]))

            if conv["mode"] == "lc" and conv["execution"] == "folded":
                unfolded, _ = lcsweep_models.load(path, execution="unfolded")
                with torch.no_grad():
                    other = (unfolded(images) - cpp_logits).abs().max().item()
                assert other < 1e-4, "folded job run unfolded: max diff %g" % other
                print("ok   job %d run unfolded by the module: max diff %.2e" % (job_id, other))
            if conv["intermediate"] == "bn_relu":
                s = model.layer1[0].conv1.spatial_weight()
                assert torch.equal(s, state["layer1.0.conv1.spatial.weight"])
                assert "layer1.0.conv1.mid_bn.running_var" in state

            # The dashboard's download: the same bytes, read access required.
            url = "%s/api/v1/jobs/%d/model" % (c.http, job_id)
            req = urllib.request.Request(url, headers={"Authorization": "Bearer " + c.tokens["read-only"]})
            with urllib.request.urlopen(req, timeout=30) as resp:
                assert resp.read() == data, "HTTP download differs from the CLI's"
            try:
                urllib.request.urlopen(url, timeout=30)
                raise AssertionError("GET %s without a token was served" % url)
            except urllib.error.HTTPError as e:
                assert e.code == 401, e.code

        # Each model was uploaded once (no duplicate stored) by this worker.
        log = c.log("worker-w1")
        assert log.count("event=model_uploaded") == 3, log[-2000:]

        # No model: an unknown job (3 = not found) with the reason.
        r = run([c.bins["cli"], "--coordinator", c.address, "--token-file", c.token_file("read-only"),
                 "model", "999", "-o", os.path.join(c.dir, "none.pt")])
        assert r.returncode == 3 and "999" in r.stderr, (r.returncode, r.stderr)
        assert not os.path.exists(os.path.join(c.dir, "none.pt"))
        print("ok   lcsweep model of an unknown job: exit 3: " + r.stderr.strip())

        # The module's other paths, without a coordinator: reduced layers
        # (W = Q . R) and shared filters (S from the network's buffer T),
        # exported by `lcsweep-train run --model-out`.
        for extra in ({"execution": "reduced", "lc_rate": 16},
                      {"sharing": "per_stage", "execution": "unfolded", "intermediate": "relu", "lc_rate": 2}):
            spec = sweep_spec()["base"]
            spec["model"]["conv"].update(extra)
            spec["data"]["train_limit"] = 128
            name = "-".join("%s" % v for v in extra.values())
            job_path, path = os.path.join(c.dir, name + ".json"), os.path.join(c.dir, name + ".pt")
            with open(job_path, "w") as f:
                json.dump(spec, f)
            r = run([train_bin, "run", job_path, "--out", job_path + ".result", "--model-out", path,
                     "--threads", "1"])
            assert r.returncode == 0, r.stderr[-3000:]
            out_dir = os.path.join(c.dir, "logits-" + name)
            os.makedirs(out_dir)
            r = run([train_bin, "logits", path, "--out-dir", out_dir])
            assert r.returncode == 0, r.stderr
            model, _ = lcsweep_models.load(path)
            with torch.no_grad():
                logits = model(torch.from_numpy(np.load(os.path.join(out_dir, "images.npy"))))
            diff = (logits - torch.from_numpy(np.load(os.path.join(out_dir, "logits.npy")))).abs().max().item()
            assert diff < 1e-4, "%s: max |logits diff| = %g" % (name, diff)
            print("ok   %s (lcsweep-train --model-out): max |logits diff| %.2e" % (name, diff))
    print("PASS")


if __name__ == "__main__":
    main()
