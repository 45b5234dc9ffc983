#!/usr/bin/env python3
"""The open advisories of Debian's cpp-httplib 0.11.4 that reach a server, each attacked through
the real `serve` binary over TLS on 127.0.0.1 (docs/reliability.md, "Advisories of cpp-httplib
0.11.4", has one row per group here). Every socket has a timeout; each group takes seconds.

Usage: advisories_test.py BINARY GROUP
  GROUP: chunked-bodies   CVE-2025-46728, CVE-2025-53629, CVE-2026-45352
         header-floods    CVE-2025-53628, CVE-2025-52887
         smuggling        CVE-2026-34441
         compressed       CVE-2026-22776, CVE-2026-28435
         multipart        CVE-2026-29076
         remote-addr      CVE-2025-66570
         header-decoding  CVE-2026-45372
"""
import gzip
import json
import os
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import Server, basic_review, check, finish, make_certs, tls_socket, tmpdir  # noqa: E402
from hostile_support import HEAD, MiB, RSS_BOUND_KIB, SLOW, gauge, peak_rss_kib, rss_kib, still_well  # noqa: E402
from http_wire import push_and_read, read_until_closed, status_lines  # noqa: E402  test/support

BINARY = None
HOST = b"Host: localhost\r\n"


def start(*extra):
    return Server(BINARY, make_certs(tmpdir("dsw-advisory-")), *extra)


def review_bytes(uid):
    return json.dumps(basic_review(uid)).encode()


def whole_post(uid, path=b"/mutate"):
    """A complete, valid review request: what an attacker hides behind a refused one."""
    body = review_bytes(uid)
    return (b"POST " + path + b" HTTP/1.1\r\n" + HOST + b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


def streamed_refusal(srv, head, piece, what, expect):
    """Sends `head`, then `piece` over and over (up to 256 MiB) while reading: the refusal must
    arrive while the client is still sending, and the connection must close."""
    s = tls_socket(srv.port, srv.context(), timeout=10)
    status, sent, whole, dt = push_and_read(s, head, piece, 256 * MiB, timeout=10 * SLOW)
    rest, closed = read_until_closed(s, 3 * SLOW)
    s.close()
    check(status == expect and not whole and dt < 2 * SLOW,
          "%s: %s while the client was still sending (%s after %.1f MiB, %.0f ms)"
          % (what, expect, status, sent / MiB, dt * 1000))
    check(closed, "%s: the connection is closed after the answer" % what)


def review_lines(srv, needle):
    return [l for l in srv.log_lines() if needle in l]


# ------------------------------------------------------------------------------------------------
def group_chunked_bodies():
    """CVE-2025-46728 (chunked bodies without bound), CVE-2025-53629 (bodies without a length read
    to the end), CVE-2026-45352 (negative chunk sizes): serve takes a review body only by
    Content-Length and refuses anything else before reading a byte of it."""
    srv = start()
    base = HEAD
    streamed_refusal(srv, base + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n", b"a" * 65536,
                     "an endless chunked body", 411)
    streamed_refusal(srv, base + b"Transfer-Encoding: chunked\r\n\r\n-1\r\n", b"b" * 65536,
                     "a negative chunk size", 411)
    streamed_refusal(srv, base + b"Transfer-Encoding: gzip, chunked\r\n\r\n10\r\n", b"c" * 65536,
                     "a chunked body under another coding", 411)
    streamed_refusal(srv, base + b"Connection: close\r\n\r\n", b"d" * 65536,
                     "a body without a length, read until the connection ends", 411)
    streamed_refusal(srv, base.replace(b"/mutate", b"/validate") + b"Transfer-Encoding: chunked\r\n\r\n",
                     b"0\r\n\r\n" * 10000, "/validate: a chunked body", 411)
    streamed_refusal(srv, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
                     b"ffff\r\n" + b"e" * 65535, "a probe with a chunked body", 400)
    statuses = srv.metrics()
    check(statuses.get('dynamodb_streams_webhook_http_responses_total{code="411"}') == 5,
          "each is counted as a 411 (%s)" % statuses.get('dynamodb_streams_webhook_http_responses_total{code="411"}'))
    still_well(srv, "chunked and length-less bodies")
    srv.kill()


def group_header_floods():
    """CVE-2025-53628 (one header line of unbounded length), CVE-2025-52887 (no limit on the
    number of header lines): the bytes of a request head are counted in the TLS layer, and past
    64 KiB the connection is closed; memory stays bounded with eight floods at once."""
    srv = start()
    floods = [("64 MiB of 1 KB header lines", HEAD, b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(64))),
              ("64 MiB of tiny header lines", HEAD, b"a: b\r\n" * 10000),
              ("one 64 MiB header line", HEAD + b"X-Big: ", b"a" * 65536),
              ("one 64 MiB request line", b"GET /", b"a" * 65536)]

    def flood(head, piece):
        s = tls_socket(srv.port, srv.context(), timeout=10)
        status, sent, whole, dt = push_and_read(s, head, piece, 64 * MiB, timeout=10 * SLOW)
        s.close()
        return status, sent, whole, dt

    for name, head, piece in floods:
        status, sent, whole, dt = flood(head, piece)
        check(status is None and not whole and sent < 4 * MiB,
              "%s: cut off unanswered after %.0f KiB of the 64 MiB (%s, %.1f s)" % (name, sent / 1024, status, dt))
    results = []
    threads = [threading.Thread(target=lambda h=h, p=p: results.append(flood(h, p)))
               for i in range(8) for _, h, p in [floods[i % len(floods)]]]
    peak = 0
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_kib(srv.proc.pid) or 0)
        time.sleep(0.01)
    for t in threads:
        t.join()
    check(len(results) == 8 and all(st is None and not whole for st, _, whole, _ in results),
          "eight floods at once: each cut off unanswered")
    check(peak < RSS_BOUND_KIB and (peak_rss_kib(srv.proc.pid) or 0) < RSS_BOUND_KIB,
          "eight floods at once: RSS at most %d KiB, peak %s KiB (bound %d KiB)"
          % (peak, peak_rss_kib(srv.proc.pid), RSS_BOUND_KIB))
    time.sleep(0.2)
    cuts = review_lines(srv, "request line and headers too large")
    check(len(cuts) >= 12 and all('"level":"warning"' in l for l in cuts),
          "every cut is logged as a warning (%d)" % len(cuts))
    still_well(srv, "header floods")
    srv.kill()


