#!/usr/bin/env python3
"""`audit` against the apiserver stand-in: what the reports say and where they go.

  - every object of the project's corpora (test/fixtures/**, fuzz/corpus/decode_review) is
    audited, and each result's message equals, byte for byte, what the real binary's
    `review --validate` answers for a CREATE of that object (the field errors' texts, then the
    warnings), with the same admission flags; --enforcement warn reports the same;
  - `check --output openreports` on a kubectl List of the same objects prints the same documents;
  - the layout of a report (kinds, labels, summary, policy and rule per kind, timestamps, parts),
    create then update, stale reports deleted, other tools' reports never touched, --namespace,
    --kinds, --report-kind policyreport.

    audit_reports_test.py BINARY [unittest arguments]
"""
import copy
import glob
import json
import os
import subprocess
import sys

import audit_support as s
from audit_support import st

try:
    import yaml
except ImportError:  # pragma: no cover - python3-yaml is a test dependency
    yaml = None

GROUPS = {("core.oam.dev", "Application"): st.APPLICATIONS,
          ("dynamodb.services.k8s.aws", "Table"): st.TABLES,
          ("kro.run", "DynamoDBTable"): st.DYNAMODBTABLES}
SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


def kind_of(obj):
    if not isinstance(obj, dict) or not isinstance(obj.get("apiVersion"), str):
        return None
    group = obj["apiVersion"].split("/", 1)[0] if "/" in obj["apiVersion"] else ""
    return GROUPS.get((group, obj.get("kind")))


def corpus_objects():
    """(where, object) for every object of the three kinds anywhere in the corpora: manifests,
    Lists, AdmissionReviews (object and oldObject), the fixtures that wrap a review or an object
    ({"review": ...}, {"object": ..., "expected": ...})."""
    paths = sorted(p for p in glob.glob(os.path.join(s.FIXTURES, "**", "*"), recursive=True)
                   if os.path.isfile(p))
    paths += sorted(glob.glob(os.path.join(s.ROOT, "fuzz", "corpus", "decode_review", "*")))
    found = []

    def walk(where, d):
        if kind_of(d) is not None:
            if isinstance(d.get("metadata", {}), dict):
                found.append((where, d))
            return
        if isinstance(d, dict):
            for k, v in d.items():
                walk(f"{where}.{k}", v)
        elif isinstance(d, list):
            for i, v in enumerate(d):
                walk(f"{where}[{i}]", v)

    for p in paths:
        rel = os.path.relpath(p, s.ROOT)
        try:
            with open(p, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        docs = []
        try:
            docs = [json.loads(text)]
        except ValueError:
            if yaml is not None:
                try:
                    docs = list(yaml.safe_load_all(text))
                except yaml.YAMLError:
                    docs = []
        for i, d in enumerate(docs):
            walk(f"{rel}#{i}", d)
    return found


def review_of(obj, *flags):
    """What the real binary's /validate logic answers for a CREATE of obj: (http_ok, answer)."""
    rt = kind_of(obj)
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": "corpus", "operation": "CREATE",
                          "kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                          "resource": {"group": rt.group, "version": rt.version,
                                       "resource": rt.resource},
                          "name": obj["metadata"]["name"],
                          "namespace": obj["metadata"]["namespace"],
                          "object": obj, "userInfo": {"username": "corpus"}}}
    p = subprocess.run([s.BINARY, "review", "--validate", *flags, "-"],
                       input=json.dumps(review), capture_output=True, text=True, timeout=60)
    if p.returncode == 1:
        return False, p.stderr
    assert p.returncode == 0, p.stderr
    return True, json.loads(p.stdout)["response"]


def expected_results(obj, *flags):
    """The (result, message) pairs /validate's answer makes: one fail per cause (the field
    error's text), one warn per warning, else one pass."""
    ok, answer = review_of(obj, *flags)
    if not ok:
        return [("error", answer)]
    out = []
    status = answer.get("status") or {}
    if not answer["allowed"]:
        causes = (status.get("details") or {}).get("causes") or []
        if causes:
            out += [("fail", f"{c['field']}: {c['message']}") for c in causes]
        else:
            out.append(("fail" if status.get("code") in (403, 422) else "error", status["message"]))
    out += [("warn", w) for w in answer.get("warnings") or []]
    return out or [("pass", None)]


def normalized(doc):
    """A report without what the apiserver adds, and with its timestamps zeroed."""
    d = copy.deepcopy(doc)
    for k in SERVER_META:
        d["metadata"].pop(k, None)
    for r in d.get("results", []):
        r["timestamp"] = {"seconds": 0, "nanos": 0}
    return d


