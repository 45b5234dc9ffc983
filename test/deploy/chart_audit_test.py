#!/usr/bin/python3
"""The chart's audit CronJob and its RBAC (values `audit`), and the `helm test` Pod (values
`tests`).

  audit     what each setting renders, exactly: the CronJob's fields and arguments (which flags
            the audit knows), its pod's hardening, its own ServiceAccount, a ClusterRole of
            exactly the audited kinds and the report kind, bound cluster-wide or in each of
            audit.namespaces; strict validation; the values the schema refuses; and the rendered
            arguments run by the real binary against the apiserver stand-in
            (test/server/audit/apiserver_standin.py) as the pod would run them (service account
            token and CA, KUBERNETES_SERVICE_HOST/PORT), its user holding exactly the rendered
            rules: the scan completes, creates, updates (after a 409) and deletes its reports, uses
            every verb granted and no other, and fails without any one of them.
  selftest  the test Pod in every TLS mode (the CA the webhook configurations trust mounted,
            the client certificate with tls.clientCA), its hook annotations, hardening and
            arguments; and the real `selftest` with the Pod's arguments against the real binary
            started with the Deployment's (ChartServer), the certificate verified for
            <service>.<namespace>.svc: it passes in each enforcement, with a client certificate,
            with an existingSecret CA, and fails against a server of the other enforcement.

Usage: chart_audit_test.py GROUP --source DIR [--binary BIN] [--helm PATH] [--kube-validate PATH]
(see deploy_support.py for the tools and exit codes).
"""
import contextlib
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

from deploy_support import (NS, ROOT, ChartServer, RenderError, by_kind, check, check_selfsigned_secret,
                            container, deep_merge, labels_match, load_values, main, make_client_cert,
                            parse_args_list, pem_from_b64, test_pods, write_values)

sys.path.insert(0, os.path.join(ROOT, "test", "server", "audit"))
import apiserver_standin as st  # noqa: E402

AUDITED = {"applications": ("core.oam.dev", "applications", "ackTables"),
           "tables": ("dynamodb.services.k8s.aws", "tables", "ackTables"),
           "dynamodbtables": ("kro.run", "dynamodbtables", "kroTables")}
REPORT = {"report": ("openreports.io", "reports"), "policyreport": ("wgpolicyk8s.io", "policyreports")}
REPORT_VERBS = ["get", "list", "create", "update", "delete"]
OURS = {"app.kubernetes.io/managed-by": "dynamodb-streams-webhook"}


def component(d):
    return d.get("metadata", {}).get("labels", {}).get("app.kubernetes.io/component")


def values_for(t, overrides):
    """The values a render with `overrides` (a values file) amounts to; lists are replaced, as helm
    does."""
    return deep_merge(load_values(t), copy.deepcopy(overrides))


def render_with(t, name, overrides):
    path = write_values(t, re.sub(r"[^a-z0-9]+", "-", name.lower()) + ".yaml", overrides)
    text, docs = t.render(["-f", path])
    return text, docs, values_for(t, overrides)


# ---------------------------------------------------------------------------------------------
# audit


def audited_kinds(values):
    g = values["guards"]
    return ["applications"] + [k for k in ("tables", "dynamodbtables") if g[AUDITED[k][2]]["enabled"]]


def expected_args(values):
    """The CronJob container's arguments for these values, in order."""
    a, adm = values["audit"], values["admission"]
    args = ["audit", "--once", f"--log-level={values['logLevel']}", f"--log-format={values['logFormat']}",
            f"--report-kind={a['reportKind']}"]
    if a["reportName"]:
        args.append(f"--report-name={a['reportName']}")
    args += [f"--namespace={n}" for n in a["namespaces"]]
    args += [f"--kinds={','.join(audited_kinds(values))}", f"--applies-to={','.join(adm['appliesTo'])}",
             f"--unknown-properties={adm['unknownProperties']}", f"--view-type-change={adm['viewTypeChange']}"]
    return args


def expected_rules(values):
    """The ClusterRole's rules: list on each audited kind; get, list, create, update, delete on
    the report kind."""
    rules = [{"apiGroups": [AUDITED[k][0]], "resources": [AUDITED[k][1]], "verbs": ["list"]} for k in audited_kinds(values)]
    group, resource = REPORT[values["audit"]["reportKind"]]
    return rules + [{"apiGroups": [group], "resources": [resource], "verbs": REPORT_VERBS}]


