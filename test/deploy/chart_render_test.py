#!/usr/bin/python3
"""Chart rendering: which objects each configuration renders, the values the chart refuses (the
schema and the templates' own guards), strict validation of every object, upgrades that keep the
generated certificate, and the NOTES users read after `helm install`.

Usage: chart_render_test.py GROUP --source DIR [--binary BIN] [--helm PATH] [--kube-validate PATH]
GROUP: render, schema, validate, upgrade, notes (see deploy_support.py for the tools and exit codes).
"""
import copy
import json
import os
import re
import shutil

import yaml

from deploy_support import (CLUSTER_SCOPED, NS, RenderError, by_kind, chart_meta, check, check_selfsigned_secret, container,
                            container_images, dashboard_configmaps, load_values, main, min_replicas, render_all,
                            review_cli, review_for, write_values)


def group_render(t):
    rendered = render_all(t)
    announced = {i["image"] for i in yaml.safe_load(chart_meta(t)["annotations"]["artifacthub.io/images"])}
    for name, (_, docs, values) in rendered.items():
        used = set(container_images(docs))
        check(used and used <= announced,
              f"[{name}] every image the chart runs is in Chart.yaml's artifacthub.io/images: {sorted(used)}")
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
            elif d["kind"] in CLUSTER_SCOPED:
                check("namespace" not in d["metadata"], f"[{name}] {d['kind']}/{d['metadata']['name']} has no namespace")
            elif d["kind"] == "RoleBinding":
                check(d["metadata"].get("namespace") in values["audit"]["namespaces"],
                      f"[{name}] RoleBinding/{d['metadata']['name']} is in one of audit.namespaces")
            else:
                check(d["metadata"].get("namespace") == NS,
                      f"[{name}] {d['kind']}/{d['metadata']['name']} is in the release namespace")
    # The container's environment: empty by default (the server tunes malloc itself); the
    # operator's variables are passed as given.
    def env_of(args):
        _, docs = t.render(args)
        return {e["name"]: e["value"] for e in container(by_kind(docs, "Deployment")[0]).get("env", [])}
    check(env_of([]) == {}, "the default environment is empty")
    check(env_of(["--set-string", "env.MALLOC_ARENA_MAX=2", "--set", "env.TZ=UTC"]) ==
          {"MALLOC_ARENA_MAX": "2", "TZ": "UTC"}, "variables set in env are rendered as given")
    t.check_refused(["--set", "env.bad-name=x"], "bad-name", "an environment variable name that is not one")
    # Values that the templates refuse with a clear message (`fail`: helm template and install
    # refuse them; helm lint only logs them).
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
        t.check_refused(args, needle, why, lint=False)
    # matchConditions need 1.30: rendering for an older cluster fails clearly.
    mc = write_values(t, "mc.yaml", {"webhook": {"matchConditions": [{"name": "x", "expression": "true"}]}})
    t.check_refused(["-f", mc], "1.30", "matchConditions on Kubernetes 1.29", kube_version="v1.29.0", lint=False)
    # Chart.yaml's kubeVersion: helm refuses a cluster older than the chart supports.
    t.check_refused([], ["kubeVersion", ">=1.25.0-0"], "Kubernetes 1.24 (Chart.yaml's kubeVersion)",
                    kube_version="v1.24.0", lint=False)
    # Every --set in the install documentation names a value the chart's schema knows.
    with open(os.path.join(t.chart, "values.schema.json")) as f:
        schema = json.load(f)
    docs_dir = os.path.join(t.source, "docs")
    pages = ["README.md", "charts/dynamodb-streams-webhook/README.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(docs_dir) if f.endswith(".md"))
    for doc in pages:
        path = os.path.join(t.source, doc)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            text = f.read()
        for key in re.findall(r"--set(?:-string|-file)?[ =]([A-Za-z0-9_.\[\]]+)=", text):
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


# The values the issue names: helm itself must refuse them and say which value is wrong.
REFUSED_BY_HELM = [
    (["--set-string", "replicaCount=3"], ["/replicaCount", "want integer"], "a string replica count"),
    (["--set", "replicaCount=two"], ["/replicaCount", "want integer"], "a word for the replica count"),
    (["--set", "tls.mode=vault"], ["/tls/mode", "must be one of", "selfSigned"], "an unknown TLS mode"),
    (["--set", "replicas=3"], ["'replicas' not allowed"], "an unknown top-level key"),
]


def group_schema(t):
    """values.schema.json rejects typos and wrong types: `helm template` and `helm lint --strict`
    both exit non-zero naming the value."""
    for args, needles, why in REFUSED_BY_HELM:
        for cmd, p in (("helm template", t.render_raw(args)), ("helm lint --strict", t.helm.lint(t.chart, args))):
            out = (p.stdout + p.stderr).strip()
            errors = [l.strip() for l in out.splitlines() if l.strip().startswith("- at ")]
            print(f"{cmd} {' '.join(args)}: exit {p.returncode}: {'; '.join(errors) or out[-200:]}")
            check(p.returncode != 0 and all(n in out for n in needles),
                  f"{cmd} refuses {why} ({' '.join(args)}) naming {needles}: rc={p.returncode} {out[-300:]!r}")
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
        t.check_refused(args, needle, why)
    for args in (["--set", "webhook.timeoutSeconds=10"], ["--set", "webhook.timeoutSeconds=1"],
                 ["--set", "podDisruptionBudget.minAvailable=50%"],
                 ["--set", "tls.clientCA.existingConfigMap=ca"],
                 ["--set", "admission.enforcement=warn"], ["--set", "admission.enforcement=deny"],
                 ["--set", "autoscaling.enabled=true", "--set", "autoscaling.minReplicas=2",
                  "--set", "autoscaling.maxReplicas=2", "--set", "autoscaling.targetCPUUtilizationPercentage=250"],
                 ["--set", "autoscaling.enabled=true", "--set", "podDisruptionBudget.minAvailable=50%"],
                 ["--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring"]):
        try:
            t.render(args)
        except RenderError as e:
            check(False, f"accepts {' '.join(args)}: {e}")
    with open(os.path.join(t.chart, "values.schema.json")) as f:
        schema = json.load(f)
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
    walk(load_values(t), schema, "")


def group_validate(t):
    t.need_validator()
    print(f"validating with {t.validator_name}")
    for name, (text, docs, _) in render_all(t).items():
        rc, out = t.validate(text)
        print(f"[{name}] {out.splitlines()[-1] if out else ''}")
        check(rc == 0, f"[{name}] strict validation: {out}")
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
            qrc, qout = t.validate(yaml.safe_dump(alt))
            check(qrc == 0 and "1 checked" in qout and "UNCHECKED" not in qout,
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



def group_upgrade(t):
    """selfSigned mode reuses the Secret found by `lookup` on upgrade, so the caBundle is stable.

    `helm template` cannot look anything up, so this renders a copy of the chart in which the
    lookup call alone is replaced by reading a file that holds the Secret of a first render.
    """
    text1, docs1 = t.render([])
    _, docs2 = t.render([])
    s1, s2 = by_kind(docs1, "Secret")[0], by_kind(docs2, "Secret")[0]
    check(s1["data"]["ca.crt"] != s2["data"]["ca.crt"],
          "without an existing Secret every render generates a new CA (what `helm template` users get)")
    chart = os.path.join(t.tmp, "chart")
    shutil.copytree(t.chart, chart)
    wpath = os.path.join(chart, "templates", "webhook.yaml")
    with open(wpath) as f:
        src = f.read()
    call = 'lookup "v1" "Secret" .Release.Namespace $secretName'
    if not check(src.count(call) == 1, "webhook.yaml looks the Secret up exactly once"):
        return
    with open(wpath, "w") as f:
        f.write(src.replace(call, '.Files.Get "existing-secret.yaml" | fromYaml'))
    with open(os.path.join(chart, "existing-secret.yaml"), "w") as f:
        yaml.safe_dump(s1, f)
    _, docs3 = t.render([], chart=chart)
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
    _, docs4 = t.render([], chart=chart)
    s4 = by_kind(docs4, "Secret")[0]
    check(s4["data"]["tls.crt"] != s1["data"]["tls.crt"] and "ca.crt" in s4["data"],
          "upgrade: an incomplete Secret is regenerated")
    check_selfsigned_secret("regenerated", docs4, t.tmp)


def render_notes(t, extra):
    """NOTES.txt as `helm install` prints it (rendered by `helm install --dry-run=client`)."""
    return t.helm.install_dry_run(t.chart, extra)["info"]["notes"]


def group_notes(t):
    notes = render_notes(t, [])
    print(notes)
    _, docs = t.render([])
    svc = by_kind(docs, "Service")[0]["metadata"]["name"]
    check(f"rollout status deployment/{by_kind(docs, 'Deployment')[0]['metadata']['name']}" in notes,
          "NOTES tell how to wait for the rollout")
    check("--dry-run=server" in notes, "NOTES check the webhook with a server-side dry run")
    check(f"port-forward service/{svc} " in notes, f"NOTES reach /metrics through the Service {svc}")
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
    t.need_binary()

    def answer(obj, *flags):
        """The validating answer to `kubectl apply --dry-run=server` of obj."""
        return review_cli(t, review_for(obj, uid="n-1", dry_run=True), "--validate", *flags)

    bad = answer(app)
    check(bad.get("allowed") is False and "viewType" in json.dumps(bad),
          f"the NOTES' bad Application is denied, naming viewType: {json.dumps(bad)[:300]}")
    good = json.loads(json.dumps(app).replace("NEW_IMAGES", "NEW_IMAGE"))
    check(answer(good).get("allowed") is True, "with viewType NEW_IMAGE, as the NOTES say, it is allowed")
    warn = render_notes(t, ["--set", "admission.enforcement=warn"])
    warned = answer(app, "--enforcement=warn")
    check(warned.get("allowed") is True and any(
              w.startswith("spec.components[0].traits[0].properties.viewType: ") for w in warned.get("warnings", []))
          and 'Warning: spec.components[0].traits[0].properties.viewType: ' in warn
          and "is denied" not in warn and "is denied" in notes and 'outcome="warned"' in warn,
          f"with admission.enforcement=warn, NOTES expect the bad Application admitted with the warning "
          f"the server gives: {json.dumps(warned)[:300]}")
    single = render_notes(t, ["--set", "replicaCount=1"])
    check("WARNING" in single and "WARNING" not in notes, "NOTES warn about a single replica only when there is one")
    scaled = render_notes(t, ["--set", "replicaCount=1", "--set", "autoscaling.enabled=true"])
    check("WARNING" not in scaled, "NOTES do not warn about replicaCount=1 when the HPA (minReplicas >= 2) decides")
    check("Ignore" not in notes and "REJECTED" in notes, "NOTES state what failurePolicy=Fail means")
    cca = render_notes(t, ["--set", "tls.clientCA.enabled=true",
                           "--set", "tls.clientCA.existingConfigMap=apiserver-client-ca"])
    check("--cert" in cca and "ConfigMap apiserver-client-ca" in cca and "--cert" not in notes,
          "with tls.clientCA, NOTES' curl presents a client certificate and name the CA's ConfigMap")



GROUPS = {"render": group_render, "schema": group_schema, "validate": group_validate, "upgrade": group_upgrade,
          "notes": group_notes}

if __name__ == "__main__":
    main(GROUPS)
