#!/usr/bin/env python3
"""Checks that the deployment files agree with the real lact_server.

The Dockerfile, deploy/compose*.yaml, deploy/k8s/*.yaml, the Prometheus config and the Grafana
dashboard all name flags, environment variables, ports, binaries and metrics. This test reads them
and checks each name against the built programs instead of a list kept by hand:

  static   every flag / FLAGS_* variable is a flag of `lact_server --helpfull` (or of
           lact_eval_client for the eval service) and is read from the environment where it is
           set there; every lact_server flag but a few (NOT_FROM_ENV) is in the images'
           --tryfromenv; ports agree across EXPOSE, compose ports, container ports, probes,
           Services, scrape targets and annotations; the Dockerfile HEALTHCHECK and the compose
           healthcheck run a binary the build produces and the Dockerfile copies, with flags of
           that binary, and ask GET /healthz on the metrics port
           (`--http_address=127.0.0.1:${FLAGS_metrics_port:-M}`, compose `127.0.0.1:M`: plain
           HTTP, so they work when the gRPC port requires TLS); the k8s probes are grpc probes on
           the gRPC port; the build stage runs deploy/install-deps.sh and the same CMake
           configure as .ci/run; every shared library of the binaries comes from a package that
           `install-deps.sh --runtime` installs (or one of its dependencies); graceful-termination
           times exceed --drain_seconds; selectors, HPA, PDB and ServiceMonitor match the pods.
  live     lact_server is started with exactly the flags and environment of each configuration
           (Dockerfile runtime stages, compose services, the k8s Deployment), replacing only the
           model folder (a copy of tests/fixtures/tiny_group + LaCT files), the ports (free
           loopback ports), the host (127.0.0.1) and --device (cpu: no GPU here); the health
           check itself (the Dockerfile HEALTHCHECK through `sh -c`; for compose, its healthcheck
           with the literal ports moved) must report SERVING; lact_eval_client sends short
           streams (LaCT on and off); /metrics must hold every metric the Grafana dashboard, the
           alert rules, the HPA and the prometheus-adapter rules query, with the labels they use;
           then SIGTERM must end the server with exit code 0. One more configuration, the
           Dockerfile runtime stage with TLS turned on through the environment (FLAGS_tls_cert,
           FLAGS_tls_key: a self-signed certificate made with the `openssl` command), must have
           its HEALTHCHECK report SERVING while the plaintext gRPC probe
           (`lact_health_probe --address`) fails with exit code 1 and the TLS one
           (`--ssl_root_cert`) succeeds; its streams are sent over TLS.

Usage: check_deploy.py --src REPO --bin name=PATH ... [--bin-dir BUILD_DIR] [--static-only]
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL: " + msg, flush=True)
    return cond


def note(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------------------------
# Programs

def program_flags(binary):
    """Flag names from abseil's --helpfull (exit code 1 is normal for --help)."""
    out = subprocess.run([binary, "--helpfull"], capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    return set(re.findall(r"^\s+--([A-Za-z0-9_]+) \(", text, re.M)), text


def own_flags(help_text):
    """The program's own flags: those of --helpfull sections not from abseil's sources."""
    names = set()
    own = False
    for line in help_text.splitlines():
        m = re.match(r"\s+Flags from (\S+):", line)
        if m:
            own = "absl/" not in m.group(1)
            continue
        m = re.match(r"^\s+--([A-Za-z0-9_]+) \(", line)
        if m and own:
            names.add(m.group(1))
    return names


# lact_server flags the images do not read from FLAGS_* variables, and why.
NOT_FROM_ENV = {
    "model": "the images use LACT_MODEL (lact_server's own variable) for the model folder",
    "ready_file": "for scripts and tests that start lact_server with port 0",
}


def parse_flag_args(args):
    """['--a=1', '--b', '2', '--nob'] -> {'a': '1', 'b': '2', 'nob': None} (order kept)."""
    flags = []
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("-"):
            flags.append((None, a))
            i += 1
            continue
        name = a.lstrip("-")
        if "=" in name:
            name, value = name.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("-"):
            value = args[i + 1]
            i += 1
        else:
            value = None
        flags.append((name.replace("-", "_"), value))
        i += 1
    return flags


def check_flag_names(where, flags, known, allow_bool_no=True):
    for name, value in flags:
        if name is None:
            check(False, f"{where}: positional argument '{value}' (lact_server takes none)")
            continue
        ok = name in known or (allow_bool_no and name.startswith("no") and name[2:] in known)
        check(ok, f"{where}: --{name} is not a flag of the program (see --helpfull)")


def check_health_command(where, argv, bins, copied, want_address):
    """A container health check (Dockerfile HEALTHCHECK, compose healthcheck) as an argv: it runs a
    program the build produces and the image holds, with flags of that program, and asks GET
    /healthz on the metrics port (--http_address=want_address: plain HTTP, so it works when the
    gRPC port requires TLS)."""
    shown = " ".join(argv)
    if not check(argv[:1] and argv[0] in bins and argv[0] in copied,
                 f"{where}: `{shown}` does not run a program the build produces and the image holds"):
        return
    flags = parse_flag_args(argv[1:])
    check_flag_names(where, flags, program_flags(bins[argv[0]])[0])
    check(dict(flags).get("http_address") == want_address,
          f"{where}: `{shown}` does not ask GET /healthz on the metrics port (--http_address={want_address})")


# ----------------------------------------------------------------------------------------------
# Dockerfile

def parse_dockerfile(path):
    """Returns {stage: {'from':..., 'env':{}, 'entrypoint':[], 'cmd':[]|None, 'expose':[],
    'healthcheck': str|None, 'run': [str], 'copy': [str], 'args': {}}} and global ARGs."""
    lines = open(path).read().splitlines()
    # join continuation lines, drop comments
    instrs = []
    buf = ""
    for line in lines:
        s = line.strip()
        if not buf and (not s or s.startswith("#")):
            continue
        if buf and s.startswith("#"):
            continue
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        buf += s
        instrs.append(buf)
        buf = ""
    stages = {}
    global_args = {}
    cur = None
    for ins in instrs:
        op, _, rest = ins.partition(" ")
        op = op.upper()
        rest = rest.strip()
        if op == "ARG" and cur is None:
            k, _, v = rest.partition("=")
            global_args[k] = v.strip('"')
            continue
        if op == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            name = m.group(2) or f"stage{len(stages)}"
            base = m.group(1)
            cur = {"from": base, "env": {}, "entrypoint": None, "cmd": None, "expose": [],
                   "healthcheck": None, "run": [], "copy": [], "args": {}, "user": None}
            if base in stages:  # inherit a previous stage
                parent = stages[base]
                for k in ("env", "args"):
                    cur[k] = dict(parent[k])
                for k in ("entrypoint", "cmd", "healthcheck", "user"):
                    cur[k] = parent[k]
                for k in ("expose", "run", "copy"):  # a derived image holds its base's layers
                    cur[k] = list(parent[k])
            stages[name] = cur
            continue
        if cur is None:
            continue
        if op == "ENV":
            for tok in shlex.split(rest):
                k, _, v = tok.partition("=")
                cur["env"][k] = expand_args(v, {**global_args, **cur["args"]})
        elif op == "ARG":
            k, _, v = rest.partition("=")
            cur["args"][k] = v.strip('"')
        elif op == "ENTRYPOINT":
            cur["entrypoint"] = json.loads(rest)
            cur["cmd"] = None
        elif op == "CMD":
            cur["cmd"] = json.loads(rest)
        elif op == "EXPOSE":
            cur["expose"] += [int(p.split("/")[0]) for p in rest.split()]
        elif op == "HEALTHCHECK":
            m = re.search(r"\bCMD\s+(.*)$", rest)
            cur["healthcheck"] = m.group(1) if m else None
        elif op == "RUN":
            cur["run"].append(rest)
        elif op == "COPY":
            cur["copy"].append(rest)
        elif op == "USER":
            cur["user"] = rest
    return stages, global_args


def expand_args(text, argmap):
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: argmap.get(m.group(1), m.group(0)), text)


