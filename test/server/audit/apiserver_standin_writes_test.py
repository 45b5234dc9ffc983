#!/usr/bin/env python3
"""The stand-in's writes: create, get, update (conflicts), patch, delete, size limits, and the
report CRDs' schema validation (pruning, strict field validation) (CTest: audit.standin.writes).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apiserver_standin as st  # noqa: E402
from standin_test_support import (ADMIN_TOKEN, APPS, JSON, POLRS, REPORTS, StandinCase, main,  # noqa: E402
                                  status_bytes, status_doc)
from standin_test_support import setUpModule, tearDownModule  # noqa: E402,F401  unittest runs them


# ===================================================================================== writes
class Writes(StandinCase):
    def create(self, c, rep, ns=None, base=REPORTS, plural="reports", headers=None):
        ns = ns or rep["metadata"]["namespace"]
        return c.json("POST", f"{base}/namespaces/{ns}/{plural}", rep, headers)

    def test_create_sets_server_fields_and_get_reads_them(self):
        c = self.admin()
        status, doc = self.create(c, st.make_report("team-a", "dynamodb-streams-webhook",
                                                    labels={"app.kubernetes.io/managed-by":
                                                            "dynamodb-streams-webhook"}))
        self.assertEqual(status, 201)
        m = doc["metadata"]
        self.assertRegex(m["uid"], r"^[0-9a-f-]{36}$")
        self.assertRegex(m["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual((m["generation"], m["namespace"]), (1, "team-a"))
        self.assertEqual(int(m["resourceVersion"]), self.srv.resource_version)
        status, got = c.json("GET", REPORTS + "/namespaces/team-a/reports/dynamodb-streams-webhook")
        self.assertEqual((status, got), (200, doc))
        self.assertEqual(self.srv.get("reports", "team-a", "dynamodb-streams-webhook"), doc)
        status, lst = c.json("GET", REPORTS + "/reports?labelSelector=app.kubernetes.io%2F"
                             "managed-by%3Ddynamodb-streams-webhook")
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]],
                         ["dynamodb-streams-webhook"])

    def test_create_of_an_existing_name_is_409_already_exists(self):
        c = self.admin()
        self.assertEqual(self.create(c, st.make_report("a", "r"))[0], 201)
        status, doc = self.create(c, st.make_report("a", "r"))
        self.assertEqual((status, doc), (409, status_doc(
            409, "AlreadyExists", 'reports.openreports.io "r" already exists',
            {"name": "r", "group": "openreports.io", "kind": "reports"})))

    def test_create_rules(self):
        c = self.admin()
        rep = st.make_report("a", "")
        del rep["metadata"]["name"]
        rep["metadata"]["generateName"] = "dsw-"
        status, doc = self.create(c, rep, "a")
        self.assertEqual(status, 201)
        self.assertRegex(doc["metadata"]["name"], r"^dsw-[a-z0-9]{5}$")
        del rep["metadata"]["generateName"]
        status, doc = self.create(c, rep, "a")
        self.assertEqual((status, doc["message"]), (422, 'Report.openreports.io "" is invalid: '
                                                         'metadata.name: Required value: name or '
                                                         'generateName is required'))
        status, doc = self.create(c, st.make_report("a", "Bad_Name"))
        self.assertEqual(status, 422)
        self.assertEqual(doc["details"]["causes"], [{
            "reason": "FieldValueInvalid", "field": "metadata.name",
            "message": 'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist '
                       "of lower case alphanumeric characters, '-' or '.', and must start and "
                       "end with an alphanumeric character (e.g. 'example.com', regex used for "
                       "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
                       "[a-z0-9])?)*')"}])
        status, doc = self.create(c, st.make_report("a", "r", labels={"k": "not valid!"}))
        self.assertEqual(status, 422)
        self.assertEqual(doc["details"]["causes"][0]["message"],
                         'Invalid value: "not valid!": a valid label must be an empty string or '
                         "consist of alphanumeric characters, '-', '_' or '.', and must start and "
                         "end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
                         "or '12345', regex used for validation is "
                         "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
        rep = st.make_report("a", "with-rv")
        rep["metadata"]["resourceVersion"] = "7"
        status, doc = self.create(c, rep)
        self.assertEqual((status, doc), (500, status_doc(
            500, "", "resourceVersion should not be set on objects to be created")))
        status, doc = self.create(c, st.make_report("a", "r"), ns="b")
        self.assertEqual((status, doc["message"]), (400, "the namespace of the provided object "
                                                         "does not match the namespace sent on "
                                                         "the request"))
        status, doc = self.create(c, st.make_report("a", "r", kind="PolicyReport"), ns="a")
        self.assertEqual((status, doc["message"]), (
            400, "the API version in the data (wgpolicyk8s.io/v1alpha2) does not match the "
                 "expected API version (openreports.io/v1alpha1)"))
        rep = st.make_report("a", "r")
        rep["kind"] = "Other"
        status, doc = self.create(c, rep)
        self.assertEqual((status, doc["message"]),
                         (422, 'Report.openreports.io "r" is invalid: kind: Invalid value: '
                               '"Other": must be Report'))
        status, _, _ = c.req("POST", REPORTS + "/namespaces/a/reports", "{", JSON)
        self.assertEqual(status, 400)
        status, _, _ = c.req("POST", REPORTS + "/namespaces/a/reports",
                             json.dumps(st.make_report("a", "r")), {"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        self.assertEqual(c.req("POST", REPORTS + "/reports", st.make_report("a", "r"))[0], 405)
        self.assertEqual(self.srv.objects("reports")[0]["metadata"]["generateName"], "dsw-")
        self.assertEqual(len(self.srv.objects("reports")), 1)

    def test_yaml_and_chunked_bodies(self):
        c = self.admin()
        body = ("apiVersion: openreports.io/v1alpha1\nkind: Report\nmetadata:\n  name: y\n"
                "source: x\nsummary: {pass: 0}\n")
        status, doc = c.json("POST", REPORTS + "/namespaces/a/reports", body,
                             {"Content-Type": "application/yaml"})
        self.assertEqual((status, doc["metadata"]["name"]), (201, "y"))
        chunks = iter([json.dumps(st.make_report("a", "chunked")).encode()])
        c.conn.request("POST", REPORTS + "/namespaces/a/reports", body=chunks,
                       headers={"Authorization": "Bearer " + ADMIN_TOKEN, **JSON},
                       encode_chunked=True)
        r = c.conn.getresponse()
        self.assertEqual((r.status, json.loads(r.read())["metadata"]["name"]), (201, "chunked"))

    def test_get_of_a_missing_object_is_404(self):
        status, doc = self.admin().json("GET", REPORTS + "/namespaces/a/reports/nope")
        self.assertEqual((status, doc), (404, status_doc(
            404, "NotFound", 'reports.openreports.io "nope" not found',
            {"name": "nope", "group": "openreports.io", "kind": "reports"})))

    def test_update_conflicts_and_unconditional_updates(self):
        c = self.admin()
        status, doc = self.create(c, st.make_report("a", "r"))
        path = REPORTS + "/namespaces/a/reports/r"
        stale = json.loads(json.dumps(doc))
        doc["source"] = "v2"
        status, v2 = c.json("PUT", path, doc)
        self.assertEqual(status, 200)
        self.assertGreater(int(v2["metadata"]["resourceVersion"]),
                           int(doc["metadata"]["resourceVersion"]))
        self.assertEqual((v2["metadata"]["generation"], v2["metadata"]["uid"]),
                         (2, doc["metadata"]["uid"]))
        stale["source"] = "stale"
        status, err = c.json("PUT", path, stale)
        self.assertEqual((status, err), (409, status_doc(
            409, "Conflict", 'Operation cannot be fulfilled on reports.openreports.io "r": the '
                             'object has been modified; please apply your changes to the latest '
                             'version and try again',
            {"name": "r", "group": "openreports.io", "kind": "reports"})))
        del stale["metadata"]["resourceVersion"]
        status, v3 = c.json("PUT", path, stale)
        self.assertEqual((status, v3["source"]), (200, "stale"))
        status, v4 = c.json("PUT", path, v3)          # nothing changed: nothing written
        self.assertEqual((status, v4), (200, v3))
        v3["metadata"]["labels"] = {"l": "x"}
        status, v5 = c.json("PUT", path, v3)
        self.assertEqual(v5["metadata"]["generation"], v3["metadata"]["generation"])
        v5["metadata"]["uid"] = "00000000-0000-0000-0000-000000000000"
        status, err = c.json("PUT", path, v5)
        self.assertEqual((status, err["reason"]), (409, "Conflict"))
        self.assertIn("Precondition failed: UID in precondition", err["message"])
        status, err = c.json("PUT", REPORTS + "/namespaces/a/reports/other", v3)
        self.assertEqual((status, err["message"]), (
            400, "the name of the object (r) does not match the name on the URL (other)"))
        gone = st.make_report("a", "gone")
        status, err = c.json("PUT", REPORTS + "/namespaces/a/reports/gone", gone)
        self.assertEqual((status, err["reason"]), (404, "NotFound"))

    def test_bump_before_update_gives_a_natural_409(self):
        c = self.admin()
        status, doc = self.create(c, st.make_report("a", "r"))
        f = self.srv.bump_before_update("reports", "a", "r", annotate=True)
        doc["source"] = "mine"
        path = REPORTS + "/namespaces/a/reports/r"
        status, err = c.json("PUT", path, doc)
        self.assertEqual((status, err["reason"], f.hits, f.remaining), (409, "Conflict", 1, 0))
        status, fresh = c.json("GET", path)
        self.assertEqual(fresh["metadata"]["annotations"], {"apiserver-standin/bumped": "1"})
        fresh["source"] = "mine"
        self.assertEqual(c.json("PUT", path, fresh)[0], 200)
        f2 = self.srv.bump_before_update("reports", "a", "r")
        status, _ = c.json("PATCH", path, {"source": "patched"},
                           {"Content-Type": "application/merge-patch+json"})
        self.assertEqual((status, f2.hits), (200, 1))  # a patch without resourceVersion retries

    def test_patches(self):
        c = self.admin()
        status, doc = self.create(c, st.make_report("a", "r"))
        path = REPORTS + "/namespaces/a/reports/r"
        merge = {"Content-Type": "application/merge-patch+json"}
        status, p1 = c.json("PATCH", path, {"metadata": {"labels": {"x": "1"}}, "source": None},
                            merge)
        self.assertEqual((status, p1["metadata"]["labels"], "source" in p1),
                         (200, {"x": "1"}, False))
        jp = {"Content-Type": "application/json-patch+json"}
        status, p2 = c.json("PATCH", path, [
            {"op": "test", "path": "/metadata/labels/x", "value": "1"},
            {"op": "replace", "path": "/summary/pass", "value": 3},
            {"op": "add", "path": "/results/-", "value": {"policy": "p2", "result": "fail"}}], jp)
        self.assertEqual((status, p2["summary"]["pass"], len(p2["results"])), (200, 3, 2))
        status, err = c.json("PATCH", path, [{"op": "test", "path": "/summary/pass",
                                              "value": 4}], jp)
        self.assertEqual((status, err), (422, status_doc(
            422, "Invalid", "the server rejected our request due to an error in our request", {})))
        status, err = c.json("PATCH", path, {"metadata": {"resourceVersion": "1"}}, merge)
        self.assertEqual((status, err["reason"]), (409, "Conflict"))
        status, err = c.json("PATCH", path, {"results": [{"result": "bad"}]}, merge)
        self.assertEqual(status, 422)
        self.assertEqual([x["field"] for x in err["details"]["causes"]],
                         ["results[0].policy", "results[0].result"])
        status, _, _ = c.req("PATCH", path, "{}", {"Content-Type":
                                                   "application/strategic-merge-patch+json"})
        self.assertEqual(status, 415)
        status, err = c.json("PATCH", path, "{}", {"Content-Type": "application/apply-patch+yaml"})
        self.assertEqual((status, err["reason"]), (415, "UnsupportedMediaType"))
        status, err = c.json("PATCH", REPORTS + "/namespaces/a/reports/nope", {}, merge)
        self.assertEqual(status, 404)

    def test_delete(self):
        c = self.admin()
        status, doc = self.create(c, st.make_report("a", "r"))
        path = REPORTS + "/namespaces/a/reports/r"
        status, err = c.json("DELETE", path, {"preconditions": {"resourceVersion": "1"}})
        self.assertEqual((status, err["reason"]), (409, "Conflict"))
        self.assertIn("Precondition failed: ResourceVersion in precondition: 1", err["message"])
        status, ok = c.json("DELETE", path)
        self.assertEqual((status, ok), (200, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": "r", "group": "openreports.io", "kind": "reports",
                        "uid": doc["metadata"]["uid"]}}))
        status, err = c.json("DELETE", path)
        self.assertEqual((status, err["message"]),
                         (404, 'reports.openreports.io "r" not found'))
        self.assertIsNone(self.srv.get("reports", "a", "r"))
        self.assertEqual(self.create(c, st.make_report("a", "r"))[0], 201)

    def test_size_limits(self):
        c = self.admin()
        path = REPORTS + "/namespaces/a/reports"
        big = st.make_report("a", "big")
        big["results"][0]["message"] = "x" * (3 * 1024 * 1024)
        status, hdrs, body = c.req("POST", path, json.dumps(big), JSON)
        self.assertEqual((status, body), (413, status_bytes(
            413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")))
        self.assertEqual(hdrs.get("connection"), "close")
        # As upstream, the limit is checked by the resource handler: credentials come first.
        status, hdrs, _ = self.client("bad").req("POST", path, json.dumps(big), JSON)
        self.assertEqual((status, hdrs.get("connection")), (401, "close"))
        status, _, _ = self.client().req("POST", path, json.dumps(big), JSON)
        self.assertEqual(status, 403)
        c = self.admin()
        big["results"][0]["message"] = "x" * (2 * 1024 * 1024)
        status, hdrs, body = c.req("POST", path, json.dumps(big), JSON)
        self.assertEqual((status, body), (500, status_bytes(500, "",
                                                            "etcdserver: request is too large")))
        self.assertIsNone(self.srv.get("reports", "a", "big"))
        fits = st.make_report("a", "fits")
        # Leave room for the server's metadata (uid, creationTimestamp, ...: < 300 bytes).
        base = len(st.go_json(fits, True)) + len("/registry/openreports.io/reports/a/fits") + 300
        fits["results"][0]["message"] = "x" * (st.MAX_OBJECT_BYTES - base)
        status, doc = c.json("POST", path, fits)
        self.assertEqual(status, 201)
        doc["results"][0]["message"] += "x" * 400
        status, err = c.json("PUT", path + "/fits", doc)
        self.assertEqual((status, err["message"]), (500, "etcdserver: request is too large"))


# ========================================================================== schema validation
class SchemaValidation(StandinCase):
    def post(self, c, doc, plural="reports", base=REPORTS, q=""):
        return c.req("POST", f"{base}/namespaces/a/{plural}{q}", json.dumps(doc), JSON)

    def test_report_fields_are_checked_as_the_crd_schema_does(self):
        c = self.admin()
        rep = st.make_report("a", "r", results=[
            {"policy": "p", "result": "maybe", "severity": "urgent",
             "timestamp": {"seconds": 1}, "resources": [{"kind": 5}], "scored": "yes"},
            {"rule": "no-policy", "properties": {"n": 1}}])
        rep["summary"] = {"pass": "1", "fail": 1.5, "warn": 2.0}
        status, _, body = self.post(c, rep)
        doc = json.loads(body)
        self.assertEqual(status, 422)
        got = {(x["field"], x["reason"]): x["message"] for x in doc["details"]["causes"]}
        want = {
            ("results[0].result", "FieldValueNotSupported"):
                'Unsupported value: "maybe": supported values: "pass", "fail", "warn", "error", '
                '"skip"',
            ("results[0].severity", "FieldValueNotSupported"):
                'Unsupported value: "urgent": supported values: "critical", "high", "low", '
                '"medium", "info"',
            ("results[0].timestamp.nanos", "FieldValueRequired"): "Required value",
            ("results[0].resources[0].kind", "FieldValueTypeInvalid"):
                'Invalid value: "integer": results[0].resources[0].kind in body must be of type '
                'string: "integer"',
            ("results[0].scored", "FieldValueTypeInvalid"):
                'Invalid value: "string": results[0].scored in body must be of type boolean: '
                '"string"',
            ("results[1].policy", "FieldValueRequired"): "Required value",
            ("results[1].properties.n", "FieldValueTypeInvalid"):
                'Invalid value: "integer": results[1].properties.n in body must be of type '
                'string: "integer"',
            ("summary.pass", "FieldValueTypeInvalid"):
                'Invalid value: "string": summary.pass in body must be of type integer: '
                '"string"',
            ("summary.fail", "FieldValueTypeInvalid"):
                'Invalid value: "number": summary.fail in body must be of type integer: '
                '"number"',
        }
        self.assertEqual(got, want)
        self.assertTrue(doc["message"].startswith('Report.openreports.io "r" is invalid: ['))
        self.assertEqual((doc["details"]["kind"], doc["details"]["group"]),
                         ("Report", "openreports.io"))
        self.assertEqual(len(self.srv.objects("reports")), 0)

    def test_unknown_fields_are_pruned_with_a_warning_or_refused_when_strict(self):
        c = self.admin()
        rep = st.make_report("a", "r")
        rep["extra"] = 1
        rep["results"][0]["note"] = "x"
        rep["metadata"]["bogus"] = True
        status, hdrs, body = self.post(c, rep)
        self.assertEqual(status, 201)
        self.assertEqual(sorted(hdrs["warning"]), [
            '299 - "unknown field \\"extra\\""', '299 - "unknown field \\"metadata.bogus\\""',
            '299 - "unknown field \\"results[0].note\\""'])
        stored = self.srv.get("reports", "a", "r")
        self.assertNotIn("extra", stored)
        self.assertNotIn("note", stored["results"][0])
        self.assertNotIn("bogus", stored["metadata"])
        rep["metadata"]["name"] = "strict"
        status, _, body = self.post(c, rep, q="?fieldValidation=Strict")
        self.assertEqual((status, json.loads(body)["message"]), (
            400, 'Report in version "v1alpha1" cannot be handled as a Report: strict decoding '
                 'error: unknown field "metadata.bogus", unknown field "extra", unknown field '
                 '"results[0].note"'))
        rep["metadata"]["name"] = "quiet"
        status, hdrs, body = self.post(c, rep, q="?fieldValidation=Ignore")
        self.assertEqual((status, hdrs.get("warning")), (201, None))

    def test_policy_reports_have_no_top_level_source(self):
        c = self.admin()
        pr = st.make_report("a", "p", kind="PolicyReport")
        pr["source"] = "dynamodb-streams-webhook"
        status, hdrs, body = self.post(c, pr, "policyreports", POLRS)
        self.assertEqual((status, hdrs["warning"]), (201, ['299 - "unknown field \\"source\\""']))
        self.assertNotIn("source", json.loads(body))
        self.assertEqual(json.loads(body)["results"][0]["source"], "other-tool")
        pr["metadata"]["name"] = "bad"
        pr["results"][0]["result"] = "ok"
        status, _, body = self.post(c, pr, "policyreports", POLRS)
        self.assertEqual((status, json.loads(body)["details"]["kind"]), (422, "PolicyReport"))

    def test_applications_keep_every_field(self):
        c = self.admin()
        app = st.make_applications(1, ["a"])[0]
        app["spec"]["anything"] = {"goes": [1, 2]}
        status, hdrs, body = c.req("POST", APPS + "/namespaces/a/applications", json.dumps(app),
                                   JSON)
        self.assertEqual((status, hdrs.get("warning")), (201, None))
        self.assertEqual(json.loads(body)["spec"], app["spec"])


if __name__ == "__main__":
    main()
