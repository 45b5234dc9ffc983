"""The harness of the deployment tests (test/deploy/*_test.py): the tools, the chart's
configurations and their renders, certificates, reviews, and the one way to run the binary with the
chart's arguments.

Tools
  helm           the real helm (v4.1.4, installed by scripts/install-deps.sh --test into
                 DSW_TOOLS_DIR/bin; `helm` on PATH otherwise). Every render is `helm lint --strict`
                 then `helm template`, both with the same values. Without helm a chart group fails
                 under CI (CI=true) and is skipped (exit 77) elsewhere, saying why.
  kube-validate  strict object checks (kubeconform when on PATH, else ../shared/tools/kube-validate);
                 the groups that need it are skipped (exit 77) without it, CI or not.

A test module holds groups, functions taking a Tools object, and ends with
`if __name__ == "__main__": main(GROUPS)`; CMake runs `MODULE GROUP --source ... --binary ...`.
Each group prints its failures and a count, and exits 0 (all passed), 1 or 77.
"""
import argparse
import base64
import copy
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "support"))
sys.path.insert(0, os.path.join(ROOT, "test", "server", "serve"))
from serve_support import Server  # noqa: E402
from reviews import review_for  # noqa: E402,F401  the Python suites' one AdmissionReview builder (test/support)

SKIP = 77
NS = "dsw-system"
RELEASE = "dsw"
KUBE_VERSION = "v1.31.0"
DEFAULT_TOOLS_DIR = "/usr/local/lib/dsw-tools"

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


def in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


class Failed(Exception):
    """A group cannot go on; main() counts it as a failed check with this message."""


class RenderError(Failed):
    pass


class ServerError(Failed):
    pass


# ---------------------------------------------------------------------------------------------
# helm


class Helm:
    """The helm binary, run with its own cache and configuration under the test's temporary
    directory and no kubeconfig, so nothing reaches a cluster or the developer's settings."""

    def __init__(self, path, tmp):
        self.path = path
        home = os.path.join(tmp, "helm-home")
        self.env = dict(os.environ, HELM_CACHE_HOME=os.path.join(home, "cache"),
                        HELM_CONFIG_HOME=os.path.join(home, "config"),
                        HELM_DATA_HOME=os.path.join(home, "data"),
                        KUBECONFIG=os.path.join(home, "no-kubeconfig"))
        self._linted = {}
        p = self.run(["version", "--template", "{{.Version}}"])
        self.version = p.stdout.strip() if p.returncode == 0 else f"(helm version failed: {p.stderr.strip()})"

    def run(self, args, timeout=300):
        return subprocess.run([self.path] + args, capture_output=True, text=True, timeout=timeout, env=self.env)

    def lint(self, chart, extra, kube_version=KUBE_VERSION):
        """`helm lint --strict` (warnings fail too) with these values."""
        return self.run(["lint", "--strict", chart, "--namespace", NS,
                         "--kube-version", kube_version] + list(extra))

    def template(self, chart, extra, kube_version=KUBE_VERSION):
        return self.run(["template", RELEASE, chart, "--namespace", NS,
                         "--kube-version", kube_version] + list(extra))

    def require_lint(self, chart, extra, kube_version=KUBE_VERSION):
        """`helm lint --strict` passes with these values (run once per configuration), else RenderError."""
        key = (chart, tuple(extra), kube_version)
        if key not in self._linted:
            self._linted[key] = self.lint(chart, extra, kube_version)
        p = self._linted[key]
        if p.returncode != 0:
            raise RenderError(f"helm lint --strict {' '.join(extra) or '(defaults)'} failed: {(p.stdout + p.stderr).strip()}")

    def render(self, chart, extra, kube_version=KUBE_VERSION):
        """(text, objects) of a configuration that must render: lint (once per configuration in a
        run) and template both pass, else RenderError with helm's message."""
        self.require_lint(chart, extra, kube_version)
        what = " ".join(extra) or "(defaults)"
        p = self.template(chart, extra, kube_version)
        if p.returncode != 0:
            raise RenderError(f"helm template {what} failed: {p.stderr.strip()}")
        return p.stdout, [d for d in yaml.safe_load_all(p.stdout) if d]

    def install_dry_run(self, chart, extra):
        """The release `helm install --dry-run=client` would make (its info.notes are NOTES.txt as
        users see them); RenderError when it or `helm lint --strict` fails. (helm install has no
        --kube-version: the capabilities are helm's defaults.)"""
        self.require_lint(chart, extra)
        p = self.run(["install", RELEASE, chart, "--dry-run=client", "--namespace", NS, "-o", "json"] + list(extra))
        if p.returncode != 0:
            raise RenderError(f"helm install --dry-run=client {' '.join(extra)} failed: {p.stderr.strip()}")
        return json.loads(p.stdout)


