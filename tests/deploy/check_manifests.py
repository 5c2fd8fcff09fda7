#!/usr/bin/env python3
"""Structural checks of the deployment files in deploy/ (no Docker engine or cluster needed).
Long because it checks every file of deploy/ and then re-runs each check on mutated copies to
prove it can fail.

Parses compose.yaml and every Kubernetes manifest with a YAML parser, the Dockerfiles, the systemd
units and the Slurm script as text, and checks what makes each deployment path work: ports that agree
between Services, probes and containers; volumes that are declared and mounted where the database
lives; drain budgets (grace periods longer than the worker's --drain-timeout); GPU requests; preStop
hooks; secrets that exist with the keys the pods read; Dockerfiles that install through
deploy/install-deps.sh.

  check_manifests.py SOURCE_DIR              check the real files; exit 1 listing every problem
  check_manifests.py --self-test SOURCE_DIR  break the files in memory one way at a time (remove
                                             preStop, shrink a grace period, ...) and require that
                                             each breakage is reported: proves the checks can fail
"""
import copy
import os
import re
import sys

import yaml


# ----------------------------------------------------------------------------------------- helpers
def parse_duration(value):
    """Compose durations ("90s", "1m30s", "2m") or plain numbers, in seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    total, matched = 0.0, ""
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", str(value)):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6}[unit]
        matched += number + unit
    if not matched or matched != str(value):
        raise ValueError(f"cannot parse duration {value!r}")
    return total


def flag_value(args, name):
    """Value of --name=V or --name V in an argument list, else None."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None


