"""Client: a connection to an lcsweep coordinator's JobService (gRPC).

Connection settings, first found wins (the same order as the `lcsweep` CLI):
arguments of connect(), then LCSWEEP_COORDINATOR, LCSWEEP_TOKEN,
LCSWEEP_TOKEN_FILE, LCSWEEP_TLS_CA, then $XDG_CONFIG_HOME/lcsweep/config.json
(keys "coordinator", "token", "token_file", "tls_ca"), then 127.0.0.1:50051 in
plaintext without a token.

Errors: every failed call raises LcsweepError with the gRPC status code name
(e.g. "NOT_FOUND") in .code and the coordinator's message.

Thread-safety: a Client may be shared by threads (gRPC channels and stubs are
thread-safe); each call is independent.
"""
import json
import os
import time

import grpc

from lcsweep.flatten import flatten_result
from lcsweep.v1 import coordinator_pb2 as pb
from lcsweep.v1 import coordinator_pb2_grpc as pb_grpc
from lcsweep.v1 import spec_pb2

_PAGE = 1000
_FINAL = (spec_pb2.JOB_STATE_SUCCEEDED, spec_pb2.JOB_STATE_FAILED, spec_pb2.JOB_STATE_CANCELLED,
          spec_pb2.JOB_STATE_STOPPED)


