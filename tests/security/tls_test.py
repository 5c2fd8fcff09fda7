#!/usr/bin/env python3
"""TLS on both ports of the real lcsweep-coordinator, with certificates openssl makes here (a CA, a
server certificate, an expired one, a second CA), and the real clients: the CLI and the worker over
gRPC, Python's ssl over HTTPS. The right CA works; a wrong CA, an expired certificate, plaintext
against a TLS port and TLS against a plaintext port each fail with one line that names the cause and
the fix (the text is checked). Then mutual TLS (--tls-client-ca): a client certificate from the CA
gets in (the worker registers, the CLI lists), none or one from another CA is refused, saying so,
and the dashboard still needs no client certificate.

Usage: tls_test.py COORDINATOR_BIN CLI_BIN [WORKER_BIN]   (the worker checks need WORKER_BIN)
"""
import http.client
import json
import os
import ssl
import subprocess
import sys
import time

import harness

R = harness.Results()


def cli(binary, coordinator, token, *flags, command=("ls",)):
    p = subprocess.run([binary, "--coordinator", coordinator, "--token", token, "--timeout", "5", *flags,
                        *command], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def expect_cli_error(label, result, *phrases):
    rc, out, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    R.check(rc == 5, f"{label}: exit {rc}, expected 5 (unreachable): {err!r}")
    R.check(len(lines) == 1, f"{label}: one line on stderr, got {len(lines)}: {err!r}")
    for phrase in phrases:
        R.check(phrase in err, f"{label}: says {phrase!r}: {err!r}")


def https(address, ca, path="/healthz", token=None):
    host, port = address.rsplit(":", 1)
    context = ssl.create_default_context(cafile=ca)
    c = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    try:
        c.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def plain_http(address, path="/healthz"):
    host, port = address.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException) as e:
        return None, repr(e)
    finally:
        c.close()


def worker(binary, coordinator, token_file, directory, *flags):
    """Starts lcsweep-worker; returns the process (stderr to a file in `directory`)."""
    log = os.path.join(directory, "worker.log")
    p = harness.spawn([binary, "--coordinator", coordinator, "--token-file", token_file, "--devices", "cpu",
                       "--work-dir", os.path.join(directory, "work"), "--name", "tls-worker", "--lease-wait",
                       "1", *flags], log)
    return p, log


def registered_workers(http_address, ca, token):
    status, body = https(http_address, ca, "/api/v1/workers", token)
    return [w.get("name") for w in json.loads(body)["workers"]] if status == 200 else []


