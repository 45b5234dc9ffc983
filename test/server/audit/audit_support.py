"""Shared helpers of the `audit` tests (audit_*_test.py): one CA and serving certificate per run,
an apiserver stand-in per test (apiserver_standin.py) on a free loopback port, kubeconfig files in
every form the audit reads, and the real binary run with a bounded timeout, its JSON log lines
parsed.

The binary is the first argument of each test script (CTest passes $<TARGET_FILE:...>); the
remaining arguments go to unittest."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import apiserver_standin as st  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "test", "fixtures")
BINARY = None       # set by main()
CERTS = None        # ca.crt, ca.key, tls.crt, tls.key (setUpModule)
USER = "system:serviceaccount:dsw:audit"
TOKEN = "audit-token"
LABEL = "app.kubernetes.io/managed-by"
OURS = "dynamodb-streams-webhook"
AUDITED = ("applications", "tables", "dynamodbtables")
WRITE_VERBS = ("get", "list", "create", "update", "delete")


def main():
    """Runs the unittest module: argv[1] is the binary."""
    global BINARY
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} BINARY [unittest args]", file=sys.stderr)
        sys.exit(2)
    BINARY = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


_base = None


def certs():
    global CERTS, _base
    if CERTS is None:
        _base = tempfile.mkdtemp(prefix="dsw-audit-test-")
        CERTS = st.make_certs(os.path.join(_base, "certs"))
    return CERTS


def cleanup():
    if _base:
        shutil.rmtree(_base, ignore_errors=True)


def allow_audit(srv, user=USER, report="reports", namespace=None, verbs=WRITE_VERBS):
    """The ClusterRole the chart gives the audit: list on the audited kinds; get, list, create,
    update, delete on the report kind."""
    srv.allow(user, ["list"], ["core.oam.dev", "dynamodb.services.k8s.aws", "kro.run"],
              list(AUDITED), namespace)
    group = "openreports.io" if report == "reports" else "wgpolicyk8s.io"
    srv.allow(user, list(verbs), group, report, namespace)


class Run:
    """One run of the binary: returncode, stdout, stderr, and the JSON log lines."""

    def __init__(self, proc_args, returncode, stdout, stderr):
        self.args = proc_args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.logs = []
        for line in stderr.splitlines():
            if line.startswith("{"):
                try:
                    self.logs.append(json.loads(line))
                except ValueError:
                    pass

    def lines(self, msg):
        return [l for l in self.logs if l.get("msg") == msg]

    def scan(self):
        """The scan line (complete, partly written or failed)."""
        for l in self.logs:
            if l.get("msg", "").startswith("scan "):
                return l
        return None

    def __repr__(self):
        return f"Run(rc={self.returncode}, stderr={self.stderr[-3000:]!r})"


def run(args, env=None, timeout=120, stdin=None):
    e = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST",
                                                         "KUBERNETES_SERVICE_PORT")}
    e["HOME"] = e.get("DSW_TEST_HOME", "/nonexistent")
    e.update(env or {})
    p = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout, env=e,
                       input=stdin)
    return Run(args, p.returncode, p.stdout, p.stderr)


def run_until_stopped(args, stop_after):
    """Runs the audit as a loop (no --once), hands each stderr line to `stop_after(line)`, and
    sends SIGTERM as soon as it returns True; the Run once the process has exited (killed if it
    does not within 20 s)."""
    proc = subprocess.Popen([BINARY, *args], stderr=subprocess.PIPE, text=True)
    lines, rest = [], ""
    try:
        for raw in proc.stderr:
            lines.append(raw)
            if stop_after(raw):
                proc.send_signal(signal.SIGTERM)
                break
        _, rest = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Run(args, proc.returncode, "", "".join(lines) + rest)


def kubeconfig(path, server, user=None, ca_file=None, ca_data=None, cluster_extra=None,
               context="test", extra_contexts=(), current=True):
    """Writes a kubeconfig: one cluster (server, CA file or data), one user (a dict of its
    fields) and the context `context` (current unless current=False)."""
    cluster = {"server": server}
    if ca_file:
        cluster["certificate-authority"] = ca_file
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    cluster.update(cluster_extra or {})
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "c", "cluster": cluster}],
           "users": [{"name": "u", "user": user or {}}],
           "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}]
           + list(extra_contexts)}
    if current:
        doc["current-context"] = context
    with open(path, "w") as f:
        json.dump(doc, f)   # JSON is YAML
    return path


class AuditCase(unittest.TestCase):
    """A stand-in per test with the audit's rights granted to USER (token TOKEN), and a
    kubeconfig for it; `kinds` and `options` configure the stand-in."""
    kinds = st.DEFAULT_KINDS
    options: dict = {}
    grant = True

    @classmethod
    def setUpClass(cls):
        certs()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dsw-audit-case-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.srv = st.ApiServerStandin(os.path.join(CERTS, "tls.crt"),
                                       os.path.join(CERTS, "tls.key"), kinds=self.kinds,
                                       tokens={TOKEN: USER}, **self.options)
        if self.grant:
            allow_audit(self.srv)
        self.srv.start()
        self.addCleanup(self.srv.stop, 5)
        self.kubeconfig = kubeconfig(os.path.join(self.dir, "kubeconfig"), self.srv.url,
                                     {"token": TOKEN}, ca_file=os.path.join(CERTS, "ca.crt"))

    def audit(self, *extra, env=None, timeout=120):
        return run(["audit", "--kubeconfig", self.kubeconfig, "--once", "--log-format", "json",
                    *extra], env=env, timeout=timeout)

    def reports(self, resource="reports", namespace=None):
        return {(r["metadata"]["namespace"], r["metadata"]["name"]): r
                for r in self.srv.objects(resource, namespace)}

    def results_by_uid(self, resource="reports"):
        out = {}
        for r in self.srv.objects(resource):
            for res in r.get("results", []):
                out.setdefault(res["resources"][0].get("uid"), []).append(res)
        return out

    def assertNothingWritten(self, run):
        writes = self.srv.writes()
        self.assertEqual(writes, [], f"{run}: wrote {[(w.method, w.path) for w in writes]}")

    def assertComplete(self, run):
        self.assertEqual(run.returncode, 0, run)
        self.assertIsNotNone(run.scan(), run)
        self.assertEqual(run.scan()["msg"], "scan complete", run)