class Corpus(s.AuditCase):
    def load_corpus(self):
        objs = corpus_objects()
        self.assertGreater(len(objs), 90, "the corpora hold fewer objects than expected")
        stored = []
        for i, (where, o) in enumerate(objs):
            o = copy.deepcopy(o)
            rt = kind_of(o)
            o["apiVersion"] = rt.api_version  # the version the stand-in serves (any is judged)
            o.setdefault("metadata", {})
            o["metadata"]["name"] = f"c{i:03d}"
            o["metadata"]["namespace"] = f"corpus-{i % 3}"
            for k in SERVER_META:
                o["metadata"].pop(k, None)
            stored.append((where, self.srv.add(o)))
        return stored

    def check_against_review(self, stored, *flags):
        run = self.audit(*flags)
        self.assertComplete(run)
        got = self.results_by_uid()
        for where, obj in stored:
            with self.subTest(where=where, flags=flags):
                want = expected_results(obj, *[f for f in flags if f != "--enforcement=warn"])
                have = [(r["result"], r.get("message")) for r in got[obj["metadata"]["uid"]]]
                self.assertEqual(have, want)
        return got

    def test_every_corpus_object_reads_as_validate_answers_it(self):
        stored = self.load_corpus()
        got = self.check_against_review(stored)
        kinds = {r["resources"][0]["kind"] for rs in got.values() for r in rs}
        self.assertEqual(kinds, {"Application", "Table", "DynamoDBTable"})
        outcomes = {r["result"] for rs in got.values() for r in rs}
        self.assertTrue({"pass", "fail", "warn"} <= outcomes, outcomes)

    def test_admission_flags_are_those_of_validate_and_warn_enforcement_still_fails(self):
        stored = self.load_corpus()
        self.check_against_review(stored, "--unknown-properties=warn", "--applies-to=aws-dynamodb-kro,other")
        # Under --enforcement warn the webhook admits with warnings; the audit reports the same
        # fails as under deny.
        deny = {k: [(r["result"], r.get("message")) for r in v]
                for k, v in self.check_against_review(stored).items()}
        self.srv.clear_log()
        run = self.audit("--enforcement=warn")
        self.assertComplete(run)
        warn = {k: [(r["result"], r.get("message")) for r in v]
                for k, v in self.results_by_uid().items()}
        self.assertEqual(warn, deny)

    def test_check_openreports_prints_the_documents_audit_writes(self):
        stored = self.load_corpus()
        run = self.audit()
        self.assertComplete(run)
        written = sorted((normalized(r) for r in self.srv.objects("reports")),
                         key=lambda d: d["metadata"]["namespace"])
        items = [o for rt in (st.APPLICATIONS, st.TABLES, st.DYNAMODBTABLES)
                 for o in self.srv.objects(rt)]
        kubectl_list = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}
        # As kubectl prints it: UTF-8, not \u escapes.
        chk = s.run(["check", "--output", "openreports", "-"],
                    stdin=json.dumps(kubectl_list, ensure_ascii=False))
        self.assertIn(chk.returncode, (0, 1), chk)
        printed = []
        dec = json.JSONDecoder()
        text, pos = chk.stdout, 0
        while pos < len(text):
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos == len(text):
                break
            doc, pos = dec.raw_decode(text, pos)
            printed.append(normalized(doc))
        printed.sort(key=lambda d: d["metadata"]["namespace"])
        self.assertEqual(len(printed), 3)
        self.assertEqual(printed, written)

    def test_an_object_nested_too_deep_is_one_error_result(self):
        deep = {"x": 1}
        for _ in range(600):
            deep = {"d": deep}
        app = st.make_applications(1, ["deep"])[0]
        app["spec"]["components"][0]["properties"]["nested"] = deep
        stored = self.srv.add(app)
        ok, answer = review_of(stored)
        self.assertFalse(ok)
        self.assertIn("deeper than 512", answer)
        run = self.audit()
        self.assertComplete(run)
        (res,) = self.results_by_uid()[stored["metadata"]["uid"]]
        self.assertEqual(res["result"], "error")
        self.assertIn("deeper than 512 levels", res["message"])
        self.assertEqual(res["resources"][0]["name"], stored["metadata"]["name"])


