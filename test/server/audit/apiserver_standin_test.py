#!/usr/bin/env python3
"""Tests of the apiserver stand-in (apiserver_standin.py) the audit tests run against: every
rule it keeps, checked over CA-verified TLS on 127.0.0.1 with Python's own http.client and ssl.
Each test starts its own stand-in on a free port and stops it (stop() is bounded and joins every
thread). No timing is asserted; the one wait (a 0.2 s continue-token lifetime) only needs time
to pass.

    apiserver_standin_test.py [-v] [unittest arguments]   the tests (CTest: audit.standin)
    apiserver_standin_test.py --bench [--runs N]          list 6,000 Applications in 60
                                                          namespaces in pages of 500, timed
"""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apiserver_standin as st  # noqa: E402

HOST = "localhost"
USER = "system:serviceaccount:dsw:audit"
TOKEN = "audit-token"
ADMIN, ADMIN_TOKEN = "admin", "admin-token"
JSON = {"Content-Type": "application/json"}
APPS = "/apis/core.oam.dev/v1beta1"
REPORTS = "/apis/openreports.io/v1alpha1"
POLRS = "/apis/wgpolicyk8s.io/v1alpha2"

CERTS = None      # one CA and serving certificate for the whole run (setUpModule)
OTHER_CA = None   # an unrelated CA, for certificates the stand-in must refuse


def setUpModule():
    global CERTS, OTHER_CA
    base = tempfile.mkdtemp(prefix="dsw-standin-test-")
    CERTS = st.make_certs(os.path.join(base, "certs"))
    OTHER_CA = st.make_certs(os.path.join(base, "other"))


def tearDownModule():
    if CERTS:
        shutil.rmtree(os.path.dirname(CERTS), ignore_errors=True)


def ctx(cafile=None, cert=None):
    c = ssl.create_default_context(cafile=cafile or os.path.join(CERTS, "ca.crt"))
    if cert:
        c.load_cert_chain(*cert)
    return c


class Client:
    """One keep-alive HTTPS connection; answers are (status, headers dict (lower-case; Warning
    as a list), body bytes)."""

    def __init__(self, port, token=TOKEN, context=None, host=HOST):
        self.token = token
        self.conn = http.client.HTTPSConnection(host, port, context=context or ctx(),
                                                timeout=10)

    def req(self, method, path, body=None, headers=None):
        h = {}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        hdrs = {}
        for k, v in r.getheaders():
            k = k.lower()
            if k == "warning":
                hdrs.setdefault(k, []).append(v)
            else:
                hdrs[k] = v
        return r.status, hdrs, data

    def json(self, method, path, body=None, headers=None):
        status, hdrs, data = self.req(method, path, body, headers)
        return status, json.loads(data)

    def close(self):
        self.conn.close()


def status_doc(code, reason, message, details=None, metadata=None):
    d = {"kind": "Status", "apiVersion": "v1", "metadata": metadata or {}, "status": "Failure"}
    if message:
        d["message"] = message
    if reason:
        d["reason"] = reason
    if details is not None:
        d["details"] = details
    d["code"] = code
    return d


def status_bytes(*a, **kw):
    return (json.dumps(status_doc(*a, **kw), separators=(",", ":"), ensure_ascii=False)
            + "\n").encode()


class StandinCase(unittest.TestCase):
    """Starts a stand-in per test: USER (token TOKEN) with no rights unless a test grants them,
    ADMIN (ADMIN_TOKEN) with every right."""
    kinds = st.DEFAULT_KINDS
    options: dict = {}

    def setUp(self):
        self.srv = st.ApiServerStandin(os.path.join(CERTS, "tls.crt"),
                                       os.path.join(CERTS, "tls.key"), kinds=self.kinds,
                                       tokens={TOKEN: USER, ADMIN_TOKEN: ADMIN}, **self.options)
        self.srv.allow_all(ADMIN)
        self.srv.start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.stop(timeout=5)

    def client(self, token=TOKEN, **kw):
        c = Client(self.srv.port, token, **kw)
        self.clients.append(c)
        return c

    def admin(self):
        return self.client(ADMIN_TOKEN)

    def list_all(self, c, path, limit, extra=""):
        """Every page of a list: (items, pages' metadata)."""
        items, metas, cont = [], [], ""
        for _ in range(10000):
            q = f"{path}?limit={limit}{extra}" + (f"&continue={cont}" if cont else "")
            status, doc = c.json("GET", q)
            self.assertEqual(status, 200, doc)
            items += doc["items"]
            metas.append(doc["metadata"])
            cont = doc["metadata"].get("continue")
            if not cont:
                return items, metas
        self.fail("the list never ended")


