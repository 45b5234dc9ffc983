#!/usr/bin/env python3
"""The faults the stand-in injects: 429 with Retry-After, 503, Status answers, connection resets and
bodies that are not JSON, matched by method, path and query (CTest: audit.standin.faults).
"""
import http.client
import json
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apiserver_standin as st  # noqa: E402
from standin_test_support import APPS, REPORTS, StandinCase, main, status_doc  # noqa: E402
from standin_test_support import setUpModule, tearDownModule  # noqa: E402,F401  unittest runs them


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


if __name__ == "__main__":
    main()