class LcsweepError(Exception):
    """A call the coordinator refused or could not answer."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


def state_name(state):
    """"queued", "running", ... for a lcsweep.v1.JobState value."""
    return spec_pb2.JobState.Name(state).replace("JOB_STATE_", "").lower()


def _config_file():
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = os.path.join(base, "lcsweep", "config.json")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _first_line(path):
    with open(os.path.expanduser(path)) as f:
        return f.readline().strip()


def connect(coordinator=None, token=None, token_file=None, tls_ca=None, timeout=30.0):
    """A Client for `coordinator` ("HOST:PORT"); see the module doc for defaults.

    token / token_file: the bearer token (or a file whose first line is it);
    tls_ca: a PEM file of root certificates, which turns TLS on; timeout:
    seconds per call."""
    cfg = _config_file()
    env = os.environ.get
    coordinator = coordinator or env("LCSWEEP_COORDINATOR") or cfg.get("coordinator") or "127.0.0.1:50051"
    if token is None and token_file is None:
        token = env("LCSWEEP_TOKEN")
        token_file = env("LCSWEEP_TOKEN_FILE")
    if token is None and token_file is None:
        token, token_file = cfg.get("token"), cfg.get("token_file")
    if token is None and token_file:
        token = _first_line(token_file)
    tls_ca = tls_ca or env("LCSWEEP_TLS_CA") or cfg.get("tls_ca")
    return Client(coordinator, token=token, tls_ca=tls_ca, timeout=timeout)


class Client:
    def __init__(self, coordinator, token=None, tls_ca=None, timeout=30.0):
        if tls_ca:
            with open(os.path.expanduser(tls_ca), "rb") as f:
                creds = grpc.ssl_channel_credentials(root_certificates=f.read())
            self._channel = grpc.secure_channel(coordinator, creds)
        else:
            self._channel = grpc.insecure_channel(coordinator)
        self._stub = pb_grpc.JobServiceStub(self._channel)
        self._metadata = (("authorization", "Bearer " + token),) if token else ()
        self._timeout = timeout
        self.coordinator = coordinator

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _call(self, method, request):
        try:
            return getattr(self._stub, method)(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise LcsweepError(e.code().name, e.details()) from None

    # ---- sweeps ------------------------------------------------------------

    def submit(self, spec, priority=None, force=False, request_id=""):
        """Submits a sweep: `spec` is a dict, a JSON string, or the path of a
        JSON file. Returns the sweep id. A retry with the same request_id
        returns the same sweep instead of a second one."""
        if isinstance(spec, dict):
            text = json.dumps(spec)
        elif isinstance(spec, str) and spec.lstrip().startswith("{"):
            text = spec
        else:
            with open(os.fspath(spec)) as f:
                text = f.read()
        req = pb.SubmitSweepRequest(spec_json=text.encode(), force=force, request_id=request_id.encode())
        if priority is not None:
            req.priority = priority
        return self._call("SubmitSweep", req).sweep_id

    def sweep(self, sweep_id):
        """The sweep's record as a dict (name, priority, counts by state, ...)."""
        s = self._call("GetSweep", pb.GetSweepRequest(sweep_id=sweep_id)).sweep
        counts = {name: getattr(s.counts, name) for name in ("queued", "running", "succeeded", "failed", "cancelled", "stopped")}
        return {"id": s.id, "name": s.name, "priority": s.priority, "tags": list(s.tags),
                "counts": counts, "total": s.counts.total}

    def wait(self, sweep_id, timeout=None, poll_seconds=2.0):
        """Blocks until every job of the sweep is succeeded, failed or
        cancelled; returns its counts by state. TimeoutError after `timeout`
        seconds (None: no limit)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            s = self.sweep(sweep_id)
            c = s["counts"]
            if s["total"] > 0 and c.get("queued", 0) == 0 and c.get("running", 0) == 0:
                return c
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("sweep %d not finished after %gs: %s" % (sweep_id, timeout, c))
            time.sleep(poll_seconds)

    def jobs(self, sweep_id=0):
        """Every job of the sweep (0: of all sweeps), lcsweep.v1.Job messages
        in ascending id, all pages followed."""
        out, token = [], b""
        while True:
            page = self._call("ListJobs", pb.ListJobsRequest(sweep_id=sweep_id, page_size=_PAGE, page_token=token))
            out.extend(page.jobs)
            if not page.next_page_token:
                return out
            token = page.next_page_token.encode()

    # ---- data frames -----------------------------------------------------------

    def results(self, sweep_id):
        """pandas.DataFrame, one row per job of the sweep (ascending id): job_id,
        state, seed, config_hash, group_hash, error, then one column per swept
        axis (its dotted path; "seed" is its own column) and one per result
        figure (lcsweep.flatten naming; NaN where a job has none, e.g. not
        succeeded)."""
        import pandas as pd

        rows = []
        for j in self.jobs(sweep_id):
            axes = json.loads(j.axes_json) if j.axes_json else {}
            axes.pop("seed", None)
            figures = {}
            if j.state == spec_pb2.JOB_STATE_SUCCEEDED and j.result_json:
                figures = flatten_result(json.loads(j.result_json))
            row = {"job_id": j.id, "state": state_name(j.state), "seed": j.summary.seed,
                   "config_hash": j.config_hash, "group_hash": j.group_hash, "error": j.error}
            row.update({"axes." + k if k in row else k: v for k, v in axes.items()})
            row.update(figures)
            rows.append(row)
        return pd.DataFrame(rows)

    def metrics(self, job_id, names=(), include_superseded=False):
        """pandas.DataFrame of the job's metric points, one row per point:
        name, attempt, epoch, step, time_ms, value (and superseded with
        include_superseded), ordered by (name, attempt, step). Only the live
        series by default: each step once, as the job's final attempt saw it."""
        import pandas as pd

        rows, token = [], b""
        while True:
            page = self._call("GetMetrics", pb.GetMetricsRequest(
                job_id=job_id, names=list(names), page_size=10000, page_token=token,
                include_superseded=include_superseded))
            for s in page.series:
                for p in s.points:
                    row = {"name": s.name, "attempt": p.attempt, "epoch": p.epoch, "step": p.step,
                           "time_ms": p.time_ms, "value": p.value}
                    if include_superseded:
                        row["superseded"] = p.superseded
                    rows.append(row)
            if not page.next_page_token:
                break
            token = page.next_page_token.encode()
        columns = ["name", "attempt", "epoch", "step", "time_ms", "value"] + (
            ["superseded"] if include_superseded else [])
        df = pd.DataFrame(rows, columns=columns)
        return df.sort_values(["name", "attempt", "step"], kind="stable").reset_index(drop=True)

    # ---- models ------------------------------------------------------------

    def model(self, job_id, path):
        """Downloads the final model of a succeeded job to `path` (written as
        path + ".part", checked against the size and SHA-256 the coordinator
        recorded, then renamed) and returns its metadata as a dict (job_id,
        attempt, size_bytes, sha256, created_at_ms). Load it with
        lcsweep_models.load(path), or torch.load(path, weights_only=True) for
        the plain state dict. Raises LcsweepError: NOT_FOUND (unknown job, or
        no model: pruned by the retention policy or never uploaded, the
        message says which), FAILED_PRECONDITION (the job has not succeeded),
        DATA_LOSS (the bytes did not match)."""
        import hashlib

        part = path + ".part"
        meta, digest, size = None, hashlib.sha256(), 0
        try:
            with open(part, "wb") as out:
                # No deadline: a large model may take longer than one call's timeout.
                for msg in self._stub.GetModel(pb.GetModelRequest(job_id=job_id), metadata=self._metadata):
                    if msg.HasField("metadata"):
                        meta = msg.metadata
                    else:
                        digest.update(msg.chunk)
                        out.write(msg.chunk)
                        size += len(msg.chunk)
        except grpc.RpcError as e:
            os.remove(part)
            raise LcsweepError(e.code().name, e.details()) from None
        if meta is None or size != meta.size_bytes or digest.hexdigest() != meta.sha256:
            os.remove(part)
            raise LcsweepError("DATA_LOSS", "the model of job %d did not match its recorded size/SHA-256" % job_id)
        os.replace(part, path)
        return {"job_id": meta.job_id, "attempt": meta.attempt, "size_bytes": meta.size_bytes,
                "sha256": meta.sha256, "created_at_ms": meta.created_at_ms}
