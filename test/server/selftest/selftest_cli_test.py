#!/usr/bin/python3
"""End-to-end tests of `dynamodb-streams-webhook selftest`: the real binary against the real
`serve` on 127.0.0.1 (port 0), in each enforcement, and against servers that answer wrongly.

- passes (exit 0, every line `ok`) against a server in the enforcement it is told, with a client
  certificate when the server requires one, with --tls-server-name for a URL of another name;
- fails (exit 1, a FAIL line naming the check and what came back) against a server in the other
  enforcement, one whose certificate the CA did not sign or that names another host, one that
  requires a client certificate it does not present, one with other --applies-to, a plain HTTPS
  server that is no webhook (404, or 200 with static text), a closed port, and a TLS listener
  that never answers (bounded by --timeout);
- usage and configuration errors exit 2 before anything is contacted.

Usage: selftest_cli_test.py BINARY
"""
import http.server
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "serve"))
from serve_support import Server, check, finish, make_certs, tmpdir  # noqa: E402

BINARY = None
SAN = "dynamodb-streams-webhook.dynamodb-streams-webhook.svc"  # a DNS name of make-dev-certs.sh's certificate
CHECKS = 16  # GET /readyz, and the checks of the four reviews


class Run:
    def __init__(self, args, timeout=60):
        started = time.monotonic()
        p = subprocess.run([BINARY, "selftest", *args], capture_output=True, text=True, timeout=timeout)
        self.seconds = time.monotonic() - started
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr
        self.ok = [l[5:] for l in self.out.splitlines() if l.startswith("ok   ")]
        self.failed = [l[5:] for l in self.out.splitlines() if l.startswith("FAIL ")]

    def __repr__(self):
        return f"rc={self.rc} stdout={self.out[-1500:]!r} stderr={self.err[-500:]!r}"

    def failed_check(self, prefix):
        return [f for f in self.failed if f.startswith(prefix)]


def selftest(url, ca, *extra, timeout=60):
    return Run(["--url", url, "--ca-file", ca, *extra], timeout)


def passes(what, run, checks=CHECKS):
    check(run.rc == 0 and not run.failed and len(run.ok) == checks
          and run.out.rstrip().endswith(f"selftest: all {checks} checks passed"),
          f"{what}: exit 0, {checks} `ok` lines and no FAIL: {run!r}")


def fails(what, run, prefix, needles=()):
    """Exit 1 with a FAIL line starting with `prefix` (the check) and holding each of `needles`."""
    lines = run.failed_check(prefix)
    check(run.rc == 1 and lines and all(any(n in l for l in lines) for n in needles),
          f"{what}: exit 1 with a FAIL line for {prefix!r} saying {list(needles)}: {run!r}")