def group_smuggling():
    """CVE-2026-34441: cpp-httplib parses the unread body of a refused request as the next
    request. serve closes the connection after every answer that leaves request bytes unread:
    a request hidden in such a body is never read, answered, logged or counted."""
    srv = start()
    reviews_before = sum(v for k, v in srv.metrics().items() if "admission_requests_total" in k)
    cases = []

    def refused(name, expect, head):
        uid = "smuggled-%d" % len(cases)
        cases.append(uid)
        hidden = whole_post(uid)
        s = tls_socket(srv.port, srv.context(), timeout=10)
        wire = head.replace(b"{N}", b"%d" % len(hidden))
        s.sendall(wire + hidden)
        data, closed = read_until_closed(s, 3 * SLOW)
        s.close()
        got = status_lines(data)
        check(got == [expect] and closed and uid.encode() not in data,
              "%s: one answer (%s), then the connection closes (answers %s, closed %s)"
              % (name, expect, got, closed))

    json_post = b"POST /mutate HTTP/1.1\r\n" + HOST + b"Content-Type: application/json\r\n"
    refused("an unknown path with a body", 404,
            b"POST /nope HTTP/1.1\r\n" + HOST + b"Content-Length: {N}\r\n\r\n")
    refused("a wrong method with a body", 405,
            b"PUT /mutate HTTP/1.1\r\n" + HOST + b"Content-Length: {N}\r\n\r\n")
    refused("a body over the limit", 413, json_post + b"Content-Length: 99999999\r\n\r\n")
    refused("a wrong media type", 415,
            b"POST /mutate HTTP/1.1\r\n" + HOST + b"Content-Type: text/plain\r\nContent-Length: {N}\r\n\r\n")
    refused("a compressed body", 415, json_post + b"Content-Encoding: gzip\r\nContent-Length: {N}\r\n\r\n")
    refused("a chunked body", 411, json_post + b"Transfer-Encoding: chunked\r\n\r\n")
    refused("both Transfer-Encoding and Content-Length", 400,
            json_post + b"Transfer-Encoding: chunked\r\nContent-Length: {N}\r\n\r\n")
    refused("a probe with a body", 400, b"GET /healthz HTTP/1.1\r\n" + HOST + b"Content-Length: {N}\r\n\r\n")
    refused("a refusal after Expect: 100-continue", 415,
            b"POST /validate HTTP/1.1\r\n" + HOST + b"Content-Type: text/plain\r\nExpect: 100-continue\r\n"
            b"Content-Length: {N}\r\n\r\n")
    # Refused by cpp-httplib itself, before any hook of serve runs.
    refused("a header line over 8 KiB (cpp-httplib's own 400)", 400,
            json_post + b"X-Long: " + b"x" * 9000 + b"\r\nContent-Length: {N}\r\n\r\n")
    refused("a target over 8 KiB (cpp-httplib's own 414)", 414,
            b"POST /" + b"a" * 9000 + b" HTTP/1.1\r\n" + HOST + b"Content-Length: {N}\r\n\r\n")
    refused("a bad Range (cpp-httplib's own 416)", 416,
            b"GET /healthz HTTP/1.1\r\n" + HOST + b"Range: bytes=z-\r\n\r\n")
    refused("an HTTP version cpp-httplib does not take (its own 400)", 400,
            b"POST /mutate HTTP/1.2\r\n" + HOST + b"Content-Length: {N}\r\n\r\n")
    time.sleep(1.2)  # info lines are written at least every second
    logged = [l for l in srv.log_lines() if "smuggled-" in l]
    check(not logged, "no hidden request was logged (%s)" % logged[:2])
    reviews_after = sum(v for k, v in srv.metrics().items() if "admission_requests_total" in k)
    counted = reviews_after - reviews_before
    check(counted == 7, "only the 7 refused review requests are counted, none hidden (%d)" % counted)
    # The same hidden request after an accepted one is an ordinary keep-alive request, answered.
    s = tls_socket(srv.port, srv.context(), timeout=10)
    s.sendall(whole_post("first"))
    data, _ = read_until_closed(s, 1)
    s.sendall(whole_post("second"))
    data2, _ = read_until_closed(s, 1)
    s.close()
    check(status_lines(data) == [200] and status_lines(data2) == [200] and b'"second"' in data2,
          "after an accepted request the connection stays open for the next one")
    still_well(srv, "smuggling attempts")
    srv.kill()


