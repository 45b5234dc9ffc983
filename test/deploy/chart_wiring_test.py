#!/usr/bin/python3
"""Chart wiring: that the objects of every configuration fit together (selectors, ports, webhook
configurations, certificates, flags, hardening), that the generated certificate works, that every
flag the chart passes is one `serve` knows, and that the binary started with the chart's own
arguments answers the apiserver, the kubelet and Prometheus on the paths the rendered objects name.

Usage: chart_wiring_test.py GROUP --source DIR [--binary BIN] [--helm PATH] [--kube-validate PATH]
GROUP: wiring, selfsigned, flags, serve (see deploy_support.py for the tools and exit codes).
"""
import copy
import json
import os
import re
import shutil
import socket
import ssl
import subprocess

from deploy_support import (NS, ChartServer, application, by_kind, chart_meta, check, check_selfsigned_secret,
                            container, dashboard_configmaps, dashboard_file, duration_seconds, guards_on,
                            invalid_table_review, labels_match, load_values, main, make_client_cert,
                            min_replicas, one, parse_args_list, pem_from_b64, render_all, resolve_port, review_for, skip)


def check_wiring(t, name, docs, values):
    """Everything of one render that must fit together: selectors, ports, the webhook configurations
    and their caBundle, the certificate reaching the flags, flags that follow values, hardening."""
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
    check_dashboard_configmap(t, name, docs, values)
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
            pr = ctr.get(probe, {})
            check("httpGet" not in pr and resolve_port(ctr, pr.get("tcpSocket", {}).get("port")) == port,
                  f"[{name}] {probe} is a TCP check of port {port} (client certificates required): {pr}")
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
    # the webhook's ServiceAccount (the audit's has a token: chart_audit_test.py)
    for sa in [a for a in by_kind(docs, "ServiceAccount") if a["metadata"]["labels"].get("app.kubernetes.io/component") != "audit"]:
        check(sa.get("automountServiceAccountToken") is False, f"[{name}] ServiceAccount does not automount")
        check(podspec.get("serviceAccountName") == sa["metadata"]["name"], f"[{name}] pod uses the ServiceAccount")
    tag = values["image"]["tag"] or str(chart_meta(t)["appVersion"])
    check(ctr["image"] == f"{values['image']['repository']}:{tag}",
          f"[{name}] the image is image.repository:image.tag (the chart's appVersion when empty): {ctr['image']}")
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


def check_dashboard_configmap(t, name, docs, values):
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
        check(dash == dashboard_file(t), f"[{name}] {key} is the chart's dashboards/dynamodb-streams-webhook.json")