# ---------------------------------------------------------------------------------------------
# Tools


class Tools:
    def __init__(self, args, tmp):
        self.source = os.path.abspath(args.source)
        self.chart = os.path.join(self.source, "charts", "dynamodb-streams-webhook")
        self.binary = args.binary
        self.tmp = tmp
        self._helm_path = args.helm
        self._helm = None
        self.kube_validate_path = args.kube_validate
        self.validator = None
        kubeconform = shutil.which("kubeconform")
        if kubeconform:
            self.validator = [kubeconform, "-strict", "-summary", "-ignore-missing-schemas", "-"]
            self.validator_name = "kubeconform"
        elif args.kube_validate and os.path.exists(args.kube_validate):
            self.validator = [args.kube_validate, "-"]
            self.validator_name = "kube-validate"

    @property
    def helm(self):
        """The Helm of this run; a group that asks for it without helm installed fails under CI
        and is skipped elsewhere."""
        if self._helm is None:
            path = self._helm_path if self._helm_path and os.path.exists(self._helm_path) else shutil.which("helm")
            if not path:
                msg = (f"helm is not installed: neither {self._helm_path} nor `helm` on PATH exists, so the chart "
                       "was NOT rendered or checked; scripts/install-deps.sh --test installs it")
                if in_ci():
                    print(f"FAIL: {msg} (CI={os.environ.get('CI')}: a deploy test without helm fails in CI)")
                    sys.exit(1)
                skip(msg)
            self._helm = Helm(path, self.tmp)
            print(f"rendering with helm {self._helm.version} ({path})")
        return self._helm

    def need_validator(self, what="rendered objects were"):
        if not self.validator:
            skip(f"no strict validator: kubeconform is not on PATH and {self.kube_validate_path} does not "
                 f"exist, so {what} NOT validated")
        return self.validator

    def validate(self, text):
        """(returncode, output) of the strict validator on a rendered text."""
        p = subprocess.run(self.need_validator(), input=text, capture_output=True, text=True, timeout=300)
        return p.returncode, (p.stdout + p.stderr).strip()

    def render(self, extra, chart=None, kube_version=KUBE_VERSION):
        return self.helm.render(chart or self.chart, extra, kube_version)

    def render_raw(self, extra, kube_version=KUBE_VERSION):
        """`helm template` alone, for values that must be refused: the CompletedProcess."""
        return self.helm.template(self.chart, extra, kube_version)

    def check_refused(self, extra, needles, why, kube_version=KUBE_VERSION, lint=True):
        """`helm template` refuses these values, naming each of `needles` (a string or a list) in
        its output, and so does `helm lint --strict` unless lint=False. helm lint enforces
        values.schema.json but not the templates' own `fail` and `required` (it logs them at INFO
        and passes), nor Chart.yaml's kubeVersion: refusals of those are lint=False."""
        needles = [needles] if isinstance(needles, str) else needles
        runs = [("helm template", self.render_raw(extra, kube_version))]
        if lint:
            runs.append(("helm lint --strict", self.helm.lint(self.chart, extra, kube_version)))
        for cmd, p in runs:
            out = (p.stdout + p.stderr).strip()
            check(p.returncode != 0 and all(n in out for n in needles),
                  f"{cmd} refuses {why} ({' '.join(extra)}) naming {needles}: rc={p.returncode} {out[-300:]!r}")

    def need_binary(self):
        if not (self.binary and os.path.exists(self.binary)):
            raise Failed(f"the binary {self.binary} does not exist")


# ---------------------------------------------------------------------------------------------
# The chart and its objects


def load_values(t):
    with open(os.path.join(t.chart, "values.yaml")) as f:
        return yaml.safe_load(f)


def chart_meta(t):
    with open(os.path.join(t.chart, "Chart.yaml")) as f:
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


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def one(docs, kind, name):
    found = by_kind(docs, kind)
    check(len(found) == 1, f"[{name}] exactly one {kind} (found {len(found)})")
    return found[0] if found else None