def install_deps_packages(script_path, var):
    text = open(script_path).read()
    m = re.search(var + r"=\((.*?)\n\)", text, re.S)
    if not m:
        return []
    body = "\n".join(line.split("#", 1)[0] for line in m.group(1).splitlines())
    return body.split()


def dpkg_closure(roots):
    """Installed packages reachable from roots through Depends/Pre-Depends (and Provides)."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Provides}\t${Depends}\t${Pre-Depends}\n"],
                         capture_output=True, text=True).stdout
    deps, provides = {}, {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        pkg, prov, dep, pre = parts
        deps[pkg] = dep + ("," + pre if pre else "")
        for p in prov.split(","):
            p = p.strip().split(" ")[0]
            if p:
                provides.setdefault(p, []).append(pkg)
    seen = set()
    stack = list(roots)
    while stack:
        p = stack.pop().split(":")[0]
        if p in seen:
            continue
        seen.add(p)
        for alt_group in deps.get(p, "").split(","):
            for alt in alt_group.split("|"):
                name = alt.strip().split(" ")[0].split(":")[0]
                if not name:
                    continue
                cands = ([name] if name in deps else []) + provides.get(name, [])
                if cands:
                    stack.extend(cands)
                    break
    return seen


def merged_usr_twins(lib):
    """A file's path and its /lib <-> /usr/lib twin (Debian 12 has a merged /usr)."""
    if lib.startswith("/usr/lib/"):
        return [lib, lib[len("/usr"):]]
    if lib.startswith("/lib/"):
        return [lib, "/usr" + lib]
    return [lib]


def dpkg_owners(paths):
    """{path: set of packages} for the paths some installed package owns (one dpkg -S call)."""
    r = subprocess.run(["dpkg", "-S"] + sorted(paths), capture_output=True, text=True)
    owners = {}
    for line in r.stdout.splitlines():
        if ": " not in line or line.startswith("diversion"):
            continue
        pkgs, path = line.rsplit(": ", 1)
        owners.setdefault(path.strip(), set()).update(p.strip().split(":")[0] for p in pkgs.split(","))
    return owners