class Layout(s.AuditCase):
    def test_one_report_per_namespace_with_summary_policy_rule_and_one_timestamp(self):
        self.srv.add_objects(st.make_applications(30, 3, invalid_every=4, warning_every=7))
        ack = {"apiVersion": st.TABLES.api_version, "kind": "Table",
               "metadata": {"name": "orders", "namespace": "ns-000"},
               "spec": {"tableName": "orders",
                        "streamSpecification": {"streamEnabled": True, "streamViewType": "NEW"}}}
        kro = {"apiVersion": st.DYNAMODBTABLES.api_version, "kind": "DynamoDBTable",
               "metadata": {"name": "orders", "namespace": "tables-only"},
               "spec": {"streamEnabled": True}}
        self.srv.add(ack)
        self.srv.add(kro)
        self.srv.add(st.make_report("ns-000", "other-tool"))   # never touched
        run = self.audit()
        self.assertComplete(run)
        reports = self.reports()
        ours = {k: v for k, v in reports.items() if k[1] == s.OURS}
        self.assertEqual(sorted(ours), [("ns-000", s.OURS), ("ns-001", s.OURS),
                                        ("ns-002", s.OURS), ("tables-only", s.OURS)])
        self.assertEqual(reports[("ns-000", "other-tool")]["metadata"]["resourceVersion"],
                         self.srv.get("reports", "ns-000", "other-tool")["metadata"]["resourceVersion"])
        stamps = set()
        for (ns, _), rep in ours.items():
            self.assertEqual(rep["apiVersion"], "openreports.io/v1alpha1")
            self.assertEqual(rep["metadata"]["labels"], {s.LABEL: s.OURS})
            self.assertEqual(rep["source"], s.OURS)
            counts = {k: 0 for k in ("pass", "fail", "warn", "error", "skip")}
            for r in rep["results"]:
                counts[r["result"]] += 1
                stamps.add((r["timestamp"]["seconds"], r["timestamp"]["nanos"]))
                self.assertEqual(r["source"], s.OURS)
                self.assertEqual(r["category"], "DynamoDB Streams")
                (ref,) = r["resources"]
                self.assertEqual(ref["namespace"], ns)
                obj = self.srv.get({"Application": "applications", "Table": "tables",
                                    "DynamoDBTable": "dynamodbtables"}[ref["kind"]], ns, ref["name"])
                self.assertEqual((ref["apiVersion"], ref["uid"]),
                                 (obj["apiVersion"], obj["metadata"]["uid"]))
                policy_rule = {"Application": ("dynamodb-streams-kro", "streams-trait"),
                               "Table": ("ack-table-stream", "stream-specification"),
                               "DynamoDBTable": ("kro-dynamodbtable-stream", "stream-fields")}
                self.assertEqual((r["policy"], r["rule"]), policy_rule[ref["kind"]])
                self.assertEqual(r.get("severity"), {"fail": "high", "warn": "low"}.get(r["result"]))
                if r["result"] == "fail":
                    self.assertEqual(r["message"].split(": ", 1)[0], r["properties"]["field"])
            self.assertEqual(rep["summary"], counts)
        self.assertEqual(len(stamps), 1, "one timestamp per scan")
        line = run.scan()
        self.assertEqual((line["applications"], line["tables"], line["dynamodbtables"]), (30, 1, 1))
        self.assertEqual(line["applications_fail"] + line["applications_warn"] +
                         line["applications_pass"], sum(
                             len([r for r in rep["results"] if r["resources"][0]["kind"] == "Application"])
                             for rep in ours.values()))
        self.assertEqual((line["reports_written"], line["reports_deleted"], line["namespaces"]),
                         (4, 0, 4))
        self.assertTrue(any(r["result"] == "fail" for r in ours[("ns-000", s.OURS)]["results"]
                            if r["resources"][0]["kind"] == "Table"))
        # The defaults the mutating webhook would add, for an Application without them.
        no_props = [r for rep in ours.values() for r in rep["results"]
                    if r["resources"][0]["name"] == "app-00004"]
        self.assertIn("defaults", no_props[0]["properties"])
        self.assertEqual(json.loads(no_props[0]["properties"]["defaults"])[0]["op"], "add")

    def test_a_second_scan_updates_with_the_resource_version_it_read(self):
        self.srv.add_objects(st.make_applications(10, 2, invalid_every=3))
        self.assertComplete(self.audit())
        first = self.reports()
        self.srv.clear_log()
        self.srv.add_objects(st.make_applications(1, ["ns-001"], prefix="late"))
        run = self.audit()
        self.assertComplete(run)
        writes = [(w.method, w.status) for w in self.srv.writes()]
        self.assertEqual(writes, [("PUT", 200), ("PUT", 200)])
        second = self.reports()
        self.assertEqual(set(first), set(second))
        for k in first:
            self.assertNotEqual(first[k]["metadata"]["resourceVersion"],
                                second[k]["metadata"]["resourceVersion"])
            self.assertEqual(first[k]["metadata"]["uid"], second[k]["metadata"]["uid"])
        names = [r["resources"][0]["name"] for r in second[("ns-001", s.OURS)]["results"]]
        self.assertIn("late-00000", names)

    def test_policyreport_kind_writes_the_same_results_without_a_top_level_source(self):
        self.srv.add_objects(st.make_applications(12, 2, invalid_every=3, warning_every=4))
        self.assertComplete(self.audit())
        reports = {k: normalized(v) for k, v in self.reports().items()}
        s.allow_audit(self.srv, report="policyreports")
        self.srv.clear_log()
        run = self.audit("--report-kind", "policyreport")
        self.assertComplete(run)
        polrs = {k: normalized(v) for k, v in self.reports("policyreports").items()}
        self.assertEqual(set(polrs), set(reports))
        for k, p in polrs.items():
            self.assertEqual(p["apiVersion"], "wgpolicyk8s.io/v1alpha2")
            self.assertNotIn("source", p)
            r = reports[k]
            self.assertEqual((p["summary"], p["results"], p["metadata"]["labels"]),
                             (r["summary"], r["results"], r["metadata"]["labels"]))
        for w in self.srv.writes():
            self.assertIn("/wgpolicyk8s.io/", w.path)
        # Nothing written that the CRD's schema would prune (a top-level source would be).
        self.assertEqual(run.lines("apiserver warning on a report write"), [])

    def test_fields_the_crd_prunes_are_logged(self):
        # A Report CRD whose schema lacks `category`: the apiserver prunes it with a Warning
        # header per field, which the audit logs (the check above is not blind).
        schema = copy.deepcopy(st.REPORT_SCHEMA)
        del schema["properties"]["results"]["items"]["properties"]["category"]
        reports = st.ResourceType("openreports.io", "v1alpha1", "reports", "Report", "report",
                                  schema=schema)
        srv = st.ApiServerStandin(os.path.join(s.CERTS, "tls.crt"),
                                  os.path.join(s.CERTS, "tls.key"),
                                  kinds=(st.APPLICATIONS, reports), tokens={s.TOKEN: s.USER})
        s.allow_audit(srv)
        srv.add_objects(st.make_applications(2, 1))
        with srv:
            kc = s.kubeconfig(os.path.join(self.dir, "kc"), srv.url, {"token": s.TOKEN},
                              ca_file=os.path.join(s.CERTS, "ca.crt"))
            run = s.run(["audit", "--kubeconfig", kc, "--once"])
        self.assertComplete(run)
        warned = run.lines("apiserver warning on a report write")
        self.assertEqual(len(warned), 2)
        self.assertIn('unknown field \\"results[0].category\\"', warned[0]["warning"])

    def test_kinds_flag_lists_only_those(self):
        self.srv.add_objects(st.make_applications(4, 1))
        run = self.audit("--kinds", "applications")
        self.assertComplete(run)
        listed = {r.resource for r in self.srv.requests("GET") if r.verb == "list"}
        self.assertEqual(listed, {"applications", "reports"})


