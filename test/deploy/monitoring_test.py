#!/usr/bin/python3
"""Monitoring: the Grafana dashboard (its ConfigMap, its shape, what it shows) and every PromQL
expression of the dashboard and of the PrometheusRule, checked against the /metrics of the binary
started with the chart's arguments: each metric and label they name must be one serve exports.
The expressions are read by promql.py, the exposition by test/support/prometheus_text.py.

Usage: monitoring_test.py GROUP --source DIR [--binary BIN] [--helm PATH]
GROUP: dashboard (see deploy_support.py for the tools and exit codes).
"""
import json
import re

from deploy_support import (ChartServer, application, by_kind, check, check_selfsigned_secret, dashboard_configmaps,
                            dashboard_file, main, review_for)
import prometheus_text  # test/support, on the path deploy_support sets  # noqa: E402
from promql import GRAFANA_BUILTINS, analyze_promql, grafana_variable_query

sample_type = prometheus_text.sample_type


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


def promql_problems(where, expr, types, series, variables):
    """Everything wrong with one expression against a live /metrics (its families' types and its
    series' label values, as prometheus_text reads them) and the dashboard's variables; an empty
    list when it only names what serve exports (or OTHER_METRICS)."""
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
            kind = sample_type(metric, types)
            if kind not in ("counter", "histogram_bucket", "histogram_sum", "histogram_count"):
                probs.append(f"{where}: {ref['counter_fn']}() of {metric}, which is a {kind}, not a counter")
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
    """Every expression against a live /metrics: one check per expression, failing with each problem
    it has. Returns (types, series) of the exposition."""
    expo = prometheus_text.parse(metrics_text)
    types, series = expo.types, expo.series()
    check(not expo.problems, f"/metrics is well-formed Prometheus text: {expo.problems[:5]}")
    for where, expr in exprs:
        probs = promql_problems(where, expr, types, series, variables)
        check(not probs, f"{where} names only what serve exports: {'; '.join(probs)}")
    for where, sel, label in var_labels:
        refs = analyze_promql(sel)["refs"]
        for ref in refs:
            known = set(series.get(ref["metric"], {})) | SCRAPE_TARGET_LABELS
            check(label in known, f"{where}: label_values(..., {label}): {ref['metric']} has no label {label}")
    return types, series


def scrape_live_metrics(t):
    """Starts `serve` with the chart's own arguments and generated certificate, sends reviews that
    end allowed, denied, patched and in an error, a 404, then returns GET /metrics (None on failure)."""
    t.need_binary()
    _, docs = t.render([])
    files = check_selfsigned_secret("live", docs, t.tmp)
    if not files:
        return None

    def body(uid, view_type):
        return json.dumps(review_for(application(view_type), uid=uid)).encode()
    with ChartServer(t, docs, files) as srv:
        sent = [("/validate", body("l-1", "NEW_IMAGES"), 200), ("/validate", body("l-2", "NEW_IMAGE"), 200),
                ("/mutate", body("l-3", "NEW_IMAGE"), 200), ("/validate", b"{not a review", 400)]
        for path, data, want in sent:
            status, answer = srv.call("POST", path, data)
            check(status == want, f"POST {path} answers {want}: {status} {answer[:150]!r}")
        status, _ = srv.call("GET", "/no-such-path")
        check(status == 404, f"GET /no-such-path answers 404: {status}")
        status, text = srv.call("GET", "/metrics")
        check(status == 200, f"GET /metrics = {status}")
        return text.decode(errors="replace") if status == 200 else None


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


def group_dashboard(t):
    """The Grafana dashboard ConfigMap and JSON, then every PromQL expression of the dashboard and of
    the PrometheusRule against the /metrics of a running `serve`: each metric they name must be a
    series serve exports (histogram _bucket/_sum/_count included) or one of OTHER_METRICS, each label
    they match on or group by must be on it (or be a scrape target label), an equality matcher's value
    must be one serve exports, and rate()/increase() must be applied to counters."""
    # (enforcement warn: the rule then holds its would-be-denials alert too)
    _, docs = t.render(["--set", "grafanaDashboard.enabled=true", "--set", "prometheusRule.enabled=true",
                            "--set", "serviceMonitor.enabled=true", "--set", "admission.enforcement=warn"])
    cms = dashboard_configmaps(docs)
    if not check(len(cms) == 1, "grafanaDashboard.enabled renders one dashboard ConfigMap"):
        return
    cm = cms[0]
    check(cm["metadata"]["labels"].get("grafana_dashboard") == "1", "the ConfigMap has the sidecar's label grafana_dashboard: \"1\"")
    dash = json.loads(cm["data"]["dynamodb-streams-webhook.json"])
    check(dash == dashboard_file(t), "the ConfigMap holds dashboards/dynamodb-streams-webhook.json unchanged")
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
    text = scrape_live_metrics(t)
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


GROUPS = {"dashboard": group_dashboard}

if __name__ == "__main__":
    main(GROUPS)
