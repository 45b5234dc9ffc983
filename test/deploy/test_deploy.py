#!/usr/bin/python3
"""Tests of the Helm chart (charts/dynamodb-streams-webhook) and of the Dockerfile.

Usage: test_deploy.py GROUP --source DIR [--binary BIN] [--helm-template PATH] [--kube-validate PATH]

GROUP is one of: setup, render, schema, validate, wiring, selfsigned, upgrade, flags, dashboard,
serve, notes, guards, dockerfile. Each prints what it checked and exits 0 when all checks pass, 1 on
any failure, and 77 (CTest's SKIP) when a tool it cannot do without is absent; it then says
so plainly.

The chart is rendered with `helm template` when helm is on PATH, otherwise with the shared
helm-template tool (same template engine); rendered objects are validated with kubeconform when
it is on PATH, otherwise with the shared kube-validate tool.
"""
import argparse
import base64
import copy
import fnmatch
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import yaml

SKIP = 77
NS = "dsw-system"
RELEASE = "dsw"
KUBE_VERSION = "v1.31.0"

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}")
    return cond


def finish(group):
    print(f"{group}: {checks - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


def skip(msg):
    print(f"SKIPPED: {msg}")
    sys.exit(SKIP)


# ---------------------------------------------------------------------------------------------
# Tools


class Tools:
    def __init__(self, args):
        self.source = os.path.abspath(args.source)
        self.chart = os.path.join(self.source, "charts", "dynamodb-streams-webhook")
        self.binary = args.binary
        helm = shutil.which("helm")
        self.renderer = None
        if helm:
            self.renderer = [helm, "template"]
            self.renderer_name = "helm"
        elif args.helm_template and os.path.exists(args.helm_template):
            self.renderer = [args.helm_template]
            self.renderer_name = "helm-template"
        kubeconform = shutil.which("kubeconform")
        self.validator = None
        if kubeconform:
            self.validator = [kubeconform, "-strict", "-summary", "-ignore-missing-schemas", "-"]
            self.validator_name = "kubeconform"
        elif args.kube_validate and os.path.exists(args.kube_validate):
            self.validator = [args.kube_validate, "-"]
            self.validator_name = "kube-validate"
        self.helm_template_path = args.helm_template
        self.kube_validate_path = args.kube_validate

    def need_renderer(self):
        if not self.renderer:
            skip(f"no chart renderer: `helm` is not on PATH and {self.helm_template_path} does not "
                 "exist, so the chart was NOT rendered or checked")
        print(f"rendering with {self.renderer_name} ({self.renderer[0]})")

    def render_raw(self, extra, chart=None):
        cmd = self.renderer + [RELEASE, chart or self.chart, "--namespace", NS,
                               "--kube-version", KUBE_VERSION] + list(extra)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        return p

    def render(self, extra, chart=None):
        p = self.render_raw(extra, chart)
        if p.returncode != 0:
            raise RenderError(f"render {' '.join(extra) or '(defaults)'} failed: {p.stderr.strip()}")
        docs = [d for d in yaml.safe_load_all(p.stdout) if d]
        return p.stdout, docs


class RenderError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Scenarios: name -> (helm arguments, the values they amount to for the checks)


DASHBOARD_FILE_JSON = None  # the chart's dashboards/dynamodb-streams-webhook.json, read by main()


def load_values(tools):
    with open(os.path.join(tools.chart, "values.yaml")) as f:
        return yaml.safe_load(f)


def deep_merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = v
    return dst


def set_path(values, dotted, value):
    keys = dotted.split(".")
    for k in keys[:-1]:
        values = values.setdefault(k, {})
    values[keys[-1]] = value


def make_ca(tmp):
    """A CA certificate (PEM) made with openssl, for tls.mode=existingSecret."""
    key, crt = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "30", "-subj", "/CN=test-ca"], check=True,
                   capture_output=True, timeout=60)
    return open(crt).read()


def scenarios(tools, tmp):
    base = load_values(tools)
    here = os.path.dirname(os.path.abspath(__file__))
    out = {}

    def add(name, args, sets=(), files=()):
        values = copy.deepcopy(base)
        for f in files:
            deep_merge(values, yaml.safe_load(open(f)))
        for k, v in sets:
            set_path(values, k, v)
        out[name] = (list(args), values)

    add("defaults", [])
    add("selfSigned", ["--set", "tls.mode=selfSigned"], [("tls.mode", "selfSigned")])
    add("certManager", ["--set", "tls.mode=certManager"], [("tls.mode", "certManager")])
    add("certManager-issuer",
        ["--set", "tls.mode=certManager", "--set", "tls.certManager.issuerRef.name=corp-ca",
         "--set", "tls.certManager.issuerRef.kind=ClusterIssuer"],
        [("tls.mode", "certManager"), ("tls.certManager.issuerRef", {"name": "corp-ca", "kind": "ClusterIssuer"})])
    ca_pem = make_ca(tmp)
    existing = os.path.join(tmp, "existing.yaml")
    with open(existing, "w") as f:
        yaml.safe_dump({"tls": {"mode": "existingSecret", "existingSecret": "corp-webhook-tls",
                                "caBundle": ca_pem}}, f)
    add("existingSecret", ["-f", existing], files=[existing])
    add("replicaCount=1", ["--set", "replicaCount=1"], [("replicaCount", 1)])
    add("enforcement-warn", ["--set", "admission.enforcement=warn", "--set", "prometheusRule.enabled=true"],
        [("admission.enforcement", "warn"), ("prometheusRule.enabled", True)])
    add("clientCA-configMap",
        ["--set", "tls.clientCA.enabled=true", "--set", "tls.clientCA.existingConfigMap=apiserver-client-ca"],
        [("tls.clientCA.enabled", True), ("tls.clientCA.existingConfigMap", "apiserver-client-ca")])
    add("clientCA-secret",
        ["--set", "tls.mode=certManager", "--set", "tls.clientCA.enabled=true",
         "--set", "tls.clientCA.existingSecret=apiserver-client-ca", "--set", "tls.clientCA.key=client-ca.pem"],
        [("tls.mode", "certManager"), ("tls.clientCA.enabled", True),
         ("tls.clientCA.existingSecret", "apiserver-client-ca"), ("tls.clientCA.key", "client-ca.pem")])
    ha = os.path.join(here, "values-ha.yaml")
    add("ha", ["-f", ha], files=[ha])
    add("ignore",
        ["--set", "webhook.failurePolicy=Ignore", "--set", "webhook.timeoutSeconds=10",
         "--set", "webhook.reinvocationPolicy=Never", "--set", "webhook.excludeReleaseNamespace=false"],
        [("webhook.failurePolicy", "Ignore"), ("webhook.timeoutSeconds", 10),
         ("webhook.reinvocationPolicy", "Never"), ("webhook.excludeReleaseNamespace", False)])
    # the operations kit: HPA, spread, PDB and the Grafana dashboard, each on and off
    add("autoscaling", ["--set", "autoscaling.enabled=true"], [("autoscaling.enabled", True)])
    autoscaling = os.path.join(tmp, "autoscaling.yaml")
    with open(autoscaling, "w") as f:
        yaml.safe_dump({
            "replicaCount": 1,  # not used with autoscaling on
            "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 12,
                            "targetCPUUtilizationPercentage": 70, "targetMemoryUtilizationPercentage": 85,
                            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 600,
                                                       "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]},
                                         "scaleUp": {"policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}]}}},
            "podDisruptionBudget": {"minAvailable": 2},
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"},
                {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                 "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "dynamodb-streams-webhook",
                                                   "app.kubernetes.io/instance": RELEASE}}}],
        }, f)
    add("autoscaling-full", ["-f", autoscaling], files=[autoscaling])
    spread_off = os.path.join(tmp, "spread-off.yaml")
    with open(spread_off, "w") as f:
        yaml.safe_dump({"topologySpreadConstraints": []}, f)
    add("spread-off", ["-f", spread_off], files=[spread_off])
    add("dashboard", ["--set", "grafanaDashboard.enabled=true"], [("grafanaDashboard.enabled", True)])
    add("dashboard-namespace",
        ["--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring",
         "--set-string", "grafanaDashboard.labels.grafana_dashboard=true",
         "--set", "grafanaDashboard.labels.team=platform",
         "--set", "grafanaDashboard.annotations.grafana_folder=Platform"],
        [("grafanaDashboard.enabled", True), ("grafanaDashboard.namespace", "monitoring"),
         ("grafanaDashboard.labels", {"grafana_dashboard": "true", "team": "platform"}),
         ("grafanaDashboard.annotations", {"grafana_folder": "Platform"})])
    return out


def min_replicas(values):
    """The fewest replicas the Deployment runs: autoscaling.minReplicas with autoscaling on."""
    a = values["autoscaling"]
    return a["minReplicas"] if a["enabled"] else values["replicaCount"]


def dashboard_file(tools):
    with open(os.path.join(tools.chart, "dashboards", "dynamodb-streams-webhook.json")) as f:
        return json.load(f)


def dashboard_configmaps(docs):
    return [d for d in by_kind(docs, "ConfigMap")
            if d["metadata"]["name"].endswith("-dashboard")]


def render_all(tools, tmp):
    rendered = {}
    for name, (args, values) in scenarios(tools, tmp).items():
        try:
            text, docs = tools.render(args)
        except RenderError as e:
            check(False, f"[{name}] {e}")
            continue
        rendered[name] = (text, docs, values)
    return rendered


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def one(docs, kind, name):
    found = by_kind(docs, kind)
    check(len(found) == 1, f"[{name}] exactly one {kind} (found {len(found)})")
    return found[0] if found else None


def pem_from_b64(b64):
    return base64.b64decode(b64).decode()


def parse_args_list(args):
    """--name=value / --name value / --switch -> list of (name, value or None)."""
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a.startswith("--"):
            if "=" in a:
                n, v = a[2:].split("=", 1)
                out.append((n, v))
            elif i + 1 < len(args) and not args[i + 1].startswith("--"):
                out.append((a[2:], args[i + 1]))
                i += 1
            else:
                out.append((a[2:], None))
        i += 1
    return out


def duration_seconds(text):
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        pos = m.end()
    if pos != len(text):
        return float(text) if re.fullmatch(r"\d+(\.\d+)?", text) else None
    return total


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def container(deploy):
    cs = deploy["spec"]["template"]["spec"]["containers"]
    check(len(cs) == 1, "Deployment has exactly one container")
    return cs[0]


def resolve_port(ctr, port):
    """A container port number from a number or a port name."""
    for p in ctr.get("ports", []):
        if port == p.get("name") or port == p.get("containerPort"):
            return p["containerPort"]
    return None


def local_serve_args(args, port, files):
    """The chart's container args, to run the real binary here: on 127.0.0.1:`port` with the
    certificate files of `files` and no shutdown delay."""
    run = []
    for a in args:
        if a.startswith("--port="):
            a = f"--port={port}"
        elif a.startswith("--tls-cert-file="):
            a = f"--tls-cert-file={files['tls.crt']}"
        elif a.startswith("--tls-private-key-file="):
            a = f"--tls-private-key-file={files['tls.key']}"
        elif a.startswith("--shutdown-delay="):
            a = "--shutdown-delay=0s"
        run.append(a)
    return run + ["--bind-address=127.0.0.1"]