class Placement(s.AuditCase):
    def test_parts_when_results_do_not_fit_and_stale_parts_deleted(self):
        self.srv.add_objects(st.make_applications(120, ["big"], invalid_every=2))
        self.srv.add_objects(st.make_applications(3, ["small"], prefix="s"))
        run = self.audit("--max-report-bytes", "20000")
        self.assertComplete(run)
        big = self.reports(namespace="big")
        names = sorted(big, key=lambda k: (len(k[1]), k[1]))
        self.assertGreater(len(names), 3)
        self.assertEqual([n for _, n in names],
                         [s.OURS] + [f"{s.OURS}-{i}" for i in range(2, len(names) + 1)])
        seen = []
        for k in names:
            rep = big[k]
            self.assertLessEqual(len(json.dumps(normalized(rep), separators=(",", ":"))), 20000)
            self.assertEqual(sum(rep["summary"].values()), len(rep["results"]))
            self.assertEqual(rep["metadata"]["labels"], {s.LABEL: s.OURS})
            seen += [r["resources"][0]["name"] for r in rep["results"]]
        # Every object once, in list order, its results together (one per object here).
        self.assertEqual(seen, [f"app-{i:05d}" for i in range(120)])
        # Fewer objects: fewer parts; the others deleted, as are reports of emptied namespaces.
        # A report of another tool with a part's name, and one of ours under another name, stay.
        for i in range(40, 120):
            self.srv.delete("applications", "big", f"app-{i:05d}")
        for i in range(3):
            self.srv.delete("applications", "small", f"s-{i:05d}")
        self.srv.add(st.make_report("big", f"{s.OURS}-9"))
        self.srv.add(st.make_report("big", "another-audit", labels={s.LABEL: s.OURS}))
        run = self.audit("--max-report-bytes", "20000")
        self.assertComplete(run)
        after = self.reports(namespace="big")
        ours = sorted(n for (_, n) in after if n.startswith(s.OURS))
        self.assertIn(f"{s.OURS}-9", ours)           # not ours: no label
        self.assertIn(("big", "another-audit"), after)  # ours by label, not by name
        kept = [n for n in ours if n != f"{s.OURS}-9"]
        self.assertLess(len(kept), len(names))
        self.assertEqual(self.reports(namespace="small"), {})
        deleted = {(w.namespace, w.name) for w in self.srv.writes() if w.method == "DELETE"}
        self.assertEqual(deleted, {("small", s.OURS)} |
                         {("big", n) for _, n in names if n not in kept})
        self.assertEqual(run.scan()["reports_deleted"], len(deleted))
        seen = [r["resources"][0]["name"] for n in sorted(kept, key=lambda n: (len(n), n))
                for r in after[("big", n)]["results"]]
        self.assertEqual(seen, [f"app-{i:05d}" for i in range(40)])

    def test_a_report_of_our_name_that_is_not_ours_is_left_alone(self):
        self.srv.add_objects(st.make_applications(6, 3))
        foreign = self.srv.add(st.make_report("ns-001", s.OURS, source="someone-else"))
        run = self.audit()
        self.assertEqual(run.returncode, 3, run)
        self.assertEqual(run.scan()["msg"], "scan complete; reports partly written")
        self.assertIn("not labelled", run.scan()["error"])
        self.assertEqual(self.srv.get("reports", "ns-001", s.OURS), foreign)
        self.assertEqual(set(self.reports()), {("ns-000", s.OURS), ("ns-001", s.OURS),
                                               ("ns-002", s.OURS)})
        self.assertEqual([w.method for w in self.srv.writes() if w.namespace == "ns-001"], ["POST"])

    def test_own_reports_are_read_through_every_page_even_an_empty_one(self):
        # Ten own stale parts fill the first page (10 to a page); the reports of other tools
        # after them leave a continue token that leads to a page the label selector empties.
        own = [s.OURS] + [f"{s.OURS}-{k}" for k in range(2, 11)]
        for name in own:
            self.srv.add(st.make_report("a-busy", name, labels={s.LABEL: s.OURS}))
        for i in range(15):
            self.srv.add(st.make_report("a-busy", f"zzz-{i:02d}"))
        run = self.audit()
        self.assertComplete(run)
        pages = [r for r in self.srv.requests("GET", r"/reports$")]
        self.assertEqual(len(pages), 2)
        self.assertEqual(pages[0].params["labelSelector"], f"{s.LABEL}={s.OURS}")
        self.assertIn("continue", pages[1].params)
        self.assertEqual(sorted(w.name for w in self.srv.writes()), sorted(own))
        self.assertEqual({w.method for w in self.srv.writes()}, {"DELETE"})
        self.assertEqual(len(self.reports(namespace="a-busy")), 15)
        self.assertEqual(run.scan()["reports_deleted"], 10)

    def test_namespace_flag_reads_writes_and_deletes_only_there(self):
        self.srv.add_objects(st.make_applications(9, 3))
        self.srv.add(st.make_report("ns-002", s.OURS, labels={s.LABEL: s.OURS}))
        self.srv.add(st.make_report("gone", s.OURS, labels={s.LABEL: s.OURS}))
        run = self.audit("--namespace", "ns-000", "--namespace", "gone")
        self.assertComplete(run)
        for r in self.srv.requests():
            if r.verb in ("list", "get", "create", "update", "delete"):
                self.assertIn(r.namespace, ("ns-000", "gone"), (r.method, r.path))
        self.assertEqual(set(self.reports()), {("ns-000", s.OURS), ("ns-002", s.OURS)})

    def test_rights_in_two_namespaces_are_enough_for_those_namespaces(self):
        self.srv.revoke(s.USER)
        for ns in ("ns-000", "ns-001"):
            s.allow_audit(self.srv, namespace=ns)
        self.srv.add_objects(st.make_applications(6, 3))
        run = self.audit("--namespace", "ns-000", "--namespace", "ns-001")
        self.assertComplete(run)
        self.assertEqual(set(self.reports()), {("ns-000", s.OURS), ("ns-001", s.OURS)})


if __name__ == "__main__":
    sys.setrecursionlimit(10000)   # the stand-in copies a 600-deep object recursively
    try:
        s.main()
    finally:
        s.cleanup()
