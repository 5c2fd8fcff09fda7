#!/usr/bin/env python3
"""The dashboard's HTTP role matrix against the real lcsweep-coordinator binary: every route of
server/http/http_server.cc and server/http/json_api.h x every role x {no token, bad token, malformed
header, expired session, signed-out session, bearer token, session cookie (with and without the
CSRF header)} has one expected status, and the test fails on any other (an unprotected route
answers 200 where 401 is expected). Then: a real cancel by a client's session changes the sweep
and a read-only token's does not; a token removed from the tokens file on SIGHUP stops working at
once, bearer and session.

Usage: http_roles_test.py COORDINATOR_BIN CLI_BIN SOURCE_DIR
"""
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import time

import harness

R = harness.Results()
READERS = ("admin", "client", "read-only")
WRITERS = ("admin", "client")

# (method, path, class, status for a principal that may reach it). Classes: public (no
# principal needed), page (the app's HTML: others are redirected to /login.html), principal (any
# role), read (admin, client, read-only), write (admin, client). Ids 1 exist (a submitted sweep);
# writes name id 999, which does not, so an authorised write answers 404 and changes nothing.
ROUTES = [
    ("GET", "/healthz", "public", 200),
    ("GET", "/api/v1/healthz", "public", 200),
    ("GET", "/login.html", "public", 200),
    ("GET", "/app.js", "public", 200),
    ("GET", "/", "page", 200),
    ("GET", "/index.html", "page", 200),
    ("GET", "/api/v1/whoami", "principal", 200),
    ("GET", "/api/v1/session", "principal", 200),
    ("GET", "/api/v1", "read", 200),
    ("GET", "/api/v1/schema", "read", 200),
    ("GET", "/api/v1/workers", "read", 200),
    ("GET", "/api/v1/sweeps", "read", 200),
    ("GET", "/api/v1/sweeps/1", "read", 200),
    ("GET", "/api/v1/sweeps/1/jobs", "read", 200),
    ("GET", "/api/v1/sweeps/1/results", "read", 200),
    ("GET", "/api/v1/sweeps/1/ablation", "read", 200),
    ("GET", "/api/v1/jobs/1", "read", 200),
    ("GET", "/api/v1/jobs/1/metrics", "read", 200),
    ("GET", "/api/v1/jobs/1/events", "read", 200),
    ("GET", "/api/v1/stream", "read", 200),
    ("GET", "/api/v1/no-such-route", "read", 404),  # the catch-all is behind the gate too
    ("POST", "/api/v1/sweeps/999/cancel", "write", 404),
    ("POST", "/api/v1/jobs/999/cancel", "write", 404),
    ("POST", "/api/v1/jobs/999/retry", "write", 404),
    ("PUT", "/api/v1/sweeps", "write", 405),
    ("DELETE", "/api/v1/sweeps/1", "write", 405),
]


