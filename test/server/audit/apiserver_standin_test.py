#!/usr/bin/env python3
"""Tests of the apiserver stand-in (apiserver_standin.py) the audit tests run against, as a whole:
CA-verified TLS, keep-alive, health and version, a bounded stop, concurrent clients, the request
log, and script mode (SIGTERM). The other rules it keeps are tested by topic next to this file
(apiserver_standin_<topic>_test.py: auth, discovery, lists, writes, faults), all with
standin_test_support.py. No timing is asserted.

    apiserver_standin_test.py [-v] [unittest arguments]   the tests (CTest: audit.standin)
    apiserver_standin_test.py --bench [--runs N]          list 6,000 Applications in 60
                                                          namespaces in pages of 500, timed
"""
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
import standin_test_support as sup  # noqa: E402
from standin_test_support import (ADMIN_TOKEN, APPS, REPORTS, TOKEN, USER, Client, StandinCase, ctx,  # noqa: E402
                                  main)
from standin_test_support import setUpModule, tearDownModule  # noqa: E402,F401  unittest runs them


# ================================================================================== TLS, HTTP
class TlsAndHttp(StandinCase):
    def test_ca_verified_tls_for_localhost_and_127_0_0_1(self):
        for host in ("localhost", "127.0.0.1"):
            status, _, body = self.client(ADMIN_TOKEN, host=host).req("GET", "/apis")
            self.assertEqual(status, 200, host)
            self.assertEqual(json.loads(body)["kind"], "APIGroupList")

    def test_a_client_that_does_not_trust_the_ca_fails_the_handshake(self):
        c = self.client(ADMIN_TOKEN, context=ctx(os.path.join(sup.OTHER_CA, "ca.crt")))
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
            [sys.executable, st.__file__, "--cert", os.path.join(sup.CERTS, "tls.crt"),
             "--key", os.path.join(sup.CERTS, "tls.key"), "--token", f"{TOKEN}={USER}",
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
    main()