def chart_caller(ctx, svc, port):
    """call(method, path, body) -> (status, body): HTTPS to 127.0.0.1:`port`, the certificate
    verified for <svc>.<ns>.svc with `ctx`, as the apiserver does."""
    def call(method, path, body=None):
        c = http.client.HTTPSConnection(f"{svc}.{NS}.svc", port, context=ctx, timeout=5)
        c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                                 server_hostname=f"{svc}.{NS}.svc")
        c.request(method, path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data
    return call


def wait_ready(call, proc, seconds=15):
    """Polls GET /readyz until 200, the process ends or `seconds` pass; the last status (None
    when nothing answered)."""
    deadline, status = time.time() + seconds, None
    while time.time() < deadline and proc.poll() is None:
        try:
            status, _ = call("GET", "/readyz")
            if status == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    return status


def server_sources(tools):
    text = ""
    sdir = os.path.join(tools.source, "server")
    for root, _, files in sorted(os.walk(sdir)):
        for fn in sorted(files):
            if fn.endswith((".cpp", ".h")):
                text += open(os.path.join(root, fn), errors="replace").read()
    return text


# ---------------------------------------------------------------------------------------------
# Groups


def group_setup(tools, tmp):
    """Builds the renderer (helm-template compiles itself on first use) and the validator's deps."""
    tools.need_renderer()
    try:
        tools.render([])
        check(True, "")
    except RenderError as e:
        check(False, str(e))
    if tools.validator:
        p = subprocess.run(tools.validator, input="", capture_output=True, text=True, timeout=300)
        check(p.returncode in (0, 1) or "0 checked" in p.stdout,
              f"{tools.validator_name} runs: {p.stdout.strip()} {p.stderr.strip()}")
    else:
        print(f"NOTE: no validator ({tools.kube_validate_path} absent, no kubeconform)")


def group_render(tools, tmp):
    tools.need_renderer()
    rendered = render_all(tools, tmp)
    for name, (_, docs, values) in rendered.items():
        kinds = sorted(d["kind"] for d in docs)
        print(f"[{name}] {len(docs)} objects: {', '.join(kinds)}")
        must = {"Deployment", "Service", "ServiceAccount", "MutatingWebhookConfiguration",
                "ValidatingWebhookConfiguration"}
        check(must <= set(kinds), f"[{name}] renders {sorted(must - set(kinds))}")
        mode = values["tls"]["mode"]
        check(("Secret" in kinds) == (mode == "selfSigned"), f"[{name}] a Secret is rendered only in selfSigned mode")
        check(("Certificate" in kinds) == (mode == "certManager"), f"[{name}] Certificates only in certManager mode")
        pdb = values["podDisruptionBudget"]["enabled"] and min_replicas(values) > 1
        check(("PodDisruptionBudget" in kinds) == pdb,
              f"[{name}] PodDisruptionBudget present iff enabled and replicaCount (autoscaling.minReplicas "
              "with autoscaling on) > 1")
        check(("HorizontalPodAutoscaler" in kinds) == values["autoscaling"]["enabled"],
              f"[{name}] HorizontalPodAutoscaler follows autoscaling.enabled")
        check(bool(dashboard_configmaps(docs)) == values["grafanaDashboard"]["enabled"],
              f"[{name}] the dashboard ConfigMap follows grafanaDashboard.enabled")
        for kind, key in (("NetworkPolicy", "networkPolicy"), ("ServiceMonitor", "serviceMonitor"),
                          ("PrometheusRule", "prometheusRule")):
            check((kind in kinds) == values[key]["enabled"], f"[{name}] {kind} follows {key}.enabled")
        for d in docs:
            if d in dashboard_configmaps(docs):
                want = values["grafanaDashboard"]["namespace"] or NS
                check(d["metadata"].get("namespace") == want,
                      f"[{name}] the dashboard ConfigMap is in grafanaDashboard.namespace or the release namespace")
            elif d["kind"] not in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
                check(d["metadata"].get("namespace") == NS,
                      f"[{name}] {d['kind']}/{d['metadata']['name']} is in the release namespace")
    # The container's environment: glibc's tcache raised by default; the operator's setting wins.
    def env_of(args):
        _, docs = tools.render(args)
        return {e["name"]: e["value"] for e in container(by_kind(docs, "Deployment")[0]).get("env", [])}
    check(env_of([]) == {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=256"},
          "the default environment raises glibc's tcache (GLIBC_TUNABLES)")
    check(env_of(["--set", "env.GLIBC_TUNABLES="]) == {"GLIBC_TUNABLES": ""},
          "env.GLIBC_TUNABLES='' renders an empty GLIBC_TUNABLES (glibc's defaults)")
    check(env_of(["--set", "env.TZ=UTC"]) == {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=256", "TZ": "UTC"},
          "an extra variable is added beside the default")
    p = tools.render_raw(["--set", "env.bad-name=x"])
    check(p.returncode != 0, f"an environment variable name that is not one is refused by the schema (rc={p.returncode})")
    # Values that the templates refuse with a clear message.
    for args, needle, why in [
        (["--set", "terminationGracePeriodSeconds=30"], "terminationGracePeriodSeconds",
         "grace period not longer than shutdownDelay + shutdownTimeout"),
        (["--set", "tls.mode=existingSecret", "--set", "tls.existingSecret=x",
          "--set", "tls.caBundle=LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"], "caBundle",
         "tls.caBundle given as base64 instead of PEM"),
        (["--set", "tls.mode=existingSecret", "--set", "tls.caBundle=x"], "existingSecret",
         "existingSecret mode without tls.existingSecret"),
        (["--set", "autoscaling.enabled=true", "--set", "resources.requests.cpu=null"], "resources.requests.cpu",
         "autoscaling without a CPU request (the HPA could not measure utilisation)"),
        (["--set", "autoscaling.enabled=true", "--set", "autoscaling.targetMemoryUtilizationPercentage=80",
          "--set", "resources.requests.memory=null"], "resources.requests.memory",
         "a memory target without a memory request"),
        (["--set", "autoscaling.enabled=true", "--set", "autoscaling.minReplicas=4",
          "--set", "autoscaling.maxReplicas=3"], "maxReplicas", "maxReplicas below minReplicas"),
        (["--set", "podDisruptionBudget.minAvailable=2"], "minAvailable",
         "a PDB that keeps every one of the 2 replicas (node drains would hang)"),
        (["--set", "podDisruptionBudget.minAvailable=51%"], "minAvailable",
         "a percentage PDB that rounds up to every replica"),
        (["--set", "autoscaling.enabled=true", "--set", "replicaCount=5", "--set", "podDisruptionBudget.minAvailable=2"],
         "autoscaling.minReplicas", "a PDB that keeps every one of autoscaling.minReplicas (replicaCount is not used)"),
    ]:
        p = tools.render_raw(args)
        check(p.returncode != 0 and needle in p.stderr,
              f"render with {why} fails naming {needle} (rc={p.returncode}, stderr={p.stderr.strip()[:300]})")
    # matchConditions need 1.30: rendering for an older cluster fails clearly.
    mc = os.path.join(tmp, "mc.yaml")
    with open(mc, "w") as f:
        yaml.safe_dump({"webhook": {"matchConditions": [{"name": "x", "expression": "true"}]}}, f)
    p = subprocess.run(tools.renderer + [RELEASE, tools.chart, "--namespace", NS, "--kube-version",
                                         "v1.29.0", "-f", mc], capture_output=True, text=True, timeout=120)
    check(p.returncode != 0 and "1.30" in p.stderr,
          f"matchConditions on Kubernetes 1.29 fails naming 1.30 (rc={p.returncode})")
    # Every --set in the install documentation names a value the chart's schema knows.
    schema = json.load(open(os.path.join(tools.chart, "values.schema.json")))
    for doc in ("README.md", "docs/deploy.md"):
        path = os.path.join(tools.source, doc)
        if not os.path.exists(path):
            continue
        for key in re.findall(r"--set(?:-string|-file)?[ =]([A-Za-z0-9_.\[\]]+)=", open(path).read()):
            node, ok = schema, True
            for k in re.sub(r"\[\d+\]", "", key).split("."):
                props = node.get("properties")
                if props is None:
                    break  # a free-form map such as nodeSelector
                if k not in props:
                    ok = False
                    break
                node = props[k]
            check(ok, f"{doc}: --set {key} names a value of the chart")


def group_schema(tools, tmp):
    """values.schema.json rejects typos and wrong types."""
    tools.need_renderer()
    cases = [
        (["--set", "webhook.timeoutSecond=5"], "timeoutSecond", "a misspelled key"),
        (["--set", "imagee.tag=1.0"], "imagee", "a misspelled top-level key"),
        (["--set", "webhook.timeoutSeconds=11"], "timeoutSeconds", "timeoutSeconds above 10"),
        (["--set", "webhook.timeoutSeconds=0"], "timeoutSeconds", "timeoutSeconds below 1"),
        (["--set", "replicaCount=two"], "replicaCount", "a string for an integer"),
        (["--set", "tls.mode=selfsigned"], "mode", "a TLS mode in the wrong case"),
        (["--set", "webhook.failurePolicy=fail"], "failurePolicy", "failurePolicy in the wrong case"),
        (["--set", "logFormat=yaml"], "logFormat", "an unsupported log format"),
        (["--set", "admission.unknownProperties=allow"], "unknownProperties", "an unsupported enforcement"),
        (["--set", "admission.enforcement=dryrun"], "enforcement", "an admission.enforcement other than deny or warn"),
        (["--set", "admission.enforcement=Warn"], "enforcement", "admission.enforcement in the wrong case"),
        (["--set", "networkPolicy.enable=true"], "enable", "a misspelled nested key"),
        (["--set", "tls.mode=existingSecret"], "existingSecret", "existingSecret mode without its Secret"),
        (["--set", "tls.clientCA.enable=true"], "enable", "a misspelled tls.clientCA key"),
        (["--set", "tls.clientCA.existingConfigmap=ca"], "existingConfigmap", "tls.clientCA.existingConfigMap in the wrong case"),
        (["--set", "tls.clientCA.enabled=true"], "clientCA", "tls.clientCA enabled without a CA source"),
        (["--set", "tls.clientCA.enabled=true", "--set", "tls.clientCA.existingConfigMap=a",
          "--set", "tls.clientCA.existingSecret=b"], "clientCA", "tls.clientCA with both a ConfigMap and a Secret"),
        (["--set", "tls.clientCA.enabled=true", "--set", "tls.clientCA.existingSecret=b",
          "--set", "tls.clientCA.key="], "key", "an empty tls.clientCA.key"),
        (["--set", "autoscaling.enable=true"], "enable", "a misspelled autoscaling key"),
        (["--set", "autoscaling.enabled=true", "--set", "autoscaling.minReplicas=1"], "minReplicas",
         "autoscaling.minReplicas below 2"),
        (["--set", "autoscaling.targetCPUUtilizationPercentage=0"], "targetCPUUtilizationPercentage",
         "a CPU target of 0%"),
        (["--set", "autoscaling.targetCPUUtilizationPercentage=high"], "targetCPUUtilizationPercentage",
         "a CPU target that is not a number"),
        (["--set", "autoscaling.behavior.scaledown.stabilizationWindowSeconds=60"], "scaledown",
         "autoscaling.behavior.scaleDown in the wrong case"),
        (["--set", "grafanaDashboard.enable=true"], "enable", "a misspelled grafanaDashboard key"),
        (["--set", "grafanaDashboard.namespace=Monitoring"], "namespace", "a dashboard namespace that is no DNS label"),
        (["--set", "grafanaDashboard.labels.grafana_dashboard=1"], "grafana_dashboard",
         "a dashboard label value that is not a string"),
    ]
    for args, needle, why in cases:
        p = tools.render_raw(args)
        check(p.returncode != 0 and needle in p.stderr,
              f"values.schema.json rejects {why} ({' '.join(args)}): rc={p.returncode} "
              f"stderr={p.stderr.strip()[:300]!r}")
    for args in (["--set", "webhook.timeoutSeconds=10"], ["--set", "webhook.timeoutSeconds=1"],
                 ["--set", "podDisruptionBudget.minAvailable=50%"],
                 ["--set", "tls.clientCA.existingConfigMap=ca"],
                 ["--set", "admission.enforcement=warn"], ["--set", "admission.enforcement=deny"],
                 ["--set", "autoscaling.enabled=true", "--set", "autoscaling.minReplicas=2",
                  "--set", "autoscaling.maxReplicas=2", "--set", "autoscaling.targetCPUUtilizationPercentage=250"],
                 ["--set", "autoscaling.enabled=true", "--set", "podDisruptionBudget.minAvailable=50%"],
                 ["--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring"]):
        p = tools.render_raw(args)
        check(p.returncode == 0, f"accepts {' '.join(args)}: {p.stderr.strip()[:300]}")
    schema = json.load(open(os.path.join(tools.chart, "values.schema.json")))
    check(schema["properties"]["webhook"]["properties"]["timeoutSeconds"].get("maximum") == 10,
          "schema caps webhook.timeoutSeconds at 10")
    # Every key of values.yaml is described by the schema (else the schema would reject defaults
    # or let typos of it through).
    def walk(values, sch, path):
        for k, v in values.items():
            props = sch.get("properties", {})
            check(k in props or sch.get("additionalProperties", True) is not False,
                  f"schema knows {path}{k}")
            if isinstance(v, dict) and k in props and props[k].get("additionalProperties") is False:
                walk(v, props[k], f"{path}{k}.")
    walk(load_values(tools), schema, "")


def group_validate(tools, tmp):
    tools.need_renderer()
    if not tools.validator:
        skip(f"no strict validator: kubeconform is not on PATH and {tools.kube_validate_path} does not "
             "exist, so rendered objects were NOT validated")
    print(f"validating with {tools.validator_name}")
    for name, (text, docs, _) in render_all(tools, tmp).items():
        p = subprocess.run(tools.validator, input=text, capture_output=True, text=True, timeout=300)
        out = (p.stdout + p.stderr).strip()
        print(f"[{name}] {out.splitlines()[-1] if out else ''}")
        check(p.returncode == 0, f"[{name}] strict validation: {out}")
        # kinds the validator has no model for must be the monitoring CRDs, checked below, or the
        # autoscaling/v2 HorizontalPodAutoscaler, validated right after
        for line in out.splitlines():
            if line.startswith("UNCHECKED"):
                check(re.search(r"\b(ServiceMonitor|PrometheusRule|HorizontalPodAutoscaler)/", line) is not None,
                      f"[{name}] only monitoring CRDs and the HPA go unchecked: {line}")
        for hpa in by_kind(docs, "HorizontalPodAutoscaler"):
            check(hpa["apiVersion"] == "autoscaling/v2", f"[{name}] the HPA is autoscaling/v2: {hpa['apiVersion']}")
            if not re.search(r"^UNCHECKED .*HorizontalPodAutoscaler/", out, re.M):
                continue
            # python3-kubernetes (the models kube-validate uses) predates autoscaling/v2 (GA in 1.23),
            # which is autoscaling/v2beta2 promoted with the same fields: validate it against that model.
            alt = copy.deepcopy(hpa)
            alt["apiVersion"] = "autoscaling/v2beta2"
            q = subprocess.run(tools.validator, input=yaml.safe_dump(alt), capture_output=True, text=True, timeout=300)
            qout = (q.stdout + q.stderr).strip()
            check(q.returncode == 0 and "1 checked" in qout and "UNCHECKED" not in qout,
                  f"[{name}] the HPA validates strictly (against the autoscaling/v2beta2 model): {qout}")
        for sm in by_kind(docs, "ServiceMonitor"):
            spec = sm.get("spec", {})
            check(set(spec) <= {"selector", "namespaceSelector", "endpoints", "jobLabel"},
                  f"[{name}] ServiceMonitor spec fields known: {sorted(spec)}")
            for ep in spec.get("endpoints", []):
                check(set(ep) <= {"port", "scheme", "path", "interval", "scrapeTimeout", "tlsConfig",
                                  "relabelings", "metricRelabelings", "honorLabels"},
                      f"[{name}] ServiceMonitor endpoint fields known: {sorted(ep)}")
        for pr in by_kind(docs, "PrometheusRule"):
            for g in pr["spec"]["groups"]:
                check(set(g) <= {"name", "interval", "rules"}, f"[{name}] rule group fields: {sorted(g)}")
                for r in g["rules"]:
                    check(set(r) <= {"alert", "record", "expr", "for", "labels", "annotations"},
                          f"[{name}] rule fields: {sorted(r)}")
                    check(isinstance(r.get("expr"), str) and r["expr"].count("(") == r["expr"].count(")"),
                          f"[{name}] {r.get('alert')}: expr is a balanced string")
                    check(all(isinstance(v, str) for v in r.get("labels", {}).values()),
                          f"[{name}] {r.get('alert')}: labels are strings")


def check_wiring(name, docs, values):
    svc = one(docs, "Service", name)
    deploy = one(docs, "Deployment", name)
    if not svc or not deploy:
        return
    pod = deploy["spec"]["template"]
    ctr = container(deploy)
    podspec = pod["spec"]
    check(labels_match(svc["spec"]["selector"], pod["metadata"]["labels"]),
          f"[{name}] Service selector matches the pod labels")
    check(labels_match(deploy["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"]),
          f"[{name}] Deployment selector matches the pod labels")
    if values["autoscaling"]["enabled"]:
        check("replicas" not in deploy["spec"],
              f"[{name}] with autoscaling the Deployment leaves replicas to the HPA (helm upgrade must not reset it)")
    else:
        check(deploy["spec"]["replicas"] == values["replicaCount"], f"[{name}] replicas follow replicaCount")
    check_autoscaling(name, docs, values, deploy)
    check_dashboard_configmap(name, docs, values)
    args = ctr.get("args", [])
    check(args[:1] == ["serve"], f"[{name}] the container runs `serve`")
    flags = dict(parse_args_list(args[1:]))
    port = int(flags.get("port", 8443))
    check(port == values["server"]["port"], f"[{name}] --port follows server.port")
    check(resolve_port(ctr, port) == port, f"[{name}] --port {port} is a container port")
    src = None
    for wh_kind, path in (("MutatingWebhookConfiguration", "/mutate"),
                          ("ValidatingWebhookConfiguration", "/validate")):
        cfg = one(docs, wh_kind, name)
        if not cfg:
            continue
        guards = 1 if wh_kind == "ValidatingWebhookConfiguration" and guards_on(values) else 0
        also = " and the guards' one" if guards else ""
        check(len(cfg["webhooks"]) == 1 + guards, f"[{name}] {wh_kind} has the Applications' webhook{also}")
        wh = cfg["webhooks"][0]
        check(wh["name"].startswith(path[1:] + "."), f"[{name}] {wh_kind}'s first webhook is {path[1:]}.*")
        ref = wh["clientConfig"]["service"]
        check(ref["name"] == svc["metadata"]["name"], f"[{name}] {wh_kind} calls Service {svc['metadata']['name']}")
        check(ref["namespace"] == svc["metadata"]["namespace"] == NS, f"[{name}] {wh_kind} service namespace")
        check(ref.get("path") == path, f"[{name}] {wh_kind} path is {path}")
        sport = [p for p in svc["spec"]["ports"] if p["port"] == ref.get("port", 443)]
        check(len(sport) == 1, f"[{name}] {wh_kind} port {ref.get('port')} is a Service port")
        if sport:
            check(resolve_port(ctr, sport[0]["targetPort"]) == port,
                  f"[{name}] Service port {sport[0]['port']} targets the container's --port {port}")
        w = values["webhook"]
        check(wh["failurePolicy"] == w["failurePolicy"], f"[{name}] {wh_kind} failurePolicy follows values")
        check(wh["timeoutSeconds"] == w["timeoutSeconds"] and 1 <= wh["timeoutSeconds"] <= 10,
              f"[{name}] {wh_kind} timeoutSeconds follows values")
        check(wh["sideEffects"] == "None", f"[{name}] {wh_kind} sideEffects None")
        check(wh["matchPolicy"] == "Equivalent", f"[{name}] {wh_kind} matchPolicy Equivalent")
        check(wh["admissionReviewVersions"] == ["v1", "v1beta1"], f"[{name}] {wh_kind} review versions")
        rules = wh["rules"]
        check(len(rules) == 1 and rules[0]["apiGroups"] == ["core.oam.dev"]
              and rules[0]["resources"] == ["applications"]
              and sorted(rules[0]["operations"]) == ["CREATE", "UPDATE"],
              f"[{name}] {wh_kind} matches core.oam.dev applications on CREATE and UPDATE")
        sel = wh.get("namespaceSelector", {})
        expect = copy.deepcopy(w["namespaceSelector"])
        if w["excludeReleaseNamespace"]:
            expect.setdefault("matchExpressions", []).append(
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [NS]})
        check(sel == expect, f"[{name}] {wh_kind} namespaceSelector follows values: {sel} != {expect}")
        check(wh.get("objectSelector", {}) == w["objectSelector"], f"[{name}] {wh_kind} objectSelector follows values")
        check(wh.get("matchConditions", []) == w["matchConditions"], f"[{name}] {wh_kind} matchConditions follow values")
        if wh_kind == "MutatingWebhookConfiguration":
            check(wh["reinvocationPolicy"] == w["reinvocationPolicy"], f"[{name}] reinvocationPolicy follows values")
        # the caBundle and where the serving certificate comes from
        mode = values["tls"]["mode"]
        ann = cfg["metadata"].get("annotations", {})
        if mode == "certManager":
            certs = {c["metadata"]["name"]: c for c in by_kind(docs, "Certificate")}
            inj = ann.get("cert-manager.io/inject-ca-from", "")
            check(inj.startswith(NS + "/") and inj.split("/", 1)[1] in certs,
                  f"[{name}] {wh_kind} injects the CA of a rendered Certificate ({inj})")
            check("caBundle" not in wh["clientConfig"], f"[{name}] {wh_kind} leaves caBundle to cert-manager")
            src = certs.get(inj.split("/", 1)[-1], {}).get("spec", {}).get("secretName")
        elif mode == "existingSecret":
            check(pem_from_b64(wh["clientConfig"].get("caBundle", "")).strip() == values["tls"]["caBundle"].strip(),
                  f"[{name}] {wh_kind} caBundle is tls.caBundle")
            src = values["tls"]["existingSecret"]
        else:
            secrets = by_kind(docs, "Secret")
            check(len(secrets) == 1 and wh["clientConfig"].get("caBundle") == secrets[0]["data"]["ca.crt"],
                  f"[{name}] {wh_kind} caBundle is the generated Secret's ca.crt")
            src = secrets[0]["metadata"]["name"] if secrets else None
    # the certificate Secret reaches the flags
    vols = {v["name"]: v for v in podspec.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in ctr.get("volumeMounts", [])}
    for flag, key in (("tls-cert-file", "tls.crt"), ("tls-private-key-file", "tls.key")):
        f = flags.get(flag)
        check(f is not None, f"[{name}] --{flag} is passed")
        if not f:
            continue
        d, base = os.path.dirname(f), os.path.basename(f)
        m = mounts.get(d)
        check(m is not None and m.get("readOnly") is True, f"[{name}] --{flag} {f} is on a read-only mount")
        if m:
            check("subPath" not in m, f"[{name}] the TLS mount has no subPath (renewals must reach the pod)")
            vol = vols.get(m["name"], {}).get("secret", {})
            check(vol.get("secretName") == src, f"[{name}] the mounted Secret is {src} (got {vol.get('secretName')})")
            items = {i["path"]: i["key"] for i in vol.get("items", [])} or {key: key}
            check(items.get(base) == key, f"[{name}] --{flag} reads key {key} of the Secret")
    # the client CA (tls.clientCA) reaches --client-ca-file
    cca = values["tls"].get("clientCA", {})
    f = flags.get("client-ca-file")
    if cca.get("enabled"):
        check(f is not None and f.startswith("/"), f"[{name}] --client-ca-file is passed as an absolute path ({f})")
        if f:
            m = mounts.get(os.path.dirname(f))
            check(m is not None and m.get("readOnly") is True and "subPath" not in m,
                  f"[{name}] --client-ca-file {f} is on a read-only whole-directory mount")
            vol = vols.get(m["name"], {}) if m else {}
            if cca.get("existingConfigMap"):
                src_obj, src_name = vol.get("configMap", {}), vol.get("configMap", {}).get("name")
                want = cca["existingConfigMap"]
            else:
                src_obj, src_name = vol.get("secret", {}), vol.get("secret", {}).get("secretName")
                want = cca["existingSecret"]
            check(src_name == want, f"[{name}] the client CA mount is {want} (got {vol})")
            check(m is None or m["name"] != "tls", f"[{name}] the client CA has its own volume")
            items = {i["path"]: i["key"] for i in src_obj.get("items", [])} or {os.path.basename(f): os.path.basename(f)}
            check(items.get(os.path.basename(f)) == cca.get("key", "ca.crt"),
                  f"[{name}] --client-ca-file reads key {cca.get('key')} of {want}: {items}")
    else:
        check(f is None, f"[{name}] no --client-ca-file without tls.clientCA.enabled")
        check(not any("configMap" in v for v in vols.values()) and len(vols) == 1,
              f"[{name}] only the TLS volume without tls.clientCA: {sorted(vols)}")
    # probes over HTTPS on the webhook port; TCP when client certificates are required (the kubelet
    # presents none, so an HTTPS probe would never succeed)
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        if cca.get("enabled"):
            t = ctr.get(probe, {})
            check("httpGet" not in t and resolve_port(ctr, t.get("tcpSocket", {}).get("port")) == port,
                  f"[{name}] {probe} is a TCP check of port {port} (client certificates required): {t}")
            continue
        g = ctr.get(probe, {}).get("httpGet", {})
        check(g.get("path") == path and g.get("scheme") == "HTTPS" and resolve_port(ctr, g.get("port")) == port,
              f"[{name}] {probe} is GET {path} over HTTPS on port {port}: {g}")
    # shutdown
    delay = duration_seconds(flags.get("shutdown-delay", "0s"))
    timeout = duration_seconds(flags.get("shutdown-timeout", "0s"))
    check(delay == values["server"]["shutdownDelaySeconds"] and timeout == values["server"]["shutdownTimeoutSeconds"],
          f"[{name}] shutdown flags follow server.*")
    check(podspec["terminationGracePeriodSeconds"] > delay + timeout,
          f"[{name}] terminationGracePeriodSeconds {podspec['terminationGracePeriodSeconds']} > {delay}+{timeout}")
    # flags that follow values
    check(flags.get("log-level") == values["logLevel"] and flags.get("log-format") == values["logFormat"],
          f"[{name}] log flags follow values")
    check(flags.get("applies-to") == ",".join(values["admission"]["appliesTo"]), f"[{name}] --applies-to follows values")
    check(flags.get("unknown-properties") == values["admission"]["unknownProperties"]
          and flags.get("view-type-change") == values["admission"]["viewTypeChange"],
          f"[{name}] enforcement flags follow values")
    check(flags.get("enforcement") == values["admission"]["enforcement"]
          and flags["enforcement"] in ("deny", "warn"),
          f"[{name}] --enforcement={flags.get('enforcement')} follows admission.enforcement "
          f"({values['admission']['enforcement']})")
    check(flags.get("tls-min-version") == values["server"]["tlsMinVersion"], f"[{name}] --tls-min-version follows values")
    mrb = values["server"]["maxRequestBytes"]
    check(flags.get("max-request-bytes") == (None if mrb is None else str(mrb)), f"[{name}] --max-request-bytes follows values")
    for a in values["extraArgs"]:
        check(a in args, f"[{name}] extraArgs {a} passed")
    # hardening
    sc, psc = ctr.get("securityContext", {}), podspec.get("securityContext", {})
    check(sc.get("allowPrivilegeEscalation") is False, f"[{name}] no privilege escalation")
    check(sc.get("readOnlyRootFilesystem") is True, f"[{name}] read-only root filesystem")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"[{name}] all capabilities dropped")
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, f"[{name}] non-root")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"[{name}] RuntimeDefault seccomp")
    check(podspec.get("automountServiceAccountToken") is False, f"[{name}] no service account token in the pod")
    for sa in by_kind(docs, "ServiceAccount"):
        check(sa.get("automountServiceAccountToken") is False, f"[{name}] ServiceAccount does not automount")
        check(podspec.get("serviceAccountName") == sa["metadata"]["name"], f"[{name}] pod uses the ServiceAccount")
    check(ctr["image"].endswith(":" + (values["image"]["tag"] or "0.2.0")), f"[{name}] image tag")
    check("limits" in ctr.get("resources", {}) and "memory" in ctr["resources"]["limits"],
          f"[{name}] a memory limit is set")
    check(deploy["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0,
          f"[{name}] rolling updates never drop below the desired replicas")
    for c in podspec.get("topologySpreadConstraints", []):
        check(labels_match(c.get("labelSelector", {}).get("matchLabels"), pod["metadata"]["labels"])
              and c.get("labelSelector"), f"[{name}] topology spread selects the webhook pods")
    rendered_tsc = podspec.get("topologySpreadConstraints", [])
    check(len(rendered_tsc) == len(values["topologySpreadConstraints"]),
          f"[{name}] topologySpreadConstraints follow values")
    for given, got in zip(values["topologySpreadConstraints"], rendered_tsc):
        # given as is; a constraint without a labelSelector gets the pods' selector labels
        want = dict(given, labelSelector=given.get("labelSelector") or
                    {"matchLabels": deploy["spec"]["selector"]["matchLabels"]})
        check(got == want, f"[{name}] topology spread constraint {given} renders as {want}: {got}")
    if values["priorityClassName"]:
        check(podspec.get("priorityClassName") == values["priorityClassName"], f"[{name}] priorityClassName")
    for k, v in values["podLabels"].items():
        check(pod["metadata"]["labels"].get(k) == v, f"[{name}] podLabels {k}")
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        check(labels_match(pdb["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"]), f"[{name}] PDB selects the pods")
        check(pdb["spec"]["minAvailable"] == values["podDisruptionBudget"]["minAvailable"], f"[{name}] PDB minAvailable")
        check(not isinstance(pdb["spec"]["minAvailable"], int) or pdb["spec"]["minAvailable"] < min_replicas(values),
              f"[{name}] PDB leaves room for one voluntary disruption at the fewest replicas ({min_replicas(values)})")
    for np in by_kind(docs, "NetworkPolicy"):
        check(labels_match(np["spec"]["podSelector"]["matchLabels"], pod["metadata"]["labels"]), f"[{name}] NetworkPolicy selects the pods")
        ports = [p["port"] for r in np["spec"]["ingress"] for p in r.get("ports", [])]
        check(ports and all(resolve_port(ctr, p) == port for p in ports),
              f"[{name}] NetworkPolicy opens only the webhook port: {ports}")
        check(all(r.get("ports") for r in np["spec"]["ingress"]), f"[{name}] every ingress rule names a port")
        peers = [pp for r in np["spec"]["ingress"] for pp in r.get("from", [])]
        cidrs = [pp["ipBlock"]["cidr"] for pp in peers if "ipBlock" in pp]
        check(cidrs == values["networkPolicy"]["apiServerCIDRs"], f"[{name}] apiserver CIDRs reach the port")
    for sm in by_kind(docs, "ServiceMonitor"):
        ep = sm["spec"]["endpoints"][0]
        check(labels_match(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]), f"[{name}] ServiceMonitor selects the Service")
        check(ep["port"] in [p.get("name") for p in svc["spec"]["ports"]], f"[{name}] ServiceMonitor port is a Service port name")
        check(ep["path"] == "/metrics" and ep["scheme"] == "https", f"[{name}] ServiceMonitor scrapes https /metrics")
        ca = ep.get("tlsConfig", {}).get("ca", {}).get("secret", {})
        if ca:
            check(ca.get("name") == src and ca.get("key") == "ca.crt", f"[{name}] ServiceMonitor trusts the serving CA")
            check(ep["tlsConfig"].get("serverName") == f"{svc['metadata']['name']}.{NS}.svc", f"[{name}] ServiceMonitor serverName")
    for pr in by_kind(docs, "PrometheusRule"):
        alerts = [r["alert"] for g in pr["spec"]["groups"] for r in g["rules"]]
        text = json.dumps(pr)
        for needle, why in (("certificate_expiry_timestamp_seconds", "certificate expiry"),
                            ('result=\\"failure\\"', "failed reloads"), ('outcome=\\"error\\"', "error ratio"),
                            ("histogram_quantile(0.99", "p99 latency"), ("kube_deployment_status_replicas_available", "ready replicas")):
            check(needle in text, f"[{name}] PrometheusRule alerts on {why}")
        warn = values["admission"]["enforcement"] == "warn"
        check(("DynamodbStreamsWebhookWouldDeny" in alerts) == warn and ('outcome=\\"warned\\"' in text) == warn,
              f"[{name}] the would-be-denials alert is there exactly with admission.enforcement=warn: {alerts}")
        check(f'job=\\"{svc["metadata"]["name"]}\\"' in text, f"[{name}] alerts select the ServiceMonitor's job")
        print(f"[{name}] alerts: {', '.join(alerts)}")


