#!/usr/bin/env python3
"""Hostile input against the real `serve` binary: malformed and oversized bodies, header floods,
wrong protocols, slow, half-closed and reset connections. After each attack the server must still
be running, answer a good review correctly within a second, and keep its resident set (now and
at its peak, VmHWM) under hostile_support.RSS_BOUND_KIB. Loopback only; every socket has a
timeout; every group finishes in well under a minute.

Usage: hostile_test.py BINARY GROUP   (GROUP: bodies, headers, connections, startup)
"""
import gzip
import json
import os
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import (Server, basic_review, check, client_context, finish, make_certs,  # noqa: E402
                           tls_socket, tmpdir, wait_for)
from hostile_support import (HEAD, JSON, MiB, RSS_BOUND_KIB, SANITIZER, SLOW, good_review_ok,  # noqa: E402
                             open_fds, plain_400, post, reset, rss_kib, settle, still_well)
from http_wire import closed_by_peer, push_and_read, read_response  # noqa: E402  test/support

BINARY = None
# ------------------------------------------------------------------------------------------------
def group_bodies():
    certs = make_certs(tmpdir("dsw-hostile-bodies-"))
    srv = Server(BINARY, certs)
    review = basic_review()
    ctx = srv.context()

    print("bad JSON")
    for body in [b"{", b"not json", json.dumps(review).encode()[:-7], b"", b"\xff\xfe{}",
                 b'{"apiVersion":"admission.k8s.io/v1",}', b'{"a":"\x00"}', b"{" * 10 + b"\"",
                 json.dumps(review).encode() + b"{}"]:
        status, hdrs, data = post(srv, body)
        check(plain_400(status, hdrs, data, "JSON"),
              "%r...: 400 with a short plain message (%s %r)" % (body[:20], status, data[:60]))
    still_well(srv, "bad JSON")

    print("JSON that is not an AdmissionReview")
    for body in [b'"x"', b"[]", b"null", b"42", b'{"kind":"Pod","apiVersion":"v1","metadata":{}}',
                 b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}',
                 b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":"x"}',
                 b'{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{"uid":"u"}}',
                 json.dumps(review["request"]).encode()]:
        for path in ["/mutate", "/validate"]:
            status, hdrs, data = post(srv, body, path)
            check(plain_400(status, hdrs, data),
                  "%s %r...: 400 with a short plain message (%s %r)" % (path, body[:30], status, data[:60]))
    still_well(srv, "non-reviews")

    print("a review without a uid")
    for uid in [None, "", 123, ["a"], {"a": 1}, "missing"]:
        rv = basic_review()
        if uid == "missing":
            del rv["request"]["uid"]
        else:
            rv["request"]["uid"] = uid
        for path in ["/mutate", "/validate"]:
            status, hdrs, data = post(srv, json.dumps(rv).encode(), path)
            check(plain_400(status, hdrs, data, "uid"),
                  "%s uid=%r: 400 naming the uid (%s %r)" % (path, uid, status, data[:60]))
    still_well(srv, "reviews without uid")

    print("1,000,000-deep nesting in a 2 MiB body (and 340,000-deep objects)")
    for name, body in [("arrays", b"[" * 1000000 + b"]" * 1000000),
                       ("unclosed arrays", b"[" * (2 * MiB)),
                       ("objects", b'{"a":' * 340000 + b"1" + b"}" * 340000),
                       ("inside a review", json.dumps(review).encode()[:-2] + b',"x":' + b"[" * 1000000
                        + b"]" * 1000000 + b"}}")]:
        assert len(body) <= 2 * MiB + 2000, "%s body is %d bytes" % (name, len(body))  # the input, not a check
        t = time.perf_counter()
        status, hdrs, data = post(srv, body)
        dt = time.perf_counter() - t
        check(plain_400(status, hdrs, data, "deeper") and dt < 2 * SLOW,
              "%s: 400 naming the nesting limit in %.0f ms (%s %r)" % (name, dt * 1000, status, data[:60]))
    still_well(srv, "1,000,000-deep nesting")

    print("50,000-deep nesting inside trait properties")
    for path in ["/mutate", "/validate"]:
        rv = basic_review("deep-props")
        rv["request"]["object"]["spec"]["components"][0]["traits"][0]["properties"] = {
            "viewType": "NEW_IMAGE", "extra": "@@DEEP@@"}
        body = json.dumps(rv).encode().replace(b'"@@DEEP@@"', b'{"a":' * 50000 + b"1" + b"}" * 50000)
        t = time.perf_counter()
        status, hdrs, data = post(srv, body, path)
        dt = time.perf_counter() - t
        check(plain_400(status, hdrs, data, "deeper") and dt < 2 * SLOW,
              "%s: 400 naming the nesting limit in %.0f ms (%s %r)" % (path, dt * 1000, status, data[:60]))
    still_well(srv, "50,000-deep trait properties")

    print("an 8 MiB body: 413 from Content-Length, before any body byte")
    for expect in [b"", b"Expect: 100-continue\r\n"]:
        s = tls_socket(srv.port, ctx)
        t = time.perf_counter()
        s.sendall(HEAD + expect + b"Content-Length: %d\r\n\r\n" % (8 * MiB))
        status, hdrs, data = read_response(s, timeout=5)
        dt = time.perf_counter() - t
        check(status == 413 and hdrs.get("connection") == "close" and b"limit" in data and dt < 1 * SLOW,
              "%sonly headers sent: 413 with Connection: close in %.0f ms (%s)"
              % (expect.decode().strip() + " " if expect else "", dt * 1000, status))
        check(closed_by_peer(s), "then the server closes the connection without waiting for the body")
        s.close()
    s = tls_socket(srv.port, ctx)
    status, _, _, _ = push_and_read(s, HEAD + b"Content-Length: %d\r\n\r\n" % (8 * MiB), b" " * 65536,
                                    8 * MiB, 10 * SLOW, keep_sending=True)
    check(status == 413, "a client that pushes the whole 8 MiB body anyway reads 413 (%s)" % status)
    s.close()
    still_well(srv, "8 MiB bodies")

    print("a 16 MiB chunked body")
    chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
    s = tls_socket(srv.port, ctx)
    t = time.perf_counter()
    s.sendall(HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
    status, hdrs, _ = read_response(s, timeout=5)
    dt = time.perf_counter() - t
    check(status == 411 and hdrs.get("connection") == "close" and dt < 1 * SLOW,
          "only headers sent: 411 at once (%s, %.0f ms)" % (status, dt * 1000))
    s.close()
    for path in [b"/mutate", b"/validate", b"/nope", b"/healthz"]:
        s = tls_socket(srv.port, ctx)
        status, sent, _, dt = push_and_read(s, HEAD.replace(b"/mutate", path) + b"Transfer-Encoding: chunked\r\n\r\n",
                                            chunk, 16 * MiB, 10 * SLOW, keep_sending=True)
        check(status in (411, 404, 405) and dt < 1 * SLOW,
              "POST %s with 16 MiB chunked streamed at it: refused with %s after %.0f ms; the server "
              "then discards for at most a second and closes (%.1f MiB sent in all)"
              % (path.decode(), status, dt * 1000, sent / MiB))
        s.close()
    still_well(srv, "16 MiB chunked bodies")

    print("a gzip body that inflates 1000x")
    plain = b" " * (16 * MiB - 64) + json.dumps(review).encode()[:64]  # whitespace, then JSON
    gz = gzip.compress(plain, 9)
    assert len(plain) / len(gz) >= 1000, "%d bytes of gzip inflate to %d" % (len(gz), len(plain))  # the input
    for enc in ["gzip", "deflate", "br", "GZIP"]:
        status, _, data = srv.request("POST", "/mutate", gz, {"Content-Type": "application/json",
                                                             "Content-Encoding": enc})
        check(status == 415, "Content-Encoding: %s: 415 without inflating (%s %r)" % (enc, status, data[:50]))
    status, hdrs, data = post(srv, gz)
    check(plain_400(status, hdrs, data, "JSON"), "the same bytes without Content-Encoding: 400 not JSON (%s)" % status)
    still_well(srv, "gzip bombs")
    srv.kill()


# ------------------------------------------------------------------------------------------------
def group_headers():
    certs = make_certs(tmpdir("dsw-hostile-headers-"))
    srv = Server(BINARY, certs)
    ctx = srv.context()
    body = json.dumps(basic_review()).encode()
    req_tail = b"Content-Length: %d\r\n\r\n" % len(body) + body

    def answer_or_close(payload, timeout=10):
        """(status or None, seconds, whether the whole payload could be sent)."""
        s = tls_socket(srv.port, ctx, timeout=timeout)
        status, _, whole, dt = push_and_read(s, b"", payload, len(payload), timeout)
        s.close()
        return status, dt, whole

    # The server reads at most 64 KiB of request line and headers per request (counted in the TLS
    # layer under cpp-httplib 0.11.4, which bounds neither: CVE-2025-53628, CVE-2025-52887) and
    # closes the connection past that, without an answer (the library cannot send a 431 there).
    print("headers under the 64 KiB bound are served")
    some = b"".join(b"X-Header-%d: %s\r\n" % (i, b"v" * 1000) for i in range(40))
    status, dt, _ = answer_or_close(HEAD + some + req_tail)
    check(status == 200, "a request with 40 KiB of headers (40 x 1 KB) is answered 200 (%s)" % status)
    c = srv.connect(ctx)
    statuses = set()
    for i in range(300):  # 300 x 2 KB = 600 KiB of headers on one connection: counted per request
        statuses.add(srv.request("POST", "/mutate", body, dict(JSON, **{"X-Pad": "p" * 2000}), conn=c)[0])
    c.close()
    check(statuses == {200}, "300 requests with 2 KB headers on one keep-alive connection are all 200 (%s)" % statuses)

    print("20,000 headers")
    many = b"".join(b"X-Header-%d: value-%d\r\n" % (i, i) for i in range(20000))
    status, dt, _ = answer_or_close(HEAD + many + req_tail)
    check(status is None and dt < 2 * SLOW,
          "a request with 20,000 headers (%d KiB) is cut off, unanswered (%s, %.0f ms)"
          % (len(many) // 1024, status, dt * 1000))
    still_well(srv, "20,000 headers")
    time.sleep(1.2)  # the logger flushes info lines every second (warnings at once)
    check(any("request line and headers too large" in l and '"level":"warning"' in l for l in srv.log_lines()),
          "the cut is logged as a warning")

    print("a 100 KB header line")
    status, dt, _ = answer_or_close(HEAD + b"X-Big: " + b"a" * 100000 + b"\r\n" + req_tail)
    check(status is None and dt < 2 * SLOW, "a 100 KB header line is cut off (%s, %.0f ms)" % (status, dt * 1000))
    status, dt, _ = answer_or_close(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    check(status is None and dt < 2 * SLOW, "a 100 KB request line is cut off (%s, %.0f ms)" % (status, dt * 1000))
    status, dt, _ = answer_or_close(HEAD + b"X-Big: " + b"a" * 20000 + b"\r\n" + req_tail)
    check(status == 400, "a 20 KB header line (under the bound) gets cpp-httplib's 400 (%s)" % status)
    still_well(srv, "100 KB header lines")

    # Floods of header bytes (64 MiB, eight at once): advisories_test.py, group header-floods.

    print("plain HTTP on the TLS port")
    fds0 = open_fds(srv.proc.pid)
    for i in range(50):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + req_tail)
        ok = closed_by_peer(s)
        s.close()
        if not ok:
            break
    check(ok, "50 plain-HTTP requests: each connection is closed at once with no HTTP answer")
    for junk in [b"\x00" * 4096, b"\x16\x03\x01\xff\xff" + b"\x01" * 1000, os.urandom(65536)]:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        try:
            s.sendall(junk)
        except OSError:
            pass
        check(closed_by_peer(s), "%d bytes of junk instead of a ClientHello: closed at once" % len(junk))
        s.close()
    settle(srv, fds0, "plain HTTP and junk")
    still_well(srv, "plain HTTP and junk")

    print("TLS 1.1 handshakes")
    old = client_context(os.path.join(certs, "ca.crt"), minimum=ssl.TLSVersion.TLSv1_1,
                         maximum=ssl.TLSVersion.TLSv1_1, ciphers="DEFAULT:@SECLEVEL=0")
    errors = []
    for i in range(30):
        try:
            tls_socket(srv.port, old, timeout=5).close()
            errors.append("handshake succeeded")
        except ssl.SSLError as e:
            errors.append("PROTOCOL_VERSION" if "PROTOCOL_VERSION" in str(e) else str(e))
    check(set(errors) == {"PROTOCOL_VERSION"},
          "30 TLS 1.1 handshakes each refused with protocol_version (%s)" % sorted(set(errors)))
    settle(srv, fds0, "TLS 1.1 handshakes")
    still_well(srv, "TLS 1.1 handshakes")
    srv.kill()


# ------------------------------------------------------------------------------------------------
def group_connections():
    certs = make_certs(tmpdir("dsw-hostile-conns-"))
    srv = Server(BINARY, certs)
    ctx = srv.context()
    review = basic_review()
    body = json.dumps(review).encode()
    full = HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body
    good_review_ok(srv, "warm-up")
    fds0 = open_fds(srv.proc.pid)

    print("64 connections trickling headers")
    trickle = []
    for i in range(64):
        s = tls_socket(srv.port, ctx)
        s.sendall(b"POST /mutate HTTP/1.1\r\n")
        trickle.append(s)
    worst, n, wrong = 0.0, 0, 0
    end = time.time() + 4
    while time.time() < end:
        for s in trickle:
            s.sendall(b"X-Slow-%d: 1\r\n" % n)
        t = time.perf_counter()
        ok = good_review_ok(srv, "trickle-%d" % n)
        worst = max(worst, time.perf_counter() - t)
        wrong += 0 if ok else 1
        n += 1
        time.sleep(0.1)
    check(n >= 15 and wrong == 0 and worst < 1.0 * SLOW,
          "while 64 connections trickle headers, %d good reviews are all answered correctly within 1 s "
          "(worst %.0f ms)" % (n, worst * 1000))
    for s in trickle:
        s.close()
    settle(srv, fds0, "64 trickling connections")
    still_well(srv, "64 trickling connections")

    print("a request trickled over more than 10 s")
    # cpp-httplib 0.11.4 has only a per-read timeout; serve also gives a whole request 10 s from
    # its first byte (checked at each TLS record), so a client sending a header line every half
    # second is cut off, not served for ever.
    s = tls_socket(srv.port, ctx, timeout=20)
    t0 = time.time()
    s.sendall(b"POST /mutate HTTP/1.1\r\n")
    cut_after = None
    i = 0
    while time.time() - t0 < 15 * SLOW:
        time.sleep(0.5)
        try:
            s.sendall(b"X-Slow-%d: 1\r\n" % i)
            i += 1
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    cut_after = time.time() - t0
                    break
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            finally:
                s.setblocking(True)
        except (ssl.SSLError, OSError):
            cut_after = time.time() - t0
            break
    s.close()
    check(cut_after is not None and 10 <= cut_after < 12 * SLOW,
          "a request still arriving 10 s after its first byte is cut off (after %s s)"
          % (None if cut_after is None else round(cut_after, 1)))
    # The server logs the cut after closing; the line reaches srv.log_lines() a moment later.
    check(wait_for(lambda: any("not read whole within 10 s" in l and '"level":"warning"' in l
                               for l in srv.log_lines()), 5 * SLOW, step=0.05),
          "and the cut is logged as a warning")
    settle(srv, fds0, "a trickled request")

    print("half-closed connections (shutdown(SHUT_WR) mid-request)")
    stages = [("after the handshake", b""), ("mid request line", b"POST /mut"),
              ("mid headers", HEAD), ("mid body", full[:-len(body) // 2])]
    bad = []
    for name, prefix in stages:
        for i in range(20):
            s = tls_socket(srv.port, ctx)
            if prefix:
                s.sendall(prefix)
            socket.socket.shutdown(s, socket.SHUT_WR)  # a FIN under the TLS layer, no close_notify
            t = time.perf_counter()
            if not closed_by_peer(s, timeout=5 * SLOW) or time.perf_counter() - t > 2 * SLOW:
                bad.append(name)
            s.close()
    check(not bad, "a client that half-closes %s is let go within 2 s, unanswered (%d x 20; bad: %s)"
          % ("/".join(n for n, _ in stages), len(stages), sorted(set(bad))))
    # A whole request, then a half-close. cpp-httplib 0.11.4 checks before every write that the
    # socket is "alive" by peeking for EOF, so when the FIN is already there it drops the answer
    # and closes. The apiserver never half-closes; what matters is that no answer is wrong, none
    # is late, and the connection is let go.
    answered, dropped, wrong = 0, 0, []
    for i in range(20):
        s = tls_socket(srv.port, ctx)
        b = json.dumps(basic_review("half-%d" % i)).encode()
        s.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(b) + b)
        socket.socket.shutdown(s, socket.SHUT_WR)
        t = time.perf_counter()
        try:
            status, _, data = read_response(s, timeout=5)
            if status is None and time.perf_counter() - t < 2 * SLOW:
                dropped += 1
            elif status == 200 and json.loads(data)["response"]["uid"] == "half-%d" % i:
                answered += 1
            else:
                wrong.append(status)
        except (ssl.SSLError, OSError, ValueError) as e:
            wrong.append(repr(e))
        s.close()
    check(not wrong and answered + dropped == 20,
          "a whole request followed by a half-close is answered correctly or closed unanswered at once, "
          "never wrongly (%d answered, %d closed unanswered, wrong: %s)" % (answered, dropped, wrong))
    settle(srv, fds0, "half-closed connections")
    still_well(srv, "half-closed connections")

    print("a client that pipelines requests and never reads the answers")
    # The server answers one request at a time and reads no further while an answer waits for
    # the socket (a write gives up after 10 s), so such a client is held back by TCP, not buffered.
    s = tls_socket(srv.port, ctx)
    s.setblocking(False)
    burst = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n" * 2000
    sent, t0 = 0, time.time()
    while time.time() - t0 < 3:
        try:
            sent += s.send(burst)
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            time.sleep(0.01)
        except OSError:
            break
    rss = rss_kib(srv.proc.pid)
    check(sent < 64 * MiB and rss is not None and rss < RSS_BOUND_KIB,
          "3 s of pipelined requests without reading: the client got %.1f MiB out, server RSS %s KiB"
          % (sent / MiB, rss))
    still_well(srv, "an unread pipeline")
    reset(s)
    settle(srv, fds0, "an unread pipeline")

    print("reset connections (SO_LINGER 0 close) mid-request")
    big = basic_review()
    comps = big["request"]["object"]["spec"]["components"]
    for i in range(1, 400):
        c = json.loads(json.dumps(comps[0]))
        c["name"] = "c%d" % i
        c["traits"][0]["properties"] = {}
        comps.append(c)
    big_body = json.dumps(big).encode()
    big_full = HEAD + b"Content-Length: %d\r\n\r\n" % len(big_body) + big_body
    stages = [("right after connect", None), ("after the handshake", b""), ("mid headers", HEAD),
              ("mid body", full[:-len(body) // 2]), ("with the answer unread", full),
              ("with a 400-component answer unread", big_full)]
    for name, prefix in stages:
        for i in range(25):
            if prefix is None:
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            else:
                s = tls_socket(srv.port, ctx)
                if prefix:
                    s.sendall(prefix)
                if prefix in (full, big_full):
                    time.sleep(0.002)
            reset(s)
    # A reset between two requests on a keep-alive connection.
    for i in range(25):
        c = srv.connect(ctx)
        srv.request("POST", "/mutate", body, JSON, conn=c)
        c.sock.sendall(HEAD)
        reset(c.sock)
    check(srv.proc.poll() is None, "the server survives %d resets at %d stages" % (25 * (len(stages) + 1), len(stages) + 1))
    settle(srv, fds0, "reset connections")
    still_well(srv, "reset connections")
    srv.kill()


# ------------------------------------------------------------------------------------------------
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def time_to_ready(certs, ctx):
    """Seconds from exec to the first 200 from GET /readyz, polling as fast as connections fail."""
    port = free_port()
    args = [BINARY, "serve", "--tls-cert-file", os.path.join(certs, "tls.crt"),
            "--tls-private-key-file", os.path.join(certs, "tls.key"), "--bind-address", "127.0.0.1",
            "--port", str(port), "--log-format", "json", "--shutdown-delay", "0s"]
    request = b"GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took, attempts = None, 0
    try:
        while time.perf_counter() - t0 < 5 and proc.poll() is None:
            attempts += 1
            try:
                s = tls_socket(port, ctx, timeout=2)
                s.sendall(request)
                status, _, _ = read_response(s, timeout=2)
                s.close()
                if status == 200:
                    took = time.perf_counter() - t0
                    break
            except (OSError, ssl.SSLError):
                time.sleep(0.001)
    finally:
        proc.terminate()
        try:
            rc = proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait(5)
    return took, attempts, rc


def group_startup():
    certs = make_certs(tmpdir("dsw-hostile-start-"))
    ctx = client_context(os.path.join(certs, "ca.crt"))
    ctx.check_hostname = True
    times = []
    for i in range(3):
        took, attempts, rc = time_to_ready(certs, ctx)
        print("  launch %d: ready after %s ms (%d polls), exit %s after SIGTERM"
              % (i + 1, "%.1f" % (took * 1000) if took else "never", attempts, rc))
        check(took is not None and rc == 0, "launch %d becomes ready and exits 0 on SIGTERM" % (i + 1))
        if took is not None:
            times.append(took)
    best = min(times) if times else None
    bound = 0.1 * SLOW
    check(best is not None and best < bound,
          "exec to first GET /readyz 200 within %.0f ms%s (best of 3: %s ms; all: %s)"
          % (bound * 1000, " (sanitizer build: %s)" % SANITIZER if SANITIZER else "",
             "%.1f" % (best * 1000) if best else "-", ", ".join("%.1f" % (t * 1000) for t in times)))


# ------------------------------------------------------------------------------------------------
def main():
    global BINARY
    BINARY = sys.argv[1]
    fn = globals().get("group_" + sys.argv[2])
    if fn is None:
        print("unknown group " + sys.argv[2])
        sys.exit(2)
    fn()
    finish()


if __name__ == "__main__":
    main()
