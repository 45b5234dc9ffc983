"""Shared helpers of the `serve` integration tests: certificates from certs/make-dev-certs.sh, the
real binary on a free loopback port, and TLS clients (Python's ssl + http.client, raw sockets).
Every wait is bounded; every server is killed at exit."""
import atexit
import base64
import copy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CERT_SCRIPT = os.path.join(ROOT, "certs", "make-dev-certs.sh")
FIXTURES = os.path.join(ROOT, "test", "fixtures")
HOST = "localhost"

_failures = []
_servers = []


def check(cond, msg):
    if cond:
        print("  ok   " + msg, flush=True)
    else:
        print("  FAIL " + msg, flush=True)
        _failures.append(msg)
    return cond


def finish():
    for s in list(_servers):
        s.kill()
    if _failures:
        print("\n%d check(s) failed:" % len(_failures))
        for f in _failures:
            print("  - " + f)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


atexit.register(lambda: [s.kill() for s in list(_servers)])


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def make_certs(out, *extra):
    subprocess.run(["bash", CERT_SCRIPT, out, *extra], check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return out


def basic_review():
    with open(os.path.join(FIXTURES, "reviews", "basic-usage.json")) as f:
        return json.load(f)


def review_for(obj, uid="uid-1", operation="CREATE", api_version="admission.k8s.io/v1",
               old=None):
    return {"apiVersion": api_version, "kind": "AdmissionReview",
            "request": {"uid": uid, "operation": operation,
                        "name": obj.get("metadata", {}).get("name", ""),
                        "namespace": obj.get("metadata", {}).get("namespace", "default"),
                        "kind": {"group": "core.oam.dev", "version": "v1beta1",
                                 "kind": "Application"},
                        "resource": {"group": "core.oam.dev", "version": "v1beta1",
                                     "resource": "applications"},
                        "object": obj, "oldObject": old}}


def decode_patch(response):
    p = response.get("patch")
    return json.loads(base64.b64decode(p)) if p else None


class Server:
    """The real binary, `serve --port 0`, JSON logs captured from standard error."""

    def __init__(self, binary, certdir, *extra, cert=None, key=None, wait_ready=True):
        self.certdir = certdir
        self.ca = os.path.join(certdir, "ca.crt")
        cert = cert or os.path.join(certdir, "tls.crt")
        key = key or os.path.join(certdir, "tls.key")
        self.args = [binary, "serve", "--tls-cert-file", cert, "--tls-private-key-file=" + key,
                     "--bind-address", "127.0.0.1", "--port=0", "--log-format", "json", *extra]
        self.lines = []
        self.port = None
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _servers.append(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.time() + 15
        while self.port is None and time.time() < deadline and self.proc.poll() is None:
            time.sleep(0.01)
        if self.port is None:
            raise RuntimeError("server did not start: rc=%s log=%s" % (self.proc.poll(), self.lines))
        if wait_ready:
            self.wait_ready()

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.lines.append(line)
            if self.port is None and '"msg":"serving"' in line:
                self.port = json.loads(line)["port"]

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("server never became ready")

    def context(self, **kw):
        return client_context(self.ca, **kw)

    def connect(self, ctx=None, timeout=10):
        return http.client.HTTPSConnection(HOST, self.port, context=ctx or self.context(),
                                           timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, ctx=None, timeout=10):
        """Returns (status, headers dict (lower-case), body bytes)."""
        own = conn is None
        c = conn or self.connect(ctx, timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                c.close()

    def review(self, endpoint, review, conn=None, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        status, hdrs, data = self.request("POST", endpoint, json.dumps(review).encode(), h, conn)
        return status, hdrs, data

    def metrics(self):
        status, _, data = self.request("GET", "/metrics")
        assert status == 200, status
        return parse_metrics(data.decode())

    def log_lines(self):
        with self._lock:
            return list(self.lines)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self in _servers:
            _servers.remove(self)


def client_context(cafile, minimum=None, maximum=None, ciphers=None, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=cafile)
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def tls_socket(port, ctx, timeout=10):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=HOST)


def read_http_response(sock, timeout=10):
    """Reads one HTTP/1.1 response with Content-Length (or up to EOF) from a socket."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 "):
        return None, {}, b""
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = headers.get("content-length")
    if n is not None:
        while len(rest) < int(n):
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return status, headers, rest


_METRIC = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _METRIC.match(line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def cert_info(path):
    """(serial as upper-case hex without leading zeros, notAfter as Unix seconds)."""
    p = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-serial", "-enddate"],
                       capture_output=True, text=True, check=True)
    serial = re.search(r"serial=([0-9A-F]+)", p.stdout).group(1).lstrip("0")
    end = re.search(r"notAfter=(.*)", p.stdout).group(1).strip()
    return serial, ssl.cert_time_to_seconds(end)


def peer_serial(sock):
    return sock.getpeercert()["serialNumber"].lstrip("0")