def under(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


ROLES = {"admin", "client", "worker", "read-only"}


def check_token_table(text, where):
    """The coordinator's --tokens-file JSON form: {"tokens": [{"token", "role", "name"}]}.
    Returns (errors, {token: role})."""
    import json
    try:
        doc = json.loads(text)
    except ValueError as e:
        return [f"{where}: not JSON ({e})"], {}
    entries = doc.get("tokens") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        return [f"{where}: expected {{\"tokens\": [{{\"token\", \"role\", \"name\"}}, ...]}}"], {}
    errors, table = [], {}
    for i, e in enumerate(entries):
        # Tokens at rest are SHA-256 digests ("sha256"); plaintext "token" is
        # the deprecated form the coordinator still reads.
        key = e.get("sha256") or e.get("token") if isinstance(e, dict) else None
        if not key or e.get("role") not in ROLES:
            errors.append(f"{where}: tokens[{i}] needs a sha256 (or token) and a role in {sorted(ROLES)}, got {e}")
        elif "sha256" in e and not re.fullmatch(r"[0-9a-f]{64}", e["sha256"]):
            errors.append(f"{where}: tokens[{i}].sha256 is not 64 lower-case hex digits")
        else:
            table[key] = e["role"]
    return errors, table


def role_of(table, token):
    """The role of a plaintext token in a table of digests (or plaintext)."""
    import hashlib
    return table.get(hashlib.sha256(token.encode()).hexdigest()) or table.get(token)


# ----------------------------------------------------------------------------------------- compose
def check_compose(compose, source_dir):
    errors = []
    where = "deploy/docker/compose.yaml"
    services = compose.get("services") or {}
    for name in ("coordinator", "worker"):
        if name not in services:
            errors.append(f"{where}: service '{name}' missing")
    if errors:
        return errors
    coord, worker = services["coordinator"], services["worker"]
    volumes = compose.get("volumes") or {}
    secrets = compose.get("secrets") or {}

    # Coordinator: state on a named volume, database inside it, healthcheck via the gRPC health verb.
    args = [str(a) for a in coord.get("command") or []]
    db = flag_value(args, "--db")
    state_mounts = []
    for v in coord.get("volumes") or []:
        src, _, dst = str(v).partition(":")
        dst = dst.split(":")[0]
        if src in volumes:
            state_mounts.append(dst)
        elif "/" not in src:
            errors.append(f"{where}: coordinator mounts volume '{src}' which is not declared under volumes:")
    if not state_mounts:
        errors.append(f"{where}: coordinator has no named volume (its SQLite file would die with the container)")
    if db is None or not any(under(db, m) for m in state_mounts):
        errors.append(f"{where}: coordinator --db {db} is not on a named volume {state_mounts}")
    test = (coord.get("healthcheck") or {}).get("test") or []
    test = test if isinstance(test, list) else str(test).split()
    if "lcsweep" not in test or "health" not in test:
        errors.append(f"{where}: coordinator healthcheck must run `lcsweep health HOST:PORT`, got {test}")
    listen = flag_value(args, "--listen") or ""
    listen_port = listen.rpartition(":")[2]
    if not listen.startswith("0.0.0.0:"):
        errors.append(f"{where}: coordinator must --listen on 0.0.0.0 inside the container, got {listen!r}")
    if test and listen_port and not any(str(t).endswith(":" + listen_port) for t in test):
        errors.append(f"{where}: healthcheck {test} does not probe the --listen port {listen_port}")
    tokens = flag_value(args, "--tokens-file")
    if not tokens:
        errors.append(f"{where}: coordinator listens beyond loopback without --tokens-file")
    for name, svc in services.items():
        for s in svc.get("secrets") or []:
            s = s if isinstance(s, str) else s.get("source")
            if s not in secrets:
                errors.append(f"{where}: service '{name}' uses secret '{s}' not declared under secrets:")
        build = svc.get("build")
        if isinstance(build, dict):
            context = os.path.normpath(os.path.join(source_dir, "deploy/docker", build.get("context", ".")))
            dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
            if not os.path.isfile(dockerfile):
                errors.append(f"{where}: service '{name}' builds from missing {dockerfile}")

    # Workers: enough stop grace to drain, started after a healthy coordinator, pointed at its port.
    for name, svc in services.items():
        wargs = [str(a) for a in svc.get("command") or []]
        if not wargs or wargs[0] != "lcsweep-worker":
            continue
        drain = flag_value(wargs, "--drain-timeout")
        if drain is None:
            errors.append(f"{where}: {name} has no --drain-timeout")
            continue
        grace = parse_duration(svc.get("stop_grace_period", "10s"))
        if grace <= float(drain):
            errors.append(f"{where}: {name} stop_grace_period {grace:.0f}s must exceed --drain-timeout {drain}s")
        if svc.get("stop_signal", "SIGTERM") not in ("SIGTERM", "TERM"):
            errors.append(f"{where}: {name} stop_signal must be SIGTERM (the worker drains on it)")
        dep = (svc.get("depends_on") or {})
        if not isinstance(dep, dict) or (dep.get("coordinator") or {}).get("condition") != "service_healthy":
            errors.append(f"{where}: {name} must depend on coordinator with condition service_healthy")
        target = flag_value(wargs, "--coordinator") or ""
        host, _, port = target.rpartition(":")
        if host not in services or port != listen_port:
            errors.append(f"{where}: {name} --coordinator {target!r} is not service coordinator port {listen_port}")
        token = flag_value(wargs, "--token-file") or ""
        if not any(token == f"/run/secrets/{s if isinstance(s, str) else s.get('source')}"
                   for s in svc.get("secrets") or []):
            errors.append(f"{where}: {name} --token-file {token!r} is not one of its mounted secrets")
        if "cuda" in (flag_value(wargs, "--devices") or ""):
            devices = (((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices")
            if not devices or not any("gpu" in (d.get("capabilities") or []) for d in devices):
                errors.append(f"{where}: {name} uses CUDA but reserves no GPU device")
    if "replicas" not in (worker.get("deploy") or {}):
        errors.append(f"{where}: worker has no deploy.replicas (N workers)")
    return errors


# -------------------------------------------------------------------------------------- kubernetes
def pod_spec(obj):
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


def check_k8s(kustomization, files, source_dir):
    """files: {filename: [documents]} for every resource listed in kustomization.yaml."""
    errors = []
    where = "deploy/k8s"
    for res in kustomization.get("resources") or []:
        if res not in files:
            errors.append(f"{where}/kustomization.yaml: resource {res} does not exist")
    objects = []
    for fname, docs in files.items():
        for doc in docs:
            if doc is None:
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in doc:
                    errors.append(f"{where}/{fname}: a document has no {key}")
            if "metadata" in doc and not doc["metadata"].get("name"):
                errors.append(f"{where}/{fname}: a {doc.get('kind')} has no metadata.name")
            objects.append((fname, doc))
    by_kind = {}
    for fname, doc in objects:
        by_kind.setdefault(doc.get("kind"), {})[doc["metadata"]["name"]] = (fname, doc)
    services = {n: d for n, (_, d) in by_kind.get("Service", {}).items()}
    secrets = {n: d for n, (_, d) in by_kind.get("Secret", {}).items()}
    tokens_secret = secrets.get("lcsweep-tokens")
    if tokens_secret is None:
        errors.append(f"{where}: no Secret lcsweep-tokens")
    else:
        data = tokens_secret.get("stringData") or {}
        terrors, table = check_token_table(data.get("tokens.json", ""), f"{where} Secret lcsweep-tokens tokens.json")
        errors += terrors
        if role_of(table, str(data.get("worker-token", "")).strip()) != "worker":
            errors.append(f"{where} Secret lcsweep-tokens: worker-token is not a token with role worker in tokens.json")
    image_names = {i.get("name") for i in kustomization.get("images") or []}

    statefulsets = by_kind.get("StatefulSet", {})
    deployments = by_kind.get("Deployment", {})
    if "lcsweep-coordinator" not in statefulsets:
        errors.append(f"{where}: no StatefulSet lcsweep-coordinator")
    if "lcsweep-worker" not in deployments:
        errors.append(f"{where}: no Deployment lcsweep-worker")

    for kind, items in (("StatefulSet", statefulsets), ("Deployment", deployments)):
        for name, (fname, obj) in items.items():
            loc = f"{where}/{fname} {kind} {name}"
            spec = obj.get("spec") or {}
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            selector = (spec.get("selector") or {}).get("matchLabels") or {}
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                errors.append(f"{loc}: selector {selector} does not match the pod labels {labels}")
            pspec = pod_spec(obj)
            volumes = {v["name"]: v for v in pspec.get("volumes") or []}
            claim_names = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates") or []}
            containers = pspec.get("containers") or []
            if not containers:
                errors.append(f"{loc}: no containers")
            used = set()
            for c in containers:
                cloc = f"{loc} container {c.get('name')}"
                image = str(c.get("image", "")).split(":")[0]
                if image not in image_names:
                    errors.append(f"{cloc}: image {image!r} is not listed in kustomization images")
                mounts = {}
                for m in c.get("volumeMounts") or []:
                    used.add(m["name"])
                    mounts[m["mountPath"]] = m["name"]
                    if m["name"] not in volumes and m["name"] not in claim_names:
                        errors.append(f"{cloc}: mounts undeclared volume {m['name']}")
                ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
                args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]

                # Files the program reads must lie on a mounted volume; secret files must be items.
                for flag in ("--tokens-file", "--token-file", "--db", "--artifacts", "--work-dir"):
                    path = flag_value(args, flag)
                    if path is None:
                        continue
                    mount = max((mp for mp in mounts if under(path, mp)), key=len, default=None)
                    if mount is None:
                        errors.append(f"{cloc}: {flag} {path} is on no mounted volume")
                        continue
                    vol = volumes.get(mounts[mount])
                    if flag in ("--db", "--artifacts") and mounts[mount] not in claim_names:
                        errors.append(f"{cloc}: {flag} {path} is not on the persistent volume claim")
                    if vol and "secret" in vol:
                        sname = vol["secret"].get("secretName")
                        secret = secrets.get(sname)
                        rel = os.path.relpath(path, mount)
                        items = {i["path"]: i["key"] for i in vol["secret"].get("items") or []}
                        key = items.get(rel, rel if not items else None)
                        if secret is None:
                            errors.append(f"{cloc}: secret {sname} does not exist")
                        elif key is None or key not in {**(secret.get("data") or {}), **(secret.get("stringData") or {})}:
                            errors.append(f"{cloc}: {flag} {path} maps to no key of secret {sname}")

                # Probes: native gRPC on a declared container port (the standard health service).
                if kind == "StatefulSet":
                    for probe in ("readinessProbe", "livenessProbe"):
                        p = c.get(probe)
                        if not p or "grpc" not in p:
                            errors.append(f"{cloc}: {probe} must be a native grpc probe")
                            continue
                        if p["grpc"].get("port") not in ports.values():
                            errors.append(f"{cloc}: {probe} grpc port {p['grpc'].get('port')} is no containerPort {ports}")
                    listen = (flag_value(args, "--listen") or "").rpartition(":")[2]
                    if listen and int(listen) != ports.get("grpc"):
                        errors.append(f"{cloc}: --listen port {listen} differs from containerPort grpc {ports.get('grpc')}")

                # Services that select this pod must target ports the container declares.
                for sname, svc in services.items():
                    sel = (svc.get("spec") or {}).get("selector") or {}
                    if not sel or any(labels.get(k) != v for k, v in sel.items()):
                        continue
                    for sp in (svc.get("spec") or {}).get("ports") or []:
                        target = sp.get("targetPort", sp.get("port"))
                        if target not in ports and target not in ports.values():
                            errors.append(f"{where} Service {sname}: targetPort {target} is no port of {cloc} {ports}")

                if kind == "Deployment":
                    res = c.get("resources") or {}
                    gpu = (res.get("limits") or {}).get("nvidia.com/gpu")
                    if not gpu or int(gpu) < 1:
                        errors.append(f"{cloc}: no nvidia.com/gpu limit (GPU request)")
                    pre = ((c.get("lifecycle") or {}).get("preStop") or {})
                    if not pre:
                        errors.append(f"{cloc}: no lifecycle.preStop hook (drain before the kubelet's SIGTERM)")
                    drain = flag_value(args, "--drain-timeout")
                    grace = pspec.get("terminationGracePeriodSeconds", 30)
                    if drain is None:
                        errors.append(f"{cloc}: no --drain-timeout")
                    elif grace <= int(drain):
                        errors.append(f"{cloc}: terminationGracePeriodSeconds {grace} must exceed --drain-timeout {drain}")
                    target = flag_value(args, "--coordinator") or ""
                    host, _, port = target.rpartition(":")
                    svc = services.get(host.split(".")[0])
                    if svc is None or not any(str(p.get("port")) == port for p in svc["spec"].get("ports") or []):
                        errors.append(f"{cloc}: --coordinator {target!r} is no Service port")
            for vname in list(volumes) + sorted(claim_names):
                if vname not in used:
                    errors.append(f"{loc}: volume {vname} is declared but mounted nowhere")
            if kind == "StatefulSet":
                if spec.get("replicas", 1) != 1:
                    errors.append(f"{loc}: replicas must be 1 (SQLite has one writer)")
                if not claim_names:
                    errors.append(f"{loc}: no volumeClaimTemplates (state would not persist)")
                gov = services.get(spec.get("serviceName"))
                if gov is None or (gov.get("spec") or {}).get("clusterIP") != "None":
                    errors.append(f"{loc}: serviceName {spec.get('serviceName')} is not a headless Service")
    return errors


# -------------------------------------------------------------------------------------- dockerfiles
def dockerfile_instructions(text):
    """[(INSTRUCTION, argument)] with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        word, _, rest = cur.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def check_dockerfile(text, name, source_dir, cuda):
    errors = []
    where = f"deploy/docker/{name}"
    ins = dockerfile_instructions(text)
    args = {}
    stages, current = [], None
    for word, rest in ins:
        if word == "ARG" and "=" in rest and current is None:
            k, _, v = rest.partition("=")
            args[k] = v
        if word == "FROM":
            current = {"from": rest, "ins": []}
            stages.append(current)
        elif current is not None:
            current["ins"].append((word, rest))
    if len(stages) < 2:
        errors.append(f"{where}: not multi-stage ({len(stages)} FROM)")
        return errors
    debian = args.get("DEBIAN_IMAGE", "")
    if debian != "debian:bookworm":
        errors.append(f"{where}: ARG DEBIAN_IMAGE must default to debian:bookworm, got {debian!r}")
    build = [s for s in stages if " AS build" in s["from"] or " as build" in s["from"]]
    if not build:
        errors.append(f"{where}: no stage named build")
    else:
        runs = [r for w, r in build[0]["ins"] if w == "RUN"]
        if not any(re.match(r"deploy/install-deps\.sh --no-browser\b", r) for r in runs):
            errors.append(f"{where}: the build stage must RUN deploy/install-deps.sh --no-browser (the script CI runs)")
        if not any("cmake --build" in r and "cmake --install" in r for r in runs):
            errors.append(f"{where}: the build stage must build and install with cmake")
    final = stages[-1]
    if "${DEBIAN_IMAGE}" not in final["from"]:
        errors.append(f"{where}: the runtime stage must be Debian ({final['from']})")
    users = [r for w, r in final["ins"] if w == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        errors.append(f"{where}: the runtime stage must switch to a non-root USER")
    if not any(w == "RUN" and "runtime-deps.sh" in r for w, r in final["ins"]):
        errors.append(f"{where}: the runtime stage must install its libraries with deploy/runtime-deps.sh")
    for stage in stages:
        for w, r in stage["ins"]:
            if w == "COPY" and "--from=" not in r:
                for src in r.split()[:-1]:
                    if src != "." and not os.path.exists(os.path.join(source_dir, src)):
                        errors.append(f"{where}: COPY source {src} does not exist")
    if cuda:
        base = args.get("PYTORCH_IMAGE", "")
        if not (base.startswith("pytorch/pytorch:") and "cuda" in base):
            errors.append(f"{where}: LibTorch must come from an official pytorch/pytorch CUDA image, got {base!r}")
        if not any(s["from"].startswith("${PYTORCH_IMAGE}") for s in stages):
            errors.append(f"{where}: no stage FROM ${{PYTORCH_IMAGE}}")
    else:
        hc = [r for w, r in final["ins"] if w == "HEALTHCHECK"]
        if not hc or not re.search(r'"lcsweep",\s*"health"', hc[-1]):
            errors.append(f"{where}: HEALTHCHECK must run lcsweep health (gRPC health service)")
    return errors


# -------------------------------------------------------------------------------------------- units
def parse_unit(text):
    """{section: [(key, value)]}, continuation lines joined."""
    sections, section, cur = {}, None, ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith(("#", ";"))):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        line, cur = cur + line, ""
        if line.startswith("["):
            section = line.strip("[] ")
            sections.setdefault(section, [])
        else:
            k, _, v = line.partition("=")
            sections[section].append((k.strip(), " ".join(v.split())))
    return sections


def env_file(text):
    return dict(l.split("=", 1) for l in text.splitlines() if "=" in l and not l.lstrip().startswith("#"))


def check_units(coord_text, worker_text, worker_env_text, sysusers_text):
    errors = []
    hardening = ["ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                 "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectControlGroups=yes",
                 "LockPersonality=yes", "CapabilityBoundingSet=", "Restart=on-failure",
                 "KillSignal=SIGTERM", "User=lcsweep", "Type=exec"]
    for name, text in (("lcsweep-coordinator.service", coord_text), ("lcsweep-worker@.service", worker_text)):
        where = f"deploy/systemd/{name}"
        unit = parse_unit(text)
        service = unit.get("Service", [])
        pairs = {f"{k}={v}" for k, v in service}
        keys = dict(service)
        for h in hardening:
            if h not in pairs:
                errors.append(f"{where}: missing {h}")
        if not any(k == "StateDirectory" and "lcsweep" in v.split() for k, v in service):
            errors.append(f"{where}: StateDirectory must include lcsweep (/var/lib/lcsweep)")
        if not any(k == "EnvironmentFile" and v.startswith("/etc/lcsweep/") for k, v in service):
            errors.append(f"{where}: no EnvironmentFile=/etc/lcsweep/...")
        if not any(k == "RestrictAddressFamilies" for k, v in service):
            errors.append(f"{where}: no RestrictAddressFamilies")
        unit_keys = dict(unit.get("Unit", []))
        if "StartLimitBurst" not in unit_keys or "StartLimitIntervalSec" not in unit_keys:
            errors.append(f"{where}: Restart needs StartLimitBurst/StartLimitIntervalSec limits in [Unit]")
        if "WantedBy" not in dict(unit.get("Install", [])):
            errors.append(f"{where}: no [Install] WantedBy")
        exec_start = keys.get("ExecStart", "")
        if name.startswith("lcsweep-coordinator"):
            if "MemoryDenyWriteExecute=yes" not in pairs:
                errors.append(f"{where}: the coordinator has no JIT: set MemoryDenyWriteExecute=yes")
            if "--db %S/lcsweep/" not in exec_start:
                errors.append(f"{where}: --db must live in the StateDirectory (%S/lcsweep/...)")
        else:
            if "MemoryDenyWriteExecute=yes" in pairs:
                errors.append(f"{where}: MemoryDenyWriteExecute breaks LibTorch/CUDA JIT in the worker")
            if "PrivateDevices=yes" in pairs:
                errors.append(f"{where}: PrivateDevices hides /dev/nvidia* from the worker")
            if not any(k == "DeviceAllow" and "nvidia" in v for k, v in service):
                errors.append(f"{where}: no DeviceAllow for /dev/nvidia*")
            if "--devices %I" not in exec_start:
                errors.append(f"{where}: --devices must use %I (unescaped instance, e.g. cuda:0,cuda:1)")
            if "--drain-timeout" not in exec_start:
                errors.append(f"{where}: ExecStart must pass --drain-timeout")
            drain = env_file(worker_env_text).get("LCSWEEP_DRAIN_TIMEOUT")
            stop = keys.get("TimeoutStopSec", "90")
            try:
                stop_s = parse_duration(stop if not stop.isdigit() else int(stop))
            except ValueError:
                stop_s = 0
            if drain is None or stop_s <= int(drain):
                errors.append(f"{where}: TimeoutStopSec {stop} must exceed LCSWEEP_DRAIN_TIMEOUT {drain} (worker.env)")
            if keys.get("KillMode") not in ("mixed", "process"):
                errors.append(f"{where}: KillMode=mixed: one SIGTERM to the worker (a second one aborts the drain)")
    if not re.search(r"^u\s+lcsweep\b", sysusers_text, re.M):
        errors.append("deploy/systemd/lcsweep.sysusers: does not define user lcsweep")
    return errors


def check_sbatch(text, worker_env_text=None):
    errors = []
    where = "deploy/slurm/lcsweep-worker.sbatch"
    sig = re.search(r"^#SBATCH --signal=B:USR1@(\d+)", text, re.M)
    drain = re.search(r'drain_timeout="\$\{LCSWEEP_DRAIN_TIMEOUT:-(\d+)\}"', text)
    if not sig:
        errors.append(f"{where}: no '#SBATCH --signal=B:USR1@SECONDS' (time-limit warning to the batch shell alone)")
    if not drain:
        errors.append(f"{where}: no default LCSWEEP_DRAIN_TIMEOUT")
    if sig and drain and int(sig.group(1)) <= int(drain.group(1)):
        errors.append(f"{where}: the USR1 warning ({sig.group(1)} s) must exceed the drain timeout ({drain.group(1)} s)")
    if not re.search(r"^#SBATCH --requeue\b", text, re.M):
        errors.append(f"{where}: not requeue-friendly (#SBATCH --requeue)")
    if not re.search(r"^trap .*\bUSR1\b", text, re.M):
        errors.append(f"{where}: no trap that turns the USR1 warning into one SIGTERM per worker")
    if re.search(r"^#SBATCH --(gres|cpus-per-gpu|mem-per-gpu)\b", text, re.M):
        errors.append(f"{where}: GPU requests belong on the sbatch command line (a directive cannot be taken back)")
    if "--once" not in text:
        errors.append(f"{where}: no --once mode")
    return errors


# ------------------------------------------------------------------------------------------ driver
def load(source_dir):
    d = lambda *p: os.path.join(source_dir, "deploy", *p)
    read = lambda *p: open(d(*p), encoding="utf-8").read()
    kust = yaml.safe_load(read("k8s", "kustomization.yaml"))
    files = {}
    for res in kust.get("resources") or []:
        if os.path.isfile(d("k8s", res)):
            files[res] = list(yaml.safe_load_all(read("k8s", res)))
    return {
        "compose": yaml.safe_load(read("docker", "compose.yaml")),
        "kustomization": kust,
        "k8s": files,
        "Dockerfile": read("docker", "Dockerfile"),
        "Dockerfile.cuda": read("docker", "Dockerfile.cuda"),
        "coord_unit": read("systemd", "lcsweep-coordinator.service"),
        "worker_unit": read("systemd", "lcsweep-worker@.service"),
        "worker_env": read("config", "worker.env"),
        "sysusers": read("systemd", "lcsweep.sysusers"),
        "sbatch": read("slurm", "lcsweep-worker.sbatch"),
        "tokens_example": read("config", "tokens.example.json"),
    }


def check_all(f, source_dir):
    return (check_token_table(f["tokens_example"], "deploy/config/tokens.example.json")[0]
            + check_compose(f["compose"], source_dir)
            + check_k8s(f["kustomization"], f["k8s"], source_dir)
            + check_dockerfile(f["Dockerfile"], "Dockerfile", source_dir, cuda=False)
            + check_dockerfile(f["Dockerfile.cuda"], "Dockerfile.cuda", source_dir, cuda=True)
            + check_units(f["coord_unit"], f["worker_unit"], f["worker_env"], f["sysusers"])
            + check_sbatch(f["sbatch"]))


def k8s_obj(f, kind, name):
    for docs in f["k8s"].values():
        for doc in docs:
            if doc and doc.get("kind") == kind and doc["metadata"]["name"] == name:
                return doc
    raise KeyError(name)


def worker_container(f):
    return pod_spec(k8s_obj(f, "Deployment", "lcsweep-worker"))["containers"][0]


def coord_container(f):
    return pod_spec(k8s_obj(f, "StatefulSet", "lcsweep-coordinator"))["containers"][0]


# Each mutation breaks one thing; the check must then report an error containing the text.
MUTATIONS = [
    ("k8s worker without preStop", "preStop",
     lambda f: worker_container(f)["lifecycle"].pop("preStop")),
    ("k8s worker grace period below drain timeout", "terminationGracePeriodSeconds",
     lambda f: pod_spec(k8s_obj(f, "Deployment", "lcsweep-worker")).update(terminationGracePeriodSeconds=60)),
    ("k8s worker without GPU request", "nvidia.com/gpu",
     lambda f: worker_container(f)["resources"]["limits"].pop("nvidia.com/gpu")),
    ("k8s readiness probe on a wrong port", "readinessProbe grpc port",
     lambda f: coord_container(f)["readinessProbe"]["grpc"].update(port=9999)),
    ("k8s liveness probe not gRPC", "livenessProbe must be a native grpc probe",
     lambda f: coord_container(f).update(livenessProbe={"tcpSocket": {"port": 50051}})),
    ("k8s state volume not mounted", "is on no mounted volume",
     lambda f: coord_container(f).update(volumeMounts=[m for m in coord_container(f)["volumeMounts"] if m["name"] != "state"])),
    ("k8s Service targets an undeclared port", "targetPort",
     lambda f: k8s_obj(f, "Service", "lcsweep-coordinator")["spec"]["ports"][1].update(targetPort="metrics")),
    ("k8s secret lacks the worker token", "maps to no key",
     lambda f: k8s_obj(f, "Secret", "lcsweep-tokens")["stringData"].pop("worker-token")),
    ("k8s token table as a plain map", "expected {",
     lambda f: k8s_obj(f, "Secret", "lcsweep-tokens")["stringData"].update(**{"tokens.json": '{"a-token": "admin"}'})),
    ("k8s worker token with a non-worker role", "worker-token is not a token with role worker",
     lambda f: k8s_obj(f, "Secret", "lcsweep-tokens")["stringData"].update(**{"worker-token": "replace-with-an-admin-token"})),
    ("example token table with an unknown role", "role in",
     lambda f: f.update(tokens_example=f["tokens_example"].replace('"read-only"', '"readonly"'))),
    ("k8s coordinator scaled to 2", "replicas must be 1",
     lambda f: k8s_obj(f, "StatefulSet", "lcsweep-coordinator")["spec"].update(replicas=2)),
    ("k8s missing resource file", "does not exist",
     lambda f: f["kustomization"]["resources"].append("missing.yaml")),
    ("compose worker stop grace below drain", "stop_grace_period",
     lambda f: f["compose"]["services"]["worker"].update(stop_grace_period="30s")),
    ("compose coordinator without healthcheck", "healthcheck",
     lambda f: f["compose"]["services"]["coordinator"].pop("healthcheck")),
    ("compose coordinator without volume", "named volume",
     lambda f: f["compose"]["services"]["coordinator"].pop("volumes")),
    ("compose undeclared secret", "not declared under secrets",
     lambda f: f["compose"]["secrets"].pop("lcsweep_worker_token")),
    ("compose cuda worker without GPU", "reserves no GPU",
     lambda f: f["compose"]["services"]["worker-cuda"]["deploy"].pop("resources")),
    ("Dockerfile without install-deps.sh", "install-deps.sh",
     lambda f: f.update(Dockerfile=f["Dockerfile"].replace("RUN deploy/install-deps.sh", "RUN apt-get install -y cmake &&"))),
    ("Dockerfile runs as root", "non-root USER",
     lambda f: f.update(Dockerfile=re.sub(r"^USER .*$", "", f["Dockerfile"], flags=re.M))),
    ("Dockerfile without health check", "HEALTHCHECK",
     lambda f: f.update(Dockerfile=f["Dockerfile"].replace('"lcsweep", "health"', '"true"'))),
    ("Dockerfile.cuda without install-deps.sh", "install-deps.sh",
     lambda f: f.update(**{"Dockerfile.cuda": f["Dockerfile.cuda"].replace("RUN deploy/install-deps.sh", "RUN true &&")})),
    ("unit TimeoutStopSec below drain", "TimeoutStopSec",
     lambda f: f.update(worker_unit=re.sub(r"TimeoutStopSec=\d+", "TimeoutStopSec=60", f["worker_unit"]))),
    ("worker unit with MemoryDenyWriteExecute", "MemoryDenyWriteExecute",
     lambda f: f.update(worker_unit=f["worker_unit"].replace("LockPersonality=yes", "LockPersonality=yes\nMemoryDenyWriteExecute=yes"))),
    ("worker unit with escaped %i device", "%I",
     lambda f: f.update(worker_unit=f["worker_unit"].replace("--devices %I", "--devices %i"))),
    ("unit without sandboxing", "ProtectSystem=strict",
     lambda f: f.update(coord_unit=f["coord_unit"].replace("ProtectSystem=strict", ""))),
    ("sbatch without preemption signal", "--signal",
     lambda f: f.update(sbatch=re.sub(r"^#SBATCH --signal=.*$", "", f["sbatch"], flags=re.M))),
    ("sbatch without requeue", "requeue",
     lambda f: f.update(sbatch=f["sbatch"].replace("#SBATCH --requeue", ""))),
    ("sbatch with a GPU directive", "command line",
     lambda f: f.update(sbatch=f["sbatch"].replace("#SBATCH --requeue", "#SBATCH --requeue\n#SBATCH --gres=gpu:1"))),
]


def self_test(source_dir):
    base = load(source_dir)
    baseline = check_all(copy.deepcopy(base), source_dir)
    if baseline:
        print("self-test needs clean files first; they have:\n  " + "\n  ".join(baseline))
        return 1
    failures = 0
    for name, expect, mutate in MUTATIONS:
        f = copy.deepcopy(base)
        mutate(f)
        errors = check_all(f, source_dir)
        ok = any(expect in e for e in errors)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {errors[0] if ok and errors else 'not detected'}")
        failures += not ok
    print(f"{len(MUTATIONS) - failures} passed, {failures} failed")
    return 1 if failures else 0


def check_kustomize_build(source_dir):
    """When kubectl is installed (it is not a project dependency), render the kustomization the way
    `kubectl apply -k` would and check the result: every object namespaced, images rewritten."""
    import shutil
    import subprocess
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("note: kubectl not found; `kubectl kustomize deploy/k8s` not run")
        return []
    proc = subprocess.run([kubectl, "kustomize", os.path.join(source_dir, "deploy", "k8s")],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return [f"kubectl kustomize deploy/k8s failed: {proc.stderr.strip()}"]
    errors = []
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    for d in docs:
        if d["kind"] != "Namespace" and d["metadata"].get("namespace") != "lcsweep":
            errors.append(f"kustomize: {d['kind']} {d['metadata']['name']} is not in namespace lcsweep")
        for c in pod_spec(d).get("containers") or []:
            if "/" not in c["image"]:
                errors.append(f"kustomize: image {c['image']} of {d['metadata']['name']} was not rewritten")
    print(f"kubectl kustomize: {len(docs)} objects rendered")
    return errors


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        return self_test(argv[2])
    if len(argv) != 2:
        print(__doc__)
        return 2
    errors = check_all(load(argv[1]), argv[1]) + check_kustomize_build(argv[1])
    for e in errors:
        print("ERROR", e)
    checked = "compose.yaml, k8s/*.yaml, Dockerfile, Dockerfile.cuda, systemd units, sbatch"
    print(f"{'FAILED' if errors else 'OK'}: {checked} ({len(errors)} problems)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
