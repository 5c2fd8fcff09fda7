#!/usr/bin/env python3
"""The tokens file at rest, against the real lcsweep-coordinator: a file of digests starts quietly;
the deprecated plaintext form still works but is announced at start (a tokens_file_deprecated
warning naming the fix) and again on every SIGHUP reload; a file that group or others can read is
refused before anything listens.

Usage: tokens_file_test.py COORDINATOR_BIN CLI_BIN
"""
import http.client
import os
import secrets
import signal
import sys
import time

import harness

R = harness.Results()


def status_of(address, token):
    host, port = address.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request("GET", "/api/v1/sweeps", headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def main(argv):
    coordinator_bin, cli = argv[1], argv[2]
    d = harness.temp_dir("lcsweep-tokens-")
    tokens_file, tokens = harness.make_tokens(cli, d, roles=("admin",))

    c = harness.Coordinator(coordinator_bin, harness.temp_dir("lcsweep-digests-"), "--tokens-file", tokens_file)
    R.check(status_of(c.http, tokens["admin"]) == 200, "a digest line's token works")
    R.check("deprecated" not in c.stderr(), f"digests are not deprecated: {c.stderr()}")
    c.stop()

    plaintext = secrets.token_hex(20)
    legacy_dir = harness.temp_dir("lcsweep-legacy-")
    legacy_file, legacy = harness.make_tokens(cli, legacy_dir, roles=("admin",),
                                              extra_lines=(plaintext + " read-only old-script",))
    c = harness.Coordinator(coordinator_bin, legacy_dir, "--tokens-file", legacy_file)
    log = c.stderr()
    R.check("event=tokens_file_deprecated" in log and "lcsweep token --hash" in log,
            f"a plaintext line is announced at start with the fix: {log}")
    R.check(status_of(c.http, plaintext) == 200, "the deprecated plaintext token still reads")
    R.check(status_of(c.http, legacy["admin"]) == 200, "the digest next to it works")
    before = log.count("tokens_file_deprecated")
    c.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and "tokens_reloaded" not in c.stderr():
        time.sleep(0.05)
    R.check(c.stderr().count("tokens_file_deprecated") > before, "and again on a SIGHUP reload")
    R.check(c.stop() == 0, "the coordinator exits 0")

    os.chmod(tokens_file, 0o640)
    rc, err = harness.start_failure(coordinator_bin, d, "--tokens-file", tokens_file)
    R.check(rc == 2 and "chmod 600" in err, f"a group-readable tokens file is refused: rc {rc} {err!r}")
    return R.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
