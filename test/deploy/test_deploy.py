#!/usr/bin/python3
"""Tests of the Helm chart (charts/dynamodb-streams-webhook) and of the Dockerfile.

Usage: test_deploy.py GROUP --source DIR [--binary BIN] [--helm-template PATH] [--kube-validate PATH]

GROUP is one of: setup, render, schema, validate, wiring, selfsigned, upgrade, flags, metrics,
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
    return out


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
        pdb = values["podDisruptionBudget"]["enabled"] and values["replicaCount"] > 1
        check(("PodDisruptionBudget" in kinds) == pdb,
              f"[{name}] PodDisruptionBudget present iff enabled and replicaCount > 1")
        for kind, key in (("NetworkPolicy", "networkPolicy"), ("ServiceMonitor", "serviceMonitor"),
                          ("PrometheusRule", "prometheusRule")):
            check((kind in kinds) == values[key]["enabled"], f"[{name}] {kind} follows {key}.enabled")
        for d in docs:
            if d["kind"] not in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
                check(d["metadata"].get("namespace") == NS,
                      f"[{name}] {d['kind']}/{d['metadata']['name']} is in the release namespace")
    # Values that the templates refuse with a clear message.
    for args, needle, why in [
        (["--set", "terminationGracePeriodSeconds=30"], "terminationGracePeriodSeconds",
         "grace period not longer than shutdownDelay + shutdownTimeout"),
        (["--set", "tls.mode=existingSecret", "--set", "tls.existingSecret=x",
          "--set", "tls.caBundle=LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"], "caBundle",
         "tls.caBundle given as base64 instead of PEM"),
        (["--set", "tls.mode=existingSecret", "--set", "tls.caBundle=x"], "existingSecret",
         "existingSecret mode without tls.existingSecret"),
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
        (["--set", "networkPolicy.enable=true"], "enable", "a misspelled nested key"),
        (["--set", "tls.mode=existingSecret"], "existingSecret", "existingSecret mode without its Secret"),
        (["--set", "tls.clientCA.enable=true"], "enable", "a misspelled tls.clientCA key"),
        (["--set", "tls.clientCA.existingConfigmap=ca"], "existingConfigmap", "tls.clientCA.existingConfigMap in the wrong case"),
        (["--set", "tls.clientCA.enabled=true"], "clientCA", "tls.clientCA enabled without a CA source"),
        (["--set", "tls.clientCA.enabled=true", "--set", "tls.clientCA.existingConfigMap=a",
          "--set", "tls.clientCA.existingSecret=b"], "clientCA", "tls.clientCA with both a ConfigMap and a Secret"),
        (["--set", "tls.clientCA.enabled=true", "--set", "tls.clientCA.existingSecret=b",
          "--set", "tls.clientCA.key="], "key", "an empty tls.clientCA.key"),
    ]
    for args, needle, why in cases:
        p = tools.render_raw(args)
        check(p.returncode != 0 and needle in p.stderr,
              f"values.schema.json rejects {why} ({' '.join(args)}): rc={p.returncode} "
              f"stderr={p.stderr.strip()[:300]!r}")
    for args in (["--set", "webhook.timeoutSeconds=10"], ["--set", "webhook.timeoutSeconds=1"],
                 ["--set", "podDisruptionBudget.minAvailable=50%"],
                 ["--set", "tls.clientCA.existingConfigMap=ca"]):
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
        # kinds the validator has no model for must be the monitoring CRDs, checked below
        for line in out.splitlines():
            if line.startswith("UNCHECKED"):
                check(re.search(r"\b(ServiceMonitor|PrometheusRule)/", line) is not None,
                      f"[{name}] only monitoring CRDs go unchecked: {line}")
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
    check(deploy["spec"]["replicas"] == values["replicaCount"], f"[{name}] replicas follow replicaCount")
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
    check(ctr["image"].endswith(":" + (values["image"]["tag"] or "0.1.0")), f"[{name}] image tag")
    check("limits" in ctr.get("resources", {}) and "memory" in ctr["resources"]["limits"],
          f"[{name}] a memory limit is set")
    check(deploy["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0,
          f"[{name}] rolling updates never drop below the desired replicas")
    for c in podspec.get("topologySpreadConstraints", []):
        check(labels_match(c.get("labelSelector", {}).get("matchLabels"), pod["metadata"]["labels"])
              and c.get("labelSelector"), f"[{name}] topology spread selects the webhook pods")
    check(len(podspec.get("topologySpreadConstraints", [])) == len(values["topologySpreadConstraints"]),
          f"[{name}] topologySpreadConstraints follow values")
    if values["priorityClassName"]:
        check(podspec.get("priorityClassName") == values["priorityClassName"], f"[{name}] priorityClassName")
    for k, v in values["podLabels"].items():
        check(pod["metadata"]["labels"].get(k) == v, f"[{name}] podLabels {k}")
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        check(labels_match(pdb["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"]), f"[{name}] PDB selects the pods")
        check(pdb["spec"]["minAvailable"] == values["podDisruptionBudget"]["minAvailable"], f"[{name}] PDB minAvailable")
        check(not isinstance(pdb["spec"]["minAvailable"], int) or pdb["spec"]["minAvailable"] < values["replicaCount"],
              f"[{name}] PDB leaves room for one voluntary disruption")
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
        check(f'job=\\"{svc["metadata"]["name"]}\\"' in text, f"[{name}] alerts select the ServiceMonitor's job")
        print(f"[{name}] alerts: {', '.join(alerts)}")


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


def group_metrics(tools, tmp):
    tools.need_renderer()
    _, docs = tools.render(["--set", "prometheusRule.enabled=true"])
    rules = by_kind(docs, "PrometheusRule")
    if not check(len(rules) == 1, "a PrometheusRule renders"):
        return
    exprs = " ".join(r["expr"] for g in rules[0]["spec"]["groups"] for r in g["rules"])
    names = {re.sub(r"_(bucket|count|sum)$", "", n) for n in own_metrics(exprs)}
    src = server_sources(tools)
    print(f"metrics the alerts use: {', '.join(sorted(names))}")
    check(len(names) >= 4, "the alerts use the webhook's own metrics")
    literals = set(re.findall(r'"([A-Za-z0-9_]+)"', src))
    for n in sorted(names):
        # the full name as one literal, or a prefix constant plus the rest ("dsw_" + "...")
        found = n in literals or any(n.startswith(p) and n[len(p):] in literals for p in literals if p.endswith("_"))
        check(found, f"metric {n} (used by the PrometheusRule) is exported by server/*.cpp")
    for label, value in (("outcome", "error"), ("result", "failure"), ("endpoint", None)):
        if label in exprs or value:
            check(label in src, f"label {label} used by the alerts appears in the server sources")


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
    args = container(deploy)["args"]
    port = free_port()
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
    run.append("--bind-address=127.0.0.1")
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    ctx = ssl.create_default_context(cafile=files["ca.crt"])
    log = open(os.path.join(tmp, "serve.log"), "w+")
    proc = subprocess.Popen([tools.binary] + run, stdout=log, stderr=subprocess.STDOUT)
    try:
        def call(method, path, body=None):
            # connect to 127.0.0.1 but verify the certificate for <svc>.<ns>.svc, as the apiserver does
            class Conn(http.client.HTTPSConnection):
                def connect(self):
                    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                    self.sock = ctx.wrap_socket(sock, server_hostname=f"{svc}.{NS}.svc")
            c = Conn(f"{svc}.{NS}.svc", port, context=ctx, timeout=5)
            c.request(method, path, body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            c.close()
            return r.status, data

        deadline, status = time.time() + 15, None
        while time.time() < deadline and proc.poll() is None:
            try:
                status, _ = call("GET", "/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
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

    def review(obj):
        rv = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": "n-1", "kind": {"group": "core.oam.dev", "version": "v1beta1", "kind": "Application"},
                          "resource": {"group": "core.oam.dev", "version": "v1beta1", "resource": "applications"},
                          "namespace": "default", "name": obj["metadata"]["name"], "operation": "CREATE",
                          "object": obj, "userInfo": {"username": "test"}, "dryRun": True}}
        p = subprocess.run([tools.binary, "review", "--validate", "-"], input=json.dumps(rv),
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
    single = render_notes(tools, tmp, ["--set", "replicaCount=1"])
    check("WARNING" in single and "WARNING" not in notes, "NOTES warn about a single replica only when there is one")
    check("Ignore" not in notes and "REJECTED" in notes, "NOTES state what failurePolicy=Fail means")
    cca = render_notes(tools, tmp, ["--set", "tls.clientCA.enabled=true",
                                    "--set", "tls.clientCA.existingConfigMap=apiserver-client-ca"])
    check("--cert" in cca and "ConfigMap apiserver-client-ca" in cca and "--cert" not in notes,
          "with tls.clientCA, NOTES' curl presents a client certificate and name the CA's ConfigMap")


# ---------------------------------------------------------------------------------------------
# Dockerfile

BUILD_COMMAND = "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2"


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
            stages[-1]["ins"].append((word, rest.strip()))
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
    src = tools.source
    text = open(os.path.join(src, "Dockerfile")).read()
    stages = dockerfile_stages(text)
    check(len(stages) >= 2, "the Dockerfile is multi-stage")
    build, final = stages[0], stages[-1]
    check(re.fullmatch(r"debian:bookworm\s+AS\s+build", build["from"], re.I) is not None,
          f"build stage is debian:bookworm AS build: {build['from']}")
    check(final["from"] == "debian:bookworm-slim", f"final stage is debian:bookworm-slim: {final['from']}")
    runs_b = " ; ".join(a for w, a in build["ins"] if w == "RUN")
    runs_f = " ; ".join(a for w, a in final["ins"] if w == "RUN")
    check(re.search(r"(^|\s|/)scripts/install-deps\.sh --build\b", runs_b) is not None,
          "build stage installs packages with scripts/install-deps.sh --build")
    check("install-deps.sh --runtime-only" in runs_f, "final stage installs runtime libraries with install-deps.sh --runtime-only")
    check(BUILD_COMMAND in runs_b, f"build stage runs the project's build command: {BUILD_COMMAND}")
    check("apt-get install" not in runs_b + runs_f, "no package is installed outside scripts/install-deps.sh")
    docs = [p for p in ("README.md", "docs/deploy.md") if os.path.exists(os.path.join(src, p))]
    for d in docs:
        body = open(os.path.join(src, d)).read()
        if "docker build" in body:
            check(re.search(r"docker build (-t \S+ )?\.", body) is not None, f"{d}: the image build command builds from the repository root")
        if "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release" in body:
            check(BUILD_COMMAND in body, f"{d}: states the same build command as the Dockerfile")
    check(any("docker build" in open(os.path.join(src, d)).read() for d in docs),
          "the install documentation gives the image build command")
    # the binary path: CMake puts executables in build/bin
    cml = open(os.path.join(src, "CMakeLists.txt")).read()
    check("CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin" in cml, "CMake puts the binary in build/bin")
    copies = [a for w, a in final["ins"] if w == "COPY"]
    from_build = [c for c in copies if c.startswith("--from=build")]
    check(len(from_build) == 1 and "/src/build/bin/dynamodb-streams-webhook" in from_build[0],
          f"final stage copies only the binary from the build stage: {from_build}")
    workdir = [a for w, a in build["ins"] if w == "WORKDIR"]
    check(workdir == ["/src"], "build stage works in /src")
    others = [c for c in copies if not c.startswith("--from=build")]
    check(all("install-deps.sh" in c for c in others), f"final stage copies nothing else: {others}")
    users = [a for w, a in final["ins"] if w == "USER"]
    check(users and re.fullmatch(r"65532(:65532)?", users[-1]) is not None, f"final stage runs as USER 65532: {users}")
    ep = [a for w, a in final["ins"] if w == "ENTRYPOINT"]
    target = from_build[0].split()[-1] if from_build else None
    try:
        ep_list = json.loads(ep[-1]) if ep else None
    except ValueError:
        ep_list = None
    check(isinstance(ep_list, list) and ep_list[:1] == [target], f"ENTRYPOINT is the exec form of {target}: {ep}")
    expose = [a for w, a in final["ins"] if w == "EXPOSE"]
    chart_port = yaml.safe_load(open(os.path.join(tools.chart, "values.yaml")))["server"]["port"]
    check(expose and expose[-1].split("/")[0] == str(chart_port), f"EXPOSE {expose} is the chart's server.port {chart_port}")
    # .dockerignore keeps developer build trees out and keeps the sources in
    patterns = [l.strip() for l in open(os.path.join(src, ".dockerignore")) if l.strip() and not l.startswith("#")]
    for p in ("build/CMakeCache.txt", "build-deploy/CMakeCache.txt", "build-asan/x", ".git/HEAD"):
        check(dockerignored(patterns, p), f".dockerignore excludes {p}")
    needed = subprocess.run(["git", "ls-files"], cwd=src, capture_output=True, text=True).stdout.split()
    needed = [f for f in needed if f.split("/")[0] in ("CMakeLists.txt", "cmake", "lib", "server", "test", "scripts", "bench")]
    check(len(needed) > 5, "git lists the sources")
    kept = [f for f in needed if dockerignored(patterns, f)]
    check(not kept, f".dockerignore keeps every file the build needs (excluded: {kept[:5]})")
    # the runtime package list covers every library the binary links against
    script = open(os.path.join(src, "scripts", "install-deps.sh")).read()
    m = re.search(r"runtime=\(([^)]*)\)", script)
    runtime = m.group(1).split() if m else []
    check(runtime, "install-deps.sh has a runtime package list")
    if not (tools.binary and os.path.exists(tools.binary) and shutil.which("ldd") and shutil.which("dpkg-query")):
        print("NOTE: ldd, dpkg-query or the binary is missing: the runtime library list was NOT checked against the binary")
        return
    ldd = subprocess.run(["ldd", tools.binary], capture_output=True, text=True).stdout
    libs = re.findall(r"=>\s*(/\S+)", ldd)
    check("not found" not in ldd, f"ldd resolves every library: {ldd}")

    def deps(pkg):
        p = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", pkg], capture_output=True, text=True)
        return {re.split(r"[\s:(]", alt.strip())[0] for d in p.stdout.split(",") if d.strip()
                for alt in d.split("|")[:1] if alt.strip()}
    essential = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Essential}\n"], capture_output=True, text=True).stdout
    roots = set(runtime) | {l.split()[0] for l in essential.splitlines() if l.endswith(" yes")} | {"apt"}
    closure, todo = set(), list(roots)
    while todo:
        pkg = todo.pop()
        if pkg in closure:
            continue
        closure.add(pkg)
        todo.extend(deps(pkg) - closure)
    for lib in libs:
        real = os.path.realpath(lib)
        owner = None
        for candidate in (lib, real, re.sub(r"^/lib/", "/usr/lib/", lib), re.sub(r"^/usr/lib/", "/lib/", real)):
            p = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
            if p.returncode == 0:
                owner = p.stdout.split(":")[0]
                break
        check(owner is not None and owner in closure,
              f"{lib} (package {owner}) is installed by install-deps.sh --runtime-only or the base image")


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
          "metrics": group_metrics, "serve": group_serve, "notes": group_notes, "guards": group_guards,
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
    with tempfile.TemporaryDirectory(prefix="dsw-deploy-") as tmp:
        try:
            GROUPS[args.group](tools, tmp)
        except RenderError as e:
            check(False, str(e))
    finish(args.group)


if __name__ == "__main__":
    main()