def group_compressed():
    """CVE-2026-22776, CVE-2026-28435 (decompression of request bodies without bound: Debian builds
    cpp-httplib with zlib and brotli): any Content-Encoding is refused (415) before the body is
    read, so nothing is ever inflated."""
    srv = start()
    base = HEAD
    # A gzip member of zeros inflates about 1000x; streamed endlessly it would be unbounded.
    zeros = zlib.compressobj(9, zlib.DEFLATED, 31).compress(b"\0" * (16 * MiB))
    for enc in [b"gzip", b"deflate", b"br", b"identity", b"x-gzip"]:
        streamed_refusal(srv, base + b"Content-Encoding: " + enc + b"\r\nContent-Length: 7000000\r\n\r\n",
                         zeros or b"\0" * 65536, "Content-Encoding: %s" % enc.decode(), 415)
    small = gzip.compress(review_bytes("inflated"))
    status, hdrs, data = srv.request("POST", "/mutate", small,
                                     {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    check(status == 415 and b"compressed" in data,
          "even a small, valid gzip review is 415, not inflated (%s %r)" % (status, data[:60]))
    check(peak_rss_kib(srv.proc.pid) < RSS_BOUND_KIB, "peak RSS %s KiB" % peak_rss_kib(srv.proc.pid))
    still_well(srv, "compressed bodies")
    srv.kill()


def group_multipart():
    """CVE-2026-29076 (multipart `filename*` parameters): every media type but application/json is
    refused (415) before the body is read, so cpp-httplib's multipart parser never runs."""
    srv = start()
    part = (b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''" + b"%e2%82%ac" * 2000 +
            b"\r\nContent-Type: application/json\r\n\r\n{}\r\n")
    for path, expect in [(b"/mutate", 415), (b"/validate", 415), (b"/upload", 404)]:
        head = (b"POST " + path + b" HTTP/1.1\r\n" + HOST +
                b"Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 7000000\r\n\r\n")
        streamed_refusal(srv, head, part, "multipart with filename* to %s" % path.decode(), expect)
    for ctype in ["multipart/form-data; boundary=a", "multipart/mixed; boundary=a",
                  "application/x-www-form-urlencoded", "text/plain"]:
        status, _, _ = srv.request("POST", "/mutate", b"--a\r\n\r\n--a--\r\n", {"Content-Type": ctype})
        check(status == 415, "Content-Type %s: 415 (%s)" % (ctype, status))
    still_well(srv, "multipart bodies")
    srv.kill()


def group_remote_addr():
    """CVE-2025-66570 (a client-sent REMOTE_ADDR header shadows the peer address in
    cpp-httplib's header map): logs and metrics take the peer from the socket, never from a
    request header."""
    srv = start("--log-level", "debug")
    spoof = {"REMOTE_ADDR": "6.6.6.6", "REMOTE_PORT": "666", "X-Forwarded-For": "6.6.6.6",
             "X-Real-IP": "6.6.6.6", "LOCAL_ADDR": "6.6.6.6"}
    srv.request("GET", "/healthz", None, spoof)
    srv.request("POST", "/mutate", b"{}", dict(spoof, **{"Content-Type": "text/plain"}))
    srv.request("POST", "/mutate", b"not json", dict(spoof, **{"Content-Type": "application/json"}))
    s = tls_socket(srv.port, srv.context(), timeout=10)  # refused by cpp-httplib itself
    s.sendall(b"GET /healthz HTTP/1.1\r\n" + HOST + b"REMOTE_ADDR: 6.6.6.6\r\nX-Long: " + b"x" * 9000 + b"\r\n\r\n")
    read_until_closed(s, 2)
    s.close()
    time.sleep(1.2)
    lines = srv.log_lines()
    refused = [json.loads(l) for l in lines if '"msg":"request refused"' in l]
    probes = [json.loads(l) for l in lines if '"msg":"request"' in l and '"/healthz"' in l]
    check(len(refused) == 3 and all(r.get("remote") == "127.0.0.1" for r in refused),
          "every refused request is logged with the socket's peer, 127.0.0.1 (%s)" % [r.get("remote") for r in refused])
    check(probes and all(p.get("remote") == "127.0.0.1" for p in probes),
          "the debug line of a probe names the socket's peer (%s)" % [p.get("remote") for p in probes])
    check(not [l for l in lines if "6.6.6.6" in l] and "6.6.6.6" not in str(srv.metrics()),
          "the spoofed address appears in no log line and no metric")
    srv.kill()


def group_header_decoding():
    """CVE-2026-45372 (cpp-httplib 0.11.4 percent-decodes header values, so `%0D%0A` becomes CR LF
    inside a value): serve refuses any request whose header values hold CR, LF or NUL, and never
    copies a request header into an answer or a log line."""
    srv = start("--log-level", "debug")
    cases = [("POST", "/mutate", {"Content-Type": "application/json%0D%0AX-Injected:%20yes"}, b"{}"),
             ("GET", "/healthz", {"X-Trace": "a%0D%0ASet-Cookie:%20session=stolen"}, None),
             ("GET", "/metrics", {"Accept": "text/plain%00"}, None),
             ("POST", "/validate", {"Content-Type": "application/json", "X-Any": "%0A"}, b"{}")]
    for method, path, headers, body in cases:
        status, hdrs, data = srv.request(method, path, body, headers)
        check(status == 400 and b"control character" in data and "x-injected" not in hdrs
              and "set-cookie" not in hdrs,
              "%s %s with %s: 400, nothing injected into the answer (%s %s)"
              % (method, path, list(headers.values())[-1], status, sorted(hdrs)))
    status, _, _ = srv.request("GET", "/healthz%0D%0AX:%20y")
    check(status == 404, "a percent-encoded CR LF in the path is only an unknown path (%s)" % status)
    time.sleep(1.2)
    lines = srv.log_lines()
    check(all("\r" not in l and "stolen" not in l and "X-Injected" not in l for l in lines),
          "no log line holds a raw CR or a request header's value")
    check(gauge(srv, "requests_in_flight") == 1, "nothing left in flight")
    srv.kill()


def main():
    global BINARY
    BINARY = sys.argv[1]
    group = sys.argv[2]
    fn = globals().get("group_" + group.replace("-", "_"))
    if fn is None:
        print("unknown group %s" % group)
        sys.exit(2)
    fn()
    finish()


if __name__ == "__main__":
    main()