def check_runtime_libraries(binaries, runtime_pkgs):
    """Every shared library the binaries load is installed by `install-deps.sh --runtime`."""
    if shutil.which("ldd") is None or shutil.which("dpkg") is None:
        note("skip: no ldd/dpkg, runtime library check not run")
        return
    closure = dpkg_closure(list(runtime_pkgs) + ["apt", "base-files"])  # apt: in every Debian image
    needed = {}  # (binary, soname) -> real path
    for name, path in binaries.items():
        out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.match(r"\s*(\S+) => (/\S+)", line)
            if m:
                needed[(name, m.group(1))] = os.path.realpath(m.group(2))
            else:
                check("not found" not in line, f"{name}: {line.strip()}")
    owners = dpkg_owners({t for lib in needed.values() for t in merged_usr_twins(lib)})
    for (name, soname), lib in sorted(needed.items()):
        pkgs = set().union(*(owners.get(t, set()) for t in merged_usr_twins(lib)))
        if not check(pkgs, f"{name}: {soname} ({lib}) belongs to no Debian package: the image would lack it"):
            continue
        check(pkgs & closure, f"{name}: {soname} comes from {sorted(pkgs)}, which `install-deps.sh --runtime` "
              f"does not install (add it to runtime_pkgs)")
    note(f"runtime libraries: {len(set(needed.values()))} shared libraries of {sorted(binaries)} "
         f"all come from install-deps.sh --runtime ({len(runtime_pkgs)} packages, {len(closure)} with dependencies)"
         if not FAILURES else "runtime libraries checked")


# ----------------------------------------------------------------------------------------------
# Metrics

def dashboard_exprs(path):
    d = json.load(open(path))
    exprs = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    exprs.append((p.get("title", "?"), t["expr"]))
            walk(p.get("panels", []))
    walk(d.get("panels", []))
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and q:
            exprs.append(("variable " + v["name"], q))
    return exprs


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                "bool", "offset"}
TARGET_LABELS = {"instance", "job", "namespace", "pod", "service", "container", "endpoint"}


def metric_names(expr):
    return set(re.findall(r"\b(lact_[a-z0-9_]+)", expr))


def label_names(expr):
    labels = set()
    for m in re.finditer(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        labels |= {x.strip() for x in m.group(1).split(",") if x.strip()}
    for m in re.finditer(r"\{([^}]*)\}", expr):
        for sel in m.group(1).split(","):
            mm = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)", sel)
            if mm:
                labels.add(mm.group(1))
    for m in re.finditer(r"label_values\(\s*[a-z_:]+\s*,\s*([a-z_]+)\s*\)", expr):
        labels.add(m.group(1))
    return labels - {"le"} | ({"le"} if "histogram_quantile" in expr else set())


def parse_exposition(text):
    """name -> set of label names, from the Prometheus text format."""
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s", line)
        if not m:
            continue
        labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", m.group(2) or ""))
        series.setdefault(m.group(1), set()).update(labels)
    return series


def sample_value(text, name, labels=""):
    for line in text.splitlines():
        if line.startswith(name + labels + " ") or (not labels and line.startswith(name + " ")):
            return float(line.split()[-1])
    return None


# ----------------------------------------------------------------------------------------------
# Live runs

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Substitution:
    """Replaces only what cannot be the same here: model folder, ports, host, device."""

    def __init__(self, model_dir):
        self.model_dir = model_dir
        self.port = free_port()
        self.metrics_port = free_port()
        while self.metrics_port == self.port:
            self.metrics_port = free_port()
        self.changes = []

    def value(self, name, value):
        new = {"model": self.model_dir, "port": str(self.port), "metrics_port": str(self.metrics_port),
               "host": "127.0.0.1", "device": "cpu", "dtype": "float32"}.get(name)
        if new is None:
            return value
        if new != value and f"{name}: {value} -> {new}" not in self.changes:
            self.changes.append(f"{name}: {value} -> {new}")
        return new

    def env(self, env):
        out = {}
        for k, v in env.items():
            if k == "LACT_MODEL":
                out[k] = self.value("model", v)
            elif k.startswith("FLAGS_"):
                out[k] = self.value(k[len("FLAGS_"):], v)
            else:
                out[k] = v
        return out

    def args(self, args):
        out = []
        for name, value in parse_flag_args(args):
            if name is None:
                out.append(value)
            elif value is None:
                out.append("--" + name)
            else:
                out.append(f"--{name}={self.value(name, value)}")
        return out


def health_argv(health, literal_ports, sub):
    """The health check as an argv: ('shell', 'cmd') runs through `sh -c` (Docker's HEALTHCHECK CMD
    and compose's CMD-SHELL), ('exec', [...]) as is (compose's CMD). Literal ports of the
    configuration (compose spells them out) are moved to the test's ports, as in Substitution."""
    kind, cmd = health
    moves = {f"127.0.0.1:{literal_ports[k]}": f"127.0.0.1:{new}" for k, new in
             (("port", sub.port), ("metrics_port", sub.metrics_port)) if k in literal_ports}

    def move(text):
        for old, new in moves.items():
            text = re.sub(re.escape(old) + r"(?![0-9])", new, text)
        return text
    if kind == "shell":
        return ["sh", "-c", move(cmd)]
    return [move(a) for a in cmd]


