#!/usr/bin/env python3
"""The HTTP surface of `serve` (`ctest -R serve_http`): the admission endpoints answer reviews
(v1 and v1beta1, every defaulting fixture applied by python3-jsonpatch), every status code a
request can get (400, 404, 405, 411, 413, 415) and when it is decided, pipelining, probes and
keep-alive, the metrics the requests move, and JSON log lines without object contents.

Usage: serve_http_test.py BINARY
"""
import glob
import gzip
import json
import os
import re
import socket
import ssl
import sys
import time

import jsonpatch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import (FIXTURES, JSON, Server, basic_review, cert_info, check, decode_patch,  # noqa: E402
                           make_certs, review_for, run, tls_socket, tmpdir)
from http_wire import read_response  # noqa: E402  test/support, on the path serve_support sets


def group_http(binary):
    certs = make_certs(tmpdir("dsw-http-"))
    srv = Server(binary, certs, "--max-request-bytes", "64Ki")
    m0 = srv.metrics()

    print("admission endpoints")
    review = basic_review()
    status, hdrs, data = srv.review("/mutate?timeout=10s", review)
    check(status == 200, "POST /mutate?timeout=10s answers 200 (got %s)" % status)
    check(hdrs.get("content-type", "").startswith("application/json"), "answer is application/json")
    out = json.loads(data)
    check(out["apiVersion"] == "admission.k8s.io/v1" and out["kind"] == "AdmissionReview",
          "answer is an admission.k8s.io/v1 AdmissionReview")
    check(out["response"]["uid"] == review["request"]["uid"], "uid is echoed")
    check(out["response"]["allowed"] is True and out["response"].get("patchType") == "JSONPatch",
          "basic-usage is allowed with a JSONPatch")
    patched = jsonpatch.apply_patch(review["request"]["object"], decode_patch(out["response"]))
    trait = patched["spec"]["components"][0]["traits"][0]
    check(trait.get("properties") == {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES"},
          "python3-jsonpatch applies the patch: the trait gets its documented defaults")

    n = 0
    conn = srv.connect()
    for path in sorted(glob.glob(os.path.join(FIXTURES, "defaulting", "*.json"))):
        with open(path) as f:
            case = json.load(f)
        rv = review_for(case["object"], uid="fx-%d" % n)
        status, _, data = srv.review("/mutate", rv, conn=conn)
        resp = json.loads(data)["response"] if status == 200 else {}
        patch = decode_patch(resp) or []
        result = jsonpatch.apply_patch(case["object"], patch)
        check(status == 200 and resp.get("uid") == "fx-%d" % n and result == case["expected"],
              "over HTTPS, the patch for %s applied by jsonpatch gives the expected object"
              % os.path.basename(path))
        n += 1
    conn.close()
    check(n >= 10, "every defaulting fixture was sent (%d of test/fixtures/defaulting)" % n)

    v1b = basic_review("beta-uid-7")
    v1b["apiVersion"] = "admission.k8s.io/v1beta1"
    status, _, data = srv.review("/mutate", v1b)
    out = json.loads(data) if status == 200 else {}
    check(status == 200 and out.get("apiVersion") == "admission.k8s.io/v1beta1"
          and out["response"]["uid"] == "beta-uid-7", "v1beta1 review answered as v1beta1, uid echoed")

    status, _, data = srv.review("/validate", review)
    out = json.loads(data)["response"]
    check(status == 200 and out["allowed"] is True and "patch" not in out,
          "POST /validate allows basic-usage without a patch")
    bad = basic_review("deny-1")
    bad["request"]["object"]["spec"]["components"][0]["traits"][0]["properties"] = {
        "viewType": "EVERYTHING"}
    status, _, data = srv.review("/validate", bad)
    out = json.loads(data)["response"]
    check(status == 200 and out["allowed"] is False and out["uid"] == "deny-1",
          "POST /validate denies an invalid viewType (200 with allowed=false)")
    status, _, data = srv.review("/mutate", review, headers={"Content-Type": "application/json; charset=utf-8"})
    check(status == 200, "Content-Type with a charset parameter is accepted")

    print("status codes")
    status, hdrs, data = srv.request("POST", "/mutate", b"this is not json", JSON)
    check(status == 400 and hdrs.get("content-type", "").startswith("text/plain") and len(data) < 300,
          "400 with a short plain-text message for a body that is not JSON (%s %r)" % (status, data[:80]))
    status, _, data = srv.request("POST", "/validate", b'{"kind":"Pod","apiVersion":"v1"}', JSON)
    check(status == 400, "400 for JSON that is not an AdmissionReview (got %s)" % status)
    status, hdrs, _ = srv.request("GET", "/mutate")
    check(status == 405 and hdrs.get("allow") == "POST", "405 with Allow: POST for GET /mutate")
    status, hdrs, _ = srv.request("PUT", "/validate", json.dumps(review).encode(), JSON)
    check(status == 405, "405 for PUT /validate with a body (got %s)" % status)
    status, hdrs, _ = srv.request("POST", "/healthz", b"{}", JSON)
    check(status == 405, "405 for POST /healthz")
    for path in ["/", "/nope", "/mutate/", "/validate/x"]:
        status, _, _ = srv.request("POST", path, b"{}", JSON)
        check(status == 404, "404 for POST %s (got %s)" % (path, status))
    status, _, _ = srv.request("POST", "/mutate", json.dumps(review).encode(), {"Content-Type": "text/plain"})
    check(status == 415, "415 for Content-Type text/plain")
    status, _, _ = srv.request("POST", "/mutate", json.dumps(review).encode(), {})
    check(status == 415, "415 without a Content-Type")
    gz = gzip.compress(json.dumps(review).encode())
    status, _, _ = srv.request("POST", "/mutate", gz, {"Content-Type": "application/json",
                                                        "Content-Encoding": "gzip"})
    check(status == 415, "415 for Content-Encoding: gzip")
    status, _, _ = srv.request("POST", "/mutate", json.dumps(review).encode(),
                               {"Content-Type": "application/json", "Content-Encoding": "identity"})
    check(status == 415, "415 for any Content-Encoding (identity)")

    def chunks():
        body = json.dumps(review).encode()
        yield body[:100]
        yield body[100:]
    c = srv.connect()
    c.request("POST", "/mutate", body=chunks(), headers=JSON, encode_chunked=True)
    r = c.getresponse()
    r.read()
    check(r.status == 411, "411 for Transfer-Encoding: chunked (got %s)" % r.status)
    c.close()

    s = tls_socket(srv.port, srv.context())
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\r\n")
    status, _, _ = read_response(s)
    check(status == 411, "411 for a POST without Content-Length (got %s)" % status)
    s.close()

    limit = 64 * 1024
    s = tls_socket(srv.port, srv.context())
    t = time.time()
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % (limit + 1))
    status, hdrs, data = read_response(s, timeout=5)
    check(status == 413 and time.time() - t < 2,
          "413 decided from Content-Length alone, before any body byte is sent (got %s)" % status)
    check(hdrs.get("connection") == "close", "the 413 answer closes the connection")
    s.close()
    s = tls_socket(srv.port, srv.context())
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (50 * 1024 * 1024))
    status, _, _ = read_response(s, timeout=5)
    check(status == 413, "413 instead of 100 Continue for an oversized body with Expect (got %s)" % status)
    s.close()
    status, _, data = srv.request("POST", "/mutate", b" " * (limit + 1), JSON)
    check(status == 413, "413 read by a client that sends the whole oversized body (got %s)" % status)
    body = json.dumps(review).encode()
    padded = body + b" " * (limit - len(body))
    status, _, data = srv.request("POST", "/mutate", padded, JSON)
    check(status == 200, "a body of exactly --max-request-bytes is accepted (got %s)" % status)

    print("pipelining")
    # cpp-httplib 0.11.4 waits on the socket for a next request, not on what OpenSSL has already
    # decrypted, so of requests sent together over TLS only the first is answered; the rest wait
    # until the connection is closed (keep-alive timeout). The apiserver never pipelines (Go's
    # HTTP/1.1 client sends one request at a time per connection). What a client can rely on: the
    # first answer is right, and no answer is ever wrong or out of order.
    s = tls_socket(srv.port, srv.context())
    wire = b""
    for uid in ["pipe-1", "pipe-2"]:
        b = json.dumps(basic_review(uid)).encode()
        wire += (b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(b) + b)
    s.sendall(wire)
    status, _, data = read_response(s, timeout=5)
    check(status == 200 and json.loads(data)["response"]["uid"] == "pipe-1",
          "of two pipelined reviews the first is answered, correctly (%s)" % status)
    s.settimeout(1)
    try:
        extra = s.recv(65536)
    except (socket.timeout, ssl.SSLError, OSError):
        extra = b""
    check(not extra.startswith(b"HTTP/1.1 200") or b'"pipe-2"' in extra,
          "and nothing wrong follows it (%r)" % extra[:60])
    s.close()

    print("probes and keep-alive")
    check(srv.request("GET", "/healthz")[0] == 200, "GET /healthz is 200")
    check(srv.request("HEAD", "/healthz")[0] == 200, "HEAD /healthz is 200")
    check(srv.request("GET", "/readyz")[0] == 200, "GET /readyz is 200")
    c = srv.connect()
    c.connect()
    first = c.sock
    ok = True
    for i in range(50):
        status, hdrs, data = srv.review("/mutate", basic_review("ka-%d" % i), conn=c)
        ok = ok and status == 200 and json.loads(data)["response"]["uid"] == "ka-%d" % i
        ok = ok and c.sock is first and hdrs.get("connection") != "close"
    check(ok, "50 reviews on one keep-alive connection, no reconnect, uids matched")
    c.close()
    status, _, _ = srv.request("GET", "/readyz", b"", {})
    check(status == 200, "GET /readyz with an empty body is 200")

    print("metrics")
    m1 = srv.metrics()
    app = 'kind="Application"'
    key = 'dynamodb_streams_webhook_admission_requests_total{endpoint="mutate",%s,outcome="patched"}' % app
    check(m1.get(key, 0) - m0.get(key, 0) >= 55, "patched /mutate counter moved by the reviews sent")
    key_d = 'dynamodb_streams_webhook_admission_requests_total{endpoint="validate",%s,outcome="denied"}' % app
    check(m1.get(key_d, 0) - m0.get(key_d, 0) == 1, "denied /validate counter moved by one")
    key_e = 'dynamodb_streams_webhook_admission_requests_total{endpoint="mutate",kind="other",outcome="error"}'
    check(m1.get(key_e, 0) - m0.get(key_e, 0) >= 8,
          "error /mutate counter counts the refused requests (no review read: kind other)")
    hc = 'dynamodb_streams_webhook_admission_request_duration_seconds_count{endpoint="mutate",%s}' % app
    hb = 'dynamodb_streams_webhook_admission_request_duration_seconds_bucket{endpoint="mutate",%s,le="+Inf"}' % app
    check(m1.get(hc, 0) > m0.get(hc, 0) and m1.get(hc) == m1.get(hb), "duration histogram counts reviews")
    check('dynamodb_streams_webhook_admission_request_duration_seconds_bucket{endpoint="mutate",%s,le="0.00025"}' % app in m1
          and 'dynamodb_streams_webhook_admission_request_duration_seconds_bucket{endpoint="validate",%s,le="2.5"}' % app in m1,
          "histogram buckets run from 0.25 ms to 2.5 s")
    kinds = {re.search(r'kind="([^"]*)"', k).group(1) for k in m1
             if k.startswith("dynamodb_streams_webhook_admission_request")}
    check(kinds == {"Application", "Table", "DynamoDBTable", "other"},
          "the kind label takes exactly four values (%s)" % sorted(kinds))
    check(m1.get("dynamodb_streams_webhook_requests_in_flight") == 1, "in-flight gauge is 1 (the scrape)")
    _, not_after = cert_info(os.path.join(certs, "tls.crt"))
    check(m1.get("dynamodb_streams_webhook_certificate_expiry_timestamp_seconds") == not_after,
          "certificate expiry metric equals the certificate's notAfter")
    check('dynamodb_streams_webhook_certificate_reloads_total{result="failure"}' in m1,
          "certificate reload counter by result is exposed")
    for name in ["process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
                 "process_start_time_seconds"]:
        check(m1.get(name, 0) > 0, "%s is exposed and positive" % name)
    check(abs(m1["process_start_time_seconds"] - time.time()) < 120, "process start time is recent")

    print("logs")
    weird = basic_review('we"ird\nuid\\\u0001\u00e9')
    status, _, _ = srv.review("/mutate", weird)
    check(status == 200, "a uid with quotes, newline and control characters is answered")
    time.sleep(1.5)  # the async logger flushes at least every second
    lines = srv.log_lines()
    parsed, bad_lines = [], []
    for l in lines:
        try:
            parsed.append(json.loads(l))
        except ValueError:
            bad_lines.append(l)
    check(not bad_lines, "every log line is one JSON object (%r)" % bad_lines[:2])
    reviews = [p for p in parsed if p.get("msg") == "review"]
    check(any(p.get("uid") == weird["request"]["uid"] for p in reviews),
          "the odd uid is logged exactly, escaped inside one JSON line")
    first = next((p for p in reviews if p.get("uid") == review["request"]["uid"]), {})
    want = {"uid", "kind", "namespace", "name", "operation", "endpoint", "verdict", "patch_ops",
            "duration_ms", "time", "level"}
    check(want <= set(first), "a review line has %s (has %s)" % (sorted(want), sorted(first)))
    check(first.get("verdict") == "patched" and first.get("patch_ops") == 1
          and first.get("namespace") == "default" and first.get("operation") == "CREATE",
          "review line carries verdict, patch count, namespace and operation")
    check(len(reviews) >= 60, "one line per review (%d)" % len(reviews))
    alltext = "\n".join(lines)
    check("users-table" not in alltext and "userId" not in alltext and "EVERYTHING" not in alltext,
          "no object contents (table name, attribute names, property values) in the logs")
    srv.kill()


if __name__ == "__main__":
    run(group_http)