def check_autoscaling(name, docs, values, deploy):
    a = values["autoscaling"]
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    if not a["enabled"]:
        check(not hpas, f"[{name}] no HPA without autoscaling.enabled")
        return
    if not check(len(hpas) == 1, f"[{name}] one HPA with autoscaling.enabled"):
        return
    spec = hpas[0]["spec"]
    check(spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy["metadata"]["name"]},
          f"[{name}] the HPA scales the Deployment: {spec['scaleTargetRef']}")
    check(spec["minReplicas"] == a["minReplicas"] >= 2 and spec["maxReplicas"] == a["maxReplicas"] >= spec["minReplicas"],
          f"[{name}] HPA min/max follow autoscaling.minReplicas/maxReplicas (min >= 2)")
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in spec["metrics"] if m["type"] == "Resource"}
    check(len(targets) == len(spec["metrics"]), f"[{name}] the HPA scales on resource metrics only")
    check(targets.get("cpu") == {"type": "Utilization", "averageUtilization": a["targetCPUUtilizationPercentage"]},
          f"[{name}] the HPA holds CPU at autoscaling.targetCPUUtilizationPercentage: {targets.get('cpu')}")
    mem = a.get("targetMemoryUtilizationPercentage")
    check(targets.get("memory") == (None if mem is None else {"type": "Utilization", "averageUtilization": mem}),
          f"[{name}] a memory target iff autoscaling.targetMemoryUtilizationPercentage: {targets.get('memory')}")
    check(spec.get("behavior", {}) == a["behavior"], f"[{name}] the HPA's behavior is autoscaling.behavior")
    requests = container(deploy).get("resources", {}).get("requests", {})
    for res in targets:
        check(res in requests, f"[{name}] the container requests {res} (the HPA's {res} target is relative to it)")