def main(argv):
    coordinator_bin, cli_bin = argv[1], argv[2]
    worker_bin = argv[3] if len(argv) > 3 and os.path.exists(argv[3]) else None
    d = harness.temp_dir("lcsweep-tls-")
    pki = harness.Pki(d)
    tokens_file, tokens = harness.make_tokens(cli_bin, d)
    admin = tokens["admin"]
    worker_token = os.path.join(d, "worker.token")
    with open(worker_token, "w") as f:
        f.write(tokens["worker"] + "\n")

    # TLS with the right certificate on both ports.
    c = harness.Coordinator(coordinator_bin, harness.temp_dir("lcsweep-tls-good-"), "--tokens-file",
                            tokens_file, "--tls-cert", pki.server, "--tls-key", pki.server_key)
    R.check(c.scheme == "https", f"the dashboard announces https: {c.scheme}")
    rc, out, err = cli(cli_bin, c.grpc, admin, "--tls-ca", pki.ca)
    R.check(rc == 0 and "no sweeps" in out, f"CLI with the right CA: rc {rc} {out!r} {err!r}")
    expect_cli_error("CLI with the wrong CA", cli(cli_bin, c.grpc, admin, "--tls-ca", pki.other_ca),
                     "not signed by a CA this client trusts", "--tls-ca", "issued by CN=lcsweep test CA")
    expect_cli_error("plaintext CLI against the TLS port", cli(cli_bin, c.grpc, admin),
                     "speaks TLS but this client connects in plaintext", "pass --tls-ca")
    status, body = https(c.http, pki.ca, "/api/v1/sweeps", admin)
    R.check(status == 200, f"HTTPS with the right CA: {status} {body!r}")
    try:
        https(c.http, pki.other_ca)
        R.check(False, "HTTPS with the wrong CA must fail")
    except ssl.SSLCertVerificationError as e:
        R.check("certificate verify failed" in str(e), f"HTTPS with the wrong CA: {e}")
    status, body = plain_http(c.http)
    R.check(status != 200, f"plain HTTP against the HTTPS port gets no answer: {status} {body!r}")
    host, port = c.http.rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=pki.ca))
    conn.request("POST", "/api/v1/session", json.dumps({"token": admin}), {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    R.check("; Secure" in (r.getheader("Set-Cookie") or ""), f"the session cookie is Secure over TLS: "
                                                                f"{r.getheader('Set-Cookie')}")
    conn.close()
    if worker_bin:
        w, log = worker(worker_bin, c.grpc, worker_token, harness.temp_dir("lcsweep-w1-"), "--tls-ca", pki.ca)
        deadline = time.time() + 30
        while time.time() < deadline and "tls-worker" not in registered_workers(c.http, pki.ca, admin):
            time.sleep(0.2)
        R.check("tls-worker" in registered_workers(c.http, pki.ca, admin),
                f"the worker with the right CA registers: {open(log).read()[-800:]}")
        w.terminate()
        w.wait(30)
        w, log = worker(worker_bin, c.grpc, worker_token, harness.temp_dir("lcsweep-w2-"), "--tls-ca",
                        pki.other_ca)
        rc = w.wait(60)
        text = open(log).read()
        R.check(rc != 0 and "not signed by a CA this client trusts" in text,
                f"the worker with the wrong CA exits saying why: rc {rc} {text[-800:]}")
    c.stop()

    # An expired server certificate (signed by the right CA).
    c = harness.Coordinator(coordinator_bin, harness.temp_dir("lcsweep-tls-expired-"), "--tokens-file",
                            tokens_file, "--tls-cert", pki.expired, "--tls-key", pki.expired_key)
    expect_cli_error("CLI against an expired certificate", cli(cli_bin, c.grpc, admin, "--tls-ca", pki.ca),
                     "certificate (CN=127.0.0.1) expired on Jan  3 00:00:00 2000 GMT", "renew it")
    try:
        https(c.http, pki.ca)
        R.check(False, "HTTPS with an expired certificate must fail")
    except ssl.SSLCertVerificationError as e:
        R.check("expired" in str(e), f"HTTPS with an expired certificate: {e}")
    c.stop()

    # TLS client against a plaintext port.
    c = harness.Coordinator(coordinator_bin, harness.temp_dir("lcsweep-plain-"), "--tokens-file", tokens_file)
    expect_cli_error("TLS CLI against a plaintext port", cli(cli_bin, c.grpc, admin, "--tls-ca", pki.ca),
                     "does not speak TLS", "drop --tls-ca")
    c.stop()

    # Mutual TLS on the gRPC port.
    rc, err = harness.start_failure(coordinator_bin, d, "--tls-client-ca", pki.ca)
    R.check(rc != 0 and "--tls-client-ca needs TLS" in err, f"--tls-client-ca without TLS: rc {rc} {err!r}")
    c = harness.Coordinator(coordinator_bin, harness.temp_dir("lcsweep-mtls-"), "--tokens-file", tokens_file,
                            "--tls-cert", pki.server, "--tls-key", pki.server_key, "--tls-client-ca", pki.ca)
    R.check("tls=mutual" in c.stderr(), "the coordinator logs tls=mutual")
    rc, out, err = cli(cli_bin, c.grpc, admin, "--tls-ca", pki.ca, "--tls-cert", pki.client, "--tls-key",
                       pki.client_key)
    R.check(rc == 0 and "no sweeps" in out, f"CLI with a client certificate from the CA: rc {rc} {err!r}")
    expect_cli_error("CLI without a client certificate", cli(cli_bin, c.grpc, admin, "--tls-ca", pki.ca),
                     "requires a client certificate", "--tls-cert", "--tls-key")
    expect_cli_error("CLI with a client certificate from another CA",
                     cli(cli_bin, c.grpc, admin, "--tls-ca", pki.ca, "--tls-cert", pki.stranger, "--tls-key",
                         pki.stranger_key),
                     "refused this client certificate", "--tls-client-ca")
    rc, out, err = cli(cli_bin, c.grpc, tokens["read-only"], "--tls-ca", pki.ca, "--tls-cert", pki.client,
                       "--tls-key", pki.client_key, command=("cancel", "1"))
    R.check(rc == 4, f"a client certificate does not lift the token's role (read-only cancels): rc {rc} {err!r}")
    status, _ = https(c.http, pki.ca, "/api/v1/sweeps", admin)
    R.check(status == 200, f"the dashboard needs no client certificate: {status}")
    if worker_bin:
        w, log = worker(worker_bin, c.grpc, worker_token, harness.temp_dir("lcsweep-w3-"), "--tls-ca", pki.ca,
                        "--tls-cert", pki.client, "--tls-key", pki.client_key)
        deadline = time.time() + 30
        while time.time() < deadline and "tls-worker" not in registered_workers(c.http, pki.ca, admin):
            time.sleep(0.2)
        R.check("tls-worker" in registered_workers(c.http, pki.ca, admin),
                f"the worker with a client certificate registers: {open(log).read()[-800:]}")
        w.terminate()
        w.wait(30)
        w, log = worker(worker_bin, c.grpc, worker_token, harness.temp_dir("lcsweep-w4-"), "--tls-ca", pki.ca)
        rc = w.wait(60)
        text = open(log).read()
        R.check(rc != 0 and "requires a client certificate" in text,
                f"the worker without a client certificate exits saying why: rc {rc} {text[-800:]}")
    else:
        print("note: lcsweep-worker is not built; the worker checks were skipped")
    c.stop()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
