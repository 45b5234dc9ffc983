"""What the tests of the apiserver stand-in (apiserver_standin_*_test.py) share: one CA and serving
certificate per module (setUpModule; an unrelated CA for certificates the stand-in must refuse),
a keep-alive HTTPS client (Python's own http.client and ssl), the apiserver's Status documents,
and StandinCase, which starts a stand-in per test on a free port and stops it (stop() is bounded
and joins every thread).

A test module imports what it uses from here, setUpModule and tearDownModule included, and reads
the certificates as standin_test_support.CERTS and .OTHER_CA (set when the module is set up)."""
import http.client
import json
import os
import shutil
import ssl
import sys
import tempfile
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


def main():
    unittest.main()