# ================================================================================== TLS, HTTP
class TlsAndHttp(StandinCase):
    def test_ca_verified_tls_for_localhost_and_127_0_0_1(self):
        for host in ("localhost", "127.0.0.1"):
            status, _, body = self.client(ADMIN_TOKEN, host=host).req("GET", "/apis")
            self.assertEqual(status, 200, host)
            self.assertEqual(json.loads(body)["kind"], "APIGroupList")

    def test_a_client_that_does_not_trust_the_ca_fails_the_handshake(self):
        c = self.client(ADMIN_TOKEN, context=ctx(os.path.join(OTHER_CA, "ca.crt")))
        with self.assertRaises(ssl.SSLCertVerificationError):
            c.req("GET", "/apis")

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        c = self.admin()
        c.req("GET", "/apis")
        sock = c.conn.sock
        for path in ("/api", "/apis/core.oam.dev/v1beta1", APPS + "/applications",
                     APPS + "/namespaces/x/applications/missing"):
            status, hdrs, body = c.req("GET", path)
            self.assertEqual(int(hdrs["content-length"]), len(body))
            self.assertIs(c.conn.sock, sock, f"{path}: the connection was not reused")
        self.assertEqual(status, 404)

    def test_health_and_version_need_no_credentials(self):
        c = self.client(token=None)
        self.assertEqual(c.req("GET", "/readyz")[:3:2], (200, b"ok"))
        status, _, body = c.req("GET", "/version")
        self.assertEqual((status, json.loads(body)["major"]), (200, "1"))

    def test_stop_is_bounded_with_idle_keep_alive_connections_open(self):
        for _ in range(3):
            self.admin().req("GET", "/apis")
        port = self.srv.port
        raw = socket.create_connection(("127.0.0.1", port))  # never says hello
        try:
            self.srv.stop(timeout=5)        # raises when a thread is left running
        finally:
            raw.close()
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        self.srv.start()                    # tearDown stops it again

    def test_concurrent_clients(self):
        self.srv.add_objects(st.make_applications(300, 3))
        errors = []

        def work(i):
            try:
                c = Client(self.srv.port, ADMIN_TOKEN)
                for j in range(15):
                    status, doc = c.json("GET", APPS + "/applications?limit=50")
                    if status != 200 or len(doc["items"]) != 50:
                        errors.append((i, j, status))
                    rep = st.make_report(f"ns-00{i % 3}", f"r-{i}-{j}")
                    status, _ = c.json("POST", REPORTS + f"/namespaces/ns-00{i % 3}/reports", rep)
                    if status != 201:
                        errors.append((i, j, status))
                c.close()
            except Exception as e:  # reported below
                errors.append((i, repr(e)))
        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(errors, [])
        self.assertEqual(len(self.srv.objects("reports")), 90)


# ============================================================================= authentication
class Authentication(StandinCase):
    UNAUTHORIZED = status_bytes(401, "Unauthorized", "Unauthorized")

    def test_missing_unknown_and_malformed_credentials_are_401(self):
        for token, headers in ((None, {}), ("nope", {}),
                               (None, {"Authorization": "Basic YTpi"}),
                               (None, {"Authorization": "Bearer "})):
            status, hdrs, body = self.client(token).req("GET", APPS + "/applications", None,
                                                        headers)
            self.assertEqual((status, body), (401, self.UNAUTHORIZED), (token, headers))
            self.assertEqual(hdrs["content-type"], "application/json")
        self.assertEqual(self.client(None).req("GET", "/apis")[0], 401)

    def test_token_added_and_removed_at_run_time(self):
        self.srv.add_token("late", "bob")
        self.assertEqual(self.client("late").req("GET", "/apis")[0], 200)
        self.srv.remove_token("late")
        self.assertEqual(self.client("late").req("GET", "/apis")[0], 401)
        self.assertEqual(self.srv.requests()[-1].user, None)


