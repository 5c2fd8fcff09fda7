#!/usr/bin/env python3
"""Nothing in deploy/ serves plaintext off loopback: every file that passes lcsweep-coordinator a
non-loopback --listen or --http-listen also passes --tls-cert and --tls-key, and none passes
--insecure. A grep over every file, so a new manifest is covered without being named here.
Usage: check_no_plaintext.py SOURCE_DIR   (--self-test: the check must catch a bad file)"""
import pathlib
import re
import sys

LISTEN = re.compile(r"--(?:http-)?listen[= \"',]+\s*\"?([^\s\"',\]]+)")
LOOPBACK = re.compile(r"^(127\.|localhost[:]|\[::1\]|::1|\$)")


def problems(name, text):
    out = []
    if "lcsweep-coordinator" not in text and "LCSWEEP_LISTEN" not in text:
        return out
    if re.search(r"--insecure\b", text):
        out.append(f"{name}: passes --insecure")
    exposed = [a for a in LISTEN.findall(text) if a and not LOOPBACK.match(a)]
    if exposed and not ("--tls-cert" in text and "--tls-key" in text):
        out.append(f"{name}: listens on {', '.join(sorted(set(exposed)))} without --tls-cert/--tls-key")
    return out


def main(argv):
    if argv[1:2] == ["--self-test"]:
        bad = problems("bad", "lcsweep-coordinator --listen=0.0.0.0:50051 --tokens-file=t")
        good = problems("good", "lcsweep-coordinator --listen 0.0.0.0:1 --tls-cert c --tls-key k")
        assert bad and not good, (bad, good)
        assert problems("loop", "lcsweep-coordinator --http-listen 127.0.0.1:8080") == []
        assert problems("insecure", "lcsweep-coordinator --insecure")
        print("1 passed, 0 failed")
        return 0
    root = pathlib.Path(argv[1]) / "deploy"
    errors, checked = [], 0
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        if f.name in ("install-deps.sh", "runtime-deps.sh") or f.suffix in (".md",):
            continue
        try:
            text = f.read_text()
        except UnicodeDecodeError:
            continue
        checked += 1
        errors += problems(str(f.relative_to(root.parent)), text)
    for e in errors:
        print("FAIL", e)
    print(f"{checked - len(errors)} passed, {len(errors)} failed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