def container(deploy):
    cs = deploy["spec"]["template"]["spec"]["containers"]
    check(len(cs) == 1, "Deployment has exactly one container")
    return cs[0]


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


def resolve_port(ctr, port):
    """A container port number from a number or a port name."""
    for p in ctr.get("ports", []):
        if port == p.get("name") or port == p.get("containerPort"):
            return p["containerPort"]
    return None


def pem_from_b64(b64):
    return base64.b64decode(b64).decode()


def min_replicas(values):
    """The fewest replicas the Deployment runs: autoscaling.minReplicas with autoscaling on."""
    a = values["autoscaling"]
    return a["minReplicas"] if a["enabled"] else values["replicaCount"]


def dashboard_file(t):
    with open(os.path.join(t.chart, "dashboards", "dynamodb-streams-webhook.json")) as f:
        return json.load(f)


def dashboard_configmaps(docs):
    return [d for d in by_kind(docs, "ConfigMap") if d["metadata"]["name"].endswith("-dashboard")]


def container_images(docs):
    """Every container image of every pod template and Pod of a render."""
    out = []
    for d in docs:
        spec = d.get("spec", {})
        pod = spec.get("template", {}).get("spec") if "template" in spec else (spec if d.get("kind") == "Pod" else None)
        if d.get("kind") == "CronJob":
            pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        for c in (pod or {}).get("initContainers", []) + (pod or {}).get("containers", []):
            out.append(c["image"])
    return out


def test_pods(docs):
    """The `helm test` Pods of a render (annotation helm.sh/hook: test)."""
    return [d for d in by_kind(docs, "Pod")
            if d["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"]


# Objects that are not in the release namespace: cluster-scoped ones, and the audit's RoleBindings
# (one in each of audit.namespaces).
CLUSTER_SCOPED = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ClusterRole",
                  "ClusterRoleBinding")


# The guards: the validating webhook entry for ACK Tables and kro DynamoDBTables (values `guards`)
GUARD_RULES = {"ackTables": ("dynamodb.services.k8s.aws", "tables", "Table"),
               "kroTables": ("kro.run", "dynamodbtables", "DynamoDBTable")}


def guards_on(values):
    g = values.get("guards", {})
    return any(g.get(k, {}).get("enabled") for k in GUARD_RULES)


def guards_entries(docs):
    cfgs = by_kind(docs, "ValidatingWebhookConfiguration")
    return [w for c in cfgs for w in c["webhooks"] if w["name"].startswith("validate-tables.")]


# ---------------------------------------------------------------------------------------------
# The chart's configurations: name -> (helm arguments, the values they amount to for the checks)


def make_ca(tmp):
    """A CA certificate (PEM) made with openssl, for tls.mode=existingSecret."""
    key, crt = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "30", "-subj", "/CN=test-ca"], check=True,
                   capture_output=True, timeout=60)
    with open(crt) as f:
        return f.read()


def write_values(t, name, values):
    """A values file in the temporary directory; its path."""
    path = os.path.join(t.tmp, name)
    with open(path, "w") as f:
        yaml.safe_dump(values, f)
    return path


def scenarios(t):
    """The configurations every chart group renders (render, validate, wiring, flags). A new value
    of the chart gets a scenario here when it changes what is rendered."""
    base = load_values(t)
    here = os.path.dirname(os.path.abspath(__file__))
    out = {}

    def add(name, args, sets=(), files=()):
        values = copy.deepcopy(base)
        for f in files:
            with open(f) as fh:
                deep_merge(values, yaml.safe_load(fh))
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
    existing = write_values(t, "existing.yaml", {"tls": {"mode": "existingSecret", "existingSecret": "corp-webhook-tls",
                                                         "caBundle": make_ca(t.tmp)}})
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
    autoscaling = write_values(t, "autoscaling.yaml", {
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
    })
    add("autoscaling-full", ["-f", autoscaling], files=[autoscaling])
    spread_off = write_values(t, "spread-off.yaml", {"topologySpreadConstraints": []})
    add("spread-off", ["-f", spread_off], files=[spread_off])
    # the audit's CronJob and RBAC (audit.*), and the helm test Pod with a client certificate (tests.*)
    add("audit", ["--set", "audit.enabled=true"], [("audit.enabled", True)])
    audit = write_values(t, "audit.yaml", {
        "audit": {"enabled": True, "reportKind": "policyreport", "reportName": "dsw-streams",
                  "namespaces": ["team-a", "team-b"], "schedule": "@daily"},
        "guards": {"ackTables": {"enabled": False}}})
    add("audit-policyreport-namespaces", ["-f", audit], files=[audit])
    add("tests-clientCA",
        ["--set", "tls.clientCA.enabled=true", "--set", "tls.clientCA.existingConfigMap=apiserver-client-ca",
         "--set", "tests.clientCertSecret=dsw-test-client"],
        [("tls.clientCA.enabled", True), ("tls.clientCA.existingConfigMap", "apiserver-client-ca"),
         ("tests.clientCertSecret", "dsw-test-client")])
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


