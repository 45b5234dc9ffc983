#!/usr/bin/env python3
"""The stand-in's authentication (bearer tokens, client certificates) and authorization (RBAC
rules, the apiserver's 403 messages) (CTest: audit.standin.auth).
"""
import os
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apiserver_standin as st  # noqa: E402
import standin_test_support as sup  # noqa: E402
from standin_test_support import (ADMIN, APPS, POLRS, REPORTS, TOKEN, USER, StandinCase, ctx, main,  # noqa: E402
                                  status_bytes, status_doc)
from standin_test_support import setUpModule, tearDownModule  # noqa: E402,F401  unittest runs them


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
        return {"client_ca": os.path.join(sup.CERTS, "ca.crt")}

    def test_the_certificate_cn_is_the_user(self):
        cert = st.make_client_cert(sup.CERTS, USER, "audit-user")
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
        cert = st.make_client_cert(sup.OTHER_CA, USER, "stranger")
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
        srv = st.ApiServerStandin(os.path.join(sup.CERTS, "tls.crt"), os.path.join(sup.CERTS, "tls.key"),
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


if __name__ == "__main__":
    main()