class ClientCertificates(StandinCase):
    @property
    def options(self):
        return {"client_ca": os.path.join(CERTS, "ca.crt")}

    def test_the_certificate_cn_is_the_user(self):
        cert = st.make_client_cert(CERTS, USER, "audit-user")
        c = self.client(token=None, context=ctx(cert=cert))
        status, doc = c.json("GET", APPS + "/applications")
        self.assertEqual(status, 403)
        self.assertIn(f'User "{USER}" cannot list', doc["message"])
        self.srv.allow(USER, "list", "core.oam.dev", "applications")
        self.assertEqual(c.json("GET", APPS + "/applications")[0], 200)
        self.assertEqual(self.srv.requests()[-1].user, USER)

    def test_tokens_still_work_without_a_certificate(self):
        self.assertEqual(self.admin().req("GET", "/apis")[0], 200)

    def test_a_certificate_of_another_ca_fails_the_handshake(self):
        cert = st.make_client_cert(OTHER_CA, USER, "stranger")
        c = self.client(token=None, context=ctx(cert=cert))
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            c.req("GET", "/apis")
        deadline = time.monotonic() + 5
        while not self.srv.counters.get("tls_handshake_failures") and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertGreaterEqual(self.srv.counters.get("tls_handshake_failures", 0), 1)


# ============================================================================== authorization
class Authorization(StandinCase):
    def forbidden(self, name, group, resource, message):
        details = {"group": group, "kind": resource}
        if name:
            details = {"name": name, **details}
        return status_doc(403, "Forbidden", message, details)

    def test_403_messages_are_the_apiservers(self):
        c = self.client()
        cases = [
            ("GET", APPS + "/applications", None,
             self.forbidden("", "core.oam.dev", "applications",
                            f'applications.core.oam.dev is forbidden: User "{USER}" cannot list '
                            'resource "applications" in API group "core.oam.dev" at the cluster '
                            'scope')),
            ("GET", APPS + "/namespaces/team-a/applications", None,
             self.forbidden("", "core.oam.dev", "applications",
                            f'applications.core.oam.dev is forbidden: User "{USER}" cannot list '
                            'resource "applications" in API group "core.oam.dev" in the '
                            'namespace "team-a"')),
            ("GET", REPORTS + "/namespaces/team-a/reports/dynamodb-streams-webhook", None,
             self.forbidden("dynamodb-streams-webhook", "openreports.io", "reports",
                            'reports.openreports.io "dynamodb-streams-webhook" is forbidden: '
                            f'User "{USER}" cannot get resource "reports" in API group '
                            '"openreports.io" in the namespace "team-a"')),
            ("POST", REPORTS + "/namespaces/team-a/reports", st.make_report("team-a", "r"),
             self.forbidden("", "openreports.io", "reports",
                            f'reports.openreports.io is forbidden: User "{USER}" cannot create '
                            'resource "reports" in API group "openreports.io" in the namespace '
                            '"team-a"')),
            ("DELETE", POLRS + "/namespaces/b/policyreports/x", None,
             self.forbidden("x", "wgpolicyk8s.io", "policyreports",
                            'policyreports.wgpolicyk8s.io "x" is forbidden: User '
                            f'"{USER}" cannot delete resource "policyreports" in API group '
                            '"wgpolicyk8s.io" in the namespace "b"')),
        ]
        for method, path, body, want in cases:
            status, doc = c.json(method, path, body)
            self.assertEqual((status, doc), (403, want), path)

    def test_rbac_wildcards_and_namespace_grants(self):
        self.srv.allow(USER, ["get", "list"], "*", "applications")
        self.srv.allow(USER, "*", "openreports.io", "reports", namespace="team-a")
        c = self.client()
        self.assertEqual(c.req("GET", APPS + "/applications")[0], 200)
        self.assertEqual(c.req("GET", APPS + "/namespaces/x/applications/y")[0], 404)
        self.assertEqual(c.req("DELETE", APPS + "/namespaces/x/applications/y")[0], 403)
        self.assertEqual(c.req("GET", REPORTS + "/namespaces/team-a/reports")[0], 200)
        self.assertEqual(c.req("POST", REPORTS + "/namespaces/team-a/reports",
                               st.make_report("team-a", "r"))[0], 201)
        self.assertEqual(c.req("GET", REPORTS + "/namespaces/team-b/reports")[0], 403)
        self.assertEqual(c.req("GET", REPORTS + "/reports")[0], 403)  # cluster scope
        self.srv.revoke(USER)
        self.assertEqual(c.req("GET", APPS + "/applications")[0], 403)
        self.assertTrue(self.srv.authorized(ADMIN, "deletecollection", "x", "y", "z"))

    def test_rules_given_to_the_constructor(self):
        srv = st.ApiServerStandin(os.path.join(CERTS, "tls.crt"), os.path.join(CERTS, "tls.key"),
                                  tokens={TOKEN: USER},
                                  rules={USER: [("list", "core.oam.dev", "applications"),
                                                ("*", "*", "reports", "team-a")]})
        self.assertTrue(srv.authorized(USER, "list", "core.oam.dev", "applications"))
        self.assertFalse(srv.authorized(USER, "get", "core.oam.dev", "applications", "x"))
        self.assertTrue(srv.authorized(USER, "delete", "openreports.io", "reports", "team-a"))
        self.assertFalse(srv.authorized(USER, "delete", "openreports.io", "reports", "team-b"))

    def test_discovery_needs_only_authentication(self):
        for path in ("/api", "/apis", "/apis/core.oam.dev", "/apis/core.oam.dev/v1beta1"):
            self.assertEqual(self.client().req("GET", path)[0], 200, path)


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