def run_health(argv, env, bin_dir, timeout_s, proc):
    """Runs the health check command until it succeeds, the server exits or time runs out."""
    deadline = time.time() + timeout_s
    r = None
    while time.time() < deadline:
        if proc.poll() is not None:
            return False, f"lact_server exited with code {proc.returncode} before serving"
        r = subprocess.run(argv, env=dict(env, PATH=bin_dir + ":" + os.environ["PATH"]),
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            return True, r.stdout.strip()
        time.sleep(0.25)
    return False, (r.stdout + r.stderr).strip() if r else "timed out"


def start_server(name, server_bin, argv_tail, env, sub, logdir):
    log = open(os.path.join(logdir, name.replace("/", "_") + ".log"), "w")
    full_env = dict(os.environ)
    for k in list(full_env):
        if k.startswith("FLAGS_") or k == "LACT_MODEL":
            del full_env[k]
    full_env.update(env)
    note(f"[{name}] lact_server {' '.join(argv_tail)}  env: "
         + " ".join(f"{k}={v}" for k, v in sorted(env.items()))
         + (f"  (replaced: {', '.join(sub.changes)})" if sub.changes else ""))
    proc = subprocess.Popen([server_bin] + argv_tail, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def stop_server(name, proc, log, drain_s):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=drain_s + 20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            check(False, f"[{name}] did not exit within --drain_seconds + 20 s of SIGTERM")
    log.close()
    return proc.returncode


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def send_streams(eval_bin, port, workdir, wav, extra_args=()):
    manifest = os.path.join(workdir, "manifest.tsv")
    with open(manifest, "w") as f:
        f.write(f"{wav}\tunused reference\n")
    out_dir = os.path.join(workdir, "eval_out")
    r = subprocess.run([eval_bin, f"--server=127.0.0.1:{port}", f"--manifest={manifest}", "--lact=both",
                        "--num_parallel_requests=1", f"--output_dir={out_dir}", "--noprogress",
                        "--connect_timeout_s=30", "--timeout_s=60"] + list(extra_args),
                       capture_output=True, text=True, timeout=180)
    return r.returncode, (r.stdout + r.stderr)[-2000:]


# ----------------------------------------------------------------------------------------------

def self_signed_cert(workdir):
    """A throwaway certificate and key for localhost / 127.0.0.1 (the `openssl` command), or None."""
    if shutil.which("openssl") is None:
        note("skip: no openssl command, the TLS configuration is not run")
        return None
    d = os.path.join(workdir, "tls")
    os.makedirs(d)
    cert, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", key, "-out", cert], capture_output=True, text=True, timeout=60)
    if not check(r.returncode == 0, f"openssl req -x509 failed ({r.returncode}): {r.stderr[-1000:]}"):
        return None
    return cert, key


def probe_rc(probe_bin, args):
    r = subprocess.run([probe_bin] + args, capture_output=True, text=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--bin", action="append", default=[], help="name=PATH of a built program")
    ap.add_argument("--bin-dir", default="", help="the CMake build dir (to map PATH to build/<rel>)")
    ap.add_argument("--static-only", action="store_true")
    opts = ap.parse_args()
    src = os.path.abspath(opts.src)
    bins = dict(b.split("=", 1) for b in opts.bin)
    server_bin = bins.get("lact_server")
    if not server_bin or not os.path.exists(server_bin):
        print("lact_server not built: cannot check flags", file=sys.stderr)
        return 1

    server_flags, server_help = program_flags(server_bin)
    check("port" in server_flags and "metrics_port" in server_flags and "drain_seconds" in server_flags,
          "lact_server --helpfull lists no --port/--metrics_port/--drain_seconds")
    check("LACT_MODEL" in server_help, "lact_server --help does not mention LACT_MODEL (the image's model variable)")
    eval_flags = program_flags(bins["lact_eval_client"])[0] if "lact_eval_client" in bins else None

    # ---------------- Dockerfile
    stages, global_args = parse_dockerfile(os.path.join(src, "Dockerfile"))
    runtime_stages = [s for s in ("runtime", "runtime-cuda") if s in stages]
    check(runtime_stages == ["runtime", "runtime-cuda"], f"Dockerfile stages: {list(stages)}")
    check(list(stages)[-1] in stages and stages[list(stages)[-1]]["from"] == "runtime",
          "Dockerfile: the last stage (what `docker build .` builds) must be the CPU runtime")
    for bname in ("build", "build-cuda"):
        st = stages.get(bname)
        if not check(st is not None, f"Dockerfile: no '{bname}' stage"):
            continue
        check(st["from"] == "${DEBIAN_IMAGE}" and "bookworm" in global_args.get("DEBIAN_IMAGE", ""),
              f"Dockerfile {bname}: not based on Debian 12 (bookworm)")
        runs = " && ".join(st["run"])
        check(re.search(r"bash deploy/install-deps\.sh(\s|$|&)", runs) is not None,
              f"Dockerfile {bname}: does not run deploy/install-deps.sh")
        # the same configure as CI
        ci = open(os.path.join(src, ".ci/run")).read()
        ci_conf = re.search(r"^(cmake -S \. -B build [^\n]*)$", ci, re.M)
        if check(ci_conf is not None, ".ci/run: no `cmake -S . -B build ...` line"):
            check(ci_conf.group(1).strip() in runs, f"Dockerfile {bname}: configure differs from .ci/run's "
                  f"`{ci_conf.group(1).strip()}`")
        check("bash deploy/install-deps.sh" in ci, ".ci/run does not run deploy/install-deps.sh")
        targets = expand_args("${LACT_TARGETS}", st["args"]).split()
        for t in targets:
            check(t in bins, f"Dockerfile {bname}: LACT_TARGETS names '{t}', not a program of this build")
        # the binaries copied to /out/bin are where the build puts them
        for m in re.finditer(r"cp ((?:build/\S+\s+)+)/out/bin/", runs):
            for rel in m.group(1).split():
                name = os.path.basename(rel)
                if check(name in bins, f"Dockerfile {bname}: copies unknown binary {rel}") and opts.bin_dir:
                    real = os.path.relpath(bins[name], opts.bin_dir)
                    check(rel == "build/" + real, f"Dockerfile {bname}: copies {rel}, the build writes {real}")
    copied = set()
    for st in ("build",):
        for m in re.finditer(r"cp ((?:build/\S+\s+)+)/out/bin/", " ".join(stages[st]["run"])):
            copied |= {os.path.basename(x) for x in m.group(1).split()}

    runtime_pkgs = install_deps_packages(os.path.join(src, "deploy/install-deps.sh"), "runtime_pkgs")
    check(runtime_pkgs, "deploy/install-deps.sh: no runtime_pkgs list")
    tryfromenv = {}
    for sname in runtime_stages:
        st = stages[sname]
        runs = " && ".join(st["run"])
        check("install-deps.sh --runtime" in runs, f"Dockerfile {sname}: does not run install-deps.sh --runtime")
        check(st["user"] not in (None, "root", "0", "0:0"), f"Dockerfile {sname}: runs as root")
        ep = st["entrypoint"] or []
        check(ep[:1] == ["lact_server"], f"Dockerfile {sname}: ENTRYPOINT is {ep}, expected lact_server")
        check(ep[:1][0] in copied if ep else False, f"Dockerfile {sname}: ENTRYPOINT binary not copied")
        flags = parse_flag_args(ep[1:] + (st["cmd"] or []))
        check_flag_names(f"Dockerfile {sname} ENTRYPOINT/CMD", flags, server_flags | {"tryfromenv", "fromenv"})
        tfe = [v for n, v in flags if n == "tryfromenv"]
        names = set(tfe[0].split(",")) if tfe else set()
        tryfromenv[sname] = names
        for n in sorted(names):
            check(n in server_flags, f"Dockerfile {sname}: --tryfromenv names '{n}', not a lact_server flag")
        for n in sorted(own_flags(server_help) - names - set(NOT_FROM_ENV)):
            check(False, f"Dockerfile {sname}: lact_server flag --{n} is not in --tryfromenv, so FLAGS_{n} "
                  f"cannot set it (add it there, or to NOT_FROM_ENV in {os.path.basename(__file__)} with a reason)")
        for k in st["env"]:
            if k.startswith("FLAGS_"):
                check(k[6:] in names, f"Dockerfile {sname}: ENV {k} is not in --tryfromenv, lact_server ignores it")
        check(st["env"].get("LACT_MODEL", "").startswith("/models/"),
              f"Dockerfile {sname}: LACT_MODEL {st['env'].get('LACT_MODEL')} is not in /models (where models/ is copied)")
        check(any(re.match(r"--from=\S+ /out/models/? /models/?$", c) for c in st["copy"]),
              f"Dockerfile {sname}: models/ is not copied to /models")
        port = int(st["env"].get("FLAGS_port", "50051"))
        mport = int(st["env"].get("FLAGS_metrics_port", "9400"))
        check(sorted(st["expose"]) == sorted([port, mport]), f"Dockerfile {sname}: EXPOSE {st['expose']} "
              f"but ports {port} and {mport}")
        hc = st["healthcheck"] or ""
        check(mport > 0, f"Dockerfile {sname}: FLAGS_metrics_port={mport}: the HEALTHCHECK needs the metrics "
              f"listener on a fixed port")
        check_health_command(f"Dockerfile {sname} HEALTHCHECK", shlex.split(hc.split("||")[0]), bins, copied,
                             f"127.0.0.1:${{FLAGS_metrics_port:-{mport}}}")

    built = {k: v for k, v in bins.items() if k in copied}
    check_runtime_libraries(built, runtime_pkgs)

    # ---------------- compose
    compose = yaml.safe_load(open(os.path.join(src, "deploy/compose.yaml")))
    gpu = yaml.safe_load(open(os.path.join(src, "deploy/compose.gpu.yaml")))
    svc = compose["services"]["lact-server"]
    check(svc["build"]["context"] == ".." and svc["build"]["target"] in stages, "compose: lact-server build")
    check(gpu["services"]["lact-server"]["build"]["target"] in stages, "compose.gpu: build target")
    compose_cfgs = {}
    for label, service, stage in (("compose", svc, svc["build"]["target"]),
                                  ("compose+gpu", {**svc, "environment": {**svc["environment"],
                                                                          **gpu["services"]["lact-server"]["environment"]}},
                                   gpu["services"]["lact-server"]["build"]["target"])):
        env = {k: str(v) for k, v in service.get("environment", {}).items()}
        for k, v in env.items():
            if k.startswith("FLAGS_"):
                check(k[6:] in tryfromenv[stage], f"{label}: {k} is not read by the image (--tryfromenv)")
                check(k[6:] in server_flags, f"{label}: {k}: --{k[6:]} is not a lact_server flag")
            else:
                check(k == "LACT_MODEL", f"{label}: environment {k} is not read by lact_server")
                check(v == stages[stage]["env"].get("LACT_MODEL"), f"{label}: LACT_MODEL {v} is not the image's "
                      f"{stages[stage]['env'].get('LACT_MODEL')}")
        args = service.get("command") or []
        check_flag_names(f"{label} command", parse_flag_args(args), server_flags)
        full_env = {**stages[stage]["env"], **env}
        port, mport = int(full_env["FLAGS_port"]), int(full_env["FLAGS_metrics_port"])
        cports = {int(p.split(":")[-1].split("/")[0]) for p in service["ports"]}
        check(cports == {port, mport}, f"{label}: ports {sorted(cports)} but server ports {port}, {mport}")
        hc = service["healthcheck"]["test"]
        if hc[:1] == ["CMD"]:
            health = ("exec", list(hc[1:]))
            hc_argv = hc[1:]
        elif hc[:1] == ["CMD-SHELL"]:
            health = ("shell", hc[1])
            hc_argv = shlex.split(hc[1].split("||")[0])
        else:
            check(False, f"{label}: healthcheck test {hc} is neither CMD nor CMD-SHELL")
            health, hc_argv = None, []
        check_health_command(f"{label} healthcheck", hc_argv, bins, copied, f"127.0.0.1:{mport}")
        grace = float(str(service["stop_grace_period"]).rstrip("s"))
        check(grace > float(full_env.get("FLAGS_drain_seconds", "30")) + 2,
              f"{label}: stop_grace_period {grace}s not above --drain_seconds")
        compose_cfgs[label] = (stage, full_env, args, (health, {"port": port, "metrics_port": mport}))
    prom_cfg = yaml.safe_load(open(os.path.join(src, "deploy/prometheus/prometheus.yml")))
    targets = [t for j in prom_cfg["scrape_configs"] if j["job_name"] == "lact-server"
               for sc in j["static_configs"] for t in sc["targets"]]
    mport = compose_cfgs["compose"][1]["FLAGS_metrics_port"]
    check(targets == [f"lact-server:{mport}"], f"prometheus.yml: lact-server targets {targets}, expected lact-server:{mport}")
    for name in ("prometheus", "grafana"):
        for vol in compose["services"][name].get("volumes", []):
            host = vol.split(":")[0]
            check(os.path.exists(os.path.join(src, "deploy", host)), f"compose {name}: volume {host} missing")
    ev = compose["services"]["eval-client"]
    check(ev["entrypoint"] == ["lact_eval_client"] and "lact_eval_client" in copied, "compose eval-client entrypoint")
    if eval_flags:
        check_flag_names("compose eval-client command", parse_flag_args(ev["command"]), eval_flags)
    check(f"--server=lact-server:{compose_cfgs['compose'][1]['FLAGS_port']}" in ev["command"],
          "compose eval-client: --server is not lact-server's gRPC port")

    # ---------------- Kubernetes
    k8s = os.path.join(src, "deploy/k8s")
    kust = yaml.safe_load(open(os.path.join(k8s, "kustomization.yaml")))
    docs = {}
    for res in kust["resources"]:
        check(os.path.exists(os.path.join(k8s, res)), f"kustomization: {res} missing")
        for d in yaml.safe_load_all(open(os.path.join(k8s, res))):
            docs[d["kind"]] = d
    dep = docs["Deployment"]
    pod = dep["spec"]["template"]
    ctr = pod["spec"]["containers"][0]
    check(any(i["name"] == ctr["image"].split(":")[0] for i in kust.get("images", [])),
          "kustomization images[] does not name the Deployment's image")
    k_args = ctr.get("args", [])
    check("command" not in ctr, "k8s: container command replaces the image ENTRYPOINT (and its --tryfromenv)")
    k_flags = dict((n, v) for n, v in parse_flag_args(k_args))
    check_flag_names("k8s Deployment args", parse_flag_args(k_args), server_flags)
    k_env = {e["name"]: e.get("value") for e in ctr.get("env", [])}
    image_env_cuda = stages["runtime-cuda"]["env"]
    for k in k_env:
        check(k == "LACT_MODEL" or (k.startswith("FLAGS_") and k[6:] in tryfromenv["runtime-cuda"]),
              f"k8s: env {k} is not read by lact_server")
    check(k_env.get("LACT_MODEL", image_env_cuda.get("LACT_MODEL")) == image_env_cuda.get("LACT_MODEL"),
          f"k8s: LACT_MODEL {k_env.get('LACT_MODEL')} is not the image's {image_env_cuda.get('LACT_MODEL')}")
    image_env = stages["runtime-cuda"]["env"]
    kport = int(k_flags.get("port", image_env.get("FLAGS_port", 50051)))
    kmport = int(k_flags.get("metrics_port", image_env.get("FLAGS_metrics_port", 9400)))
    drain = float(k_flags.get("drain_seconds", image_env.get("FLAGS_drain_seconds", 30)))
    cports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
    check(cports.get("grpc") == kport and cports.get("metrics") == kmport, f"k8s containerPorts {cports} vs "
          f"--port {kport} --metrics_port {kmport}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        p = ctr.get(probe, {})
        check(p.get("grpc", {}).get("port") == kport, f"k8s {probe}: not a grpc probe on port {kport}")
    ann = pod["metadata"].get("annotations", {})
    check(ann.get("prometheus.io/port") == str(kmport), "k8s: prometheus.io/port annotation != metrics port")
    prestop = ctr.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    pre_s = float(prestop[1]) if prestop[:1] == ["sleep"] else 0
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    check(grace > drain + pre_s + 2, f"k8s: terminationGracePeriodSeconds {grace} <= preStop {pre_s} + "
          f"--drain_seconds {drain} + 2")
    res = ctr.get("resources", {})
    check(str(res.get("limits", {}).get("nvidia.com/gpu")) == "1", "k8s: no nvidia.com/gpu limit")
    check("memory" in res.get("limits", {}) and "cpu" in res.get("requests", {}), "k8s: resources")
    check(k_flags.get("device", "").startswith("cuda"), "k8s: a GPU pod without --device=cuda")
    labels = pod["metadata"]["labels"]

    def selects(sel):
        return all(labels.get(k) == v for k, v in sel.items())
    check(selects(dep["spec"]["selector"]["matchLabels"]), "k8s: Deployment selector")
    svc_k = docs["Service"]
    check(svc_k["spec"].get("clusterIP") == "None", "k8s: Service is not headless")
    check(selects(svc_k["spec"]["selector"]), "k8s: Service selector does not match the pods")
    for p in svc_k["spec"]["ports"]:
        check(p["targetPort"] in cports or p["targetPort"] in cports.values(), f"k8s Service port {p}")
    hpa = docs["HorizontalPodAutoscaler"]
    check(hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"], "k8s: HPA target")
    hpa_metrics = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    check(hpa_metrics == ["lact_active_streams"], f"k8s: HPA metrics {hpa_metrics}")
    avg = float(hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"])
    max_streams = float(k_flags.get("max_streams", 64))
    check(0 < avg < max_streams, f"k8s: HPA target {avg} streams/pod not below --max_streams {max_streams}")
    check(selects(docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]), "k8s: PDB selector")
    sm = yaml.safe_load(open(os.path.join(k8s, "servicemonitor.yaml")))
    check(sm["spec"]["endpoints"][0]["port"] in [p["name"] for p in svc_k["spec"]["ports"]],
          "servicemonitor: port name not in the Service")
    check(all(svc_k["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()),
          "servicemonitor: selector does not match the Service labels")
    adapter = yaml.safe_load(open(os.path.join(k8s, "prometheus-adapter-values.yaml")))

    # ---------------- what Prometheus/Grafana query
    queried = []  # (where, expr)
    queried += [("dashboard: " + t, e) for t, e in dashboard_exprs(os.path.join(src, "deploy/grafana/dashboards/lact-asr.json"))]
    rules = yaml.safe_load(open(os.path.join(src, "deploy/prometheus/alerts.yml")))
    queried += [("alert " + r.get("alert", r.get("record", "?")), r["expr"]) for g in rules["groups"] for r in g["rules"]]
    queried += [("hpa", m) for m in hpa_metrics]
    queried += [("prometheus-adapter", r["seriesQuery"]) for r in adapter["rules"]["custom"]]
    wanted = {}
    for where, expr in queried:
        for m in metric_names(expr):
            wanted.setdefault(m, set()).add(where)
    for needed in ("lact_active_streams", "lact_interim_latency_seconds_bucket", "lact_final_latency_seconds_bucket",
                   "lact_device_memory_allocated_bytes", "lact_fast_weight_state_bytes", "lact_audio_seconds_total",
                   "lact_streams_total"):
        check(needed in wanted, f"the dashboard/alerts do not query {needed}")

    if opts.static_only:
        note("static checks only (--static-only)")
        return report()

    # ---------------- live runs
    work = tempfile.mkdtemp(prefix="lact_deploy_test_")
    try:
        fixtures = os.path.join(src, "tests/fixtures")
        model = os.path.join(work, "model")
        os.makedirs(model)
        for f in ("config.json", "model.safetensors", "preprocessor_config.json", "vocab.json"):
            shutil.copy(os.path.join(fixtures, "tiny_group", f), model)
        for f in ("lact_config.json", "lact.safetensors"):
            if os.path.exists(os.path.join(fixtures, "lact_momentum", f)):
                shutil.copy(os.path.join(fixtures, "lact_momentum", f), model)
        wav = os.path.join(fixtures, "tiny_group/expected/input.wav")
        bin_dir = os.path.join(work, "bin")
        os.makedirs(bin_dir)
        for name, path in bins.items():
            os.symlink(os.path.abspath(path), os.path.join(bin_dir, name))

        # (label, stage, env, argv, (health check, its literal ports), TLS certificate or None)
        configs = []

        def image_argv(st):
            return (st["entrypoint"] or [])[1:] + (st["cmd"] or [])
        for sname in runtime_stages:
            st = stages[sname]
            configs.append((f"Dockerfile:{sname}", st, dict(st["env"]), image_argv(st),
                            (("shell", st["healthcheck"]), {}), None))
        for label, (stage, env, args, health) in compose_cfgs.items():
            st = stages[stage]
            configs.append((label, st, env, st["entrypoint"][1:] + list(args), health, None))
        configs.append(("k8s", stages["runtime-cuda"], {**stages["runtime-cuda"]["env"], **k_env},
                        stages["runtime-cuda"]["entrypoint"][1:] + list(k_args),
                        (("shell", stages["runtime-cuda"]["healthcheck"]), {}), None))
        # TLS on the gRPC port, turned on the way an operator would: FLAGS_* variables of the image
        st = stages["runtime"]
        for n in ("tls_cert", "tls_key"):
            check(n in tryfromenv["runtime"],
                  f"Dockerfile runtime: --tryfromenv lacks {n}: FLAGS_{n} cannot turn TLS on")
        tls = self_signed_cert(work)
        if tls:
            configs.append(("Dockerfile:runtime+TLS", st,
                            {**st["env"], "FLAGS_tls_cert": tls[0], "FLAGS_tls_key": tls[1]},
                            image_argv(st), (("shell", st["healthcheck"]), {}), tls[0]))

        streamed = False
        for label, st, env, argv, (health, literal_ports), tls_cert in configs:
            sub = Substitution(model)
            env = {k: v for k, v in env.items() if k.startswith("FLAGS_") or k == "LACT_MODEL"}
            env = sub.env(env)
            argv = sub.args(argv)
            # where the flags don't set the port, the image's FLAGS_port does; make sure one of them is ours
            eff = {**{k[6:]: v for k, v in env.items() if k.startswith("FLAGS_")},
                   **{n: v for n, v in parse_flag_args(argv) if n}}
            check(eff.get("port") == str(sub.port) and eff.get("metrics_port") == str(sub.metrics_port),
                  f"[{label}] ports are not set by flags or FLAGS_* (the test cannot move them)")
            drain_s = float(eff.get("drain_seconds", 30))
            if not check(health is not None, f"[{label}] no health check"):
                continue
            health_cmd = health_argv(health, literal_ports, sub)
            proc, log = start_server(label, server_bin, argv, env, sub, work)
            note(f"[{label}] health check: {shlex.join(health_cmd)}")
            try:
                ok, msg = run_health(health_cmd, env, bin_dir, 90, proc)
                if not check(ok, f"[{label}] health check `{shlex.join(health_cmd)}` never succeeded: {msg}"):
                    continue
                check(msg == "SERVING", f"[{label}] health probe printed {msg!r}")
                tls_args = []
                if tls_cert:
                    # the gRPC port really speaks TLS: plaintext health fails, TLS health works
                    probe = bins["lact_health_probe"]
                    grpc_addr = f"--address=127.0.0.1:{sub.port}"
                    rc, out = probe_rc(probe, [grpc_addr, "--timeout_ms=3000"])
                    check(rc == 1, f"[{label}] plaintext `lact_health_probe {grpc_addr}` exit code {rc} ({out!r}), "
                          f"expected 1 against the TLS port")
                    tls_args = [f"--ssl_root_cert={tls_cert}"]
                    rc, out = probe_rc(probe, [grpc_addr, "--timeout_ms=3000"] + tls_args)
                    check(rc == 0 and out == "SERVING", f"[{label}] `lact_health_probe {grpc_addr} {tls_args[0]}` "
                          f"exit code {rc} ({out!r}), expected 0 and SERVING")
                    note(f"[{label}] HEALTHCHECK: SERVING; gRPC health over plaintext: exit code 1, over TLS: {out}")
                text = scrape(sub.metrics_port)
                if "lact_eval_client" in bins and (not streamed or tls_cert):
                    rc, out = send_streams(bins["lact_eval_client"], sub.port, work, wav, tls_args)
                    check(rc == 0, f"[{label}] lact_eval_client {' '.join(tls_args)} failed ({rc}): {out}")
                    streamed = streamed or rc == 0
                    text = scrape(sub.metrics_port)
                    ok_streams = sample_value(text, "lact_streams_total", '{code="OK"}')
                    check(ok_streams is not None and ok_streams >= 2, f"[{label}] lact_streams_total{{code=\"OK\"}} "
                          f"= {ok_streams} after two streams")
                    audio = sample_value(text, "lact_audio_seconds_total")
                    check(audio is not None and audio > 1.0, f"[{label}] lact_audio_seconds_total = {audio}")
                    for h in ("lact_interim_latency_seconds_count", "lact_final_latency_seconds_count",
                              "lact_batch_size_count"):
                        v = sample_value(text, h)
                        check(v is not None and v > 0, f"[{label}] {h} = {v} after two streams")
                series = parse_exposition(text)
                for metric, where in sorted(wanted.items()):
                    check(metric in series, f"[{label}] /metrics has no {metric} (queried by {sorted(where)[0]})")
                for where, expr in queried:
                    ms = [m for m in metric_names(expr) if m in series]
                    have = set().union(*(series[m] for m in ms)) if ms else set()
                    have |= TARGET_LABELS
                    if "histogram_quantile" in expr:
                        have.add("le")
                    for lab in label_names(expr):
                        check(lab in have, f"[{label}] {where}: label '{lab}' is not on {sorted(ms)}")
            finally:
                rc = stop_server(label, proc, log, drain_s)
                check(rc == 0, f"[{label}] lact_server exit code {rc} after SIGTERM "
                      f"(log: {open(os.path.join(work, label.replace('/', '_') + '.log')).read()[-1500:]})")
        if "lact_eval_client" in bins:
            check(streamed, "no stream was sent (lact_eval_client)")
        else:
            note("note: lact_eval_client not built; metrics checked by name before any stream")
    finally:
        if not FAILURES:
            shutil.rmtree(work, ignore_errors=True)
        else:
            note(f"kept {work} (server logs)")
    return report()


def report():
    if FAILURES:
        print(f"\n{len(FAILURES)} check(s) failed", flush=True)
        return 1
    print("all deployment checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