def check_dashboard_configmap(name, docs, values):
    g = values["grafanaDashboard"]
    cms = dashboard_configmaps(docs)
    if not g["enabled"]:
        check(not cms, f"[{name}] no dashboard ConfigMap without grafanaDashboard.enabled")
        return
    if not check(len(cms) == 1, f"[{name}] one dashboard ConfigMap"):
        return
    cm = cms[0]
    labels, sel = cm["metadata"].get("labels", {}), by_kind(docs, "Deployment")[0]["spec"]["selector"]["matchLabels"]
    want = dict({"grafana_dashboard": "1"}, **g["labels"])
    check(all(labels.get(k) == v for k, v in want.items()),
          f"[{name}] the dashboard ConfigMap has the sidecar's label and grafanaDashboard.labels: {labels}")
    check(labels_match(sel, labels) and "helm.sh/chart" in labels, f"[{name}] the dashboard ConfigMap has the chart's labels")
    check(cm["metadata"].get("annotations", {}) == g["annotations"], f"[{name}] the dashboard ConfigMap's annotations")
    data = cm.get("data", {})
    check(list(data) == ["dynamodb-streams-webhook.json"], f"[{name}] the ConfigMap holds one .json dashboard: {list(data)}")
    for key, text in data.items():
        try:
            dash = json.loads(text)
        except ValueError as e:
            check(False, f"[{name}] {key} is JSON: {e}")
            continue
        check(dash == DASHBOARD_FILE_JSON, f"[{name}] {key} is the chart's dashboards/dynamodb-streams-webhook.json")