class Http:
    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.host, self.port = host, int(port)

    def __call__(self, method, path, headers=None, body=None):
        """(status, headers, body bytes); the SSE stream is closed after its headers."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = b"" if path == "/api/v1/stream" and r.status == 200 else r.read()
            return r.status, r, data
        finally:
            c.close()

    def sign_in(self, token):
        status, r, body = self("POST", "/api/v1/session", {"Content-Type": "application/json"},
                               json.dumps({"token": token}))
        assert status == 200, (status, body)
        cookie = r.getheader("Set-Cookie").split(";")[0]
        return cookie, json.loads(body)["csrf_token"]


def expected(cls, ok_status, role, credential):
    """The status a request of route class `cls` must get from `role` presenting `credential`
    ("none", "bad", "expired", "signed-out", "bearer", "session", "session-no-csrf")."""
    if cls == "public":
        return ok_status
    known = credential in ("bearer", "session", "session-no-csrf")
    if not known:
        return 302 if cls == "page" else 401
    if credential == "session-no-csrf" and cls == "write":
        return 403  # the CSRF check comes before the role's
    if cls in ("page", "principal"):
        return ok_status
    allowed = WRITERS if cls == "write" else READERS
    return ok_status if role in allowed else 403


def headers_for(credential, role, tokens, sessions):
    if credential == "none":
        return {}
    if credential == "bad":
        return {"Authorization": "Bearer " + secrets.token_hex(32)}
    if credential == "malformed":
        return {"Authorization": "Basic " + tokens[role]}
    if credential == "bearer":
        return {"Authorization": "Bearer " + tokens[role]}
    cookie, csrf = sessions[credential][role]
    h = {"Cookie": cookie}
    if credential in ("session", "expired", "signed-out"):
        h["X-CSRF-Token"] = csrf
    return h


def walk(http_, credentials, roles, tokens, sessions):
    for credential in credentials:
        for role in roles:
            h = headers_for(credential, role, tokens, sessions)
            for method, path, cls, ok_status in ROUTES:
                want = expected(cls, ok_status, role, "bad" if credential == "malformed" else credential)
                status, r, body = http_(method, path, h)
                R.check(status == want, f"{method} {path} as {role} with {credential}: {status}, "
                                        f"expected {want}: {body[:160]!r}")
                if status == 302:
                    R.check(r.getheader("Location") == "/login.html",
                            f"{path} redirects to {r.getheader('Location')}, not /login.html")
                if status in (401, 403) and path.startswith("/api/"):
                    j = json.loads(body)
                    R.check(j.get("error") and j.get("hint"),
                            f"{method} {path} ({status}) says what is wrong and what to do: {j}")


def web_root(directory):
    root = os.path.join(directory, "web-root")
    os.makedirs(root)
    for name in ("index.html", "login.html", "app.js"):
        with open(os.path.join(root, name), "w") as f:
            f.write(f"<!-- {name} -->\n")
    return root


def main(argv):
    coordinator_bin, cli = argv[1], argv[2]
    d = harness.temp_dir("lcsweep-http-roles-")
    tokens_file, tokens = harness.make_tokens(cli, d)
    os.environ["LCSWEEP_WEB_ROOT"] = web_root(d)
    roles = harness.ROLES

    # A coordinator whose sessions last two seconds: sign every role in, let the sessions lapse.
    short = harness.Coordinator(coordinator_bin, harness.temp_dir("lcsweep-short-"), "--tokens-file",
                                tokens_file, "--session-hours", str(2 / 3600))
    short_http = Http(short.http)
    expired = {role: short_http.sign_in(tokens[role]) for role in roles}
    time.sleep(2.5)
    status, _, body = short_http("GET", "/api/v1/session", {"Cookie": expired["admin"][0]})
    R.check(status == 401 and b"expired" in body, f"an expired session says so: {status} {body!r}")

    c = harness.Coordinator(coordinator_bin, d, "--tokens-file", tokens_file)
    p = subprocess.run([cli, "--coordinator", c.grpc, "--token", tokens["client"], "submit",
                        os.path.join(argv[3], "deploy/examples/quick_fashion_mnist.json")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    h = Http(c.http)
    # Sessions from the short-lived coordinator are unknown here as well as expired: walk them
    # against the coordinator that issued them.
    walk(short_http, ["expired"], roles, tokens, {"expired": expired})
    short.stop()

    sessions = {"session": {r: h.sign_in(tokens[r]) for r in roles}}
    sessions["session-no-csrf"] = sessions["session"]
    signed_out = {r: h.sign_in(tokens[r]) for r in roles}
    for role, (cookie, csrf) in signed_out.items():
        status, _, _ = h("DELETE", "/api/v1/session", {"Cookie": cookie})
        R.check(status == 403, f"sign-out as {role} without the CSRF header: {status}, expected 403")
        status, r, _ = h("DELETE", "/api/v1/session", {"Cookie": cookie, "X-CSRF-Token": csrf})
        R.check(status == 200 and "Max-Age=0" in (r.getheader("Set-Cookie") or ""),
                f"sign-out as {role}: {status}, clears the cookie")
    sessions["signed-out"] = signed_out
    walk(h, ["none", "bad", "malformed", "signed-out", "bearer", "session", "session-no-csrf"], roles,
         tokens, sessions)

    # Sign-in itself: every role's token opens a session, nothing else does.
    for body, want in ((json.dumps({"token": secrets.token_hex(32)}), 401), ("{}", 400),
                       (json.dumps({"token": tokens["worker"]}), 200)):
        status, _, out = h("POST", "/api/v1/session", {"Content-Type": "application/json"}, body)
        R.check(status == want, f"sign-in with {body[:20]}: {status}, expected {want}: {out!r}")
    status, _, _ = h("POST", "/api/v1/session", {"Content-Type": "text/plain"},
                     json.dumps({"token": tokens["admin"]}))
    R.check(status == 415, f"a cross-site form's Content-Type cannot sign in: {status}")

    # A real mutation: read-only's cancel is refused and changes nothing; client's goes through.
    ro_cookie, ro_csrf = sessions["session"]["read-only"]
    status, _, _ = h("POST", "/api/v1/sweeps/1/cancel", {"Cookie": ro_cookie, "X-CSRF-Token": ro_csrf})
    R.check(status == 403, f"read-only cancels sweep 1: {status}")
    bearer = {"Authorization": "Bearer " + tokens["admin"]}
    sweep = json.loads(h("GET", "/api/v1/sweeps/1", bearer)[2])
    R.check(sweep["counts"]["cancelled"] == 0, f"after read-only's cancel: {sweep['counts']}")
    cookie, csrf = sessions["session"]["client"]
    status, _, out = h("POST", "/api/v1/sweeps/1/cancel", {"Cookie": cookie, "X-CSRF-Token": csrf})
    R.check(status == 200, f"client cancels sweep 1: {status} {out!r}")
    sweep = json.loads(h("GET", "/api/v1/sweeps/1", bearer)[2])
    R.check(sweep["counts"]["cancelled"] == 6, f"after client's cancel: {sweep['counts']}")
    events = json.loads(h("GET", "/api/v1/jobs/1/events", bearer)[2])["events"]
    R.check(any(e.get("to") == "cancelled" for e in events), f"job 1's events record the cancel: {events}")

    # Rotation: the client's token leaves the file; SIGHUP; its bearer and its session stop at once.
    with open(tokens_file) as f:
        kept = [line for line in f if not line.rstrip().endswith(" client client-user")]
    with open(tokens_file, "w") as f:
        f.writelines(kept)
    c.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and "tokens_reloaded" not in c.stderr():
        time.sleep(0.05)
    R.check("tokens_reloaded" in c.stderr(), "SIGHUP reloads the tokens file")
    status, _, _ = h("GET", "/api/v1/sweeps", {"Authorization": "Bearer " + tokens["client"]})
    R.check(status == 401, f"a removed token's bearer after SIGHUP: {status}")
    status, _, _ = h("GET", "/api/v1/sweeps", {"Cookie": cookie})
    R.check(status == 401, f"a removed token's session after SIGHUP: {status}")
    status, _, _ = h("GET", "/api/v1/sweeps", bearer)
    R.check(status == 200, f"a kept token after SIGHUP: {status}")
    R.check(c.stop() == 0, "the coordinator exits 0 on SIGTERM")
    print(f"{len(ROUTES)} routes x {len(roles)} roles x 8 credentials walked")
    return R.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