def group_wiring(t):
    for name, (_, docs, values) in render_all(t).items():
        check_wiring(t, name, docs, values)
    # certManager: the issuer chain is complete
    _, docs = t.render(["--set", "tls.mode=certManager"])
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
        days = load_values(t)["prometheusRule"]["certificateExpiryDays"]
        check(renew < dur and renew > days * 86400,
              "certManager: renewal happens before the expiry alert would fire")
    _, docs = t.render(["--set", "tls.mode=certManager", "--set", "tls.certManager.issuerRef.name=corp-ca",
                        "--set", "tls.certManager.issuerRef.kind=ClusterIssuer"])
    check(not by_kind(docs, "Issuer"), "certManager with issuerRef: no chart Issuers")
    c = by_kind(docs, "Certificate")
    check(len(c) == 1 and c[0]["spec"]["issuerRef"] == {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
          "certManager with issuerRef: the Certificate uses it")


def group_selfsigned(t):
    if not shutil.which("openssl"):
        skip("openssl is not installed: the generated certificates were NOT checked")
    for name, args in (("defaults", []), ("selfSigned", ["--set", "tls.mode=selfSigned"]),
                       ("fullnameOverride", ["--set", "fullnameOverride=admission"])):
        _, docs = t.render(args)
        check_selfsigned_secret(name, docs, t.tmp)





def group_flags(t):
    t.need_binary()
    p = subprocess.run([t.binary, "serve", "--help"], capture_output=True, text=True, timeout=30)
    help_text = p.stdout + p.stderr
    check(p.returncode == 0, f"`dynamodb-streams-webhook serve --help` exits 0 (rc={p.returncode}: {help_text.strip()[:200]})")
    documented = set(re.findall(r"--([a-z][a-z0-9-]*)", help_text))
    passed = set()
    for name, (_, docs, _) in render_all(t).items():
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
    with open(os.path.join(t.chart, "values.schema.json")) as f:
        schema = json.load(f)["properties"]
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
            p = subprocess.run([t.binary, "serve", f"--{flag}={value}", "--port=0",
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


def answer(status, body, uid):
    """The response of a 200 AdmissionReview answer echoing uid, else None."""
    try:
        resp = json.loads(body)["response"]
    except (ValueError, KeyError, TypeError):
        return None
    return resp if status == 200 and resp.get("uid") == uid else None


def tcp_connects(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return True
    except OSError:
        return False


def group_serve(t):
    """Starts the binary with the chart's own arguments and generated certificate, and calls it the
    way the cluster does, on the paths the render names: the kubelet's probes, Prometheus' scrape
    (the ServiceMonitor's path) and the apiserver's reviews (each webhook entry's service path, with
    an object of the kinds its rules send)."""
    t.need_binary()
    _, docs = t.render(["--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true"])
    files = check_selfsigned_secret("serve", docs, t.tmp)
    if not files:
        return
    ctr = container(by_kind(docs, "Deployment")[0])
    probes = [(p, ctr.get(p, {}).get("httpGet", {}).get("path")) for p in ("readinessProbe", "livenessProbe")]
    scrape = by_kind(docs, "ServiceMonitor")[0]["spec"]["endpoints"][0]["path"]
    exprs = " ".join(r["expr"] for pr in by_kind(docs, "PrometheusRule") for g in pr["spec"]["groups"] for r in g["rules"])
    with ChartServer(t, docs, files) as srv:
        for probe, path in probes:
            status, _ = srv.call("GET", path) if path else (None, b"")
            check(status == 200, f"the {probe} (GET {path} over HTTPS) answers 200: {status}")
        status, body = srv.call("GET", scrape)
        check(status == 200, f"the ServiceMonitor's scrape (GET {scrape}) answers 200: {status}")
        exported = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", body.decode(errors="replace"), re.M))
        for n in sorted(own_metrics(exprs)):
            check(n in exported, f"metric {n} used by the PrometheusRule is in GET {scrape}")
        for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            for i, wh in enumerate(by_kind(docs, kind)[0]["webhooks"]):
                path, rule = wh["clientConfig"]["service"]["path"], wh["rules"][0]
                uid = f"{kind[:3].lower()}-{i}"
                if rule["apiGroups"] == ["core.oam.dev"]:
                    # the mutating entry gets a valid Application, the validating one an invalid one
                    mutating = kind.startswith("Mutating")
                    rv = review_for(application("NEW_IMAGE" if mutating else "NEW_IMAGES"), uid=uid)
                    want = True if mutating else False
                else:
                    rv, want = invalid_table_review(rule["apiGroups"][0], rule["resources"][0], uid), False
                status, body = srv.call("POST", path, json.dumps(rv).encode())
                resp = answer(status, body, uid)
                check(resp is not None and resp.get("allowed") is want,
                      f"{kind} entry {wh['name']}: POST {path} with a {rv['request']['kind']['kind']} answers "
                      f"allowed={want}: {status} {body[:200]!r}")
    serve_client_ca(t)


def serve_client_ca(t):
    """With tls.clientCA the chart's arguments make the server require a client certificate signed by
    the mounted CA: the apiserver's (signed by it) gets answers, a client without one or with one from
    another CA is refused in the handshake, and a plain TCP connect (the chart's probes) succeeds."""
    _, docs = t.render(["--set", "tls.clientCA.enabled=true",
                        "--set", "tls.clientCA.existingConfigMap=apiserver-client-ca"])
    files = check_selfsigned_secret("serve-clientCA", docs, t.tmp)
    good, other = make_client_cert(t.tmp, "good"), make_client_cert(t.tmp, "other")
    if not files or not good or not other:
        return
    ctr = container(by_kind(docs, "Deployment")[0])
    probe_ports = [resolve_port(ctr, ctr.get(p, {}).get("tcpSocket", {}).get("port")) for p in ("readinessProbe", "livenessProbe")]
    with ChartServer(t, docs, files, client_ca=good["ca.crt"], client=good) as srv:
        rv = review_for(application("NEW_IMAGE"), uid="c-1")
        status, body = srv.call("POST", "/validate", json.dumps(rv).encode())
        check(answer(status, body, "c-1") is not None,
              f"with a client certificate, POST /validate answers: {status} {body[:200]!r}")
        for who, client in (("without a client certificate", None), ("with a certificate of another CA", other)):
            try:
                status, _ = srv.call("GET", "/healthz", client=client)
                refused = False
            except (ssl.SSLError, OSError) as e:
                refused, status = True, repr(e)[:120]
            check(refused, f"a client {who} is refused (got {status})")
        check(probe_ports == [int(dict(parse_args_list(ctr["args"][1:]))["port"])] * 2,
              f"both probes are TCP checks of the webhook port: {probe_ports}")
        check(tcp_connects(srv.port), "a plain TCP connect, as the chart's tcpSocket probes make, succeeds "
              "while client certificates are required")
        check(srv.server.proc.poll() is None, "the server still runs after the refused handshakes")


GROUPS = {"wiring": group_wiring, "selfsigned": group_selfsigned, "flags": group_flags, "serve": group_serve}

if __name__ == "__main__":
    main(GROUPS)
