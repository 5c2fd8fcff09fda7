"""torch_epoch_bench: one whole training epoch of lcsweep-train (C++) against the same
model trained from PyTorch (Python), on real Fashion-MNIST, on the CPU.

    /usr/bin/python3 tests/bench/nn/torch_epoch_bench.py --bin build/worker/lcsweep-train \
        --threads 2 [--train-images 20000] [--batch 128] [--rates 8,128] [--repeats 1] \
        [--data-root /usr/share/datasets/fashion-mnist] [--lr 0.01] [--seed 0] [--no-plain]

Why: nn_train_bench times single SGD steps of the C++ model on random images.
This benchmark answers the questions a user asks before adopting the trainer:
is a whole epoch of lcsweep-train (data loader, schedule, loss, metrics
included) as fast as the few lines of PyTorch one would write instead, and how
much of the LC speed-up comes from the reduced execution (docs/reduced_lc.md)
rather than from the trainer? Both sides run the same LibTorch (Debian's
1.13: python3-torch and libtorch), the same intra-op thread count (set
explicitly: train.threads in the job, torch.set_num_threads here), the same
images (the first --train-images of the training set, upscaled 28 -> 32
bilinear, no augmentation), batch, seed-independent recipe (SGD, momentum 0.9,
Nesterov, coupled weight decay 0.01 on every trained tensor, cosine lr stepped
every iteration, label smoothing 0.1: docs/method.md section 5) and
architecture (ResNet-20-16 via python/lcsweep_models, whose names match the
C++ model).

Configs: plain ResNet-20-16 (model.conv.mode "learned") and ResNet-LC-20-16xE
with frozen random filters for each E in --rates. Sides per LC config:
    C++ auto      lcsweep-train, model.conv.execution "auto" (= reduced for frozen LC + SGD
                  on every layer where it pays; the per-layer choice is read from
                  `lcsweep-train describe`)
    C++ folded    lcsweep-train, execution "folded" (W = P.S every step)
    Py folded     what a PyTorch user writes: W = P.S every step, one conv
    Py reduced    the reduced execution in PyTorch, per layer exactly as C++ auto chose:
                  S = U.R by Cholesky QR in float64 once, train Q = P.U and the scalar c,
                  W = Q.R every step (a custom autograd function gives c its zero gradient)
Before an LC config's runs, a float64 check that Py reduced trains the same function as
Py folded (both models of one seed, 3 SGD steps on 16 images, losses equal to 1e-9).
Plain ResNet-20-16 has one C++ and one Python side. Every side runs in a fresh
process; within a config the sides alternate (the order is reversed on every
other repeat) so that machine noise hits both.

Measured per side:
  * wall images/s over the whole training epoch. C++: the result's
    history[0].images_per_second (the trainer times the epoch's batch loop: loader,
    lr, forward, loss, backward, step, metrics; not the evaluation). Python: the
    same loop (shuffle, batch gather, lr, forward, loss, loss.item(), backward, step,
    accuracy) timed with perf_counter.
  * images per process-CPU-second over steps 2..N (all threads of the process;
    the first step's one-time allocations are left out on both sides). C++: its
    /proc/PID/stat utime+stime sampled when the trainer prints step 1 and step N
    (train.log_every_steps 1; its stderr is read line by line). Python: the child's
    time.process_time() at the same points. CPU time is what to judge on a shared
    machine; wall time also shows the threads' idle or spinning time.
  * the epoch's mean train loss, and the mean loss of the first and last 10 steps,
    so a reader sees both sides learned.
The C++ job evaluates as little as it can: test_limit 128 (the per-epoch test pass,
outside the timed loop), --no-eval (no final evaluation), no FGSM, corruptions or
filter statistics, no checkpoints. The C++ loader (one thread, data.loader_threads
1) resamples each image when it is batched; the Python side upscales the data set
once with F.interpolate, as a PyTorch user would: that difference is part of what
the comparison measures. Prints one table of all sides and one of the ratios;
exits 0 when every side ran.
"""
import argparse
import gzip
import json
import math
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The recipe (docs/method.md section 5; worker/train/recipe.h), written explicitly
# into the C++ job so the two sides cannot drift apart through defaults.
RECIPE = dict(optimizer="sgd", momentum=0.9, nesterov=True, weight_decay=0.01, schedule="cosine",
              warmup_epochs=0, label_smoothing=0.1)
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530  # common/dataset_info.cc
TEST_LIMIT = 128
LOSS_WINDOW = 10  # steps averaged for the "first" and "last" loss