def group_wiring(tools, tmp):
    tools.need_renderer()
    for name, (_, docs, values) in render_all(tools, tmp).items():
        check_wiring(name, docs, values)
    src = server_sources(tools)
    for path in ("/mutate", "/validate", "/healthz", "/readyz", "/metrics"):
        check(f'"{path}"' in src, f"the server serves {path} (a \"{path}\" literal in server/*.cpp)")
    # certManager: the issuer chain is complete
    _, docs = tools.render(["--set", "tls.mode=certManager"])
    issuers = {i["metadata"]["name"]: i for i in by_kind(docs, "Issuer")}
    certs = {c["metadata"]["name"]: c for c in by_kind(docs, "Certificate")}
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    serving = [c for c in certs.values() if not c["spec"].get("isCA")]
    check(len(serving) == 1, "certManager: one serving Certificate")
    if serving:
        spec = serving[0]["spec"]
        check(f"{svc}.{NS}.svc" in spec["dnsNames"], "certManager: the Certificate covers <svc>.<ns>.svc")
        ref = spec["issuerRef"]["name"]
        check(ref in issuers and "ca" in issuers[ref]["spec"], "certManager: serving cert is signed by the chart's CA Issuer")
        ca_secret = issuers.get(ref, {}).get("spec", {}).get("ca", {}).get("secretName")
        ca_cert = [c for c in certs.values() if c["spec"].get("secretName") == ca_secret]
        check(len(ca_cert) == 1 and ca_cert[0]["spec"].get("isCA") is True, "certManager: the CA Issuer's Secret comes from a CA Certificate")
        if ca_cert:
            check(ca_cert[0]["spec"]["issuerRef"]["name"] in issuers
                  and "selfSigned" in issuers[ca_cert[0]["spec"]["issuerRef"]["name"]]["spec"],
                  "certManager: the CA is self-signed by the chart's Issuer")
        renew, dur = duration_seconds(spec["renewBefore"]), duration_seconds(spec["duration"])
        days = load_values(tools)["prometheusRule"]["certificateExpiryDays"]
        check(renew < dur and renew > days * 86400,
              "certManager: renewal happens before the expiry alert would fire")
    _, docs = tools.render(["--set", "tls.mode=certManager", "--set", "tls.certManager.issuerRef.name=corp-ca",
                            "--set", "tls.certManager.issuerRef.kind=ClusterIssuer"])
    check(not by_kind(docs, "Issuer"), "certManager with issuerRef: no chart Issuers")
    c = by_kind(docs, "Certificate")
    check(len(c) == 1 and c[0]["spec"]["issuerRef"] == {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
          "certManager with issuerRef: the Certificate uses it")


def openssl(args, data=None):
    p = subprocess.run(["openssl"] + args, input=data, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def check_selfsigned_secret(name, docs, tmp):
    secrets = by_kind(docs, "Secret")
    if not check(len(secrets) == 1, f"[{name}] one Secret"):
        return None
    sec = secrets[0]
    check(sec["type"] == "kubernetes.io/tls", f"[{name}] Secret type kubernetes.io/tls")
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    files = {}
    for k in ("ca.crt", "tls.crt", "tls.key"):
        files[k] = os.path.join(tmp, f"{name}-{k}")
        with open(files[k], "w") as f:
            f.write(pem_from_b64(sec["data"][k]))
    rc, out = openssl(["x509", "-in", files["tls.crt"], "-noout", "-ext", "subjectAltName"])
    sans = re.findall(r"DNS:([^,\s]+)", out)
    check(rc == 0 and f"{svc}.{NS}.svc" in sans, f"[{name}] the certificate covers {svc}.{NS}.svc: {sans}")
    rc, out = openssl(["verify", "-CAfile", files["ca.crt"], "-purpose", "sslserver", files["tls.crt"]])
    check(rc == 0, f"[{name}] ca.crt verifies the serving certificate: {out.strip()}")
    rc, out = openssl(["x509", "-in", files["tls.crt"], "-noout", "-checkend", str(300 * 86400)])
    check(rc == 0, f"[{name}] the certificate is valid for more than 300 days: {out.strip()}")
    _, pub_cert = openssl(["x509", "-in", files["tls.crt"], "-noout", "-pubkey"])
    _, pub_key = openssl(["pkey", "-in", files["tls.key"], "-pubout"])
    check(pub_cert.strip() == pub_key.strip() and "BEGIN PUBLIC KEY" in pub_key,
          f"[{name}] tls.key is the certificate's private key")
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        wh = by_kind(docs, kind)[0]["webhooks"][0]
        check(pem_from_b64(wh["clientConfig"]["caBundle"]) == open(files["ca.crt"]).read(),
              f"[{name}] {kind} caBundle equals the CA that signed the certificate")
    return files


def group_selfsigned(tools, tmp):
    tools.need_renderer()
    if not shutil.which("openssl"):
        skip("openssl is not installed: the generated certificates were NOT checked")
    for name, args in (("defaults", []), ("selfSigned", ["--set", "tls.mode=selfSigned"]),
                       ("fullnameOverride", ["--set", "fullnameOverride=admission"])):
        _, docs = tools.render(args)
        check_selfsigned_secret(name, docs, tmp)


def group_upgrade(tools, tmp):
    """selfSigned mode reuses the Secret found by `lookup` on upgrade, so the caBundle is stable.

    `helm template` cannot look anything up, so this renders a copy of the chart in which the
    lookup call alone is replaced by reading a file that holds the Secret of a first render.
    """
    tools.need_renderer()
    text1, docs1 = tools.render([])
    _, docs2 = tools.render([])
    s1, s2 = by_kind(docs1, "Secret")[0], by_kind(docs2, "Secret")[0]
    check(s1["data"]["ca.crt"] != s2["data"]["ca.crt"],
          "without an existing Secret every render generates a new CA (what `helm template` users get)")
    chart = os.path.join(tmp, "chart")
    shutil.copytree(tools.chart, chart)
    wpath = os.path.join(chart, "templates", "webhook.yaml")
    src = open(wpath).read()
    call = 'lookup "v1" "Secret" .Release.Namespace $secretName'
    if not check(src.count(call) == 1, "webhook.yaml looks the Secret up exactly once"):
        return
    with open(wpath, "w") as f:
        f.write(src.replace(call, '.Files.Get "existing-secret.yaml" | fromYaml'))
    with open(os.path.join(chart, "existing-secret.yaml"), "w") as f:
        yaml.safe_dump(s1, f)
    _, docs3 = tools.render([], chart=chart)
    s3 = by_kind(docs3, "Secret")[0]
    check(s3["data"] == s1["data"], "upgrade: the existing Secret's certificate and key are kept")
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        wh = by_kind(docs3, kind)[0]["webhooks"][0]
        check(wh["clientConfig"]["caBundle"] == s1["data"]["ca.crt"], f"upgrade: {kind} caBundle unchanged")
    # a Secret without ca.crt (not ours, or damaged) is replaced by a fresh, consistent pair
    broken = copy.deepcopy(s1)
    del broken["data"]["ca.crt"]
    with open(os.path.join(chart, "existing-secret.yaml"), "w") as f:
        yaml.safe_dump(broken, f)
    _, docs4 = tools.render([], chart=chart)
    s4 = by_kind(docs4, "Secret")[0]
    check(s4["data"]["tls.crt"] != s1["data"]["tls.crt"] and "ca.crt" in s4["data"],
          "upgrade: an incomplete Secret is regenerated")
    check_selfsigned_secret("regenerated", docs4, tmp)


def serve_help(tools):
    if not tools.binary or not os.path.exists(tools.binary):
        return None, f"binary {tools.binary} not found"
    p = subprocess.run([tools.binary, "serve", "--help"], capture_output=True, text=True, timeout=30)
    return p, None


def group_flags(tools, tmp):
    tools.need_renderer()
    p, err = serve_help(tools)
    if err:
        check(False, err)
        return
    help_text = p.stdout + p.stderr
    check(p.returncode == 0, f"`dynamodb-streams-webhook serve --help` exits 0 (rc={p.returncode}: {help_text.strip()[:200]})")
    documented = set(re.findall(r"--([a-z][a-z0-9-]*)", help_text))
    passed = set()
    for name, (_, docs, _) in render_all(tools, tmp).items():
        for d in by_kind(docs, "Deployment"):
            args = container(d)["args"]
            check(args[0] == "serve", f"[{name}] first argument is the serve command")
            passed |= {n for n, _ in parse_args_list(args[1:])}
    print(f"flags the chart passes: {', '.join(sorted(passed))}")
    for flag in sorted(passed):
        check(flag in documented, f"--{flag} (passed by the chart) is listed by `serve --help`")
    # every value the chart's schema allows for a flag is one the server accepts (and a bogus one
    # is refused naming the flag, which shows the probe works): the flags are parsed before the
    # certificate files, which do not exist here
    schema = json.load(open(os.path.join(tools.chart, "values.schema.json")))["properties"]
    for flag, path in (("log-level", ["logLevel"]), ("log-format", ["logFormat"]),
                       ("tls-min-version", ["server", "tlsMinVersion"]),
                       ("enforcement", ["admission", "enforcement"]),
                       ("unknown-properties", ["admission", "unknownProperties"]),
                       ("view-type-change", ["admission", "viewTypeChange"]),
                       ("max-request-bytes", ["server", "maxRequestBytes"])):
        node = schema
        for k in path[:-1]:
            node = node[k]["properties"]
        values = node[path[-1]]["enum"] if "enum" in node[path[-1]] else [str(node[path[-1]]["minimum"]), "4194304"]
        for value in values + ["bogus"]:
            p = subprocess.run([tools.binary, "serve", f"--{flag}={value}", "--port=0",
                                "--bind-address=127.0.0.1", "--tls-cert-file=/nonexistent/tls.crt",
                                "--tls-private-key-file=/nonexistent/tls.key"],
                               capture_output=True, text=True, timeout=20)
            out = p.stdout + p.stderr
            if value == "bogus":
                check(p.returncode != 0 and f"--{flag}" in out, f"the server refuses --{flag}=bogus naming the flag: {out.strip()[:200]}")
            else:
                check(f"--{flag}" not in out and p.returncode != 0,
                      f"the server accepts --{flag}={value} ({'.'.join(path)} allows it): {out.strip()[:200]}")


def own_metrics(exprs):
    """The webhook's own metric names in PromQL expressions (not up, kube-state-metrics' kube_*)."""
    return {n for n in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{", exprs)
            if n != "up" and not n.startswith("kube_")}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def group_serve(tools, tmp):
    """Starts the binary with the chart's own arguments and generated certificate, and talks to it
    the way the apiserver and the kubelet do: TLS verified with the caBundle for <svc>.<ns>.svc."""
    tools.need_renderer()
    p, err = serve_help(tools)
    if err or p.returncode != 0:
        check(False, f"`serve` is not available: {err or (p.stdout + p.stderr).strip()[:200]}")
        return
    _, docs = tools.render([])
    files = check_selfsigned_secret("serve", docs, tmp)
    deploy = by_kind(docs, "Deployment")[0]
    port = free_port()
    run = local_serve_args(container(deploy)["args"], port, files)
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    ctx = ssl.create_default_context(cafile=files["ca.crt"])
    log = open(os.path.join(tmp, "serve.log"), "w+")
    proc = subprocess.Popen([tools.binary] + run, stdout=log, stderr=subprocess.STDOUT)
    try:
        call = chart_caller(ctx, svc, port)
        status = wait_ready(call, proc)
        log.seek(0)
        check(status == 200, f"the server started with the chart's arguments is ready (GET /readyz = {status}); log: {log.read()[-800:]}")
        if status != 200:
            return
        status, _ = call("GET", "/healthz")
        check(status == 200, f"GET /healthz = {status}")
        status, body = call("GET", "/metrics")
        check(status == 200, f"GET /metrics = {status}")
        _, mdocs = tools.render(["--set", "prometheusRule.enabled=true"])
        exprs = " ".join(r["expr"] for pr in by_kind(mdocs, "PrometheusRule") for g in pr["spec"]["groups"] for r in g["rules"])
        exported = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", body.decode(errors="replace"), re.M))
        for n in sorted(own_metrics(exprs)):
            check(n in exported, f"metric {n} used by the PrometheusRule is in GET /metrics")
        app = {"apiVersion": "core.oam.dev/v1beta1", "kind": "Application",
               "metadata": {"name": "a", "namespace": "default"},
               "spec": {"components": [{"name": "t", "type": "aws-dynamodb-kro", "properties": {},
                                        "traits": [{"type": "dynamodb-streams-kro", "properties": {"viewType": "NEW_IMAGES"}}]}]}}
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "request": {"uid": "u-1", "kind": {"group": "core.oam.dev", "version": "v1beta1", "kind": "Application"},
                              "resource": {"group": "core.oam.dev", "version": "v1beta1", "resource": "applications"},
                              "namespace": "default", "name": "a", "operation": "CREATE", "object": app,
                              "userInfo": {"username": "test"}}}
        for path, want_allowed in (("/validate", False), ("/mutate", None)):
            status, body = call("POST", path, json.dumps(review).encode())
            ok = status == 200
            try:
                resp = json.loads(body)["response"]
            except (ValueError, KeyError):
                resp, ok = {}, False
            check(ok and resp.get("uid") == "u-1" and (want_allowed is None or resp.get("allowed") is want_allowed),
                  f"POST {path} through the chart's wiring answers the review: {status} {body[:200]!r}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            check(False, "the server stops within 40 s of SIGTERM")
        log.close()
    serve_client_ca(tools, tmp)


def make_client_cert(tmp, tag):
    """A CA and a client certificate (clientAuth) it signed, made with openssl."""
    d = os.path.join(tmp, f"client-{tag}")
    os.makedirs(d)
    f = {k: os.path.join(d, k) for k in ("ca.key", "ca.crt", "client.key", "client.csr", "client.crt", "ext")}
    with open(f["ext"], "w") as out:
        out.write("extendedKeyUsage=clientAuth\n")
    for args in (["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f["ca.key"], "-out", f["ca.crt"],
                  "-days", "2", "-subj", f"/CN=client-ca-{tag}"],
                 ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f["client.key"], "-out", f["client.csr"],
                  "-subj", "/CN=kube-apiserver"],
                 ["x509", "-req", "-in", f["client.csr"], "-CA", f["ca.crt"], "-CAkey", f["ca.key"],
                  "-CAcreateserial", "-out", f["client.crt"], "-days", "1", "-extfile", f["ext"]]):
        rc, out = openssl(args)
        if not check(rc == 0, f"openssl {args[0]}: {out.strip()[:200]}"):
            return None
    return f


def serve_client_ca(tools, tmp):
    """With tls.clientCA the chart's arguments make the server require a client certificate signed by
    the mounted CA: the apiserver's (signed by it) gets answers, a client without one or with one from
    another CA is refused in the handshake, and a plain TCP connect (the chart's probes) succeeds."""
    _, docs = tools.render(["--set", "tls.clientCA.enabled=true",
                            "--set", "tls.clientCA.existingConfigMap=apiserver-client-ca"])
    files = check_selfsigned_secret("serve-clientCA", docs, tmp)
    good, other = make_client_cert(tmp, "good"), make_client_cert(tmp, "other")
    if not files or not good or not other:
        return
    args = container(by_kind(docs, "Deployment")[0])["args"]
    port, run, replaced = free_port(), [], 0
    for a in args:
        if a.startswith("--port="):
            a = f"--port={port}"
        elif a.startswith("--tls-cert-file="):
            a = f"--tls-cert-file={files['tls.crt']}"
        elif a.startswith("--tls-private-key-file="):
            a = f"--tls-private-key-file={files['tls.key']}"
        elif a.startswith("--client-ca-file="):
            a, replaced = f"--client-ca-file={good['ca.crt']}", replaced + 1
        elif a.startswith("--shutdown-delay="):
            a = "--shutdown-delay=0s"
        run.append(a)
    if not check(replaced == 1, "the chart passes --client-ca-file=PATH once with tls.clientCA"):
        return
    run.append("--bind-address=127.0.0.1")
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    log = open(os.path.join(tmp, "serve-client-ca.log"), "w+")
    proc = subprocess.Popen([tools.binary] + run, stdout=log, stderr=subprocess.STDOUT)

    def call(client, method, path, body=None):
        ctx = ssl.create_default_context(cafile=files["ca.crt"])
        if client:
            ctx.load_cert_chain(client["client.crt"], client["client.key"])
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        c = http.client.HTTPSConnection(f"{svc}.{NS}.svc", port, context=ctx, timeout=5)
        c.sock = ctx.wrap_socket(sock, server_hostname=f"{svc}.{NS}.svc")
        c.request(method, path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    try:
        deadline, status = time.time() + 15, None
        while time.time() < deadline and proc.poll() is None:
            try:
                status, _ = call(good, "GET", "/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        log.seek(0)
        check(status == 200, f"with the apiserver's client certificate, GET /readyz = {status}; log: {log.read()[-800:]}")
        if status != 200:
            return
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "request": {"uid": "c-1", "kind": {"group": "core.oam.dev", "version": "v1beta1", "kind": "Application"},
                              "resource": {"group": "core.oam.dev", "version": "v1beta1", "resource": "applications"},
                              "namespace": "default", "name": "a", "operation": "CREATE", "userInfo": {"username": "test"},
                              "object": {"apiVersion": "core.oam.dev/v1beta1", "kind": "Application",
                                         "metadata": {"name": "a", "namespace": "default"}, "spec": {"components": []}}}}
        status, body = call(good, "POST", "/validate", json.dumps(review).encode())
        check(status == 200 and b'"c-1"' in body, f"with a client certificate, POST /validate answers: {status} {body[:200]!r}")
        for who, client in (("without a client certificate", None), ("with a certificate of another CA", other)):
            try:
                status, _ = call(client, "GET", "/healthz")
                refused = False
            except (ssl.SSLError, OSError) as e:
                refused, status = True, repr(e)[:120]
            check(refused, f"a client {who} is refused (got {status})")
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            check(True, "")
        check(proc.poll() is None, "the server still runs after refused handshakes (the TCP probe connects)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            check(False, "the server stops within 40 s of SIGTERM")
        log.close()


def render_notes(tools, tmp, extra):
    """helm-template does not print NOTES.txt; render it through a wrapper template."""
    chart = os.path.join(tmp, "notes-chart")
    if os.path.exists(chart):
        shutil.rmtree(chart)
    shutil.copytree(tools.chart, chart)
    notes = open(os.path.join(chart, "templates", "NOTES.txt")).read()
    with open(os.path.join(chart, "templates", "_notes.tpl"), "w") as f:
        f.write('{{- define "dsw.test.notes" -}}\n' + notes + "\n{{- end -}}\n")
    with open(os.path.join(chart, "templates", "zz-notes.yaml"), "w") as f:
        f.write('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n'
                '{{ include "dsw.test.notes" . | indent 4 }}\n')
    _, docs = tools.render(extra, chart=chart)
    return [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "notes"][0]["data"]["notes"]


def group_notes(tools, tmp):
    tools.need_renderer()
    notes = render_notes(tools, tmp, [])
    print(notes)
    _, docs = tools.render([])
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    check(f"rollout status deployment/{by_kind(docs, 'Deployment')[0]['metadata']['name']}" in notes,
          "NOTES tell how to wait for the rollout")
    check("--dry-run=server" in notes, "NOTES check the webhook with a server-side dry run")
    wh = by_kind(docs, "ValidatingWebhookConfiguration")[0]["webhooks"][0]["name"]
    check(wh in notes, "NOTES name the validating webhook the denial comes from")
    m = re.search(r"cat <<'YAML'.*?\n(.*?)\n\s*YAML\n", notes, re.S)
    if not check(m is not None, "NOTES hold an Application manifest to apply"):
        return
    lines = m.group(1).splitlines()
    indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
    app = yaml.safe_load("\n".join(l[indent:] for l in lines))
    check(app.get("kind") == "Application", "the NOTES manifest is an Application")
    ns_match = re.search(r"kubectl apply --dry-run=server -n (\S+)", notes)
    check(ns_match and ns_match.group(1) not in (NS, "kube-system"), "the dry run targets a namespace the webhook covers")
    if not tools.binary or not os.path.exists(tools.binary):
        check(False, f"binary {tools.binary} not found to check the NOTES manifest")
        return

    def review(obj, *flags):
        rv = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": "n-1", "kind": {"group": "core.oam.dev", "version": "v1beta1", "kind": "Application"},
                          "resource": {"group": "core.oam.dev", "version": "v1beta1", "resource": "applications"},
                          "namespace": "default", "name": obj["metadata"]["name"], "operation": "CREATE",
                          "object": obj, "userInfo": {"username": "test"}, "dryRun": True}}
        p = subprocess.run([tools.binary, "review", "--validate", *flags, "-"], input=json.dumps(rv),
                           capture_output=True, text=True, timeout=30)
        try:
            return json.loads(p.stdout)["response"]
        except (ValueError, KeyError):
            return {"error": p.stdout + p.stderr}

    bad = review(app)
    check(bad.get("allowed") is False and "viewType" in json.dumps(bad),
          f"the NOTES' bad Application is denied, naming viewType: {json.dumps(bad)[:300]}")
    good = json.loads(json.dumps(app).replace("NEW_IMAGES", "NEW_IMAGE"))
    check(review(good).get("allowed") is True, "with viewType NEW_IMAGE, as the NOTES say, it is allowed")
    warn = render_notes(tools, tmp, ["--set", "admission.enforcement=warn"])
    warned = review(app, "--enforcement=warn")
    check(warned.get("allowed") is True and any(
              w.startswith("spec.components[0].traits[0].properties.viewType: ") for w in warned.get("warnings", []))
          and 'Warning: spec.components[0].traits[0].properties.viewType: ' in warn
          and "is denied" not in warn and "is denied" in notes and 'outcome="warned"' in warn,
          f"with admission.enforcement=warn, NOTES expect the bad Application admitted with the warning "
          f"the server gives: {json.dumps(warned)[:300]}")
    single = render_notes(tools, tmp, ["--set", "replicaCount=1"])
    check("WARNING" in single and "WARNING" not in notes, "NOTES warn about a single replica only when there is one")
    scaled = render_notes(tools, tmp, ["--set", "replicaCount=1", "--set", "autoscaling.enabled=true"])
    check("WARNING" not in scaled, "NOTES do not warn about replicaCount=1 when the HPA (minReplicas >= 2) decides")
    check("Ignore" not in notes and "REJECTED" in notes, "NOTES state what failurePolicy=Fail means")
    cca = render_notes(tools, tmp, ["--set", "tls.clientCA.enabled=true",
                                    "--set", "tls.clientCA.existingConfigMap=apiserver-client-ca"])
    check("--cert" in cca and "ConfigMap apiserver-client-ca" in cca and "--cert" not in notes,
          "with tls.clientCA, NOTES' curl presents a client certificate and name the CA's ConfigMap")


# ---------------------------------------------------------------------------------------------
# PromQL: which metrics and labels an expression names (for the dashboard and the PrometheusRule)

PROMQL_AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                      "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
PROMQL_FUNCTIONS = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
    "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month",
    "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "double_exponential_smoothing",
    "exp", "floor", "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile",
    "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase",
    "info", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time",
    "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time",
    "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort",
    "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time",
    "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year"}
# keywords followed by a parenthesised list of label names
PROMQL_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
PROMQL_KEYWORDS = {"bool", "and", "or", "unless", "atan2", "offset"}
# Grafana's variables that may stand in PromQL (ranges, intervals)
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s", "__range_ms"}
# Functions whose argument must be a counter (or a histogram's _bucket/_sum/_count series)
COUNTER_FUNCTIONS = {"rate", "irate", "increase", "resets"}

PROMQL_TOKEN = re.compile(r"""
   (?P<ws>\s+)
 | (?P<comment>\#[^\n]*)
 | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
 | (?P<var>\$\{[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z0-9_]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z_][A-Za-z0-9_]*\]\])
 | (?P<dur>(?:[0-9]+(?:ms|s|m|h|d|w|y))+)
 | (?P<num>0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
 | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
 | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@:])
""", re.X)


def promql_tokens(expr):
    toks, pos = [], 0
    while pos < len(expr):
        m = PROMQL_TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot read {expr[pos:pos + 20]!r} at offset {pos}")
        if m.lastgroup not in ("ws", "comment"):
            toks.append((m.lastgroup, m.group()))
        pos = m.end()
    return toks


def promql_unquote(tok):
    kind, text = tok
    return text[1:-1] if kind == "str" else text


def analyze_promql(expr):
    """What a PromQL expression (with Grafana variables) names: a dict with
         refs:      [{"metric", "matchers": [(label, op, value)], "tok", "counter_fn"}] - every vector
                    selector (a bare identifier not followed by "(" and not a keyword is a metric name);
         groupings: [{"clause", "labels", "metrics"}] - every by/without/on/ignoring/group_* list, with the
                    metrics its labels must exist on (the aggregated argument for by/without; the whole
                    expression for the binary-matching lists);
         aggregated: set of indexes into refs that sit inside an aggregation's argument;
         variables: the Grafana variables used; errors: what could not be understood.
    Aggregations and function calls are recognised by name (PROMQL_AGGREGATORS, PROMQL_FUNCTIONS): an
    unknown identifier before "(" is reported, never taken for a metric."""
    out = {"refs": [], "groupings": [], "aggregated": set(), "variables": set(), "errors": []}
    try:
        toks = promql_tokens(expr)
    except ValueError as e:
        out["errors"].append(str(e))
        return out
    # Grafana variables, in label values ("$job") as well as in place of a range ([$__rate_interval])
    out["variables"] = {a or b or c for a, b, c in
                        re.findall(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)|\[\[([A-Za-z_]\w*)\]\]", expr)}
    n, match, stack = len(toks), {}, []
    pairs = {")": "(", "]": "[", "}": "{"}
    for i, (k, v) in enumerate(toks):
        if k == "op" and v in "([{":
            stack.append(i)
        elif k == "op" and v in ")]}":
            if not stack or toks[stack[-1]][1] != pairs[v]:
                out["errors"].append(f"unbalanced {v!r}")
                return out
            j = stack.pop()
            match[i], match[j] = j, i
    if stack:
        out["errors"].append(f"unclosed {toks[stack[-1]][1]!r}")
        return out

    def is_op(i, v):
        return 0 <= i < n and toks[i] == ("op", v)

    def label_list(open_i):
        close, labels, expect_name = match[open_i], [], True
        for t in toks[open_i + 1:close]:
            if expect_name and t[0] in ("ident", "str"):
                labels.append(promql_unquote(t))
                expect_name = False
            elif not expect_name and t == ("op", ","):
                expect_name = True
            else:
                out["errors"].append(f"unexpected {t[1]!r} in a label list")
        return labels

    def matchers(open_i):
        close, found, i = match[open_i], [], open_i + 1
        while i < close:
            if toks[i] == ("op", ","):
                i += 1
                continue
            if (i + 2 < close + 1 and toks[i][0] in ("ident", "str") and toks[i + 1][0] == "op"
                    and toks[i + 1][1] in ("=", "!=", "=~", "!~") and toks[i + 2][0] == "str"):
                found.append((promql_unquote(toks[i]), toks[i + 1][1], promql_unquote(toks[i + 2])))
                i += 3
            else:
                out["errors"].append(f"cannot read the matcher at {toks[i][1]!r}")
                return found
        return found

    agg_spans = []  # (open, close) token spans of aggregation arguments
    pending = []    # (clause, labels, span or None = whole expression)
    i = 0
    while i < n:
        k, v = toks[i]
        if k == "op" and v == "[":        # a range or subquery: durations and variables only
            i = match[i] + 1
            continue
        if k == "op" and v == "{":        # a selector without a metric name before it
            ms = matchers(i)
            names = [val for lab, op, val in ms if lab == "__name__" and op == "="]
            if names:
                out["refs"].append({"metric": names[0], "matchers": ms, "tok": i, "counter_fn": None})
            else:
                out["errors"].append("a selector without a metric name")
            i = match[i] + 1
            continue
        if k != "ident":
            i += 1
            continue
        if v in PROMQL_LABEL_LISTS:
            if not is_op(i + 1, "("):
                if v in ("group_left", "group_right"):
                    i += 1
                    continue
                out["errors"].append(f"{v} without a label list")
                i += 1
                continue
            labels = label_list(i + 1)
            close = match[i + 1]
            span = None
            if v in ("by", "without"):
                if is_op(close + 1, "("):                    # sum by (l) (arg)
                    span = (close + 1, match[close + 1])
                elif is_op(i - 1, ")"):                      # sum (arg) by (l)
                    span = (match[i - 1], i - 1)
                else:
                    out["errors"].append(f"{v} ({', '.join(labels)}) is not attached to an aggregation")
            pending.append((v, labels, span))
            i = close + 1
            continue
        if v in PROMQL_KEYWORDS or v.lower() in ("inf", "nan"):
            if v == "offset":
                i += 1
            i += 1
            continue
        if is_op(i - 1, "@") and v in ("start", "end"):
            i += 1
            continue
        if v in PROMQL_AGGREGATORS and (is_op(i + 1, "(") or (i + 1 < n and toks[i + 1][1] in ("by", "without"))):
            j = i + 1
            if toks[j][1] in ("by", "without") and is_op(j + 1, "("):
                j = match[j + 1] + 1
            if is_op(j, "("):
                agg_spans.append((j, match[j]))
            else:
                out["errors"].append(f"aggregation {v} without an argument")
            i += 1
            continue
        if is_op(i + 1, "("):
            if v not in PROMQL_FUNCTIONS:
                out["errors"].append(f"unknown function {v}()")
            i += 1
            continue
        fn = toks[i - 2][1] if is_op(i - 1, "(") and i >= 2 and toks[i - 2][0] == "ident" else None
        ref = {"metric": v, "matchers": [], "tok": i, "counter_fn": fn if fn in COUNTER_FUNCTIONS else None}
        if is_op(i + 1, "{"):
            ref["matchers"] = matchers(i + 1)
            i = match[i + 1] + 1
        else:
            i += 1
        out["refs"].append(ref)
    for idx, ref in enumerate(out["refs"]):
        if any(a < ref["tok"] < b for a, b in agg_spans):
            out["aggregated"].add(idx)
    for clause, labels, span in pending:
        metrics = [r["metric"] for r in out["refs"] if span is None or span[0] < r["tok"] < span[1]]
        if not metrics:
            out["errors"].append(f"{clause} ({', '.join(labels)}) applies to no metric")
        out["groupings"].append({"clause": clause, "labels": labels, "metrics": metrics})
    return out


def grafana_variable_query(q):
    """label_values(SELECTOR, LABEL) -> (SELECTOR, LABEL); other variable query forms are refused."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q, re.S)
    return (m.group(1), m.group(2)) if m else (None, None)


# Labels Prometheus puts on every series it scrapes through the chart's ServiceMonitor (the
# operator's relabelling: namespace, service, pod, container, endpoint, job; instance from the
# address). They are not in /metrics, so they are allowed by name.
SCRAPE_TARGET_LABELS = {"namespace", "service", "pod", "container", "endpoint", "job", "instance"}
# Metrics that do not come from `serve`, with the labels the expressions may use on them.
OTHER_METRICS = {
    "up": SCRAPE_TARGET_LABELS,  # made by Prometheus for every target it scrapes
    # kube-state-metrics: its own labels only (its job/pod/instance name kube-state-metrics' pod, so
    # an expression filtering them by the webhook's job would match nothing)
    "kube_deployment_status_replicas_available": {"namespace", "deployment"},
    "kube_deployment_spec_replicas": {"namespace", "deployment"},
}
OWN_METRIC_PREFIXES = ("dynamodb_streams_webhook_", "process_")


def parse_exposition(text):
    """Prometheus text format -> ({family: type}, {series name: {label: {values}}}, problems)."""
    types, series, problems = {}, {}, []
    sample = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$')
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) == 4:
                types[parts[2]] = parts[3]
            continue
        if not line.strip() or line.startswith("#"):
            continue
        m = sample.match(line)
        if not m:
            problems.append(f"unreadable sample line {line!r}")
            continue
        name = m.group(1)
        labels = series.setdefault(name, {})
        for k, v in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""):
            labels.setdefault(k, set()).add(v)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in types and not (base != name and types.get(base) in ("histogram", "summary")):
            problems.append(f"sample {name} has no # TYPE line of its family")
    return types, series, problems


def series_type(name, types):
    if name in types:
        return types[name]
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    return f"{types[base]}{name[len(base):]}" if base != name and base in types else None


def promql_problems(where, expr, types, series, variables):
    """Everything wrong with one expression against a live /metrics (types, series) and the
    dashboard's variables; an empty list when it only names what serve exports (or OTHER_METRICS)."""
    a = analyze_promql(expr)
    probs = [f"{where}: {e}" for e in a["errors"]]

    def labels_of(metric):
        if metric in series:
            return set(series[metric]) | SCRAPE_TARGET_LABELS
        return OTHER_METRICS.get(metric)

    if not a["refs"]:
        probs.append(f"{where}: names no metric")
    for ref in a["refs"]:
        metric, known = ref["metric"], labels_of(ref["metric"])
        if known is None:
            what = ("is not in the live /metrics" if metric.startswith(OWN_METRIC_PREFIXES)
                    else "is neither exported by serve nor in the allowed list (OTHER_METRICS)")
            probs.append(f"{where}: metric {metric} {what}")
            continue
        for label, op, value in ref["matchers"]:
            if label == "__name__":
                continue
            if label not in known:
                probs.append(f"{where}: {metric} has no label {label} (has: {', '.join(sorted(known))})")
            elif (op == "=" and metric in series and label in series[metric] and "$" not in value
                  and value not in series[metric][label]):
                probs.append(f"{where}: {metric}{{{label}=\"{value}\"}} matches nothing: serve exports "
                             f"{label} = {', '.join(sorted(series[metric][label]))}")
        if ref["counter_fn"] and metric in series:
            t = series_type(metric, types)
            if t not in ("counter", "histogram_bucket", "histogram_sum", "histogram_count"):
                probs.append(f"{where}: {ref['counter_fn']}() of {metric}, which is a {t}, not a counter")
    for g in a["groupings"]:
        for label in g["labels"]:
            for metric in g["metrics"]:
                known = labels_of(metric)
                if known is not None and label not in known:
                    probs.append(f"{where}: {g['clause']} ({label}): {metric} has no label {label}")
    for v in sorted(a["variables"] - GRAFANA_BUILTINS - set(variables)):
        probs.append(f"{where}: variable ${v} is not defined by the dashboard")
    return probs


def dashboard_panels(dash):
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])  # the panels of a collapsed row


