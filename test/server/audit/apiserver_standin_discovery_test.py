#!/usr/bin/env python3
"""The stand-in's discovery documents, the kinds it serves and does not serve, and loading objects
from files, directories, Lists and the generator (CTest: audit.standin.discovery).
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apiserver_standin as st  # noqa: E402
from standin_test_support import APPS, POLRS, StandinCase, main, status_bytes  # noqa: E402
from standin_test_support import setUpModule, tearDownModule  # noqa: E402,F401  unittest runs them


# ================================================================================== discovery
class Discovery(StandinCase):
    kinds = (st.APPLICATIONS, st.TABLES, st.REPORTS)   # kro and PolicyReports not served

    def test_api_group_list_names_the_served_groups_only(self):
        status, doc = self.admin().json("GET", "/apis")
        self.assertEqual((status, doc["kind"], doc["apiVersion"]), (200, "APIGroupList", "v1"))
        self.assertEqual([g["name"] for g in doc["groups"]],
                         ["core.oam.dev", "dynamodb.services.k8s.aws", "openreports.io"])
        g = doc["groups"][0]
        self.assertEqual(g["versions"], [{"groupVersion": "core.oam.dev/v1beta1",
                                          "version": "v1beta1"}])
        self.assertEqual(g["preferredVersion"], g["versions"][0])
        status, doc = self.admin().json("GET", "/api")
        self.assertEqual((status, doc["kind"], doc["versions"]), (200, "APIVersions", ["v1"]))

    def test_api_resource_lists(self):
        c = self.admin()
        for rt in self.kinds:
            status, doc = c.json("GET", f"/apis/{rt.group}/{rt.version}")
            self.assertEqual(status, 200)
            self.assertEqual((doc["kind"], doc["groupVersion"]),
                             ("APIResourceList", rt.api_version))
            (res,) = doc["resources"]
            self.assertEqual((res["name"], res["namespaced"], res["kind"]),
                             (rt.resource, True, rt.kind))
            self.assertTrue({"get", "list", "create", "update", "patch", "delete"}
                            <= set(res["verbs"]))
        status, doc = c.json("GET", "/apis/openreports.io")
        self.assertEqual((status, doc["kind"], doc["name"]), (200, "APIGroup", "openreports.io"))

    def test_unserved_kinds_are_404_with_a_status(self):
        c = self.admin()
        want = status_bytes(404, "NotFound", "the server could not find the requested resource",
                            {})
        for path in ("/apis/kro.run/v1alpha1", "/apis/kro.run",
                     "/apis/kro.run/v1alpha1/dynamodbtables",
                     "/apis/kro.run/v1alpha1/namespaces/a/dynamodbtables",
                     POLRS + "/namespaces/a/policyreports", "/apis/core.oam.dev/v1",
                     APPS + "/namespaces/a/applications/x/status"):
            status, hdrs, body = c.req("GET", path)
            self.assertEqual((status, body), (404, want), path)
            self.assertEqual(hdrs["content-type"], "application/json", path)
        self.assertEqual(c.req("POST", POLRS + "/namespaces/a/policyreports",
                               st.make_report("a", "r", kind="PolicyReport"))[0], 404)

    def test_an_unserved_kind_is_403_before_404_for_a_user_without_rights(self):
        self.assertEqual(self.client().req("GET", "/apis/kro.run/v1alpha1/dynamodbtables")[0],
                         403)


class DiscoveryPlainNotFound(StandinCase):
    kinds = (st.APPLICATIONS,)
    options = {"not_found": "text"}

    def test_unserved_kinds_answer_the_plain_text_404_of_a_missing_crd(self):
        status, hdrs, body = self.admin().req("GET", "/apis/kro.run/v1alpha1/dynamodbtables")
        self.assertEqual((status, body), (404, b"404 page not found\n"))
        self.assertEqual(hdrs["content-type"], "text/plain; charset=utf-8")


# ================================================================================ loading data
class Loading(StandinCase):
    kinds = (st.APPLICATIONS, st.REPORTS)

    def test_files_directories_lists_and_unserved_kinds(self):
        d = tempfile.mkdtemp(prefix="dsw-standin-load-")
        self.addCleanup(shutil.rmtree, d, True)
        apps = st.make_applications(4, ["x", "y"])
        with open(os.path.join(d, "a.json"), "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": apps[:2]}, f)
        with open(os.path.join(d, "b.yaml"), "w") as f:
            f.write("---\n" + "\n---\n".join(json.dumps(a) for a in apps[2:]) + "\n---\n")
        with open(os.path.join(d, "c.yml"), "w") as f:
            json.dump(st.make_report("x", "rep"), f)
        self.assertEqual(self.srv.load_path(d), 5)
        self.assertEqual(len(self.srv.objects("applications")), 4)
        self.assertEqual(len(self.srv.objects("applications", "x")), 2)
        kro = os.path.join(d, "kro.yaml")
        with open(kro, "w") as f:
            f.write("apiVersion: kro.run/v1alpha1\nkind: DynamoDBTable\nmetadata: {name: t}\n")
        with self.assertRaises(ValueError):
            self.srv.load_path(kro)
        self.assertEqual(self.srv.load_path(kro, skip_unserved=True), 0)
        with self.assertRaises(ValueError):
            self.srv.objects("dynamodbtables")
        examples = os.path.join(st.ROOT, "test", "fixtures", "examples")
        self.assertEqual(self.srv.load_path(examples), 4)
        self.assertIsNotNone(self.srv.get("applications", "default", "audit-table"))

    def test_generated_applications(self):
        apps = st.make_applications(6000, 60, invalid_every=10, warning_every=7)
        self.assertEqual(len({a["metadata"]["namespace"] for a in apps}), 60)
        self.assertEqual(len({a["metadata"]["name"] for a in apps}), 6000)
        traits = [a["spec"]["components"][0]["traits"][0].get("properties") for a in apps]
        self.assertEqual(sum(1 for t in traits if t and t["viewType"] == "NEW"), 600)
        self.assertTrue(any(t and t["enabled"] is False for t in traits))
        self.assertTrue(any(t is None for t in traits))
        self.srv.add_objects(apps)
        items, metas = self.list_all(self.admin(), APPS + "/applications", 500)
        self.assertEqual((len(items), len(metas)), (6000, 12))


if __name__ == "__main__":
    main()