def render_all(t):
    """{scenario: (text, objects, values)} of every scenario that renders; one failed check per
    scenario that does not."""
    rendered = {}
    for name, (args, values) in scenarios(t).items():
        try:
            text, docs = t.render(args)
        except RenderError as e:
            check(False, f"[{name}] {e}")
            continue
        rendered[name] = (text, docs, values)
    return rendered


# ---------------------------------------------------------------------------------------------
# Certificates


def openssl(args, data=None):
    p = subprocess.run(["openssl"] + args, input=data, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def check_selfsigned_secret(name, docs, tmp):
    """The generated Secret of a selfSigned render is a usable CA, certificate and key for the
    Service, and both webhook configurations trust that CA; its files (ca.crt, tls.crt, tls.key in
    a directory of their own), or None."""
    secrets = by_kind(docs, "Secret")
    if not check(len(secrets) == 1, f"[{name}] one Secret"):
        return None
    sec = secrets[0]
    check(sec["type"] == "kubernetes.io/tls", f"[{name}] Secret type kubernetes.io/tls")
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    d = tempfile.mkdtemp(prefix=f"secret-{name}-", dir=tmp)
    files = {}
    for k in ("ca.crt", "tls.crt", "tls.key"):
        files[k] = os.path.join(d, k)
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
    with open(files["ca.crt"]) as f:
        ca = f.read()
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        wh = by_kind(docs, kind)[0]["webhooks"][0]
        check(pem_from_b64(wh["clientConfig"]["caBundle"]) == ca,
              f"[{name}] {kind} caBundle equals the CA that signed the certificate")
    return files


def make_client_cert(tmp, tag):
    """A CA and a client certificate (clientAuth) it signed, made with openssl; their files."""
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


# ---------------------------------------------------------------------------------------------
# Reviews


def application(view_type, name="a"):
    """An Application with one aws-dynamodb-kro component whose dynamodb-streams-kro trait has this
    viewType."""
    return {"apiVersion": "core.oam.dev/v1beta1", "kind": "Application",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"components": [{"name": "t", "type": "aws-dynamodb-kro", "properties": {"tableName": "t"},
                                     "traits": [{"type": "dynamodb-streams-kro", "properties": {"viewType": view_type}}]}]}}


def invalid_table_review(group, resource, uid):
    """A review of a table object of a guards rule (ACK Table or kro DynamoDBTable) whose stream is
    enabled without a view type: the table rules deny it."""
    kind = {v[1]: v[2] for v in GUARD_RULES.values()}[resource]
    spec = {"streamSpecification": {"streamEnabled": True}} if kind == "Table" else {"streamEnabled": True}
    obj = {"apiVersion": group + "/v1alpha1", "kind": kind, "metadata": {"name": "t", "namespace": "default"},
           "spec": spec}
    return review_for(obj, uid=uid, kind={"group": group, "version": "v1alpha1", "kind": kind},
                      resource={"group": group, "version": "v1alpha1", "resource": resource})


def review_cli(t, rv, *flags):
    """The response of `dynamodb-streams-webhook review ... -` to a review (a dict; {"error": ...}
    when there is none)."""
    p = subprocess.run([t.binary, "review", *flags, "-"], input=json.dumps(rv),
                       capture_output=True, text=True, timeout=60)
    try:
        return json.loads(p.stdout)["response"]
    except (ValueError, KeyError):
        return {"error": (p.stdout + p.stderr).strip()[:300]}


# ---------------------------------------------------------------------------------------------
# The binary with the chart's arguments

_DEFAULT = object()


