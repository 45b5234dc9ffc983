"""Shared helpers of the `serve` integration tests (serve_<group>_test.py, hostile_test.py,
advisories_test.py, soak_test.py, exit_test.py; test/deploy and the audit tests use Server too):
certificates from certs/make-dev-certs.sh, the real binary on a free loopback port, TLS clients
(Python's ssl + http.client), the check/finish harness, a background load of reviews, and the
kubelet's update of a Secret volume. Every wait is bounded; every server is killed at exit.

From test/support, re-exported here: review_for and basic_review (reviews.py, the one
AdmissionReview builder of the Python suites) and parse_metrics (prometheus_text.py, the one
Prometheus text parser). Raw HTTP answers are read by test/support/http_wire.py."""
import atexit
import base64
import glob
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "support"))
from prometheus_text import parse_metrics  # noqa: E402,F401
from reviews import basic_review, review_for  # noqa: E402,F401

CERT_SCRIPT = os.path.join(ROOT, "certs", "make-dev-certs.sh")
FIXTURES = os.path.join(ROOT, "test", "fixtures")
HOST = "localhost"
JSON = {"Content-Type": "application/json"}

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

    def connect(self, ctx=None, timeout=10, host=HOST):
        """A keep-alive connection to 127.0.0.1; TLS verifies the certificate for `host`."""
        return _Loopback(host, self.port, context=ctx or self.context(), timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, ctx=None, timeout=10,
                host=HOST):
        """Returns (status, headers dict (lower-case), body bytes). On `conn`, or on a new
        connection (closed after the answer) made with `ctx`, `timeout` and `host`."""
        own = conn is None
        c = conn or self.connect(ctx, timeout, host)
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


class _Loopback(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 whatever the host name, which TLS verifies (and which need not resolve:
    the chart's <service>.<namespace>.svc). Only the address is replaced: http.client still
    connects as it does (TCP_NODELAY, then TLS with the host name)."""

    def __init__(self, host, port, context, timeout):
        super().__init__(host, port, context=context, timeout=timeout)
        self._create_connection = lambda address, *rest: socket.create_connection(("127.0.0.1", address[1]), *rest)


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


def cert_info(path):
    """(serial as upper-case hex without leading zeros, notAfter as Unix seconds)."""
    p = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-serial", "-enddate"],
                       capture_output=True, text=True, check=True)
    serial = re.search(r"serial=([0-9A-F]+)", p.stdout).group(1).lstrip("0")
    end = re.search(r"notAfter=(.*)", p.stdout).group(1).strip()
    return serial, ssl.cert_time_to_seconds(end)


def peer_serial(sock):
    return sock.getpeercert()["serialNumber"].lstrip("0")


def wait_for(pred, timeout, step=0.1):
    """Polls `pred` until it holds or `timeout` seconds pass; returns its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def guard_cases():
    """test/fixtures/guards/*.json, as (name, case): a review of an ACK Table or a kro
    DynamoDBTable, the serve flags, and the golden /validate response (without uid)."""
    cases = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "guards", "*.json"))):
        with open(path) as f:
            cases.append((os.path.basename(path)[:-5], json.load(f)))
    return cases


# ------------------------------------------------------------------------------------------------
# Certificates mounted from a Secret, and a load that watches which one is served


def swap_data(root, name, crt, key):
    """The kubelet's atomic update of a Secret volume: a new timestamped directory, then the
    `..data` symlink replaced by rename(2)."""
    d = os.path.join(root, name)
    os.mkdir(d)
    if crt is not None:
        with open(crt, "rb") as f, open(os.path.join(d, "tls.crt"), "wb") as g:
            g.write(f.read())
    if key is not None:
        with open(key, "rb") as f, open(os.path.join(d, "tls.key"), "wb") as g:
            g.write(f.read())
    tmp = os.path.join(root, "..data_tmp")
    os.symlink(name, tmp)
    os.rename(tmp, os.path.join(root, "..data"))


def reloads(srv, result):
    """The certificate reloads the server counted with `result` (success or failure)."""
    return srv.metrics().get('dynamodb_streams_webhook_certificate_reloads_total{result="%s"}' % result, 0)


class Load:
    """Reviews sent continuously from threads until stop(); counts every failure. Some threads
    open a new connection (a new handshake) per request and record the certificate served; the
    others reuse one keep-alive connection."""

    def __init__(self, srv, fresh=3, keepalive=3):
        self.srv = srv
        self.ok = 0
        self.failures = []
        self.serials = []  # (time, serial) for new handshakes
        self._stop = threading.Event()
        self._go = threading.Event()  # cleared by pause()
        self._go.set()
        self._idle = threading.Semaphore(0)  # released by each thread as it stops for a pause
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._fresh, args=(i,), daemon=True) for i in range(fresh)]
        self.threads += [threading.Thread(target=self._keepalive, args=(i,), daemon=True) for i in range(keepalive)]
        for t in self.threads:
            t.start()

    def _one(self, conn, uid):
        status, _, data = self.srv.review("/mutate", basic_review(uid), conn=conn)
        if status != 200 or json.loads(data)["response"]["uid"] != uid:
            raise RuntimeError("status %s" % status)

    def _record(self, err=None):
        with self._lock:
            if err is None:
                self.ok += 1
            else:
                self.failures.append(err)

    def _fresh(self, i):
        ctx = self.srv.context()
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                c = self.srv.connect(ctx)
                c.connect()
                serial = peer_serial(c.sock)
                self._one(c, "fresh-%d-%d" % (i, n))
                c.close()
                with self._lock:
                    self.serials.append((time.time(), serial))
                self._record()
            except Exception as e:  # noqa: BLE001 - every failure is counted
                self._record("fresh %d/%d: %r" % (i, n, e))
            time.sleep(0.01)
            self._maybe_pause()

    def _keepalive(self, i):
        c = self.srv.connect()
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                self._one(c, "ka-%d-%d" % (i, n))
                self._record()
            except Exception as e:  # noqa: BLE001
                self._record("keep-alive %d/%d: %r" % (i, n, e))
            time.sleep(0.005)
            self._maybe_pause()
        c.close()

    def _maybe_pause(self):
        if not self._go.is_set():
            self._idle.release()
            self._go.wait()

    def pause(self, timeout=15):
        """Stops sending until resume(): returns once every thread is between two requests."""
        self._go.clear()
        for _ in self.threads:
            self._idle.acquire(timeout=timeout)

    def resume(self):
        self._go.set()

    def stop(self):
        self._go.set()
        self._stop.set()
        for t in self.threads:
            t.join(15)

    def serial_after(self, t):
        with self._lock:
            return [s for (ts, s) in self.serials if ts > t]


# ------------------------------------------------------------------------------------------------
def run(group):
    """The main of a serve_<group>_test.py: `group(binary)` with the binary of the command line
    (serve_<group>_test.py BINARY), then finish()."""
    if len(sys.argv) != 2:
        print("usage: %s BINARY" % os.path.basename(sys.argv[0]))
        sys.exit(2)
    group(sys.argv[1])
    finish()