class PlainHttps:
    """An HTTPS server that is no webhook (Python's http.server over TLS, with a certificate the CA
    signed), answering every request with `status` and `body`; stopped and joined by stop()."""

    def __init__(self, certdir, status, body):
        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = False
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certdir, "tls.crt"), os.path.join(certdir, "tls.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


class Silent:
    """A TCP listener that accepts connections and never answers (no TLS handshake)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept)
        self.thread.start()

    def _accept(self):
        self.sock.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
                self.held.append(conn)
            except OSError:
                pass

    def stop(self):
        self.stopping.set()
        self.thread.join(10)
        for c in self.held:
            c.close()
        self.sock.close()


def main():
    global BINARY
    BINARY = os.path.abspath(sys.argv[1])
    base = tmpdir("dsw-selftest-")
    certs = make_certs(os.path.join(base, "certs"), "--client")
    other = make_certs(os.path.join(base, "other"))  # another CA and a certificate it signed
    ca, other_ca = os.path.join(certs, "ca.crt"), os.path.join(other, "ca.crt")

    deny = Server(BINARY, certs)
    warn = Server(BINARY, certs, "--enforcement", "warn")
    url_deny, url_warn = f"https://127.0.0.1:{deny.port}", f"https://127.0.0.1:{warn.port}"

    print("-- each enforcement, told which")
    run = selftest(url_deny, ca)
    passes("deny server, --enforcement deny (the default)", run)
    check(any(l.startswith("POST /validate (invalid Application): status: 422 Invalid: ") and
              'spec.components[0].traits[0].properties.viewType: Unsupported value: "NEW_IMAGES"' in l for l in run.ok),
          f"the denial and its field error are named on an ok line: {run.ok}")
    check(any(l == 'POST /mutate (valid Application): patch: JSONPatch [{"op":"add","path":"/spec/components/0/traits/0/properties",'
                   '"value":{"enabled":true,"viewType":"NEW_AND_OLD_IMAGES"}}]' for l in run.ok),
          "the valid Application's patch adds exactly the documented defaults")
    check(len([l for l in run.ok if re.search(r': uid: "[0-9a-f-]{36}" echoed$', l)]) == 4, "four uids echoed")
    check(run.out.splitlines()[0].startswith(f"selftest of {url_deny} (certificate verified as \"127.0.0.1\""),
          f"the first line names the server and how it is verified: {run.out.splitlines()[:1]}")
    run = selftest(url_warn, ca, "--enforcement", "warn")
    passes("warn server, --enforcement warn", run)
    check(any(l.startswith('POST /validate (invalid Application): warnings: the warning ["spec.components[0].traits[0].properties.viewType: '
                           'Unsupported value: \\"NEW_IMAGES\\"') for l in run.ok),
          f"under warn the invalid Application is admitted with its field error as a warning: {run.ok}")
    check(any(l == "POST /validate (invalid Application): verdict: allowed" for l in run.ok), "... and allowed")
    # the server's requests were the selftest's, logged as dry runs
    uids = re.findall(r'uid: "([0-9a-f-]{36})" echoed', run.out)
    deadline, logged = time.time() + 10, []
    while time.time() < deadline and len(logged) < 4:  # the server writes its log in batches
        logged = [l for l in warn.log_lines() if '"dry_run":true' in l and any(u in l for u in uids)]
        time.sleep(0.05)
    check(len(uids) == 4 and len(logged) == 4, f"the server logged the four reviews, as dry runs: {logged}")

    print("-- a server in the other enforcement")
    run = selftest(url_warn, ca)
    fails("told deny, the server warns", run, "POST /validate (invalid Application): verdict",
          ["expected denied, got allowed with the warning", "is the server's enforcement warn?"])
    check([f.split(":")[1].strip() for f in run.failed] == ["verdict", "status", "warnings"]
          and len(run.failed_check("POST /validate (invalid Application)")) == 3,
          f"only the invalid /validate fails (its verdict, no denial, a warning): {run.failed}")
    run = selftest(url_deny, ca, "--enforcement=warn")
    fails("told warn, the server denies", run, "POST /validate (invalid Application): verdict",
          ["expected allowed, got denied: Application.core.oam.dev \"dsw-selftest-invalid\" is invalid",
           "is the server's enforcement deny?"])

    print("-- admission options: --applies-to")
    typed = Server(BINARY, certs, "--applies-to", "my-table")
    passes("--applies-to my-table on both", selftest(f"https://127.0.0.1:{typed.port}", ca, "--applies-to", "my-table"))
    run = selftest(f"https://127.0.0.1:{typed.port}", ca)
    fails("the server's --applies-to not given", run, "POST /validate (valid Application): verdict",
          ["expected allowed, got denied", "the trait applies only to component types \"my-table\""])
    typed.kill()

    print("-- certificates")
    run = selftest(url_deny, other_ca)
    fails("a CA that did not sign the server's certificate", run, "GET /readyz",
          ["no answer: the server's certificate was refused: ", "(127.0.0.1:%d, verified as \"127.0.0.1\")" % deny.port])
    check(run.ok == [] and len(run.failed) == 1 and "selftest: stopped: no answer from the server (1 of 1 checks failed)" in run.out,
          f"no connection: one FAIL line, nothing else tried: {run!r}")
    run = selftest(url_deny, ca, "--tls-server-name", "webhook.example")
    fails("a certificate that does not name --tls-server-name", run, "GET /readyz",
          ["the certificate does not name the server's host", "verified as \"webhook.example\""])
    run = selftest(url_deny, ca, "--tls-server-name", SAN)
    passes(f"--url 127.0.0.1 verified as {SAN} (the chart's Service name)", run)
    check(f'certificate verified as "{SAN}"' in run.out, "the first line names the name verified")
    passes("a URL with the certificate's DNS name", selftest(f"https://localhost:{deny.port}", ca))

    print("-- client certificates")
    mtls = Server(BINARY, certs, "--client-ca-file", ca, wait_ready=False)
    url_mtls = f"https://127.0.0.1:{mtls.port}"
    client = ["--client-cert-file", os.path.join(certs, "client.crt"), "--client-key-file", os.path.join(certs, "client.key")]
    deadline, run = time.time() + 15, None
    while time.time() < deadline:
        run = selftest(url_mtls, ca, *client)
        if run.rc == 0:
            break
        time.sleep(0.1)
    passes("a server that requires client certificates, given one its CA signed", run)
    run = selftest(url_mtls, ca)
    fails("a server that requires client certificates, given none", run, "GET /readyz", ["no answer: "])
    mtls.kill()

    print("-- servers that are no webhook")
    for status, body in ((404, "404 page not found\n"), (200, "hello from a static site\n")):
        plain = PlainHttps(certs, status, body)
        try:
            run = selftest(f"https://127.0.0.1:{plain.port}", ca)
        finally:
            plain.stop()
        if status == 404:
            fails("a plain HTTPS server answering 404", run, "GET /readyz", ["HTTP 404 instead of 200: 404 page not found"])
            want = "HTTP 404 instead of 200 with an AdmissionReview: 404 page not found"
        else:
            check(run.ok == ["GET /readyz: HTTP 200 (ready)"], f"a static site's 200 passes /readyz only: {run.ok}")
            want = "HTTP 200 but not an AdmissionReview answer: hello from a static site"
        check(run.rc == 1 and len(run.failed_check("POST /")) == 4
              and all(want in l for l in run.failed_check("POST /")),
              f"a plain HTTPS server answering {status}: each review fails its answer check: {run!r}")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    fails("a closed port", selftest(f"https://127.0.0.1:{port}", ca), "GET /readyz", ["no answer: cannot connect"])
    silent = Silent()
    try:
        run = selftest(f"https://127.0.0.1:{silent.port}", ca, "--timeout", "1s", timeout=30)
    finally:
        silent.stop()
    fails("a listener that never answers", run, "GET /readyz", ["no answer: "])
    check(run.seconds < 20, f"... bounded by --timeout 1s ({run.seconds:.1f} s)")

    print("-- usage and configuration errors: exit 2, nothing contacted")
    for args, needle in ((["--ca-file", ca], "--url is required"),
                         (["--url", url_deny], "--ca-file is required"),
                         (["--url", f"http://127.0.0.1:{deny.port}", "--ca-file", ca], "--url must be https://"),
                         (["--url", "https://127.0.0.1:99999", "--ca-file", ca], "invalid port"),
                         (["--url", url_deny, "--ca-file", "/nonexistent/ca.crt"], "cannot open /nonexistent/ca.crt"),
                         (["--url", url_deny, "--ca-file", os.path.join(certs, "tls.key")], "holds no PEM certificate"),
                         (["--url", url_deny, "--ca-file", ca, "--client-cert-file", os.path.join(certs, "client.crt")],
                          "--client-cert-file and --client-key-file go together"),
                         (["--url", url_deny, "--ca-file", ca, "--client-cert-file", os.path.join(certs, "client.crt"),
                           "--client-key-file", os.path.join(certs, "tls.key")], "does not match"),
                         (["--url", url_deny, "--ca-file", ca, "--timeout", "soon"], "--timeout"),
                         (["--url", url_deny, "--ca-file", ca, "--enforcement", "audit"], "--enforcement must be deny or warn"),
                         (["--url", url_deny, "--ca-file", ca, "extra"], "unexpected argument"),
                         (["--url", url_deny, "--ca-file", ca, "--bogus"], "--bogus")):
        r = Run(args)
        check(r.rc == 2 and needle in r.err and not r.ok and not r.failed, f"selftest {' '.join(args)}: exit 2 naming {needle!r}: {r!r}")
    h = Run(["--help"])
    for flag in ("--url", "--ca-file", "--tls-server-name", "--client-cert-file", "--client-key-file", "--timeout",
                 "--enforcement", "--applies-to", "--unknown-properties", "--view-type-change"):
        check(h.rc == 0 and flag in h.out, f"selftest --help lists {flag}")
    top = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=30)
    check(re.search(r"^  selftest\s+check a running webhook", top.stdout, re.M) is not None,
          "the binary's --help lists selftest")

    for s in (deny, warn):
        s.kill()
    finish()


if __name__ == "__main__":
    main()