# ====================================================================================== lists
class Lists(StandinCase):
    def keys(self, items):
        return [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items]

    def test_paging_returns_every_object_once_in_key_order(self):
        apps = st.make_applications(1234, ["team-b", "team-a", "a", "a-b", "z", "team", "b"])
        self.srv.add_objects(apps)
        c = self.admin()
        items, metas = self.list_all(c, APPS + "/applications", 100)
        self.assertEqual(len(metas), 13)
        want = sorted((a["metadata"]["namespace"], a["metadata"]["name"]) for a in apps)
        want.sort(key=lambda k: f"{k[0]}/{k[1]}")   # etcd's byte order of "ns/name"
        self.assertEqual(self.keys(items), want)
        namespaces = [k[0] for k in self.keys(items)]
        # "a-b/..." sorts before "a/..." ('-' < '/'), not after as (namespace, name) would.
        self.assertLess(max(i for i, n in enumerate(namespaces) if n == "a-b"),
                        min(i for i, n in enumerate(namespaces) if n == "a"))
        rvs = {m["resourceVersion"] for m in metas}
        self.assertEqual(len(rvs), 1, "every page of one list is read at one resourceVersion")
        self.assertEqual([m.get("remainingItemCount") for m in metas[:3]], [1134, 1034, 934])
        self.assertNotIn("continue", metas[-1])
        self.assertNotIn("remainingItemCount", metas[-1])
        for it in items[:3]:
            self.assertTrue(it["metadata"]["resourceVersion"] and it["metadata"]["uid"])
            self.assertEqual((it["apiVersion"], it["kind"]),
                             ("core.oam.dev/v1beta1", "Application"))

    def test_no_limit_or_limit_0_gives_everything_in_one_page(self):
        self.srv.add_objects(st.make_applications(40, 4))
        c = self.admin()
        for q in ("", "?limit=0", "?limit="):
            status, doc = c.json("GET", APPS + "/applications" + q)
            self.assertEqual((status, len(doc["items"])), (200, 40), q)
            self.assertEqual(sorted(doc["metadata"]), ["resourceVersion"])
            self.assertEqual((doc["kind"], doc["apiVersion"]),
                             ("ApplicationList", "core.oam.dev/v1beta1"))

    def test_a_page_ending_exactly_at_the_last_object_has_no_continue(self):
        self.srv.add_objects(st.make_applications(10, 1))
        status, doc = self.admin().json("GET", APPS + "/applications?limit=10")
        self.assertEqual((len(doc["items"]), doc["metadata"].get("continue")), (10, None))

    def test_namespaced_lists_page_within_their_namespace(self):
        self.srv.add_objects(st.make_applications(300, ["ns-a", "ns-b", "ns-aa"]))
        items, metas = self.list_all(self.admin(), APPS + "/namespaces/ns-a/applications", 30)
        self.assertEqual(len(items), 100)
        self.assertEqual({i["metadata"]["namespace"] for i in items}, {"ns-a"})
        self.assertEqual(len(metas), 4)
        token = json.loads(base64.urlsafe_b64decode(metas[0]["continue"] + "=="))
        self.assertEqual(set(token), {"v", "rv", "start"})
        self.assertEqual((token["v"], token["start"]), ("meta.k8s.io/v1", "app-00087\x00"))
        status, doc = self.admin().json("GET", APPS + "/namespaces/empty/applications?limit=5")
        self.assertEqual((status, doc["items"], sorted(doc["metadata"])),
                         (200, [], ["resourceVersion"]))

    def test_continue_token_is_the_etcd3_stores(self):
        self.srv.add_objects(st.make_applications(3, ["x"]))
        status, doc = self.admin().json("GET", APPS + "/applications?limit=1")
        tok = doc["metadata"]["continue"]
        self.assertNotIn("=", tok)
        self.assertEqual(json.loads(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))),
                         {"v": "meta.k8s.io/v1", "rv": int(doc["metadata"]["resourceVersion"]),
                          "start": "x/app-00000\x00"})

    def test_pages_read_one_snapshot_while_objects_change(self):
        self.srv.add_objects(st.make_applications(20, ["n"]))
        c = self.admin()
        status, first = c.json("GET", APPS + "/applications?limit=5")
        rv = first["metadata"]["resourceVersion"]
        self.srv.delete("applications", "n", "app-00010")
        late = st.make_applications(1, ["n"], prefix="app-00010-late")[0]
        self.srv.add(late)
        changed = self.srv.get("applications", "n", "app-00012")
        changed["metadata"]["labels"] = {"changed": "yes"}
        self.srv.add(changed)
        items = list(first["items"])
        cont = first["metadata"]["continue"]
        while cont:
            status, doc = c.json("GET", APPS + f"/applications?limit=5&continue={cont}")
            self.assertEqual(doc["metadata"]["resourceVersion"], rv)
            items += doc["items"]
            cont = doc["metadata"].get("continue")
        names = [i["metadata"]["name"] for i in items]
        self.assertEqual(len(names), 20)
        self.assertIn("app-00010", names)
        self.assertNotIn("app-00010-late-00000", names)
        self.assertNotIn("labels", items[12]["metadata"])
        status, fresh = c.json("GET", APPS + "/applications")
        names = [i["metadata"]["name"] for i in fresh["items"]]
        self.assertNotIn("app-00010", names)
        self.assertIn("app-00010-late-00000", names)

    def test_malformed_continue_tokens_are_400(self):
        self.srv.add_objects(st.make_applications(3, 1))
        c = self.admin()

        def tok(d):
            return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
        prefix = "invalid continue token: continue key is not valid"
        cases = {
            "%%%": prefix + ": illegal base64 data at input byte 0",
            "bm90IGpzb24": prefix + ": ",
            tok({"v": "meta.k8s.io/v2", "rv": 5, "start": "a"}):
                prefix + ": server does not recognize this encoded version meta.k8s.io/v2",
            tok({"v": "meta.k8s.io/v1", "rv": 0, "start": "a"}):
                prefix + ": incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            tok({"v": "meta.k8s.io/v1", "rv": 5, "start": ""}):
                prefix + ": encoded start key empty (version meta.k8s.io/v1)",
            tok({"v": "meta.k8s.io/v1", "rv": 5, "start": "../../secrets/x"}):
                prefix + ": ../../secrets/x",
        }
        for token, message in cases.items():
            status, doc = c.json("GET", APPS + "/applications?limit=1&continue="
                                 + token.replace("%", "%25"))
            self.assertEqual((status, doc["reason"], doc["code"]), (400, "BadRequest", 400), token)
            self.assertTrue(doc["message"].startswith(message), (token, doc["message"]))
        status, doc = c.json("GET", APPS + "/applications?limit=1")
        status, doc = c.json("GET", APPS + "/applications?limit=1&resourceVersion=5&continue="
                             + doc["metadata"]["continue"])
        self.assertEqual((status, doc["message"]), (400, "specifying resource version is not "
                                                         "allowed when using continue"))
        self.assertEqual(c.json("GET", APPS + "/applications?limit=x")[0], 400)
        self.assertEqual(c.json("GET", APPS + "/applications?watch=true")[0], 400)

    def test_expired_continue_tokens_are_410_with_a_fresh_token(self):
        self.srv.add_objects(st.make_applications(30, 3))
        c = self.admin()
        status, first = c.json("GET", APPS + "/applications?limit=10")
        cont = first["metadata"]["continue"]
        self.srv.expire_continue_tokens()
        status, doc = c.json("GET", APPS + f"/applications?limit=10&continue={cont}")
        self.assertEqual(status, 410)
        fresh = doc["metadata"]["continue"]
        self.assertEqual(doc, status_doc(410, "Expired", st.MSG_CONTINUE_EXPIRED,
                                         metadata={"continue": fresh}))
        self.assertTrue(doc["message"].startswith(
            "The provided continue parameter is too old to display a consistent list result."))
        tok = json.loads(base64.urlsafe_b64decode(fresh + "=" * (-len(fresh) % 4)))
        self.assertEqual(tok["rv"], -1)
        # The Status' token continues at the latest state where the old one stopped.
        status, rest = c.json("GET", APPS + f"/applications?limit=100&continue={fresh}")
        self.assertEqual((status, len(rest["items"])), (200, 20))
        self.assertEqual(rest["items"][0]["metadata"]["name"],
                         self.srv.objects("applications")[10]["metadata"]["name"])
        # A new list works, and its tokens are valid.
        items, _ = self.list_all(c, APPS + "/applications", 10)
        self.assertEqual(len(items), 30)

    def test_expiry_by_age_of_the_list(self):
        self.srv.continue_ttl = 0.5
        self.srv.add_objects(st.make_applications(4, 1))
        c = self.admin()
        status, doc = c.json("GET", APPS + "/applications?limit=1")
        time.sleep(0.3)
        status, doc = c.json("GET", APPS + "/applications?limit=1&continue="
                             + doc["metadata"]["continue"])
        # No assertion on this page: on a busy machine 0.3 s may have become 0.5 s. The next
        # token is as old as the list (>= 0.6 s after the sleep below) and has expired, although
        # its own page is only 0.3 s old.
        if status == 200:
            time.sleep(0.3)
            status, doc = c.json("GET", APPS + "/applications?limit=1&continue="
                                 + doc["metadata"]["continue"])
        self.assertEqual((status, doc["reason"]), (410, "Expired"))

    def test_label_selectors(self):
        objs = st.make_applications(6, ["n"])
        labels = [{"tier": "web", "team": "a"}, {"tier": "db", "team": "a"}, {"tier": "web"},
                  {"team": "b"}, {}, {"tier": "cache", "team": "b"}]
        for o, lab in zip(objs, labels):
            o["metadata"]["labels"] = lab
        self.srv.add_objects(objs)
        c = self.admin()
        cases = {"tier=web": [0, 2], "tier==web": [0, 2], "tier!=web": [1, 3, 4, 5],
                 "team": [0, 1, 3, 5], "!team": [2, 4], "tier=web,team=a": [0],
                 "tier in (web,db)": [0, 1, 2], "tier notin (web, db)": [3, 4, 5],
                 "team,tier!=cache": [0, 1, 3], "": [0, 1, 2, 3, 4, 5]}
        for sel, want in cases.items():
            status, doc = c.json("GET", APPS + "/applications?labelSelector="
                                 + urllib_quote(sel))
            self.assertEqual(status, 200, sel)
            self.assertEqual([int(i["metadata"]["name"][-1]) for i in doc["items"]], want, sel)
        for bad in ("tier=", "=web", "tier in web", "tier=a b", "ti er", "a,,b", "x=@"):
            if bad == "tier=":
                continue  # an empty value is a valid label value
            status, doc = c.json("GET", APPS + "/applications?labelSelector=" + urllib_quote(bad))
            self.assertEqual((status, doc["reason"]), (400, "BadRequest"), bad)

    def test_label_selector_pages_may_end_empty_with_a_continue(self):
        objs = st.make_applications(6, ["n"])
        objs[0]["metadata"]["labels"] = {"pick": "yes"}
        objs[1]["metadata"]["labels"] = {"pick": "yes"}
        self.srv.add_objects(objs)
        items, metas = self.list_all(self.admin(), APPS + "/applications", 2,
                                     "&labelSelector=pick%3Dyes")
        self.assertEqual(len(items), 2)
        self.assertEqual([len(m) for m in metas], [2, 1])   # continue, then the empty last page
        self.assertNotIn("remainingItemCount", metas[0])

    def test_field_selectors(self):
        self.srv.add_objects(st.make_applications(6, ["n1", "n2"]))
        c = self.admin()
        status, doc = c.json("GET", APPS + "/applications?fieldSelector=metadata.name%3Dapp-00003")
        self.assertEqual([i["metadata"]["name"] for i in doc["items"]], ["app-00003"])
        status, doc = c.json("GET", APPS + "/applications?fieldSelector=metadata.namespace!%3Dn1")
        self.assertEqual({i["metadata"]["namespace"] for i in doc["items"]}, {"n2"})
        status, doc = c.json("GET", APPS + "/applications?fieldSelector=spec.x%3D1")
        self.assertEqual((status, doc["message"]), (400, "field label not supported: spec.x"))