def dashboard_exprs(dash):
    """(where, expr) of every PromQL expression of the dashboard: panel targets and variable queries
    (label_values(SELECTOR, LABEL): SELECTOR is checked as PromQL and LABEL as a label of it)."""
    out, var_labels = [], []
    for p in dashboard_panels(dash):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append((f"panel {p.get('title')!r} {t.get('refId')}", t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        sel, label = grafana_variable_query(q or "")
        where = f"variable ${v.get('name')}"
        if sel is None:
            out.append((where, f"unsupported_variable_query({q!r})"))
            continue
        out.append((where, sel))
        var_labels.append((where, sel, label))
    return out, var_labels


def rule_exprs(docs):
    return [(f"alert {r.get('alert') or r.get('record')}", r["expr"])
            for pr in by_kind(docs, "PrometheusRule") for g in pr["spec"]["groups"] for r in g["rules"]]


def check_promql_against(exprs, var_labels, variables, metrics_text):
    types, series, problems = parse_exposition(metrics_text)
    for p in problems:
        check(False, f"/metrics: {p}")
    for where, expr in exprs:
        probs = promql_problems(where, expr, types, series, variables)
        for p in probs:
            check(False, p)
        if not probs:
            check(True, "")
    for where, sel, label in var_labels:
        refs = analyze_promql(sel)["refs"]
        for ref in refs:
            known = set(series.get(ref["metric"], {})) | SCRAPE_TARGET_LABELS
            check(label in known, f"{where}: label_values(..., {label}): {ref['metric']} has no label {label}")
    return types, series


def scrape_live_metrics(tools, tmp):
    """Starts `serve` with the chart's own arguments and generated certificate, sends reviews that
    end allowed, denied, patched and in an error, a 404, then returns GET /metrics (None on failure)."""
    p, err = serve_help(tools)
    if err or p.returncode != 0:
        check(False, f"`serve` is not available: {err or (p.stdout + p.stderr).strip()[:200]}")
        return None
    _, docs = tools.render([])
    files = check_selfsigned_secret("live", docs, tmp)
    if not files:
        return None
    port = free_port()
    run = local_serve_args(container(by_kind(docs, "Deployment")[0])["args"], port, files)
    ctx = ssl.create_default_context(cafile=files["ca.crt"])
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    log = open(os.path.join(tmp, "live.log"), "w+")
    proc = subprocess.Popen([tools.binary] + run, stdout=log, stderr=subprocess.STDOUT)

    call = chart_caller(ctx, svc, port)

    def review(uid, view_type):
        app = {"apiVersion": "core.oam.dev/v1beta1", "kind": "Application",
               "metadata": {"name": "a", "namespace": "default"},
               "spec": {"components": [{"name": "t", "type": "aws-dynamodb-kro", "properties": {"tableName": "t"},
                                        "traits": [{"type": "dynamodb-streams-kro",
                                                    "properties": {"viewType": view_type}}]}]}}
        return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "request": {"uid": uid, "kind": {"group": "core.oam.dev", "version": "v1beta1", "kind": "Application"},
                                       "resource": {"group": "core.oam.dev", "version": "v1beta1", "resource": "applications"},
                                       "namespace": "default", "name": "a", "operation": "CREATE", "object": app,
                                       "userInfo": {"username": "test"}}}).encode()
    try:
        status = wait_ready(call, proc)
        log.seek(0)
        if not check(status == 200, f"the server started with the chart's arguments is ready: {status}; log: {log.read()[-800:]}"):
            return None
        sent = [("/validate", review("l-1", "NEW_IMAGES"), 200), ("/validate", review("l-2", "NEW_IMAGE"), 200),
                ("/mutate", review("l-3", "NEW_IMAGE"), 200), ("/validate", b"{not a review", 400)]
        for path, body, want in sent:
            status, data = call("POST", path, body)
            check(status == want, f"POST {path} answers {want}: {status} {data[:150]!r}")
        status, _ = call("GET", "/no-such-path")
        check(status == 404, f"GET /no-such-path answers 404: {status}")
        status, body = call("GET", "/metrics")
        check(status == 200, f"GET /metrics = {status}")
        return body.decode(errors="replace") if status == 200 else None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            check(False, "the server stops within 40 s of SIGTERM")
        log.close()