# ---------------------------------------------------------------------------
# Job description shared by both sides.

def model_section(mode, rate, execution):
    conv = {"mode": mode}
    if mode == "lc":
        conv.update(lc_rate=rate, spatial="frozen", execution=execution)
    return {"arch": "resnet_cifar", "depth": 20, "width": 16, "kernel_size": 3, "conv": conv}


def cpp_job(args, mode, rate, execution):
    train = dict(RECIPE, epochs=1, batch_size=args.batch, lr=args.lr, threads=args.threads, log_every_steps=1)
    return {
        "seed": args.seed,
        "data": {"name": "fashion_mnist", "root": args.data_root, "augment": False,
                 "train_limit": args.train_images, "test_limit": TEST_LIMIT, "loader_threads": 1},
        "model": model_section(mode, rate, execution),
        "train": train,
        "eval": {"fgsm_eps": [], "pgd_eps": [], "corruptions": [], "robustness_limit": TEST_LIMIT,
                 "filter_stats": False},
        "resources": {"device": "cpu"},
        "checkpoint": {"every_epochs": 0},
    }


def learning_rate(lr, step, steps_per_epoch, epochs, warmup_epochs):
    """worker/train/recipe.h LearningRate for the cosine schedule."""
    w = warmup_epochs * steps_per_epoch
    if step < w:
        return lr * (step + 1) / w
    t, total = step - w, epochs * steps_per_epoch - w
    return lr * (1 + math.cos(math.pi * t / total)) / 2


# ---------------------------------------------------------------------------
# The C++ side.

def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def cpp_executions(binary, job, tmp):
    """{layer name: execution} of the model as lcsweep-train builds it."""
    path = os.path.join(tmp, "describe.json")
    with open(path, "w") as f:
        json.dump(job, f)
    out = subprocess.run([binary, "describe", path], check=True, capture_output=True, text=True).stdout
    layers = json.loads(out)["layers"]
    return {l["name"]: l["execution"] for l in layers if l.get("kind") == "spatial"}