def urllib_quote(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


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


# ===================================================================================== faults
class Faults(StandinCase):
    def setUp(self):
        super().setUp()
        self.srv.add_objects(st.make_applications(10, 2))

    def test_429_with_retry_after_then_success(self):
        f = self.srv.fail("GET", r"/applications$", 429, retry_after=2, count=2)
        c = self.admin()
        for _ in range(2):
            status, hdrs, body = c.req("GET", APPS + "/applications")
            self.assertEqual((status, hdrs["retry-after"], body),
                             (429, "2", b"Too many requests, please try again later.\n"))
            self.assertEqual(hdrs["content-type"], "text/plain; charset=utf-8")
        self.assertEqual(c.req("GET", APPS + "/applications")[0], 200)
        self.assertEqual((f.hits, f.remaining), (2, 0))
        log = self.srv.requests("GET", "/applications$")
        self.assertEqual([(r.status, r.fault) for r in log],
                         [(429, "status"), (429, "status"), (200, None)])

    def test_429_and_503_as_status(self):
        self.srv.fail("GET", "applications", 429, retry_after=1, body="status")
        self.srv.fail("GET", "applications", 503, retry_after=3)
        c = self.admin()
        status, hdrs, body = c.req("GET", APPS + "/applications")
        self.assertEqual((status, hdrs["retry-after"], json.loads(body)), (429, "1", status_doc(
            429, "TooManyRequests", "Too many requests, please try again later.",
            {"retryAfterSeconds": 1})))
        status, hdrs, body = c.req("GET", APPS + "/applications")
        self.assertEqual((status, hdrs["retry-after"]), (503, "3"))
        self.assertEqual(json.loads(body)["reason"], "ServiceUnavailable")

    def test_faults_match_method_path_and_query(self):
        f = self.srv.fail("GET", "applications", 503, query="continue=", count=None)
        c = self.admin()
        status, doc = c.json("GET", APPS + "/applications?limit=3")
        self.assertEqual(status, 200)
        cont = doc["metadata"]["continue"]
        for _ in range(3):
            self.assertEqual(c.req("GET", APPS + f"/applications?limit=3&continue={cont}")[0],
                             503)
        self.assertEqual(c.req("POST", REPORTS + "/namespaces/a/reports",
                               st.make_report("a", "r"))[0], 201)
        self.assertEqual((f.hits, f.remaining), (3, None))
        self.srv.clear_faults()
        self.assertEqual(c.req("GET", APPS + f"/applications?limit=3&continue={cont}")[0], 200)

    def test_faults_come_after_authentication(self):
        f = self.srv.fail(None, None, 503)
        self.assertEqual(self.client("bad").req("GET", "/apis")[0], 401)
        self.assertEqual(f.hits, 0)
        self.assertEqual(self.admin().req("GET", "/apis")[0], 503)

    def test_connection_reset_without_an_answer(self):
        f = self.srv.reset_connection("GET", "applications$")
        c = self.admin()
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError)):
            c.req("GET", APPS + "/applications")
        c = self.admin()
        self.assertEqual(c.req("GET", APPS + "/applications")[0], 200)
        self.assertEqual(f.hits, 1)
        self.assertEqual([r.status for r in self.srv.requests("GET", "applications$")],
                         [None, 200])
        self.assertEqual(self.srv.counters["connections_reset"], 1)

    def test_a_body_that_is_not_json(self):
        self.srv.not_json("GET", "applications", query="limit")
        c = self.admin()
        status, hdrs, body = c.req("GET", APPS + "/applications?limit=2")
        self.assertEqual((status, hdrs["content-type"]), (200, "application/json"))
        with self.assertRaises(ValueError):
            json.loads(body)
        self.assertEqual(c.json("GET", APPS + "/applications?limit=2")[0], 200)