# Broken expressions the check must refuse, each with the problem it must name: proof that a
# misspelling in the dashboard or the rule cannot pass.
PROMQL_MUST_FAIL = [
    ('sum(rate(dynamodb_streams_webhook_admision_requests_total{job="$job"}[5m]))', "admision_requests_total"),
    ('sum by (endpoint) (rate(dynamodb_streams_webhook_admission_request_duration_seconds[5m]))',
     "admission_request_duration_seconds is not in the live"),
    ('sum(rate(dynamodb_streams_webhook_admission_requests_total{verdict="denied"}[5m]))', "no label verdict"),
    ('sum by (path) (rate(dynamodb_streams_webhook_http_responses_total[5m]))', "no label path"),
    ('sum(rate(dynamodb_streams_webhook_admission_requests_total{outcome="errors"}[5m]))', 'outcome="errors"'),
    ('sum(rate(dynamodb_streams_webhook_requests_in_flight[5m]))', "not a counter"),
    ('sum(kube_deployment_status_replicas_available{job="$job"})', "no label job"),
    ('sum(kube_pod_container_status_restarts_total)', "allowed list"),
    ('sum(rate(process_cpu_second_total[5m]))', "process_cpu_second_total"),
    ('sum(rate(dynamodb_streams_webhook_admission_requests_total{namespace="$namespce"}[5m]))', "$namespce"),
    ('sumby (endpoint) (rate(dynamodb_streams_webhook_admission_requests_total[5m]))', "unknown function"),
    ('sum(rate(dynamodb_streams_webhook_admission_requests_total[5m])', "unclosed"),
]


def group_dashboard(tools, tmp):
    """The Grafana dashboard ConfigMap and JSON, then every PromQL expression of the dashboard and of
    the PrometheusRule against the /metrics of a running `serve`: each metric they name must be a
    series serve exports (histogram _bucket/_sum/_count included) or one of OTHER_METRICS, each label
    they match on or group by must be on it (or be a scrape target label), an equality matcher's value
    must be one serve exports, and rate()/increase() must be applied to counters."""
    tools.need_renderer()
    # (enforcement warn: the rule then holds its would-be-denials alert too)
    _, docs = tools.render(["--set", "grafanaDashboard.enabled=true", "--set", "prometheusRule.enabled=true",
                            "--set", "serviceMonitor.enabled=true", "--set", "admission.enforcement=warn"])
    cms = dashboard_configmaps(docs)
    if not check(len(cms) == 1, "grafanaDashboard.enabled renders one dashboard ConfigMap"):
        return
    cm = cms[0]
    check(cm["metadata"]["labels"].get("grafana_dashboard") == "1", "the ConfigMap has the sidecar's label grafana_dashboard: \"1\"")
    dash = json.loads(cm["data"]["dynamodb-streams-webhook.json"])
    check(dash == DASHBOARD_FILE_JSON, "the ConfigMap holds dashboards/dynamodb-streams-webhook.json unchanged")
    # the dashboard's shape: what Grafana needs to import it and what the issue asks it to show
    check(isinstance(dash.get("schemaVersion"), int) and 36 <= dash["schemaVersion"] <= 41,
          f"schemaVersion is a current one (36-41): {dash.get('schemaVersion')}")
    check(dash.get("uid") and len(dash["uid"]) <= 40 and dash.get("title") and dash.get("id") is None,
          "the dashboard has a uid (at most 40 characters), a title and no database id")
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          "a ${datasource} variable chooses a Prometheus data source")
    check({"namespace", "job"} <= set(variables), f"namespace and job variables select the release: {sorted(variables)}")
    ids, cells, overlaps = set(), {}, set()
    panels = list(dashboard_panels(dash))
    for p in panels:
        check(p.get("id") not in ids, f"panel id {p.get('id')} is unique")
        ids.add(p.get("id"))
        gp = p.get("gridPos", {})
        check(all(isinstance(gp.get(k), int) for k in "hwxy") and gp["x"] + gp["w"] <= 24,
              f"panel {p.get('title')!r} has a gridPos inside the 24 columns: {gp}")
        for x in range(gp.get("x", 0), gp.get("x", 0) + gp.get("w", 0)):
            for y in range(gp.get("y", 0), gp.get("y", 0) + gp.get("h", 0)):
                other = cells.setdefault((x, y), p.get("id"))
                if other != p.get("id"):
                    overlaps.add((p.get("id"), other))
        if p.get("type") == "row":
            continue
        check(p.get("type") in ("timeseries", "stat", "gauge", "table", "bargauge"), f"panel {p.get('title')!r} type {p.get('type')}")
        check(p.get("datasource") == {"type": "prometheus", "uid": "${datasource}"}
              and all(t.get("datasource") == p["datasource"] for t in p.get("targets", [])),
              f"panel {p.get('title')!r} and its queries use ${{datasource}}")
        check(p.get("targets"), f"panel {p.get('title')!r} has queries")
    check(not overlaps, f"no two panels overlap (panel ids): {sorted(overlaps)}")
    exprs, var_labels = dashboard_exprs(dash)
    analyses = [(w, e, analyze_promql(e)) for w, e in exprs if w.startswith("panel")]

    def panel_with(pred):
        return any(pred(w, e, a) for w, e, a in analyses)

    def names(a):
        return {r["metric"] for r in a["refs"]}

    def by_labels(a):
        return {l for g in a["groupings"] if g["clause"] == "by" for l in g["labels"]}
    wanted = [
        ("request rate by endpoint and outcome, no outcome filtered out (warned included)",
         lambda w, e, a: "dynamodb_streams_webhook_admission_requests_total" in names(a)
         and {"endpoint", "outcome"} <= by_labels(a) and "rate(" in e
         and not any(l == "outcome" for r in a["refs"] for l, _, _ in r["matchers"])),
        ("p50 latency", lambda w, e, a: "histogram_quantile(0.5," in re.sub(r"\s+", "", e)
         and "dynamodb_streams_webhook_admission_request_duration_seconds_bucket" in names(a)),
        ("p99 latency", lambda w, e, a: "histogram_quantile(0.99," in re.sub(r"\s+", "", e)
         and "dynamodb_streams_webhook_admission_request_duration_seconds_bucket" in names(a)),
        ("non-200 answers", lambda w, e, a: any(r["metric"] == "dynamodb_streams_webhook_http_responses_total"
                                                and ("code", "!=", "200") in r["matchers"] for r in a["refs"])),
        ("requests in flight", lambda w, e, a: "dynamodb_streams_webhook_requests_in_flight" in names(a)),
        ("certificate expiry", lambda w, e, a: "dynamodb_streams_webhook_certificate_expiry_timestamp_seconds" in names(a)
         and "time()" in e),
        ("certificate reload failures", lambda w, e, a: any(
            r["metric"] == "dynamodb_streams_webhook_certificate_reloads_total"
            and (("result", "=", "failure") in r["matchers"] or "result" in by_labels(a)) for r in a["refs"])),
        ("replicas available", lambda w, e, a: "kube_deployment_status_replicas_available" in names(a)),
        ("would-be denials of enforcement warn", lambda w, e, a: any(
            r["metric"] == "dynamodb_streams_webhook_admission_requests_total"
            and ("outcome", "=", "warned") in r["matchers"] for r in a["refs"])),
    ]
    for what, pred in wanted:
        check(panel_with(pred), f"the dashboard shows {what}")
    for w, e, a in analyses:
        # sum by (...) etc.: a label the server adds later (say kind) must not split or break a panel
        own = [i for i, r in enumerate(a["refs"]) if r["metric"].startswith(OWN_METRIC_PREFIXES)]
        check(all(i in a["aggregated"] for i in own), f"{w}: every metric of the webhook is aggregated: {e}")
        check("namespace" in a["variables"] and "job" in a["variables"], f"{w}: filtered by $namespace and $job: {e}")
    # the PromQL of the dashboard and of the rule against a live /metrics
    rules = rule_exprs(docs)
    check(len(rules) >= 5, f"the PrometheusRule has its alerts ({len(rules)})")
    check(any('outcome="warned"' in e for _, e in rules), "the rule alerts on would-be denials (enforcement warn)")
    text = scrape_live_metrics(tools, tmp)
    if text is None:
        return
    all_exprs = exprs + rules
    print(f"checking {len(exprs)} dashboard and {len(rules)} alert expressions against the live /metrics")
    types, series = check_promql_against(all_exprs, var_labels, set(variables), text)
    used = {r["metric"] for _, e in all_exprs for r in analyze_promql(e)["refs"]}
    print("metrics used: " + ", ".join(sorted(used)))
    for family in ("dynamodb_streams_webhook_admission_requests_total", "dynamodb_streams_webhook_requests_in_flight",
                   "dynamodb_streams_webhook_certificate_expiry_timestamp_seconds",
                   "dynamodb_streams_webhook_certificate_reloads_total", "dynamodb_streams_webhook_http_responses_total"):
        check(family in used, f"{family} is used by the dashboard or the rule")
    # the check itself can fail: each broken expression is refused, naming its fault
    for expr, needle in PROMQL_MUST_FAIL:
        probs = promql_problems("self-test", expr, types, series, set(variables))
        check(any(needle in p for p in probs), f"the PromQL check refuses {expr!r} naming {needle!r}: {probs}")


# ---------------------------------------------------------------------------------------------
# Dockerfile

# The build stage's command, which README.md ("Build the image") states word for word.
BUILD_COMMAND = ("cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDSW_BUILD_TESTS=OFF"
                 " && cmake --build build -j2 --target dynamodb-streams-webhook")


def dockerfile_stages(text):
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages.append({"from": rest.strip(), "ins": []})
        elif stages:
            stages[-1]["ins"].append((word, re.sub(r"\s+", " ", rest.strip())))
    return stages


def dockerignored(patterns, path):
    ignored = False
    for pat in patterns:
        neg = pat.startswith("!")
        pat = pat[1:] if neg else pat
        pat = pat.strip("/")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[:i]), pat) for i in range(1, len(parts) + 1))
        if pat.startswith("**/"):
            hit = hit or any(fnmatch.fnmatch(p, pat[3:]) for p in parts)
        if hit:
            ignored = not neg
    return ignored


def group_dockerfile(tools, tmp):
    """What only the Dockerfile's text can tell. The built image itself (its config against the
    chart, its size, every shared library of the binary resolving inside it, `serve` answering
    as uid 65532) is checked by scripts/image-test.sh, which builds the Dockerfile for real."""
    src = tools.source
    text = open(os.path.join(src, "Dockerfile")).read()
    check(not re.match(r"\s*#\s*syntax\s*=", text, re.I),
          "no `# syntax=` line (BuildKit would fetch a frontend image: offline builds fail)")
    stages = dockerfile_stages(text)
    check(len(stages) == 2, f"the Dockerfile has a build and a final stage: {[s['from'] for s in stages]}")
    if len(stages) < 2:
        return
    build, final = stages[0], stages[-1]
    # scripts/image-test.sh makes exactly these two base images locally
    check(re.fullmatch(r"--platform=\$BUILDPLATFORM\s+debian:bookworm\s+AS\s+build", build["from"], re.I) is not None,
          f"build stage is debian:bookworm AS build, on the build platform: {build['from']}")
    check(final["from"] == "--platform=$TARGETPLATFORM debian:bookworm-slim",
          f"final stage is the target platform's debian:bookworm-slim: {final['from']}")
    runs_b = " ; ".join(a for w, a in build["ins"] if w == "RUN")
    runs_f = " ; ".join(a for w, a in final["ins"] if w == "RUN")
    check(re.search(r"(^|\s|/)scripts/install-deps\.sh --build\b", runs_b) is not None,
          "build stage installs packages with scripts/install-deps.sh --build")
    check("install-deps.sh --runtime-only" in runs_f, "final stage installs runtime libraries with install-deps.sh --runtime-only")
    check("apt-get install" not in runs_b + runs_f, "no package is installed outside scripts/install-deps.sh")
    check(BUILD_COMMAND in runs_b, f"build stage runs the documented build command: {BUILD_COMMAND}")
    check(re.search(r"\bstrip\b", runs_b) is not None, "build stage strips the binary it ships")
    readme = open(os.path.join(src, "README.md")).read()
    section = re.search(r"^### Build the image\n(.*?)^##", readme, re.S | re.M)
    check(section is not None and BUILD_COMMAND in section.group(1),
          "README's \"Build the image\" states the build stage's command word for word")
    check(re.search(r"docker build (-t \S+ )?\.", readme) is not None, "README builds the image from the repository root")
    # .dockerignore keeps developer build trees out of the context and every file the build copies in
    patterns = [l.strip() for l in open(os.path.join(src, ".dockerignore")) if l.strip() and not l.startswith("#")]
    for p in ("build/CMakeCache.txt", "build-deploy/CMakeCache.txt", "build-asan/x", ".git/HEAD"):
        check(dockerignored(patterns, p), f".dockerignore excludes {p}")
    copied = [a.split()[:-1] for w, a in build["ins"] + final["ins"] if w == "COPY" and not a.startswith("--from")]
    copied = {p.rstrip("/") for srcs in copied for p in srcs}
    check("scripts/install-deps.sh" in copied, f"both stages copy scripts/install-deps.sh: {sorted(copied)}")
    tracked = subprocess.run(["git", "ls-files"], cwd=src, capture_output=True, text=True).stdout.split()
    needed = [f for f in tracked if any(f == c or f.startswith(c + "/") for c in copied)]
    check(len(needed) > 5, f"git lists the files the Dockerfile copies ({len(needed)})")
    kept = [f for f in needed if dockerignored(patterns, f)]
    check(not kept, f".dockerignore keeps every file the build copies (excluded: {kept[:5]})")


