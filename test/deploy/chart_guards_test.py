#!/usr/bin/python3
"""The guards: the validating webhook entry for ACK Tables and kro DynamoDBTables (values
`guards`): what each setting renders, the Kubernetes versions it needs, the values the schema
refuses, that the binary examines the kinds the entry sends, and what NOTES say about it.

Usage: chart_guards_test.py guards --source DIR [--binary BIN] [--helm PATH] [--kube-validate PATH]
(see deploy_support.py for the tools and exit codes).
"""
import copy
import json
import re

from chart_render_test import render_notes
from chart_wiring_test import check_wiring
from deploy_support import (GUARD_RULES, NS, RenderError, by_kind, check, guards_entries, invalid_table_review,
                            load_values, main, review_cli, set_path, write_values)


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


def group_guards(t):
    t.need_validator("the guards' renders were")
    base = load_values(t)
    g = base["guards"]
    # The defaults never stall the controllers' writes during an outage, and render everywhere.
    check(g["ackTables"]["enabled"] and g["kroTables"]["enabled"], "both guards are on by default")
    check(g["failurePolicy"] == "Ignore", "guards.failurePolicy defaults to Ignore")
    check(g["excludeServiceAccounts"] == [] and g["matchConditions"] == [],
          "no matchConditions by default (they need Kubernetes 1.30)")
    check(1 <= g["timeoutSeconds"] <= 5, "guards.timeoutSeconds default is short")
    mc = write_values(t, "guards-mc.yaml", {"guards": {"matchConditions": [
        {"name": "not-dry-run", "expression": "!request.dryRun"}]}})
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
            text, docs = t.render(args)
        except RenderError as e:
            check(False, f"[{name}] {e}")
            continue
        rc, out = t.validate(text)
        check(rc == 0, f"[guards {name}] strict validation ({t.validator_name}): {out.splitlines()[-1:] if out else ''}")
        check_guards_wiring(name, docs, values)
        check_wiring(t, f"guards {name}", docs, values)
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
        if fails:
            t.check_refused(args, "1.30", f"{why} on Kubernetes 1.29", kube_version="v1.29.0", lint=False)
            continue
        try:
            t.render(args, kube_version="v1.29.0")
        except RenderError as e:
            check(False, f"{why} renders on Kubernetes 1.29: {e}")
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
        t.check_refused(args, needle, why)
    # The kinds the chart sends are the kinds the binary examines: an invalid object of each rule's
    # group and resource is denied by `review --validate`, and left untouched by `review --mutate`.
    t.need_binary()
    _, docs = t.render([])
    for r in guards_entries(docs)[0]["rules"]:
        group, resource = r["apiGroups"][0], r["resources"][0]
        rv = invalid_table_review(group, resource, "u")
        kind = rv["request"]["kind"]["kind"]
        for mode, allowed in (("--validate", False), ("--mutate", True)):
            resp = review_cli(t, rv, mode)
            check(resp.get("allowed") is allowed and "patch" not in resp,
                  f"{group} {resource}: review {mode} {'denies' if not allowed else 'allows untouched'} an invalid {kind}: "
                  f"{json.dumps(resp)[:200]}")
    # NOTES say what the guards do during an outage.
    notes = render_notes(t, [])
    check("ACK Tables" in notes and "kro DynamoDBTables" in notes and "UNCHECKED" in notes,
          "NOTES name the guards and say they are admitted unchecked during an outage (Ignore)")
    notes = render_notes(t, ["--set", "guards.failurePolicy=Fail"])
    check("REJECTED" in notes and "guards.excludeServiceAccounts" in notes,
          "NOTES warn that Fail without excluded service accounts rejects the controllers' writes")
    notes = render_notes(t, ["--set", "guards.ackTables.enabled=false", "--set", "guards.kroTables.enabled=false"])
    check("DynamoDBTable" not in notes, "NOTES do not mention the guards when both are off")


GROUPS = {"guards": group_guards}

if __name__ == "__main__":
    main(GROUPS)