# ================================================================================ request log
class RequestLog(StandinCase):
    def test_every_request_is_logged(self):
        self.srv.allow(USER, "list", "core.oam.dev", "applications")
        c = self.client()
        c.req("GET", APPS + "/applications?limit=5&labelSelector=a%3Db")
        c.req("POST", REPORTS + "/namespaces/a/reports", st.make_report("a", "r"))
        self.client("wrong").req("GET", "/apis")
        log = self.srv.requests()
        self.assertEqual([(r.method, r.path, r.status, r.user) for r in log], [
            ("GET", APPS + "/applications", 200, USER),
            ("POST", REPORTS + "/namespaces/a/reports", 403, USER),
            ("GET", "/apis", 401, None)])
        self.assertEqual(log[0].params, {"limit": "5", "labelSelector": "a=b"})
        self.assertEqual((log[0].verb, log[0].resource, log[0].namespace), ("list", "applications",
                                                                            None))
        self.assertEqual((log[1].verb, log[1].namespace), ("create", "a"))
        self.assertEqual([r.method for r in self.srv.writes()], ["POST"])
        self.assertTrue(all(r.time > 0 and r.duration >= 0 for r in log))
        self.srv.clear_log()
        self.assertEqual(self.srv.requests(), [])


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


# ================================================================================ script mode
class ScriptMode(unittest.TestCase):
    def test_runs_until_sigterm_and_exits_cleanly(self):
        d = tempfile.mkdtemp(prefix="dsw-standin-script-")
        self.addCleanup(shutil.rmtree, d, True)
        objects = os.path.join(d, "objs.json")
        with open(objects, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List",
                       "items": st.make_applications(5, 1, prefix="file")}, f)
        port_file, log_file = os.path.join(d, "port"), os.path.join(d, "log.jsonl")
        proc = subprocess.Popen(
            [sys.executable, st.__file__, "--cert", os.path.join(CERTS, "tls.crt"),
             "--key", os.path.join(CERTS, "tls.key"), "--token", f"{TOKEN}={USER}",
             "--allow", f"{USER}=get;list,core.oam.dev,applications",
             "--allow", f"{USER}=*,openreports.io,reports,ns-000",
             "--objects", objects, "--generate-applications", "20:2",
             "--serve", "applications", "--serve", "reports",
             "--port-file", port_file, "--request-log", log_file],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while not os.path.exists(port_file) and proc.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertTrue(os.path.exists(port_file), proc.poll())
            with open(port_file) as f:
                port = int(f.read())
            c = Client(port)
            status, doc = c.json("GET", APPS + "/applications")
            self.assertEqual((status, len(doc["items"])), (200, 25))
            self.assertEqual(c.req("POST", REPORTS + "/namespaces/ns-000/reports",
                                   st.make_report("ns-000", "r"))[0], 201)
            self.assertEqual(c.req("POST", REPORTS + "/namespaces/ns-001/reports",
                                   st.make_report("ns-001", "r"))[0], 403)
            self.assertEqual(c.req("GET", "/apis/kro.run/v1alpha1")[0], 404)
            c.close()
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=15), 0)
            err = proc.stderr.read().decode()
            self.assertIn("apiserver-standin: stopped", err)
            with open(log_file) as f:
                log = [json.loads(line) for line in f]
            self.assertEqual([r["status"] for r in log], [200, 201, 403, 404])
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            proc.stderr.close()