# ---------------------------------------------------------------------------------------------
# Guards: the webhook entry for ACK Tables and kro DynamoDBTables (values `guards`)

GUARD_RULES = {"ackTables": ("dynamodb.services.k8s.aws", "tables", "Table"),
               "kroTables": ("kro.run", "dynamodbtables", "DynamoDBTable")}


def guards_on(values):
    g = values.get("guards", {})
    return any(g.get(k, {}).get("enabled") for k in GUARD_RULES)


def guards_entries(docs):
    cfgs = by_kind(docs, "ValidatingWebhookConfiguration")
    return [w for c in cfgs for w in c["webhooks"] if w["name"].startswith("validate-tables.")]


def check_guards_wiring(name, docs, values):
    g = values["guards"]
    vcfg = by_kind(docs, "ValidatingWebhookConfiguration")
    mcfg = by_kind(docs, "MutatingWebhookConfiguration")
    if not check(len(vcfg) == 1 and len(mcfg) == 1, f"[{name}] one configuration of each kind"):
        return
    app = vcfg[0]["webhooks"][0]
    check(app["name"].startswith("validate.") and app["rules"][0]["apiGroups"] == ["core.oam.dev"],
          f"[{name}] the Applications' entry comes first and is unchanged")
    check(all("tables" not in r["resources"] and "dynamodbtables" not in r["resources"]
              for w in mcfg[0]["webhooks"] for r in w["rules"]),
          f"[{name}] the mutating configuration never sees the tables (they are not defaulted)")
    entries = guards_entries(docs)
    want = {GUARD_RULES[k][:2] for k in GUARD_RULES if g[k]["enabled"]}
    if not want:
        check(entries == [] and len(vcfg[0]["webhooks"]) == 1, f"[{name}] both guards off: no entry")
        return
    if not check(len(entries) == 1, f"[{name}] one guards entry"):
        return
    wh = entries[0]
    check(wh["name"] == f"validate-tables.{app['clientConfig']['service']['name']}.{NS}.svc",
          f"[{name}] the entry is named validate-tables.<service>.<namespace>.svc: {wh['name']}")
    check(wh["clientConfig"] == app["clientConfig"] and wh["clientConfig"]["service"]["path"] == "/validate",
          f"[{name}] the entry calls the same Service, /validate, with the same caBundle")
    got = {(r["apiGroups"][0], r["resources"][0]) for r in wh["rules"]}
    check(got == want, f"[{name}] rules follow guards.*.enabled: {sorted(got)} != {sorted(want)}")
    for r in wh["rules"]:
        check(len(r["apiGroups"]) == 1 and len(r["resources"]) == 1 and r["apiVersions"] == ["*"]
              and sorted(r["operations"]) == ["CREATE", "UPDATE"] and r.get("scope") == "Namespaced",
              f"[{name}] {r['apiGroups']} {r['resources']}: every version, CREATE and UPDATE, namespaced")
    check(wh["failurePolicy"] == g["failurePolicy"], f"[{name}] failurePolicy follows guards.failurePolicy")
    check(wh["timeoutSeconds"] == g["timeoutSeconds"], f"[{name}] timeoutSeconds follows guards.timeoutSeconds")
    check(wh["sideEffects"] == "None" and wh["admissionReviewVersions"] == ["v1", "v1beta1"]
          and wh["matchPolicy"] == "Equivalent", f"[{name}] sideEffects, review versions, matchPolicy")
    expect = copy.deepcopy(g["namespaceSelector"])
    if g["excludeReleaseNamespace"]:
        expect.setdefault("matchExpressions", []).append(
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [NS]})
    check(wh.get("namespaceSelector", {}) == expect,
          f"[{name}] namespaceSelector follows guards.*: {wh.get('namespaceSelector')} != {expect}")
    check(wh.get("objectSelector", {}) == g["objectSelector"], f"[{name}] objectSelector follows guards.objectSelector")
    conds = wh.get("matchConditions", [])
    extra = g["matchConditions"]
    if g["excludeServiceAccounts"]:
        if check(len(conds) == 1 + len(extra), f"[{name}] one condition for the service accounts, then the others"):
            expr = conds[0]["expression"]
            users = re.findall(r"'([^']*)'", expr)
            check(expr.startswith("!(request.userInfo.username in [") and
                  users == ["system:serviceaccount:" + sa for sa in g["excludeServiceAccounts"]],
                  f"[{name}] the condition excludes exactly the service accounts: {expr}")
            check(conds[1:] == extra, f"[{name}] guards.matchConditions follow it")
    else:
        check(conds == extra, f"[{name}] matchConditions follow guards.matchConditions")


def group_guards(tools, tmp):
    tools.need_renderer()
    if not tools.validator:
        skip(f"no strict validator: kubeconform is not on PATH and {tools.kube_validate_path} does not "
             "exist, so the guards' renders were NOT validated")
    base = load_values(tools)
    g = base["guards"]
    # The defaults never stall the controllers' writes during an outage, and render everywhere.
    check(g["ackTables"]["enabled"] and g["kroTables"]["enabled"], "both guards are on by default")
    check(g["failurePolicy"] == "Ignore", "guards.failurePolicy defaults to Ignore")
    check(g["excludeServiceAccounts"] == [] and g["matchConditions"] == [],
          "no matchConditions by default (they need Kubernetes 1.30)")
    check(1 <= g["timeoutSeconds"] <= 5, "guards.timeoutSeconds default is short")
    mc = os.path.join(tmp, "guards-mc.yaml")
    with open(mc, "w") as f:
        yaml.safe_dump({"guards": {"matchConditions": [
            {"name": "not-dry-run", "expression": "!request.dryRun"}]}}, f)
    scenarios = [
        ("defaults", [], {}),
        ("ack-only", ["--set", "guards.kroTables.enabled=false"], {"kroTables.enabled": False}),
        ("kro-only", ["--set", "guards.ackTables.enabled=false"], {"ackTables.enabled": False}),
        ("both-off", ["--set", "guards.ackTables.enabled=false", "--set", "guards.kroTables.enabled=false"],
         {"ackTables.enabled": False, "kroTables.enabled": False}),
        ("fail-excluding-controllers",
         ["--set", "guards.failurePolicy=Fail", "--set", "guards.timeoutSeconds=10",
          "--set", "guards.excludeServiceAccounts={ack-system:ack-dynamodb-controller,kro:kro}",
          "--set", "guards.objectSelector.matchLabels.team=a", "--set", "guards.excludeReleaseNamespace=false",
          "-f", mc],
         {"failurePolicy": "Fail", "timeoutSeconds": 10,
          "excludeServiceAccounts": ["ack-system:ack-dynamodb-controller", "kro:kro"],
          "objectSelector": {"matchLabels": {"team": "a"}}, "excludeReleaseNamespace": False,
          "matchConditions": [{"name": "not-dry-run", "expression": "!request.dryRun"}]}),
        ("certManager", ["--set", "tls.mode=certManager"], {}),
    ]
    for name, args, sets in scenarios:
        values = copy.deepcopy(base)
        for k, v in sets.items():
            set_path(values["guards"], k, v)
        if name == "certManager":
            values["tls"]["mode"] = "certManager"
        try:
            text, docs = tools.render(args)
        except RenderError as e:
            check(False, f"[{name}] {e}")
            continue
        p = subprocess.run(tools.validator, input=text, capture_output=True, text=True, timeout=300)
        out = (p.stdout + p.stderr).strip()
        check(p.returncode == 0, f"[guards {name}] strict validation ({tools.validator_name}): {out.splitlines()[-1:] if out else ''}")
        check_guards_wiring(name, docs, values)
        check_wiring(f"guards {name}", docs, values)
        if name == "certManager":
            ann = by_kind(docs, "ValidatingWebhookConfiguration")[0]["metadata"].get("annotations", {})
            check("cert-manager.io/inject-ca-from" in ann and "caBundle" not in guards_entries(docs)[0]["clientConfig"],
                  "[certManager] cert-manager injects the CA into the guards' entry too (same configuration)")
    # Kubernetes before 1.30 has no matchConditions: refused clearly, unless the guards are off.
    for args, fails, why in [
        (["--set", "guards.excludeServiceAccounts={kro:kro}"], True, "excludeServiceAccounts"),
        (["-f", mc], True, "guards.matchConditions"),
        (["--set", "guards.excludeServiceAccounts={kro:kro}", "--set", "guards.ackTables.enabled=false",
          "--set", "guards.kroTables.enabled=false"], False, "excludeServiceAccounts with both guards off"),
        ([], False, "the defaults"),
    ]:
        p = subprocess.run(tools.renderer + [RELEASE, tools.chart, "--namespace", NS, "--kube-version", "v1.29.0"] + args,
                           capture_output=True, text=True, timeout=120)
        if fails:
            check(p.returncode != 0 and "1.30" in p.stderr, f"{why} on Kubernetes 1.29 fails naming 1.30 (rc={p.returncode})")
        else:
            check(p.returncode == 0, f"{why} render on Kubernetes 1.29: {p.stderr.strip()[:200]}")
    # values.schema.json knows the guards' keys and values.
    for args, needle, why in [
        (["--set", "guards.ackTable.enabled=true"], "ackTable", "a misspelled guard"),
        (["--set", "guards.kroTables.enable=true"], "enable", "a misspelled enabled"),
        (["--set", "guards.failurePolicy=ignore"], "failurePolicy", "failurePolicy in the wrong case"),
        (["--set", "guards.timeoutSeconds=11"], "timeoutSeconds", "timeoutSeconds above 10"),
        (["--set", "guards.excludeServiceAccounts={kro}"], "excludeServiceAccounts", "a service account without its namespace"),
        (["--set", "guards.excludeServiceAccounts={system:serviceaccount:kro:kro}"], "excludeServiceAccounts",
         "a user name instead of NAMESPACE:NAME"),
        (["--set", "guards.ackTables=true"], "ackTables", "a boolean for the guard's object"),
    ]:
        p = tools.render_raw(args)
        check(p.returncode != 0 and needle in p.stderr, f"values.schema.json rejects {why}: rc={p.returncode} {p.stderr.strip()[:200]!r}")
    # The kinds the chart sends are the kinds the binary examines: an invalid object of each rule's
    # group and resource is denied by `review --validate`, and left untouched by `review --mutate`.
    if tools.binary and os.path.exists(tools.binary):
        _, docs = tools.render([])
        for r in guards_entries(docs)[0]["rules"]:
            group, resource = r["apiGroups"][0], r["resources"][0]
            kind = {v[1]: v[2] for v in GUARD_RULES.values()}[resource]
            spec = {"streamSpecification": {"streamEnabled": True}} if kind == "Table" else {"streamEnabled": True}
            review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                      "request": {"uid": "u", "kind": {"group": group, "version": "v1alpha1", "kind": kind},
                                  "resource": {"group": group, "version": "v1alpha1", "resource": resource},
                                  "operation": "CREATE", "name": "t", "namespace": "default",
                                  "object": {"apiVersion": group + "/v1alpha1", "kind": kind,
                                             "metadata": {"name": "t"}, "spec": spec}}}
            for mode, allowed in (("--validate", False), ("--mutate", True)):
                p = subprocess.run([tools.binary, "review", mode, "-"], input=json.dumps(review),
                                   capture_output=True, text=True, timeout=60)
                resp = json.loads(p.stdout)["response"] if p.returncode == 0 else {}
                check(resp.get("allowed") is allowed and "patch" not in resp,
                      f"{group} {resource}: review {mode} {'denies' if not allowed else 'allows untouched'} an invalid {kind}")
    # NOTES say what the guards do during an outage.
    notes = render_notes(tools, tmp, [])
    check("ACK Tables" in notes and "kro DynamoDBTables" in notes and "UNCHECKED" in notes,
          "NOTES name the guards and say they are admitted unchecked during an outage (Ignore)")
    notes = render_notes(tools, tmp, ["--set", "guards.failurePolicy=Fail"])
    check("REJECTED" in notes and "guards.excludeServiceAccounts" in notes,
          "NOTES warn that Fail without excluded service accounts rejects the controllers' writes")
    notes = render_notes(tools, tmp, ["--set", "guards.ackTables.enabled=false", "--set", "guards.kroTables.enabled=false"])
    check("DynamoDBTable" not in notes, "NOTES do not mention the guards when both are off")


GROUPS = {"setup": group_setup, "render": group_render, "schema": group_schema, "validate": group_validate,
          "wiring": group_wiring, "selfsigned": group_selfsigned, "upgrade": group_upgrade, "flags": group_flags,
          "dashboard": group_dashboard, "serve": group_serve, "notes": group_notes, "guards": group_guards,
          "dockerfile": group_dockerfile}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("group", choices=sorted(GROUPS))
    ap.add_argument("--source", required=True)
    ap.add_argument("--binary")
    ap.add_argument("--helm-template")
    ap.add_argument("--kube-validate")
    args = ap.parse_args()
    tools = Tools(args)
    global DASHBOARD_FILE_JSON
    try:
        DASHBOARD_FILE_JSON = dashboard_file(tools)
    except (OSError, ValueError) as e:
        check(False, f"the chart's dashboard file is readable JSON: {e}")
    with tempfile.TemporaryDirectory(prefix="dsw-deploy-") as tmp:
        try:
            GROUPS[args.group](tools, tmp)
        except RenderError as e:
            check(False, str(e))
    finish(args.group)


if __name__ == "__main__":
    main()