class ChartServer:
    """The real binary, started with the container args of a render's Deployment (`serve` and the
    chart's flags) and the certificate files of its Secret, and called the way the apiserver calls
    it: on 127.0.0.1, TLS verified with the caBundle for <service>.<namespace>.svc. What cannot be
    the same outside a pod is replaced: the port (the kernel picks one; serve_support.Server reads
    it from the JSON log), the bind address, the certificate and client CA paths, and the shutdown
    delay (0s). A context manager: ready (GET /readyz 200) on entry, SIGTERM on exit, which must
    end it within 40 s.

        with ChartServer(t, docs, files) as srv:
            status, body = srv.call("POST", "/validate", json.dumps(review_for(...)).encode())
    """
    REPLACED = ("port", "bind-address", "tls-cert-file", "tls-private-key-file", "client-ca-file",
                "shutdown-delay", "log-format")

    def __init__(self, t, docs, files, client_ca=None, client=None):
        self.t, self.files, self.client = t, files, client
        deploy = by_kind(docs, "Deployment")[0]
        self.svc = by_kind(docs, "Service")[0]["metadata"]["name"]
        self.args = container(deploy)["args"]
        self.client_ca = client_ca
        self.server = None

    def __enter__(self):
        args = self.args
        flags = dict(parse_args_list(args[1:]))
        check(args[:1] == ["serve"], f"the chart's container runs `serve`: {args[:1]}")
        # serve_support.Server passes --log-format json to read the port from the log: the same as the chart's
        check(flags.get("log-format") == "json", f"the chart passes --log-format=json: {flags.get('log-format')}")
        check(("client-ca-file" in flags) == bool(self.client_ca),
              f"the chart passes --client-ca-file exactly when a client CA is given ({flags.get('client-ca-file')})")
        kept = []
        for a in args[1:]:
            name = a[2:].split("=", 1)[0]
            if name in self.REPLACED:
                check("=" in a, f"the chart passes {a} as --name=value")
            else:
                kept.append(a)
        kept.append("--shutdown-delay=0s")
        if self.client_ca:
            kept.append(f"--client-ca-file={self.client_ca}")
        try:
            self.server = Server(self.t.binary, os.path.dirname(self.files["ca.crt"]), *kept,
                                 cert=self.files["tls.crt"], key=self.files["tls.key"], wait_ready=False)
        except RuntimeError as e:
            raise ServerError(f"the server started with the chart's arguments did not start: {e}")
        deadline, status = time.time() + 15, None
        while time.time() < deadline and self.server.proc.poll() is None:
            try:
                status, _ = self.call("GET", "/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        if status != 200:
            self.stop()
            raise ServerError(f"the server started with the chart's arguments is not ready (GET /readyz = {status}); "
                              f"log: {self.log()}")
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        if self.server is None:
            return
        self.server.signal(signal.SIGTERM)
        if self.server.wait(40) is None:
            check(False, "the server stops within 40 s of SIGTERM")
        self.server.kill()
        self.server = None

    def log(self):
        return "\n".join(self.server.log_lines()[-20:]) if self.server else ""

    @property
    def port(self):
        return self.server.port

    def call(self, method, path, body=None, client=_DEFAULT):
        """(status, body) of one request on a new connection; `client`: the client certificate files
        to present (default: the one given to the server; None: none)."""
        client = self.client if client is _DEFAULT else client
        ctx = ssl.create_default_context(cafile=self.files["ca.crt"])
        if client:
            ctx.load_cert_chain(client["client.crt"], client["client.key"])
        status, _, data = self.server.request(method, path, body, {"Content-Type": "application/json"},
                                              ctx=ctx, timeout=5, host=f"{self.svc}.{NS}.svc")
        return status, data


# ---------------------------------------------------------------------------------------------
# main


def main(groups):
    ap = argparse.ArgumentParser(description=sys.modules["__main__"].__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("group", choices=sorted(groups))
    ap.add_argument("--source", required=True, help="the repository's root")
    ap.add_argument("--binary", help="the dynamodb-streams-webhook binary")
    ap.add_argument("--helm", help=f"the helm binary (default: {DEFAULT_TOOLS_DIR}/bin/helm, else helm on PATH)",
                    default=os.path.join(DEFAULT_TOOLS_DIR, "bin", "helm"))
    ap.add_argument("--kube-validate", help="../shared/tools/kube-validate/kube-validate")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dsw-deploy-") as tmp:
        t = Tools(args, tmp)
        try:
            groups[args.group](t)
        except Failed as e:
            check(False, str(e))
    finish(args.group)