# ================================================================================== benchmark
def bench(runs):
    base = tempfile.mkdtemp(prefix="dsw-standin-bench-")
    try:
        certs = st.make_certs(os.path.join(base, "certs"))
        srv = st.ApiServerStandin(os.path.join(certs, "tls.crt"), os.path.join(certs, "tls.key"),
                                  tokens={"t": "u"})
        srv.allow_all("u")
        t0 = time.perf_counter()
        srv.add_objects(st.make_applications(6000, 60, invalid_every=10))
        load = time.perf_counter() - t0
        with srv:
            times, sizes = [], 0
            for _ in range(runs):
                c = Client(srv.port, "t", context=ctx(os.path.join(certs, "ca.crt")))
                t0 = time.perf_counter()
                cont, n, pages, sizes = "", 0, 0, 0
                while True:
                    q = APPS + "/applications?limit=500" + (f"&continue={cont}" if cont else "")
                    status, _, body = c.req("GET", q)
                    doc = json.loads(body)
                    n, pages, sizes = n + len(doc["items"]), pages + 1, sizes + len(body)
                    cont = doc["metadata"].get("continue")
                    if not cont:
                        break
                times.append(time.perf_counter() - t0)
                c.close()
                assert (n, pages) == (6000, 12), (n, pages)
        times.sort()
        print(f"loaded 6000 Applications in 60 namespaces: {load * 1000:.0f} ms")
        print(f"listed them in 12 pages of 500 over one TLS connection ({sizes / 1e6:.1f} MB), "
              f"{runs} runs: min {times[0] * 1000:.0f} ms, median "
              f"{times[len(times) // 2] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    if "--bench" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
        bench(runs)
        sys.exit(0)
    unittest.main()