def run_cpp(binary, job, tmp):
    job_path, out_path = os.path.join(tmp, "job.json"), os.path.join(tmp, "result.json")
    with open(job_path, "w") as f:
        json.dump(job, f)
    if os.path.exists(out_path):
        os.remove(out_path)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen([binary, "run", job_path, "--out", out_path, "--no-eval"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
    marks, losses, tail = {}, [], []
    for line in proc.stderr:
        tail = (tail + [line])[-20:]
        if not line.startswith("step "):
            continue
        kv = dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok)
        step, total = (int(v) for v in kv["step"].split("/"))
        losses.append(float(kv["loss"]))
        if step == 1 or step == total:
            marks[step] = (time.perf_counter(), proc_cpu_seconds(proc.pid))
        if step == total:
            marks["total"] = total
    rc = proc.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0 or not os.path.exists(out_path):
        raise RuntimeError("lcsweep-train failed (exit %d):\n%s" % (rc, "".join(tail)))
    with open(out_path) as f:
        result = json.load(f)
    epoch = result["history"][0]
    n = result["data"]["train_size"]
    total = marks["total"]
    (w1, c1), (w2, c2) = marks[1], marks[total]
    window_images = n - job["train"]["batch_size"]  # steps 2..N
    return {
        "wall_ips": epoch["images_per_second"],
        "cpu_ips": window_images / max(1e-9, c2 - c1),
        "cpu_util": (c2 - c1) / max(1e-9, w2 - w1),
        "train_loss": epoch["train_loss"],
        "loss_first": statistics.mean(losses[:LOSS_WINDOW]),
        "loss_last": statistics.mean(losses[-LOSS_WINDOW:]),
        "images": n,
        "steps": total,
        "process_cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "versions": result.get("versions", {}),
        "threads": result["device"]["threads"],
    }


# ---------------------------------------------------------------------------
# The PyTorch side (runs in a child process: python3 torch_epoch_bench.py --worker SPEC).

def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = struct.unpack(">" + "I" * (magic & 0xFF), data[4:4 + 4 * (magic & 0xFF)])
    return data[4 + 4 * len(dims):], dims


def load_fashion(root, limit):
    import numpy as np
    import torch
    import torch.nn.functional as F

    def pick(base):
        p = os.path.join(root, base)
        return p if os.path.exists(p) else p + ".gz"

    raw, dims = read_idx(pick("train-images-idx3-ubyte"))
    lab, _ = read_idx(pick("train-labels-idx1-ubyte"))
    n = min(limit, dims[0]) if limit > 0 else dims[0]
    images = torch.from_numpy(np.frombuffer(raw, np.uint8, n * dims[1] * dims[2]).copy())
    images = images.view(n, 1, dims[1], dims[2]).float().div_(255)
    images = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False).contiguous()
    labels = torch.from_numpy(np.frombuffer(lab, np.uint8, n).astype(np.int64))
    return images, labels


def cholesky_qr(s2d):
    """S = U.R in float64 (docs/reduced_lc.md): R = chol(S^T S) upper; Householder QR when
    R's diagonal spans more than 1e4 or the Cholesky fails. Returns (R, a function p -> p.U)."""
    import torch
    try:
        r = torch.linalg.cholesky(s2d.T @ s2d, upper=True)
        d = r.diagonal().abs()
        if d.min() > 0 and d.max() / d.min() <= 1e4:
            return r, lambda p: torch.linalg.solve_triangular(r, p @ s2d, upper=True, left=False)
    except RuntimeError:
        pass
    u, r = torch.linalg.qr(s2d)
    return r, lambda p: p @ u


def build_torch_model(mode, rate, executions, seed):
    """lcsweep_models.ResNet initialised as the C++ model is (in distribution, not bitwise):
    every conv weight, P and the fc uniform in +-1/sqrt(fan_in) (Kaiming-uniform as PyTorch's
    defaults and worker/nn/init.cc draw it; fan-in c_in*k*k for S, c_out*E for P), BN 1/0,
    all from one generator seeded with `seed`: the folded and reduced models of one seed
    start as the same function."""
    import torch
    sys.path.insert(0, os.path.join(REPO, "python"))
    from lcsweep_models import ResNet, LcConv2d

    config = {"model": model_section(mode, rate, "auto")}
    model = ResNet(config, 1, 10, executions, normalise=True)
    g = torch.Generator().manual_seed(seed)

    def uniform_(t, fan_in):
        bound = 1 / math.sqrt(fan_in)
        t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float64).mul_(2 * bound).sub_(bound))

    with torch.no_grad():
        model.norm_mean.fill_(FASHION_MEAN)
        model.norm_std.fill_(FASHION_STD)
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):  # the 1x1 shortcut convs
                uniform_(m.weight, m.weight[0].numel())
            elif isinstance(m, torch.nn.Linear):
                uniform_(m.weight, m.in_features)
                uniform_(m.bias, m.in_features)
            if not isinstance(m, LcConv2d):
                continue
            k, cin, cout = m.kernel_size, m.in_channels, m.out_channels
            if m.mode != "lc":
                uniform_(m.weight, cin * k * k)
                continue
            uniform_(m.spatial.weight, cin * k * k)
            p0 = torch.empty(cout, m.expanded, dtype=torch.float64)
            uniform_(p0, m.expanded)
            if m.execution == "reduced":
                r, times_u = cholesky_qr(m.spatial.weight.reshape(m.expanded, -1).double())
                m.reduced.r.copy_(r)
                m.reduced.weight.copy_(times_u(p0))
                m.reduced.decay.fill_(1.0)
                install_reduced_fold(m)
            else:
                m.lc.weight.copy_(p0.view_as(m.lc.weight))
    return model


