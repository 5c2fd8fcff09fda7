"""The Python client (python/lcsweep) against a real coordinator and worker on
loopback: submit from a dict and from a file (request_id replays), wait, and
the DataFrames of results(sweep) and metrics(job) must equal the records of
`lcsweep export --format json [--metrics]` (the CLI's C++ flattening and
paging, an independent implementation of the same naming). Then TLS: a
coordinator with a certificate, reached with tls_ca, refused without.

    python3 test_python_client.py COORDINATOR WORKER CLI PYTHONPATH
Exits 77 (ctest: skipped) when grpc or pandas cannot be imported."""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, skip, tiny_sweep  # noqa: E402


def expected_results(export):
    import pandas as pd
    rows = []
    for rec in export:
        row = {"job_id": rec["job_id"], "state": rec["state"], "seed": rec["seed"],
               "config_hash": rec["config_hash"], "group_hash": rec["group_hash"],
               "error": rec.get("error", "")}
        row.update(rec["axes"])
        row.update(rec["figures"])
        rows.append(row)
    return pd.DataFrame(rows)


def expected_metrics(rec):
    import pandas as pd
    rows = [{"name": name, "attempt": p["attempt"], "epoch": p["epoch"], "step": p["step"],
             "time_ms": p["time_ms"], "value": p["value"]}
            for name, points in rec["metrics"].items() for p in points]
    df = pd.DataFrame(rows, columns=["name", "attempt", "epoch", "step", "time_ms", "value"])
    return df.sort_values(["name", "attempt", "step"], kind="stable").reset_index(drop=True)


def main():
    bins = {"coordinator": sys.argv[1], "worker": sys.argv[2], "cli": sys.argv[3]}
    sys.path.insert(0, sys.argv[4])
    try:
        import grpc  # noqa: F401
        import pandas as pd
    except ImportError as e:
        skip("%s (deploy/install-deps.sh installs python3-grpcio and python3-pandas)" % e)
    import lcsweep

    with Cluster(bins) as c:
        client = lcsweep.connect(c.address, token_file=c.token_file("client"))
        spec = tiny_sweep("from-python", seeds=[0, 1], lc_rates=(2, 4))
        # Attack results are arrays labelled by their eps: exercises the element naming.
        spec["base"]["eval"]["fgsm_eps"] = [1 / 255]
        sweep = client.submit(spec, request_id="py-1")
        path = os.path.join(c.dir, "again.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        again = client.submit(path, request_id="py-1")
        assert again == sweep, "a replayed request_id must return the same sweep (%d vs %d)" % (again, sweep)
        queued = client.sweep(sweep)
        assert queued["total"] == 4 and queued["counts"]["queued"] == 4, queued

        c.start_worker("w1")
        counts = client.wait(sweep, timeout=400, poll_seconds=0.5)
        assert counts["succeeded"] == 4, counts

        df = client.results(sweep)
        export = json.loads(c.cli("export", str(sweep), "--format", "json", role="read-only"))
        want = expected_results(export)
        assert len(df) == 4 and "final.test_accuracy" in df.columns, df.columns.tolist()
        assert "model.conv.lc_rate" in df.columns, df.columns.tolist()
        assert any(col.startswith("evaluation.fgsm[eps=0.00392157]") for col in df.columns), df.columns.tolist()
        pd.testing.assert_frame_equal(df.sort_index(axis=1), want.sort_index(axis=1), check_exact=True)
        print("ok   results(%d): %d rows x %d columns equal the export" % (sweep, len(df), len(df.columns)))

        export_m = json.loads(c.cli("export", str(sweep), "--format", "json", "--metrics", role="read-only"))
        for rec in export_m:
            got = client.metrics(rec["job_id"])
            assert len(got) > 0, "job %d has no metric points" % rec["job_id"]
            pd.testing.assert_frame_equal(got, expected_metrics(rec), check_exact=True)
        print("ok   metrics(job) of %d jobs equal the export" % len(export_m))

        # Filtering by name is done by the coordinator.
        only = client.metrics(export_m[0]["job_id"], names=["train.loss"])
        assert set(only.name) == {"train.loss"} and len(only) == len(export_m[0]["metrics"]["train.loss"])

        # model(job, path): the same verified bytes as `lcsweep model`.
        job_id = int(export_m[0]["job_id"])
        via_client, via_cli = os.path.join(c.dir, "client.pt"), os.path.join(c.dir, "cli.pt")
        meta = client.model(job_id, via_client)
        c.cli("model", str(job_id), "-o", via_cli, role="read-only")
        with open(via_client, "rb") as f1, open(via_cli, "rb") as f2:
            data = f1.read()
            assert data == f2.read() and len(data) == meta["size_bytes"] > 0, meta
        assert not os.path.exists(via_client + ".part")
        try:
            client.model(10 ** 9, os.path.join(c.dir, "none.pt"))
            raise AssertionError("an unknown job's model must raise")
        except lcsweep.LcsweepError as e:
            assert e.code == "NOT_FOUND", e
        assert not os.path.exists(os.path.join(c.dir, "none.pt.part"))
        print("ok   model(%d): %d bytes, equal to lcsweep model's" % (job_id, meta["size_bytes"]))

        try:
            client.results(10 ** 9)
            raise AssertionError("an unknown sweep must raise")
        except lcsweep.LcsweepError as e:
            assert e.code == "NOT_FOUND", e
        try:
            lcsweep.connect(c.address, token="not-a-token").submit(spec)
            raise AssertionError("an unknown token must raise")
        except lcsweep.LcsweepError as e:
            assert e.code == "UNAUTHENTICATED", e
        accuracy = df["final.test_accuracy"]
        assert all(0 <= a <= 1 and not math.isnan(a) for a in accuracy), accuracy
        client.close()

    # TLS: the coordinator with a certificate; the client trusts it through tls_ca.
    tls_dir = tempfile.mkdtemp(prefix="lcsweep-py-tls-")
    cert, key = os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem")
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                           "-keyout", key, "-out", cert], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if made.returncode != 0:
        print("SKIP (TLS part): the openssl command failed")
    else:
        with Cluster(bins, coordinator_args=["--tls-cert", cert, "--tls-key", key]) as c:
            tls = lcsweep.connect(c.address, token_file=c.token_file("client"), tls_ca=cert, timeout=10)
            sweep = tls.submit(tiny_sweep("over-tls", seeds=[0]))
            assert tls.sweep(sweep)["counts"]["queued"] == 1
            try:
                lcsweep.connect(c.address, token_file=c.token_file("client"), timeout=3).sweep(sweep)
                raise AssertionError("a plaintext client must not reach a TLS coordinator")
            except lcsweep.LcsweepError as e:
                assert e.code == "UNAVAILABLE", e
            print("ok   TLS with tls_ca; plaintext refused")
    shutil.rmtree(tls_dir, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