def check_audit(t, name, docs, values, audit_help):
    a = values["audit"]
    objs = [d for d in docs if component(d) == "audit"]
    rbac = [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding", "RoleBinding", "Role", "CronJob", "Job")]
    if not a["enabled"]:
        check(objs == [] and rbac == [], f"[{name}] audit.enabled=false: no audit objects, no RBAC: "
                                         f"{[(d['kind'], d['metadata']['name']) for d in objs + rbac]}")
        return
    deploy = by_kind(docs, "Deployment")[0]
    fullname = deploy["metadata"]["name"]
    audit_name = f"{fullname}-audit"
    want_kinds = sorted(["ServiceAccount", "ClusterRole", "CronJob"] +
                        (["RoleBinding"] * len(a["namespaces"]) if a["namespaces"] else ["ClusterRoleBinding"]))
    check(sorted(d["kind"] for d in objs) == want_kinds and len(rbac) == len(want_kinds) - 1,
          f"[{name}] the audit renders {want_kinds}: {sorted(d['kind'] for d in objs)}")
    check(all(d["metadata"]["name"] == audit_name for d in objs), f"[{name}] every audit object is named {audit_name}")
    sa = [d for d in objs if d["kind"] == "ServiceAccount"]
    role = [d for d in objs if d["kind"] == "ClusterRole"]
    cron = [d for d in objs if d["kind"] == "CronJob"]
    if not (sa and role and cron):
        return
    sa, role, cron = sa[0], role[0], cron[0]
    check(sa["metadata"]["namespace"] == NS and sa.get("automountServiceAccountToken") is True,
          f"[{name}] the audit's ServiceAccount is in {NS} and mounts its token (the audit calls the API)")
    # the ClusterRole: exactly these rules, no more, no less
    check(role["rules"] == expected_rules(values),
          f"[{name}] the ClusterRole is exactly {expected_rules(values)}: {role['rules']}")
    # bound cluster-wide, or only in audit.namespaces
    subject = [{"kind": "ServiceAccount", "name": audit_name, "namespace": NS}]
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": audit_name}
    bindings = [d for d in objs if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]
    check(all(b["roleRef"] == ref and b["subjects"] == subject for b in bindings),
          f"[{name}] every binding grants the ClusterRole to the audit's ServiceAccount only: "
          f"{[(b['roleRef'], b['subjects']) for b in bindings]}")
    if a["namespaces"]:
        check(sorted(b["metadata"]["namespace"] for b in bindings) == sorted(a["namespaces"]),
              f"[{name}] a RoleBinding in each of audit.namespaces and nowhere else: "
              f"{[b['metadata'].get('namespace') for b in bindings]}")
    else:
        check([b["kind"] for b in bindings] == ["ClusterRoleBinding"], f"[{name}] bound cluster-wide")
    # the CronJob
    spec = cron["spec"]
    check(cron["apiVersion"] == "batch/v1" and cron["metadata"]["namespace"] == NS, f"[{name}] a batch/v1 CronJob in {NS}")
    check(len(audit_name) <= 52, f"[{name}] the CronJob name fits 52 characters: {audit_name}")
    want = {"schedule": a["schedule"], "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": a["startingDeadlineSeconds"],
            "successfulJobsHistoryLimit": a["successfulJobsHistoryLimit"],
            "failedJobsHistoryLimit": a["failedJobsHistoryLimit"]}
    got = {k: spec.get(k) for k in want}
    check(got == want, f"[{name}] CronJob fields follow audit.*: {got} != {want}")
    job = spec["jobTemplate"]["spec"]
    check({k: job.get(k) for k in ("backoffLimit", "activeDeadlineSeconds")} ==
          {"backoffLimit": a["backoffLimit"], "activeDeadlineSeconds": a["activeDeadlineSeconds"]},
          f"[{name}] Job backoffLimit and activeDeadlineSeconds follow audit.*: {job}")
    pod = job["template"]["spec"]
    dpod = deploy["spec"]["template"]["spec"]
    check(pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == audit_name
          and pod.get("automountServiceAccountToken") is True and pod.get("enableServiceLinks") is False,
          f"[{name}] the pod runs once, as the audit's ServiceAccount with its token")
    check(pod.get("securityContext") == dpod["securityContext"], f"[{name}] the pod's securityContext is the webhook's: "
                                                                 f"{pod.get('securityContext')}")
    check(pod.get("imagePullSecrets", []) == values["imagePullSecrets"] and pod.get("nodeSelector", {}) == values["nodeSelector"]
          and pod.get("tolerations", []) == values["tolerations"],
          f"[{name}] imagePullSecrets, nodeSelector and tolerations follow the chart's")
    check("volumes" not in pod, f"[{name}] no volume (the audit writes only to the apiserver)")
    ctrs = pod["containers"]
    check(len(ctrs) == 1 and not pod.get("initContainers"), f"[{name}] one container")
    ctr, dctr = ctrs[0], container(deploy)
    check(ctr["image"] == dctr["image"] and ctr["imagePullPolicy"] == dctr["imagePullPolicy"],
          f"[{name}] the audit runs the webhook's image: {ctr['image']}")
    check(ctr.get("securityContext") == dctr["securityContext"]
          and ctr["securityContext"]["readOnlyRootFilesystem"] is True
          and ctr["securityContext"]["capabilities"] == {"drop": ["ALL"]},
          f"[{name}] the container's securityContext is the webhook's (restricted): {ctr.get('securityContext')}")
    check(ctr.get("resources") == a["resources"], f"[{name}] resources follow audit.resources: {ctr.get('resources')}")
    check("env" not in ctr and "volumeMounts" not in ctr, f"[{name}] no environment or mounts of its own")
    check(ctr["args"] == expected_args(values), f"[{name}] the arguments are exactly {expected_args(values)}: {ctr['args']}")
    check(not any(x.startswith("--enforcement") for x in ctr["args"]),
          f"[{name}] no --enforcement: the audit judges as deny whatever the webhook's enforcement")
    for flag, _ in parse_args_list(ctr["args"][1:]):
        check(f"--{flag}" in audit_help, f"[{name}] --{flag} is a flag `audit --help` lists")
    # the audit's pods are never taken for webhook pods
    labels = job["template"]["metadata"]["labels"]
    selectors = [("Service", by_kind(docs, "Service")[0]["spec"]["selector"]),
                 ("Deployment", deploy["spec"]["selector"]["matchLabels"])]
    selectors += [("PodDisruptionBudget", p["spec"]["selector"]["matchLabels"]) for p in by_kind(docs, "PodDisruptionBudget")]
    selectors += [("NetworkPolicy", n["spec"]["podSelector"]["matchLabels"]) for n in by_kind(docs, "NetworkPolicy")]
    for what, sel in selectors:
        check(not labels_match(sel, labels), f"[{name}] the {what} selector does not select the audit's pods")
    check(labels.get("app.kubernetes.io/component") == "audit", f"[{name}] the audit's pods are labelled component=audit")


AUDIT_CONFIGS = [
    ("audit off (the default)", {}),
    ("audit on, defaults", {"audit": {"enabled": True}}),
    ("policyreport, two namespaces, a report name, no ACK guard",
     {"audit": {"enabled": True, "reportKind": "policyreport", "namespaces": ["team-a", "team-b"],
                "reportName": "dsw-streams"},
      "guards": {"ackTables": {"enabled": False}}}),
    ("report, one namespace, no kro guard",
     {"audit": {"enabled": True, "namespaces": ["team-a"]}, "guards": {"kroTables": {"enabled": False}}}),
    ("both guards off", {"audit": {"enabled": True},
                         "guards": {"ackTables": {"enabled": False}, "kroTables": {"enabled": False}}}),
    ("every value set",
     {"audit": {"enabled": True, "schedule": "*/30 6-18 * * 1-5", "reportKind": "report",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
                "activeDeadlineSeconds": 600, "backoffLimit": 0, "startingDeadlineSeconds": 60,
                "successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 5},
      "logLevel": "debug", "logFormat": "text",
      "admission": {"appliesTo": ["aws-dynamodb-kro", "my-table"], "unknownProperties": "warn",
                    "viewTypeChange": "warn", "enforcement": "warn"},
      "image": {"repository": "registry.example.com/platform/dynamodb-streams-webhook", "tag": "1.2.3",
                "pullPolicy": "Always"},
      "imagePullSecrets": [{"name": "regcred"}], "nodeSelector": {"kubernetes.io/arch": "arm64"},
      "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "platform", "effect": "NoSchedule"}],
      "networkPolicy": {"enabled": True, "apiServerCIDRs": ["10.0.0.0/8"]}}),
]

# values the schema refuses (helm template and helm lint --strict), naming the value
AUDIT_REFUSED = [
    (["--set", "audit.reportKind=Report"], "reportKind", "a report kind in the wrong case"),
    (["--set", "audit.reportKind=openreports"], "reportKind", "an unknown report kind"),
    (["--set", "audit.schedule=17"], ["schedule", "want string"], "a schedule that is a number, not a string"),
    (["--set", "audit.schedule=hourly"], "schedule", "a schedule that is not cron"),
    (["--set", "audit.schedule=* * * *"], "schedule", "a cron schedule of four fields"),
    (["--set", "audit.schedule="], "schedule", "an empty schedule"),
    (["--set-string", "audit.activeDeadlineSeconds=15m"], "activeDeadlineSeconds", "a deadline that is not a number"),
    (["--set", "audit.backoffLimit=-1"], "backoffLimit", "a negative backoffLimit"),
    (["--set", "audit.namespaces[0]=Team-A"], "namespaces", "a namespace that is no DNS label"),
    (["--set", "audit.namespaces=team-a"], ["namespaces", "want array"], "namespaces as a string"),
    (["--set", "audit.reportName=Bad_Name"], "reportName", "a report name that is no DNS subdomain"),
    (["--set", "audit.enable=true"], "enable", "a misspelled audit key"),
    (["--set", "tests.enable=false"], "enable", "a misspelled tests key"),
    (["--set", "tests.clientCertSecret=Bad_Name"], "clientCertSecret", "a Secret name that is no DNS subdomain"),
]
SCHEDULES_ACCEPTED = ["@hourly", "@daily", "0 */6 * * *", "*/15 * * * 1-5", "17 * * * *"]


def group_audit(t):
    t.need_binary()
    t.need_validator("the audit's objects were")
    p = subprocess.run([t.binary, "audit", "--help"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, f"`audit --help` exits 0: {p.stderr[:200]}")
    audit_help = p.stdout
    for name, overrides in AUDIT_CONFIGS:
        try:
            text, docs, values = render_with(t, name, overrides)
        except RenderError as e:
            check(False, f"[{name}] {e}")
            continue
        check_audit(t, name, docs, values, audit_help)
        rc, out = t.validate(text)
        check(rc == 0 and "UNCHECKED" not in "\n".join(l for l in out.splitlines()
                                                        if re.search(r"(CronJob|ClusterRole|RoleBinding|ServiceAccount)/", l)),
              f"[{name}] strict validation of every object, the audit's included: {out[-600:]}")
        print(f"[{name}] {', '.join(sorted(d['kind'] for d in docs if component(d) == 'audit')) or 'no audit objects'}")
    for args, needles, why in AUDIT_REFUSED:
        t.check_refused(args, needles, why)
    for schedule in SCHEDULES_ACCEPTED:
        try:
            _, docs = t.render(["--set", "audit.enabled=true", "--set", f"audit.schedule={schedule}"])
            check(by_kind(docs, "CronJob")[0]["spec"]["schedule"] == schedule, f"schedule {schedule!r} rendered as given")
        except RenderError as e:
            check(False, f"accepts audit.schedule={schedule!r}: {e}")
    # NOTES: with the audit on, they name its CronJob and the CRD the chart does not install
    def notes(*args):
        return t.helm.install_dry_run(t.chart, list(args))["info"]["notes"]
    off = notes()
    check("CronJob" not in off and "reports.openreports.io" not in off, "without the audit, NOTES do not mention it")
    for kind, crd in (("report", "reports.openreports.io"), ("policyreport", "policyreports.wgpolicyk8s.io")):
        text = notes("--set", "audit.enabled=true", "--set", f"audit.reportKind={kind}")
        check("does NOT install the CRD " + crd in text and "cronjob/dsw-dynamodb-streams-webhook-audit" in text
              and f"kubectl get {crd} -A" in text,
              f"with audit.reportKind={kind}, NOTES say the chart does not install {crd} and how to run a scan: {text[-900:]}")
    audit_rbac_against_standin(t)


# ------------------------------------------------------------- the rendered RBAC, against the stand-in

TOKEN = "audit-sa-token"


def grants(docs):
    """(user, [(verbs, groups, resources, namespace or None)]) the rendered ClusterRole and its
    bindings give the CronJob's ServiceAccount."""
    cron = by_kind(docs, "CronJob")[0]
    sa = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"]
    user = f"system:serviceaccount:{NS}:{sa}"
    roles = {r["metadata"]["name"]: r for r in by_kind(docs, "ClusterRole")}
    out = []
    for b in by_kind(docs, "ClusterRoleBinding") + by_kind(docs, "RoleBinding"):
        if {"kind": "ServiceAccount", "name": sa, "namespace": NS} not in b["subjects"]:
            continue
        scope = b["metadata"].get("namespace") if b["kind"] == "RoleBinding" else None
        for r in roles[b["roleRef"]["name"]]["rules"]:
            out.append((list(r["verbs"]), list(r["apiGroups"]), list(r["resources"]), scope))
    return user, out


@contextlib.contextmanager
def standin_for(t, docs, certs, drop=None):
    """The apiserver stand-in whose user is the CronJob's ServiceAccount with exactly the rendered
    rules (without verb `drop` = (resource, verb), when given)."""
    user, rules = grants(docs)
    srv = st.ApiServerStandin(os.path.join(certs, "tls.crt"), os.path.join(certs, "tls.key"), tokens={TOKEN: user})
    for verbs, groups, resources, scope in rules:
        if drop and drop[0] in resources:
            verbs = [v for v in verbs if v != drop[1]]
        if verbs:
            srv.allow(user, verbs, groups, resources, scope)
    srv.start()
    try:
        yield srv, user
    finally:
        srv.stop(5)


def run_cronjob(t, docs, certs, port):
    """The CronJob's container arguments run by the real binary as its pod would: the service
    account's token and ca.crt (in a directory of their own, passed with --service-account-dir,
    as /var/run/secrets/... cannot be written here) and KUBERNETES_SERVICE_HOST/PORT. Returns
    (returncode, stderr, the log's scan line)."""
    args = by_kind(docs, "CronJob")[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    sa = tempfile.mkdtemp(prefix="sa-", dir=t.tmp)
    shutil.copy(os.path.join(certs, "ca.crt"), os.path.join(sa, "ca.crt"))
    with open(os.path.join(sa, "token"), "w") as f:
        f.write(TOKEN)
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")}
    env.update(HOME="/nonexistent", KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT=str(port))
    p = subprocess.run([t.binary, *args, "--service-account-dir", sa], capture_output=True, text=True, timeout=120, env=env)
    scan = None
    for line in p.stderr.splitlines():
        if line.startswith("{") and '"msg":"scan ' in line:
            scan = yaml.safe_load(line)
    return p.returncode, p.stderr, scan


def table(kind, namespace, name):
    group = "dynamodb.services.k8s.aws" if kind == "Table" else "kro.run"
    spec = {"streamSpecification": {"streamEnabled": True, "streamViewType": "NEW_IMAGE"}} if kind == "Table" \
        else {"streamEnabled": True, "streamViewType": "NEW_IMAGE"}
    return {"apiVersion": f"{group}/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def seed(srv, report_kind, report_name, namespaces):
    """Objects in namespaces[0] (which already holds the audit's own report, updated after a
    409) and namespaces[1] (a report created), and the audit's own stale report in a namespace
    with nothing to audit (deleted); Applications in `team-z` when it is not audited."""
    a, b = namespaces[0], namespaces[1]
    srv.add_objects(st.make_applications(6, [a, b], invalid_every=3))
    srv.add(table("Table", b, "orders"))
    srv.add(table("DynamoDBTable", b, "users"))
    srv.add(st.make_report(a, report_name, kind=report_kind, source="dynamodb-streams-webhook", labels=OURS))
    srv.add(st.make_report("team-stale", report_name, kind=report_kind, source="dynamodb-streams-webhook", labels=OURS))
    srv.bump_before_update("reports" if report_kind == "Report" else "policyreports", a, report_name)


def audit_rbac_against_standin(t):
    certs = st.make_certs(os.path.join(t.tmp, "standin-certs"))
    # 1. all namespaces, Reports, both guards: every granted verb used, and each one needed
    _, docs = t.render(["--set", "audit.enabled=true"])
    name = "dynamodb-streams-webhook"
    user, rules = grants(docs)
    granted = {(res, v) for verbs, _, resources, _ in rules for res in resources for v in verbs}
    with standin_for(t, docs, certs) as (srv, user):
        seed(srv, "Report", name, ["team-a", "team-b", "team-stale"])
        rc, err, scan = run_cronjob(t, docs, certs, srv.port)
        check(rc == 0 and scan and scan["msg"] == "scan complete",
              f"the CronJob's arguments, with exactly the rendered rules, complete a scan: rc={rc} {err[-1500:]}")
        reports = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in srv.objects("reports")}
        check(reports == {("team-a", name), ("team-b", name)},
              f"reports written in team-a (updated) and team-b (created), the stale one in team-stale deleted: {sorted(reports)}")
        log = [r for r in srv.requests() if r.resource]
        used = {(r.resource, r.verb) for r in log}
        refused = [(r.method, r.path, r.status) for r in log if r.status in (401, 403)]
        check(not refused and all(r.user == user for r in log), f"no request refused, all as {user}: {refused}")
        check(used == granted, f"the audit used every verb the ClusterRole grants and no other: used {sorted(used)}, "
                               f"granted {sorted(granted)}")
        check(scan and scan.get("applications") == 6 and scan.get("tables") == 1 and scan.get("dynamodbtables") == 1
              and scan.get("reports_written") == 2 and scan.get("reports_deleted") == 1,
              f"the scan read every audited kind and wrote and deleted its reports: {scan}")
    for drop in sorted(granted):
        with standin_for(t, docs, certs, drop=drop) as (srv, _):
            seed(srv, "Report", name, ["team-a", "team-b", "team-stale"])
            rc, err, scan = run_cronjob(t, docs, certs, srv.port)
            check(rc != 0 and "403" in err,
                  f"without {drop[1]} on {drop[0]} the scan does not complete (403): rc={rc} {scan}")
    # 2. audit.namespaces: the rules hold only there (RoleBindings); PolicyReports; no ACK guard
    overrides = {"audit": {"enabled": True, "reportKind": "policyreport", "namespaces": ["team-a", "team-b"],
                           "reportName": "dsw-streams"}, "guards": {"ackTables": {"enabled": False}}}
    _, docs, _ = render_with(t, "standin namespaces", overrides)
    user, rules = grants(docs)
    check(sorted({r[3] for r in rules}) == ["team-a", "team-b"], f"the rules are granted in team-a and team-b only: {rules}")
    with standin_for(t, docs, certs) as (srv, _):
        seed(srv, "PolicyReport", "dsw-streams", ["team-a", "team-b", "team-stale"])
        srv.add_objects(st.make_applications(3, ["team-z"], prefix="other"))
        rc, err, scan = run_cronjob(t, docs, certs, srv.port)
        check(rc == 0 and scan and scan["msg"] == "scan complete",
              f"with audit.namespaces, the CronJob's arguments complete a scan with the RoleBindings' rules: rc={rc} {err[-1500:]}")
        reports = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in srv.objects("policyreports")}
        check(reports == {("team-a", "dsw-streams"), ("team-b", "dsw-streams"), ("team-stale", "dsw-streams")},
              f"PolicyReports written in team-a and team-b; team-stale (not audited) left alone: {sorted(reports)}")
        log = [r for r in srv.requests() if r.resource]
        check(all(r.namespace in ("team-a", "team-b") and r.status not in (401, 403) for r in log),
              f"every request stays in the audited namespaces and is allowed: "
              f"{sorted({(r.namespace, r.resource, r.verb, r.status) for r in log})}")
        check(not any(r.resource == "tables" for r in log), "no ACK Table is listed with guards.ackTables off")
        check(scan and scan.get("applications") == 6 and scan.get("dynamodbtables") == 1,
              f"the scan read the audited namespaces' objects only: {scan}")


# ---------------------------------------------------------------------------------------------
# selftest: the helm test Pod


def selftest_pod(name, docs):
    pods = test_pods(docs)
    check(len(pods) == 1, f"[{name}] one helm test Pod: {[p['metadata']['name'] for p in pods]}")
    return pods[0] if pods else None


def expected_selftest_args(svc, values, client):
    adm = values["admission"]
    args = ["selftest", f"--url=https://{svc}.{NS}.svc:{values['service']['port']}",
            "--ca-file=/etc/dynamodb-streams-webhook/ca/ca.crt"]
    if client:
        args += ["--client-cert-file=/etc/dynamodb-streams-webhook/client/tls.crt",
                 "--client-key-file=/etc/dynamodb-streams-webhook/client/tls.key"]
    return args + [f"--enforcement={adm['enforcement']}", f"--applies-to={','.join(adm['appliesTo'])}",
                   f"--unknown-properties={adm['unknownProperties']}", f"--view-type-change={adm['viewTypeChange']}"]


def mounted_source(pod, path):
    """(volume, key) that the file `path` of the Pod's container comes from."""
    ctr = pod["spec"]["containers"][0]
    m = [m for m in ctr.get("volumeMounts", []) if m["mountPath"] == os.path.dirname(path)]
    if not check(len(m) == 1 and m[0].get("readOnly") is True and "subPath" not in m[0],
                 f"{path} is on a read-only whole-directory mount: {ctr.get('volumeMounts')}"):
        return None, None
    vol = [v for v in pod["spec"]["volumes"] if v["name"] == m[0]["name"]][0]
    src = vol.get("secret") or vol.get("configMap") or {}
    items = {i["path"]: i["key"] for i in src.get("items", [])}
    return vol, items.get(os.path.basename(path))


def check_selftest_pod(t, name, docs, values, selftest_help):
    tests, cca = values["tests"], values["tls"]["clientCA"]
    rendered = tests["enabled"] and (not cca["enabled"] or bool(tests["clientCertSecret"]))
    if not rendered:
        check(test_pods(docs) == [] and not [d for d in docs if component(d) == "selftest"],
              f"[{name}] no test Pod (tests.enabled={tests['enabled']}, clientCA={cca['enabled']}, "
              f"clientCertSecret={tests['clientCertSecret']!r})")
        return None
    pod = selftest_pod(name, docs)
    if not pod:
        return None
    deploy = by_kind(docs, "Deployment")[0]
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    ann = pod["metadata"].get("annotations", {})
    check(ann.get("helm.sh/hook") == "test" and ann.get("helm.sh/hook-delete-policy") == "before-hook-creation",
          f"[{name}] a helm test hook, replaced by the next run (before-hook-creation): {ann}")
    spec, dspec = pod["spec"], deploy["spec"]["template"]["spec"]
    ctr, dctr = spec["containers"][0], container(deploy)
    check(len(spec["containers"]) == 1 and not spec.get("initContainers"), f"[{name}] one container")
    check(ctr["image"] == dctr["image"] and ctr["imagePullPolicy"] == dctr["imagePullPolicy"],
          f"[{name}] the test runs the webhook's image: {ctr['image']}")
    check(spec.get("securityContext") == dspec["securityContext"] and ctr.get("securityContext") == dctr["securityContext"],
          f"[{name}] the webhook's (restricted) security contexts")
    check(spec["restartPolicy"] == "Never" and spec.get("automountServiceAccountToken") is False
          and spec.get("enableServiceLinks") is False and 0 < spec.get("activeDeadlineSeconds", 0) <= 300,
          f"[{name}] runs once, without a service account token, bounded in time")
    check(ctr.get("resources") == tests["resources"], f"[{name}] resources follow tests.resources")
    client = cca["enabled"]
    want = expected_selftest_args(svc, values, client)
    check(ctr["args"] == want, f"[{name}] the arguments are exactly {want}: {ctr['args']}")
    for flag, _ in parse_args_list(ctr["args"][1:]):
        check(f"--{flag}" in selftest_help, f"[{name}] --{flag} is a flag `selftest --help` lists")
    flags = dict(parse_args_list(ctr["args"][1:]))
    dflags = dict(parse_args_list(dctr["args"][1:]))
    for f in ("enforcement", "applies-to", "unknown-properties", "view-type-change"):
        check(flags.get(f) == dflags.get(f), f"[{name}] --{f} is the server's ({dflags.get(f)})")
    # the CA: the one the webhook configurations trust
    vol, key = mounted_source(pod, flags["ca-file"])
    mode = values["tls"]["mode"]
    if vol is not None:
        if mode == "existingSecret":
            cms = [c for c in by_kind(docs, "ConfigMap") if c["metadata"]["name"] == vol.get("configMap", {}).get("name")]
            check(len(cms) == 1 and key == "ca.crt" and cms[0]["data"].get("ca.crt") == values["tls"]["caBundle"],
                  f"[{name}] existingSecret: the CA comes from a ConfigMap holding tls.caBundle")
            if cms:
                a = cms[0]["metadata"].get("annotations", {})
                check(a.get("helm.sh/hook") == "test" and int(a.get("helm.sh/hook-weight", "0")) < int(ann.get("helm.sh/hook-weight", "0"))
                      and a.get("helm.sh/hook-delete-policy") == "before-hook-creation",
                      f"[{name}] the CA ConfigMap is a test hook created before the Pod: {a}")
        else:
            tls_secret = [v for v in dspec["volumes"] if v["name"] == "tls"][0]["secret"]["secretName"]
            check(vol.get("secret", {}).get("secretName") == tls_secret and key == "ca.crt",
                  f"[{name}] {mode}: the CA is ca.crt of the serving certificate's Secret {tls_secret}: {vol}")
            if mode == "selfSigned":
                sec = by_kind(docs, "Secret")[0]
                wh = by_kind(docs, "ValidatingWebhookConfiguration")[0]["webhooks"][0]
                check(sec["data"]["ca.crt"] == wh["clientConfig"]["caBundle"], f"[{name}] ... which is the caBundle")
            if mode == "certManager":
                certs = {c["spec"]["secretName"] for c in by_kind(docs, "Certificate")}
                check(tls_secret in certs, f"[{name}] ... the Secret of the Certificate cert-manager injects the CA of")
    if client:
        for f, k in (("client-cert-file", "tls.crt"), ("client-key-file", "tls.key")):
            vol, key = mounted_source(pod, flags[f])
            check(vol is not None and vol.get("secret", {}).get("secretName") == tests["clientCertSecret"] and key == k,
                  f"[{name}] --{f} is {k} of tests.clientCertSecret: {vol}")
    # never taken for a webhook pod; let in by a restricting NetworkPolicy
    labels = pod["metadata"]["labels"]
    for what, sel in [("Service", by_kind(docs, "Service")[0]["spec"]["selector"]),
                      ("Deployment", deploy["spec"]["selector"]["matchLabels"])] + \
                     [("PodDisruptionBudget", p["spec"]["selector"]["matchLabels"]) for p in by_kind(docs, "PodDisruptionBudget")]:
        check(not labels_match(sel, labels), f"[{name}] the {what} selector does not select the test Pod")
    for np in by_kind(docs, "NetworkPolicy"):
        peers = [p for r in np["spec"]["ingress"] for p in r.get("from", [])]
        if peers:
            check(any(labels_match(p.get("podSelector", {}).get("matchLabels"), labels) and p.get("podSelector") for p in peers),
                  f"[{name}] the NetworkPolicy lets the test Pod in: {peers}")
    return pod


SELFTEST_CONFIGS = [
    ("selfSigned", {}),
    ("certManager", {"tls": {"mode": "certManager"}}),
    ("existingSecret", None),  # filled in with a CA made at run time
    ("enforcement warn", {"admission": {"enforcement": "warn", "appliesTo": ["aws-dynamodb-kro", "my-table"],
                                        "unknownProperties": "warn", "viewTypeChange": "warn"}}),
    ("clientCA with a client certificate", {"tls": {"clientCA": {"enabled": True, "existingSecret": "apiserver-client-ca"}},
                                            "tests": {"clientCertSecret": "dsw-test-client"}}),
    ("clientCA without a client certificate", {"tls": {"clientCA": {"enabled": True, "existingConfigMap": "apiserver-client-ca"}}}),
    ("tests.enabled=false", {"tests": {"enabled": False}}),
    ("NetworkPolicy from the apiserver only", {"networkPolicy": {"enabled": True, "apiServerCIDRs": ["10.0.0.0/8"]}}),
    ("NetworkPolicy, no test Pod", {"networkPolicy": {"enabled": True, "apiServerCIDRs": ["10.0.0.0/8"]},
                                    "tests": {"enabled": False}}),
    ("tests.resources", {"tests": {"resources": {"requests": {"cpu": "5m", "memory": "8Mi"}, "limits": {"memory": "32Mi"}}},
                         "service": {"port": 8443}, "fullnameOverride": "admission"}),
]


def selftest_run(t, pod, port, files, client=None, **kw):
    """`selftest` with the test Pod's arguments against a server on 127.0.0.1:port: what cannot be the
    same outside the cluster is replaced (the URL's host and port; the CA and client certificate
    paths), and the certificate is verified for the URL's host, the Service's DNS name
    (--tls-server-name)."""
    args, host = [], None
    for a in pod["spec"]["containers"][0]["args"]:
        m = re.match(r"--url=https://([^:/]+):(\d+)$", a)
        if m:
            host = m.group(1)
            args.append(f"--url=https://127.0.0.1:{port}")
        elif a.startswith("--ca-file="):
            args.append(f"--ca-file={files['ca.crt']}")
        elif a.startswith("--client-cert-file="):
            args.append(f"--client-cert-file={client['client.crt']}")
        elif a.startswith("--client-key-file="):
            args.append(f"--client-key-file={client['client.key']}")
        else:
            args.append(a)
    check(host is not None and host.endswith(f".{NS}.svc"), f"the test Pod's --url names <service>.{NS}.svc: {host}")
    p = subprocess.run([t.binary, *args, f"--tls-server-name={host}"], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def passes(what, rc, out):
    lines = out.splitlines()
    ok = [l for l in lines if l.startswith("ok ")]
    fail = [l for l in lines if l.startswith("FAIL ")]
    check(rc == 0 and len(ok) >= 16 and not fail and "checks passed" in out,
          f"{what}: selftest with the test Pod's arguments passes against the chart's server: rc={rc} {out[-1200:]}")


def group_selftest(t):
    t.need_binary()
    p = subprocess.run([t.binary, "selftest", "--help"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, f"`selftest --help` exits 0: {p.stderr[:200]}")
    selftest_help = p.stdout
    # a CA and a serving certificate for the Service's DNS names, for existingSecret
    svc = "dsw-dynamodb-streams-webhook"
    ext = os.path.join(t.tmp, "existing")
    subprocess.run(["bash", os.path.join(ROOT, "certs", "make-dev-certs.sh"), ext, "--service", svc, "--namespace", NS],
                   check=True, capture_output=True, timeout=60)
    with open(os.path.join(ext, "ca.crt")) as f:
        ext_ca = f.read()
    rendered = {}
    for name, overrides in SELFTEST_CONFIGS:
        if overrides is None:
            overrides = {"tls": {"mode": "existingSecret", "existingSecret": "corp-webhook-tls", "caBundle": ext_ca}}
        try:
            text, docs, values = render_with(t, "selftest " + name, overrides)
        except RenderError as e:
            check(False, f"[{name}] {e}")
            continue
        check("helm.sh/hook: test" in text or not values["tests"]["enabled"] or values["tls"]["clientCA"]["enabled"],
              f"[{name}] `helm template` shows the test hook")
        rendered[name] = (docs, check_selftest_pod(t, name, docs, values, selftest_help))
        print(f"[{name}] test Pod: {'yes' if rendered[name][1] else 'no'}")
    # NOTES say why there is no test with a client CA and no client certificate
    notes = t.helm.install_dry_run(t.chart, ["--set", "tls.clientCA.enabled=true",
                                             "--set", "tls.clientCA.existingConfigMap=apiserver-client-ca"])["info"]["notes"]
    check("tests.clientCertSecret" in notes and "helm test" in notes,
          "with tls.clientCA and no tests.clientCertSecret, NOTES say helm test runs nothing and what to set")
    notes = t.helm.install_dry_run(t.chart, [])["info"]["notes"]
    check(f"helm test dsw --namespace {NS} --logs" in notes, "NOTES give the helm test command")

    # wiring: the real selftest with the Pod's arguments, against the binary with the Deployment's
    def serve_and_test(name, files, client_ca=None, client=None, against=None):
        docs, pod = rendered.get(name, (None, None))
        if not pod:
            check(False, f"[{name}] no test Pod to run")
            return
        server_docs = rendered[against][0] if against else docs
        with ChartServer(t, server_docs, files, client_ca=client_ca, client=client) as srv:
            return selftest_run(t, pod, srv.port, files, client)

    files = check_selfsigned_secret("selftest selfSigned", rendered["selfSigned"][0], t.tmp)
    if files:
        passes("selfSigned, enforcement deny", *serve_and_test("selfSigned", files))
    warn_files = check_selfsigned_secret("selftest warn", rendered["enforcement warn"][0], t.tmp)
    if warn_files:
        passes("enforcement warn (and the other admission options)", *serve_and_test("enforcement warn", warn_files))
        # the deny test Pod against the warn server fails, naming the invalid Application's verdict
        docs_deny, pod_deny = rendered["selfSigned"]
        with ChartServer(t, rendered["enforcement warn"][0], warn_files) as srv:
            rc, out = selftest_run(t, pod_deny, srv.port, warn_files)
        check(rc == 1 and "FAIL POST /validate (invalid Application): verdict: expected denied, got allowed" in out,
              f"the test of a deny release fails against a server in warn: rc={rc} {out[-600:]}")
    ext_files = {"ca.crt": os.path.join(t.tmp, "existing-ca-from-configmap.crt"),
                 "tls.crt": os.path.join(ext, "tls.crt"), "tls.key": os.path.join(ext, "tls.key")}
    docs, pod = rendered.get("existingSecret", (None, None))
    if pod:
        cm = [c for c in by_kind(docs, "ConfigMap") if c["metadata"]["name"].endswith("-selftest-ca")][0]
        with open(ext_files["ca.crt"], "w") as f:
            f.write(cm["data"]["ca.crt"])  # the CA exactly as the test Pod reads it
        passes("existingSecret, the CA from the test's ConfigMap", *serve_and_test("existingSecret", ext_files))
    cca_docs = rendered.get("clientCA with a client certificate", (None, None))[0]
    if cca_docs:
        cca_files = check_selfsigned_secret("selftest clientCA", cca_docs, t.tmp)
        good = make_client_cert(t.tmp, "selftest")
        if cca_files and good:
            passes("tls.clientCA with tests.clientCertSecret",
                   *serve_and_test("clientCA with a client certificate", cca_files, client_ca=good["ca.crt"], client=good))


GROUPS = {"audit": group_audit, "selftest": group_selftest}

if __name__ == "__main__":
    main(GROUPS)