_REDUCED_FOLD = None


def reduced_fold():
    """W = Q.R as an autograd function whose backward gives c an explicit zero gradient, so
    that SGD applies weight decay and momentum to it (docs/reduced_lc.md, "The math")."""
    global _REDUCED_FOLD
    if _REDUCED_FOLD is None:
        import torch

        class ReducedFold(torch.autograd.Function):
            @staticmethod
            def forward(ctx, q, r, c):
                ctx.save_for_backward(r, c)
                return q @ r

            @staticmethod
            def backward(ctx, grad):
                r, c = ctx.saved_tensors
                return grad @ r.T, None, torch.zeros_like(c)

        _REDUCED_FOLD = ReducedFold
    return _REDUCED_FOLD


def install_reduced_fold(layer):
    """Makes a reduced LcConv2d fold through reduced_fold()."""
    fold = reduced_fold()
    k, cin, cout = layer.kernel_size, layer.in_channels, layer.out_channels

    def folded_weight():
        return fold.apply(layer.reduced.weight, layer.reduced.r, layer.reduced.decay).view(cout, cin, k, k)

    layer.folded_weight = folded_weight  # a plain attribute: shadows the method on this instance


def worker(spec):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(spec["threads"])
    torch.manual_seed(spec["seed"])
    images, labels = load_fashion(spec["data_root"], spec["train_images"])
    model = build_torch_model(spec["mode"], spec["rate"], spec["executions"], spec["seed"])
    batch, n = spec["batch"], images.shape[0]

    # Sanity: one batch through the model gives [B, 10] finite logits, and every LC layer
    # runs the execution asked for.
    model.eval()
    with torch.no_grad():
        logits = model(images[:batch])
    assert tuple(logits.shape) == (min(batch, n), 10) and torch.isfinite(logits).all(), logits.shape
    ran = {name: m.execution for name, m in model.named_modules() if hasattr(m, "execution") and m.mode == "lc"}
    for name, ex in spec["executions"].items():
        assert spec["mode"] != "lc" or ran.get(name) == ex, (name, ran.get(name), ex)
    model.train()

    opt = torch.optim.SGD(model.parameters(), lr=spec["lr"], momentum=RECIPE["momentum"],
                          nesterov=RECIPE["nesterov"], weight_decay=RECIPE["weight_decay"])
    steps = (n + batch - 1) // batch
    gen = torch.Generator().manual_seed(spec["seed"])
    losses, loss_sum, correct = [], 0.0, 0
    t0 = time.perf_counter()
    order = torch.randperm(n, generator=gen)  # the epoch's shuffle (epoch 0)
    for step in range(steps):
        idx = order[step * batch:(step + 1) * batch]
        x, y = images.index_select(0, idx), labels.index_select(0, idx)
        for group in opt.param_groups:
            group["lr"] = learning_rate(spec["lr"], step, steps, 1, RECIPE["warmup_epochs"])
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=RECIPE["label_smoothing"])
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError("training diverged at step %d: loss %r" % (step + 1, value))
        loss.backward()
        opt.step()
        correct += int(logits.detach().argmax(1).eq(y).sum().item())
        losses.append(value)
        loss_sum += value * y.shape[0]
        if step == 0:
            t1, c1 = time.perf_counter(), time.process_time()
    t2, c2 = time.perf_counter(), time.process_time()
    return {
        "wall_ips": n / (t2 - t0),
        "cpu_ips": (n - min(batch, n)) / max(1e-9, c2 - c1),
        "cpu_util": (c2 - c1) / max(1e-9, t2 - t1),
        "train_loss": loss_sum / n,
        "train_accuracy": correct / n,
        "loss_first": statistics.mean(losses[:LOSS_WINDOW]),
        "loss_last": statistics.mean(losses[-LOSS_WINDOW:]),
        "images": n,
        "steps": steps,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def self_check(rate, executions, seed, data_root, steps=3):
    """The PyTorch reduced execution trains the same function as the folded one: both models
    of one seed, in float64, take `steps` SGD steps of the recipe on 16 training images; the
    losses must agree to 1e-9. Returns the largest difference."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    # Built in float64 from the start: a float32 model's rounding (1e-7) already grows to
    # 1e-3 in the loss within three steps on 16 images, in either execution.
    torch.set_default_dtype(torch.float64)
    images, labels = load_fashion(data_root, 16)
    images = images.double()
    models = [build_torch_model("lc", rate, {n: "folded" for n in executions}, seed),
              build_torch_model("lc", rate, executions, seed)]
    opts = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=RECIPE["momentum"], nesterov=RECIPE["nesterov"],
                            weight_decay=RECIPE["weight_decay"]) for m in models]
    worst = 0.0
    for _ in range(steps):
        losses = []
        for m, opt in zip(models, opts):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(m(images), labels, label_smoothing=RECIPE["label_smoothing"])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        worst = max(worst, abs(losses[0] - losses[1]))
    if worst > 1e-9:
        raise AssertionError("PyTorch reduced and folded training differ by %g in the loss" % worst)
    return worst



def run_torch(spec):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                          capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError("PyTorch side failed (exit %d):\n%s" % (proc.returncode, proc.stderr[-3000:]))
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return out


# ---------------------------------------------------------------------------
# The comparison.

def sides_of(mode):
    if mode == "learned":
        return ["C++", "Py"]
    return ["C++ auto", "Py folded", "C++ folded", "Py reduced"]


def run_side(args, side, mode, rate, executions, tmp):
    if side.startswith("C++"):
        execution = "folded" if side == "C++ folded" else "auto"
        return run_cpp(args.bin, cpp_job(args, mode, rate, execution), tmp)
    if side == "Py folded":
        executions = {name: "folded" for name in executions}
    spec = dict(threads=args.threads, seed=args.seed, data_root=args.data_root, train_images=args.train_images,
                batch=args.batch, lr=args.lr, mode=mode, rate=rate, executions=executions)
    return run_torch(spec)


def fmt_loss(r):
    return "%.3f (%.3f -> %.3f)" % (r["train_loss"], r["loss_first"], r["loss_last"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "worker", "lcsweep-train"),
                    help="the lcsweep-train binary")
    ap.add_argument("--threads", type=int, default=2, help="LibTorch intra-op threads, both sides")
    ap.add_argument("--train-images", type=int, default=20000, help="first N Fashion-MNIST training images")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--rates", default="8,128", help="LC expansion rates E (frozen filters)")
    ap.add_argument("--no-plain", action="store_true", help="skip plain ResNet-20-16")
    ap.add_argument("--repeats", type=int, default=1, help="runs per side (the median is reported)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        if spec.get("check"):
            worst = self_check(spec["rate"], spec["executions"], spec["seed"], spec["data_root"])
            print(json.dumps({"max_loss_difference": worst}))
        else:
            print(json.dumps(worker(spec)))
        return 0
    args.bin = os.path.abspath(args.bin)
    if not os.access(args.bin, os.X_OK):
        print("torch_epoch_bench: %s is not an executable (build lcsweep-train first)" % args.bin, file=sys.stderr)
        return 2

    configs = ([] if args.no_plain else [("ResNet-20-16", "learned", 1)])
    configs += [("ResNet-LC-20-16x%d frozen" % e, "lc", e) for e in (int(r) for r in args.rates.split(",") if r)]
    print("torch_epoch_bench: %d train images, batch %d, %d threads, lr %g, %d repeat(s); load average %s"
          % (args.train_images, args.batch, args.threads, args.lr, args.repeats,
             " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    rows = []  # (config, side, executions summary, median result)
    with tempfile.TemporaryDirectory(prefix="torch_epoch_bench.") as tmp:
        for title, mode, rate in configs:
            executions = cpp_executions(args.bin, cpp_job(args, mode, rate, "auto"), tmp)
            counts = {}
            for ex in executions.values():
                counts[ex] = counts.get(ex, 0) + 1
            auto_summary = " ".join("%s:%d" % kv for kv in sorted(counts.items())) if mode == "lc" else "plain"
            if mode == "lc" and "reduced" in executions.values():
                check = run_torch(dict(check=True, data_root=args.data_root, rate=rate, executions=executions,
                                       seed=args.seed))
                print("  %-28s PyTorch reduced == folded training (float64, 3 SGD steps): max loss difference %.1e"
                      % (title, check["max_loss_difference"]), flush=True)
            results = {side: [] for side in sides_of(mode)}
            for rep in range(args.repeats):
                order = sides_of(mode) if rep % 2 == 0 else sides_of(mode)[::-1]
                for side in order:
                    r = run_side(args, side, mode, rate, executions, tmp)
                    results[side].append(r)
                    print("  %-28s %-11s wall %7.1f img/s  cpu %7.1f img/CPU-s  util %.2f  loss %s"
                          % (title, side, r["wall_ips"], r["cpu_ips"], r["cpu_util"], fmt_loss(r)), flush=True)
            for side, rs in results.items():
                med = dict(rs[0])
                for key in ("wall_ips", "cpu_ips", "cpu_util"):
                    med[key] = statistics.median(r[key] for r in rs)
                if mode != "lc":
                    ex = "plain"
                elif "folded" in side:
                    ex = "folded (all)"
                else:
                    ex = auto_summary
                rows.append((title, side, ex, med))
    first_cpp = next(r for _, s, _, r in rows if s.startswith("C++"))
    first_py = next(r for _, s, _, r in rows if s.startswith("Py"))
    print()
    print("Versions: lcsweep-train libtorch %s (%s), PyTorch %s; threads C++ %s, Python %s"
          % (first_cpp["versions"].get("libtorch"), first_cpp["versions"].get("compiler"), first_py["torch"],
             first_cpp["threads"], first_py["threads"]))
    print("One epoch of %d images (%d steps). wall: whole epoch; CPU: steps 2..N, all threads of the process."
          % (first_cpp["images"], first_cpp["steps"]))
    print()
    print("| config | side | LC executions | wall img/s | img/CPU-s | CPU/wall | train loss (first 10 -> last 10 steps) |")
    print("|---|---|---|---:|---:|---:|---|")
    for title, side, ex, r in rows:
        print("| %s | %s | %s | %.1f | %.1f | %.2f | %s |" % (title, side, ex, r["wall_ips"], r["cpu_ips"],
                                                         r["cpu_util"], fmt_loss(r)))
    print()
    print("Ratios (images/s of the first over the second; > 1: the first is faster)")
    print()
    print("| config | ratio | meaning | wall | CPU |")
    print("|---|---|---|---:|---:|")
    by = {(t, s): r for t, s, _, r in rows}
    pairs = [("C++", "Py", "trainer vs PyTorch, same model"),
             ("C++ auto", "Py reduced", "trainer overhead, same (reduced) algorithm"),
             ("C++ folded", "Py folded", "trainer overhead, same (folded) algorithm"),
             ("Py reduced", "Py folded", "the reduced algorithm's gain, in PyTorch"),
             ("C++ auto", "C++ folded", "the reduced algorithm's gain, in the trainer"),
             ("C++ auto", "Py folded", "lcsweep-train vs the usual PyTorch LC")]
    for title, _, _ in configs:
        for a, b, meaning in pairs:
            if (title, a) in by and (title, b) in by:
                ra, rb = by[(title, a)], by[(title, b)]
                print("| %s | %s / %s | %s | %.2f | %.2f |" % (title, a, b, meaning, ra["wall_ips"] / rb["wall_ips"],
                                                             ra["cpu_ips"] / rb["cpu_ips"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
