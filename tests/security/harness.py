"""Real-binary harness for the security tests: starts build/ binaries of lcsweep-coordinator on
loopback (port 0, the bound ports read from its stdout), makes tokens with the real `lcsweep token`,
and makes certificates with Debian's openssl at test time. No fakes: what these tests see is what a
user's curl, browser, worker or CLI sees.

Every helper raises (AssertionError, with the process's output) instead of returning an error, so a
test reads as a list of expectations. Processes are killed at exit even when a test fails.
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

ROLES = ("admin", "client", "read-only", "worker")
_children = []


@atexit.register
def _kill_children():
    for p in _children:
        if p.poll() is None:
            p.kill()
            p.wait()


def spawn(cmd, log_path):
    """Starts `cmd` with stdout and stderr to `log_path`; killed at exit if still running."""
    log = open(log_path, "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    log.close()
    _children.append(p)
    return p


class Results:
    """Counts checks; prints one line per failure and "N passed, N failed" at the end."""

    def __init__(self):
        self.passed, self.failed = 0, 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL", what, flush=True)
        return ok

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 and self.passed > 0 else 1


def temp_dir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def make_tokens(cli, directory, roles=ROLES, extra_lines=()):
    """A tokens file (mode 0600, digests only) with one token per role, made by `lcsweep token`.
    Returns (path, {role: token})."""
    tokens, lines = {}, []
    for role in roles:
        out = subprocess.run([cli, "token", "--role", role, "--name", role + "-user", "--json"],
                             check=True, capture_output=True, text=True).stdout
        j = json.loads(out)
        assert j["token"] not in j["line"], "the tokens file line must not hold the token"
        tokens[role] = j["token"]
        lines.append(j["line"])
    path = os.path.join(directory, "tokens")
    with open(path, "w") as f:
        f.write("\n".join(list(lines) + list(extra_lines)) + "\n")
    os.chmod(path, 0o600)
    return path, tokens


class Coordinator:
    """One lcsweep-coordinator process on loopback. `grpc` and `http` are HOST:PORT once started."""

    def __init__(self, binary, directory, *args, http=True):
        self.directory = directory
        self.log_path = os.path.join(directory, "coordinator.log")
        cmd = [binary, "--listen", "127.0.0.1:0", "--db", os.path.join(directory, "c.db"),
               "--artifacts", os.path.join(directory, "artifacts"),
               "--http-listen", "127.0.0.1:0" if http else "", *args]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        _children.append(self.proc)
        self.grpc, self.http, self.scheme = None, None, None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"dashboard on (https?)://([^\s]+)", line)
            if m:
                self.scheme, self.http = m.group(1), m.group(2)
            m = re.search(r"listening on (\S+)", line)
            if m:
                self.grpc = m.group(1)
                return
        self.proc.kill()
        raise AssertionError(f"coordinator did not start: {' '.join(cmd)}\n{self.stderr()}")

    def stderr(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def start_failure(binary, directory, *args):
    """Runs a coordinator that is expected to refuse to start; returns (rc, stderr)."""
    p = subprocess.run([binary, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                        "--db", os.path.join(directory, "f.db"),
                        "--artifacts", os.path.join(directory, "f-artifacts"), *args],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stderr


def openssl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert p.returncode == 0, f"openssl {' '.join(args)}:\n{p.stderr}"


class Pki:
    """Certificates made with openssl in `directory`: a CA, a server certificate for 127.0.0.1 and
    localhost signed by it, an expired server certificate by the same CA, a second (wrong) CA with a
    server certificate of its own, and client certificates (worker, by the CA; stranger, by the
    wrong CA). Attributes are file paths."""

    def __init__(self, directory):
        self.dir = directory
        self.ca, self.ca_key = self._ca("ca", "lcsweep test CA")
        self.other_ca, self.other_ca_key = self._ca("other-ca", "some other CA")
        san = "subjectAltName=IP:127.0.0.1,DNS:localhost"
        self.server, self.server_key = self._leaf("server", "127.0.0.1", "ca", san, "serverAuth")
        self.expired, self.expired_key = self._leaf("expired", "127.0.0.1", "ca", san, "serverAuth",
                                                    expired=True)
        self.other_server, self.other_server_key = self._leaf("other-server", "127.0.0.1", "other-ca",
                                                              san, "serverAuth")
        self.client, self.client_key = self._leaf("worker-client", "gpu-box-1", "ca", None,
                                                  "clientAuth")
        self.stranger, self.stranger_key = self._leaf("stranger", "gpu-box-2", "other-ca", None,
                                                      "clientAuth")

    def _p(self, name):
        return os.path.join(self.dir, name)

    def _ca(self, name, cn):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={cn}",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign", "-keyout", name + ".key", "-out",
                name + ".crt", cwd=self.dir)
        return self._p(name + ".crt"), self._p(name + ".key")

    def _leaf(self, name, cn, ca, san, usage, expired=False):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", name + ".key",
                "-out", name + ".csr", cwd=self.dir)
        ext = f"extendedKeyUsage={usage}\n" + (san + "\n" if san else "")
        with open(self._p(name + ".ext"), "w") as f:
            f.write(ext)
        # An expired certificate: valid for two days that ended a year ago (x509 -not_before/after
        # need OpenSSL 3.4; `ca` with -startdate/-enddate works on every Debian).
        if expired:
            db = self._p(ca + ".index")
            open(db, "a").close()
            openssl("ca", "-batch", "-notext", "-in", name + ".csr",
                    "-cert", ca + ".crt", "-keyfile", ca + ".key", "-out", name + ".crt",
                    "-startdate", "20000101000000Z", "-enddate", "20000103000000Z",
                    "-extfile", name + ".ext", "-config", self._ca_config(ca), cwd=self.dir)
        else:
            openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                    "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out",
                    name + ".crt", cwd=self.dir)
        return self._p(name + ".crt"), self._p(name + ".key")

    def _ca_config(self, ca):
        path = self._p(ca + ".cnf")
        with open(path, "w") as f:
            f.write(f"""[ca]
default_ca = test
[test]
database = {self._p(ca + '.index')}
new_certs_dir = {self.dir}
serial = {self._p(ca + '.serial')}
default_md = sha256
policy = anything
[anything]
commonName = supplied
""")
        with open(self._p(ca + ".serial"), "w") as f:
            f.write("1000\n")
        return path
