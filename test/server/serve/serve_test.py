#!/usr/bin/env python3
"""Integration tests of `dynamodb-streams-webhook serve`: the real binary, certificates from
certs/make-dev-certs.sh, real TLS clients on 127.0.0.1.

Usage: serve_test.py BINARY GROUP   (GROUP: http, guards, warn, tls, startup, rotation, shutdown, concurrency)
"""
import base64
import copy
import glob
import gzip
import json
import re
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import jsonpatch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import (FIXTURES, ROOT, Server, check, client_context, decode_patch, finish,  # noqa: E402
                           make_certs, basic_review, read_http_response, review_for, tls_socket,
                           tmpdir, cert_info, peer_serial)

BINARY = None
JSON = {"Content-Type": "application/json"}


# ------------------------------------------------------------------------------------------------
def group_http():
    certs = make_certs(tmpdir("dsw-http-"))
    srv = Server(BINARY, certs, "--max-request-bytes", "64Ki")
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

    v1b = copy.deepcopy(review)
    v1b["apiVersion"] = "admission.k8s.io/v1beta1"
    v1b["request"]["uid"] = "beta-uid-7"
    status, _, data = srv.review("/mutate", v1b)
    out = json.loads(data) if status == 200 else {}
    check(status == 200 and out.get("apiVersion") == "admission.k8s.io/v1beta1"
          and out["response"]["uid"] == "beta-uid-7", "v1beta1 review answered as v1beta1, uid echoed")

    status, _, data = srv.review("/validate", review)
    out = json.loads(data)["response"]
    check(status == 200 and out["allowed"] is True and "patch" not in out,
          "POST /validate allows basic-usage without a patch")
    bad = copy.deepcopy(review)
    bad["request"]["uid"] = "deny-1"
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
    status, _, _ = read_http_response(s)
    check(status == 411, "411 for a POST without Content-Length (got %s)" % status)
    s.close()

    limit = 64 * 1024
    s = tls_socket(srv.port, srv.context())
    t = time.time()
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % (limit + 1))
    status, hdrs, data = read_http_response(s, timeout=5)
    check(status == 413 and time.time() - t < 2,
          "413 decided from Content-Length alone, before any body byte is sent (got %s)" % status)
    check(hdrs.get("connection") == "close", "the 413 answer closes the connection")
    s.close()
    s = tls_socket(srv.port, srv.context())
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (50 * 1024 * 1024))
    status, _, _ = read_http_response(s, timeout=5)
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
        rv = copy.deepcopy(review)
        rv["request"]["uid"] = uid
        b = json.dumps(rv).encode()
        wire += (b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(b) + b)
    s.sendall(wire)
    status, _, data = read_http_response(s, timeout=5)
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
        rv = copy.deepcopy(review)
        rv["request"]["uid"] = "ka-%d" % i
        status, hdrs, data = srv.review("/mutate", rv, conn=c)
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
    weird = copy.deepcopy(review)
    weird["request"]["uid"] = 'we"ird\nuid\\\u0001\u00e9'
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


# ------------------------------------------------------------------------------------------------
def guard_cases():
    """test/fixtures/guards/*.json: a review of an ACK Table or a kro DynamoDBTable, the serve
    flags, and the golden /validate response (without uid)."""
    cases = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "guards", "*.json"))):
        with open(path) as f:
            cases.append((os.path.basename(path)[:-5], json.load(f)))
    return cases


def group_guards():
    """ACK Tables and kro DynamoDBTables through the real server: golden /validate answers for
    every rule, /mutate leaves them untouched, Applications still answered, metrics and logs
    carry the kind."""
    certs = make_certs(tmpdir("dsw-guards-"))
    cases = guard_cases()
    check(len(cases) >= 30, "%d golden cases in test/fixtures/guards" % len(cases))
    groups = {"dynamodb.services.k8s.aws": set(), "kro.run": set()}
    for name, c in cases:
        k = c["review"]["request"]["kind"]
        groups[k["group"]].add(k["version"])
    check(groups["dynamodb.services.k8s.aws"] >= {"v1alpha1", "v1"} and groups["kro.run"] >= {"v1alpha1", "v1"},
          "the cases cover v1alpha1 and v1 of both groups (%s)" % groups)
    ops = {c["review"]["request"]["operation"] for _, c in cases}
    check(ops == {"CREATE", "UPDATE"}, "the cases cover CREATE and UPDATE")
    servers = {}
    for flags in sorted({tuple(c["flags"]) for _, c in cases}):
        servers[flags] = Server(BINARY, certs, *flags)
    m0 = {f: s.metrics() for f, s in servers.items()}

    print("golden /validate answers")
    expected_counts = {}
    for name, c in cases:
        srv = servers[tuple(c["flags"])]
        rv = c["review"]
        status, hdrs, data = srv.review("/validate", rv)
        out = json.loads(data) if status == 200 else {}
        resp = dict(out.get("response", {}))
        uid = resp.pop("uid", None)
        check(status == 200 and out.get("apiVersion") == rv["apiVersion"] and uid == rv["request"]["uid"]
              and resp == c["validate"],
              "%s: /validate answers the golden response%s" % (
                  name, "" if resp == c["validate"] else "\n    got  %s\n    want %s" % (
                      json.dumps(resp), json.dumps(c["validate"]))))
        kind = rv["request"]["kind"]["kind"]
        verdict = "allowed" if c["validate"]["allowed"] else "denied"
        key = (tuple(c["flags"]), "validate", kind, verdict)
        expected_counts[key] = expected_counts.get(key, 0) + 1

        status, _, data = srv.review("/mutate", rv)
        resp = json.loads(data)["response"] if status == 200 else {}
        check(status == 200 and resp == {"uid": rv["request"]["uid"], "allowed": True},
              "%s: /mutate allows it untouched (no patch, no warnings)" % name)
        key = (tuple(c["flags"]), "mutate", kind, "allowed")
        expected_counts[key] = expected_counts.get(key, 0) + 1

    print("other kinds and Applications")
    srv = servers[()]
    _, base = cases[0]
    other = copy.deepcopy(base["review"])
    other["request"]["uid"] = "guard-global-table"
    other["request"]["kind"]["group"] = "dynamodb.services.k8s.aws"
    other["request"]["kind"]["kind"] = "GlobalTable"
    other["request"]["object"]["spec"]["streamSpecification"] = "junk"
    status, _, data = srv.review("/validate", other)
    check(status == 200 and json.loads(data)["response"] == {"uid": other["request"]["uid"], "allowed": True},
          "a GlobalTable of the ACK group is allowed untouched")
    status, _, data = srv.review("/validate", basic_review())
    check(status == 200 and json.loads(data)["response"]["allowed"] is True,
          "Applications are still validated by the same server")

    print("metrics by kind")
    for flags, srv in servers.items():
        m1 = srv.metrics()
        for endpoint in ("validate", "mutate"):
            for kind in ("Table", "DynamoDBTable"):
                for verdict in ("allowed", "denied"):
                    key = ('dynamodb_streams_webhook_admission_requests_total'
                           '{endpoint="%s",kind="%s",outcome="%s"}' % (endpoint, kind, verdict))
                    want = expected_counts.get((flags, endpoint, kind, verdict), 0)
                    got = m1.get(key, 0) - m0[flags].get(key, 0)
                    check(got == want, "%s %s: %s counted %d times (got %d)" % (
                        " ".join(flags) or "default flags", endpoint, key, want, got))
        hc = 'dynamodb_streams_webhook_admission_request_duration_seconds_count{endpoint="validate",kind="Table"}'
        check(m1.get(hc, 0) > m0[flags].get(hc, 0), "the duration histogram counts Tables")
    m1 = servers[()].metrics()
    key = 'dynamodb_streams_webhook_admission_requests_total{endpoint="validate",kind="other",outcome="allowed"}'
    check(m1.get(key, 0) - m0[()].get(key, 0) == 1, "the GlobalTable is counted as kind other")

    print("logs")
    time.sleep(1.5)  # the async logger flushes at least every second
    lines = [json.loads(l) for l in servers[()].log_lines() if l.startswith("{")]
    reviews = {(p.get("uid"), p.get("endpoint")): p for p in lines if p.get("msg") == "review"}
    for name, c in cases:
        if c["flags"]:
            continue
        rq = c["review"]["request"]
        line = reviews.get((rq["uid"], "validate"), {})
        want = "%s.%s" % (rq["kind"]["kind"], rq["kind"]["group"])
        check(line.get("kind") == want and line.get("name") == "orders" and line.get("operation") == rq["operation"]
              and line.get("verdict") == ("allowed" if c["validate"]["allowed"] else "denied")
              and line.get("warnings") == len(c["validate"].get("warnings", [])),
              "%s: the review line names kind %s, the verdict and the warnings (%s)" % (name, want, line))
    text = "\n".join(servers[()].log_lines())
    check("us-west-2" not in text and "orderId" not in text and "new_and_old_images" not in text,
          "no object contents in the logs")
    for srv in servers.values():
        srv.kill()


# ------------------------------------------------------------------------------------------------
def handshake_error(port, ctx):
    try:
        s = tls_socket(port, ctx, timeout=5)
        # TLS 1.3 reports a refused client certificate only on the first read.
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, _, _ = read_http_response(s, timeout=5)
        s.close()
        return None if status == 200 else "status %s" % status
    except (ssl.SSLError, OSError) as e:
        return "%s %s" % (type(e).__name__, e)


def group_tls():
    certs = make_certs(tmpdir("dsw-tls-"), "--client")
    other = make_certs(tmpdir("dsw-tls-other-"), "--client")
    ca = os.path.join(certs, "ca.crt")
    srv = Server(BINARY, certs)

    print("protocol versions and ciphers")
    s = tls_socket(srv.port, srv.context(maximum=ssl.TLSVersion.TLSv1_2))
    check(s.version() == "TLSv1.2" and s.cipher()[0].startswith("ECDHE-") and "GCM" in s.cipher()[0]
          or "CHACHA" in s.cipher()[0], "TLS 1.2 negotiates an ECDHE AEAD cipher (%s)" % (s.cipher(),))
    s.close()
    s = tls_socket(srv.port, srv.context())
    check(s.version() == "TLSv1.3", "TLS 1.3 is offered (%s)" % s.version())
    s.close()
    ctx = client_context(ca, minimum=ssl.TLSVersion.TLSv1_1, maximum=ssl.TLSVersion.TLSv1_1,
                         ciphers="DEFAULT:@SECLEVEL=0")
    err = handshake_error(srv.port, ctx)
    check(err is not None and "PROTOCOL_VERSION" in err,
          "TLS 1.1 is refused by the server with a protocol_version alert (%s)" % err)
    for cipher in ["AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"]:
        ctx = client_context(ca, maximum=ssl.TLSVersion.TLSv1_2, ciphers=cipher)
        err = handshake_error(srv.port, ctx)
        check(err is not None and "HANDSHAKE_FAILURE" in err,
              "TLS 1.2 cipher %s (no ECDHE or no AEAD) is refused (%s)" % (cipher, err))
    check(handshake_error(srv.port, client_context(ca, maximum=ssl.TLSVersion.TLSv1_2,
                                                   ciphers="ECDHE-ECDSA-CHACHA20-POLY1305")) is None,
          "TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305 is accepted")
    for name in ["localhost", "dynamodb-streams-webhook.dynamodb-streams-webhook.svc"]:
        ctx = srv.context()
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname=name)
        check(s.getpeercert() is not None, "certificate verifies for the name %s" % name)
        s.close()
    srv.kill()

    srv13 = Server(BINARY, certs, "--tls-min-version=1.3")
    err = handshake_error(srv13.port, client_context(ca, maximum=ssl.TLSVersion.TLSv1_2))
    check(err is not None and "PROTOCOL_VERSION" in err, "--tls-min-version 1.3 refuses TLS 1.2 (%s)" % err)
    check(handshake_error(srv13.port, client_context(ca)) is None, "--tls-min-version 1.3 serves TLS 1.3")
    srv13.kill()

    print("client certificates")
    srvc = Server(BINARY, certs, "--client-ca-file", ca, wait_ready=False)
    good = client_context(ca, cert=os.path.join(certs, "client.crt"), key=os.path.join(certs, "client.key"))
    deadline = time.time() + 10
    while handshake_error(srvc.port, good) is not None and time.time() < deadline:
        time.sleep(0.05)
    for v in [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]:
        good = client_context(ca, maximum=v, cert=os.path.join(certs, "client.crt"),
                              key=os.path.join(certs, "client.key"))
        check(handshake_error(srvc.port, good) is None, "client-cert mode: a certificate from the CA is served (%s)" % v.name)
        err = handshake_error(srvc.port, client_context(ca, maximum=v))
        check(err is not None, "client-cert mode: no client certificate is refused (%s: %s)" % (v.name, err))
        wrong = client_context(ca, maximum=v, cert=os.path.join(other, "client.crt"),
                               key=os.path.join(other, "client.key"))
        err = handshake_error(srvc.port, wrong)
        check(err is not None, "client-cert mode: a certificate from another CA is refused (%s: %s)" % (v.name, err))
    status, _, data = srvc.review("/mutate", basic_review()) if False else (None, None, None)
    c = srvc.connect(ctx=client_context(ca, cert=os.path.join(certs, "client.crt"), key=os.path.join(certs, "client.key")))
    status, _, data = srvc.review("/mutate", basic_review(), conn=c)
    check(status == 200 and json.loads(data)["response"]["allowed"], "client-cert mode answers a review")
    c.close()
    srvc.kill()


# ------------------------------------------------------------------------------------------------
def run_start(*args, timeout=10):
    p = subprocess.run([BINARY, "serve", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def group_startup():
    certs = make_certs(tmpdir("dsw-start-"))
    other = make_certs(tmpdir("dsw-start-other-"))
    crt, key = os.path.join(certs, "tls.crt"), os.path.join(certs, "tls.key")
    base = ["--port", "0", "--bind-address", "127.0.0.1"]

    rc, out, err = run_start("--help")
    check(rc == 0, "serve --help exits 0")
    for flag, default in [("--tls-cert-file", None), ("--tls-private-key-file", None),
                          ("--port", "8443"), ("--bind-address", "0.0.0.0"), ("--client-ca-file", None),
                          ("--tls-min-version", "1.2"), ("--log-level", "info"), ("--log-format", "json"),
                          ("--shutdown-delay", "5s"), ("--shutdown-timeout", "25s"),
                          ("--max-request-bytes", "7Mi"), ("--applies-to", "aws-dynamodb-kro"),
                          ("--enforcement", "deny"), ("--unknown-properties", "deny"),
                          ("--view-type-change", "deny")]:
        line = next((l for l in out.splitlines() if l.strip().startswith(flag + " ")), "")
        check(line and (default is None or "(default %s)" % default in line),
              "--help lists %s%s" % (flag, "" if default is None else " with default " + default))

    def one_line_error(args, must_name, what):
        rc, out, err = run_start(*args)
        lines = [l for l in err.splitlines() if l.strip()]
        check(rc != 0 and len(lines) == 1 and all(n in lines[0] for n in must_name),
              "%s: exits non-zero with one line naming %s (rc=%s, %r)" % (what, must_name, rc, err))

    missing = os.path.join(certs, "missing.crt")
    one_line_error(["--tls-cert-file", missing, "--tls-private-key-file", key] + base, [missing], "missing certificate")
    one_line_error(["--tls-cert-file", crt, "--tls-private-key-file", missing] + base, [missing], "missing key")
    notpem = os.path.join(certs, "notpem.crt")
    with open(notpem, "w") as f:
        f.write("hello\n")
    one_line_error(["--tls-cert-file", notpem, "--tls-private-key-file", key] + base, [notpem], "certificate not PEM")
    one_line_error(["--tls-cert-file", crt, "--tls-private-key-file", notpem] + base, [notpem], "key not PEM")
    okey = os.path.join(other, "tls.key")
    one_line_error(["--tls-cert-file", crt, "--tls-private-key-file", okey] + base, [okey, crt], "key does not match")
    one_line_error(["--tls-cert-file", crt, "--tls-private-key-file", key, "--client-ca-file", missing] + base,
                   [missing], "missing client CA")
    one_line_error(["--tls-cert-file", certs, "--tls-private-key-file", key] + base, [certs], "certificate path is a directory")

    for args, what in [(["--tls-private-key-file", key], "missing --tls-cert-file"),
                       (["--tls-cert-file", crt], "missing --tls-private-key-file"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--port", "70000"], "port out of range"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--tls-min-version", "1.1"], "TLS 1.1 as minimum"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--log-format", "xml"], "unknown log format"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--shutdown-delay", "soon"], "bad duration"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--max-request-bytes", "lots"], "bad size"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--unknown-properties", "ignore"], "bad enforcement"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--enforcement", "dryrun"], "bad --enforcement"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--nope"], "unknown flag")]:
        rc, out, err = run_start(*args)
        check(rc == 2 and err.strip() and len(err.strip().splitlines()) == 1, "usage error exits 2 with one line: %s (%r)" % (what, err.strip()))

    srv = Server(BINARY, certs)
    rc, out, err = run_start("--tls-cert-file", crt, "--tls-private-key-file", key, "--bind-address",
                             "127.0.0.1", "--port", str(srv.port))
    check(rc != 0 and str(srv.port) in err and len(err.strip().splitlines()) == 1,
          "a port in use stops start-up with one line naming it (%r)" % err.strip())
    srv.kill()

    # Both flag spellings and the text log format.
    p = subprocess.Popen([BINARY, "serve", "--tls-cert-file=" + crt, "--tls-private-key-file", key,
                          "--bind-address=127.0.0.1", "--port", "0", "--log-format=text",
                          "--log-level", "debug", "--shutdown-delay=0s"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    check(p.returncode == 0 and " info " in err and "serving" in err and "port=" in err,
          "--flag=value and --flag value both work; text logs; SIGINT exits 0 (%r)" % err[:200])


# ------------------------------------------------------------------------------------------------
class Load:
    """Reviews sent continuously from threads until stop(); counts every failure. Some threads
    open a new connection (a new handshake) per request and record the certificate served; the
    others reuse one keep-alive connection."""

    def __init__(self, srv, fresh=3, keepalive=3, stop_at=None):
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
        rv = basic_review()
        rv["request"]["uid"] = uid
        status, _, data = self.srv.review("/mutate", rv, conn=conn)
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


def wait_for(pred, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def reloads(srv, result):
    return srv.metrics().get('dynamodb_streams_webhook_certificate_reloads_total{result="%s"}' % result, 0)


def group_rotation():
    gen = tmpdir("dsw-rot-gen-")
    pairs = []
    for days in [365, 30, 90]:  # three serving certificates from one CA, like renewals
        make_certs(gen, "--days", str(days))
        d = tmpdir("dsw-rot-pair-")
        for f in ["tls.crt", "tls.key", "ca.crt"]:
            with open(os.path.join(gen, f), "rb") as a, open(os.path.join(d, f), "wb") as b:
                b.write(a.read())
        pairs.append((os.path.join(d, "tls.crt"), os.path.join(d, "tls.key"), cert_info(os.path.join(d, "tls.crt"))))
    mount = tmpdir("dsw-rot-mount-")
    with open(os.path.join(gen, "ca.crt"), "rb") as a, open(os.path.join(mount, "ca.crt"), "wb") as b:
        b.write(a.read())
    swap_data(mount, "..2024_01_01", pairs[0][0], pairs[0][1])
    os.symlink("..data/tls.crt", os.path.join(mount, "tls.crt"))
    os.symlink("..data/tls.key", os.path.join(mount, "tls.key"))

    srv = Server(BINARY, mount)
    load = Load(srv)
    time.sleep(1)
    (s1, _), (s2, exp2), (s3, exp3) = pairs[0][2], pairs[1][2], pairs[2][2]
    check(load.serial_after(0) and set(load.serial_after(0)) == {s1}, "first pair is served")

    print("rotation through ..data")
    t = time.time()
    swap_data(mount, "..2024_02_01", pairs[1][0], pairs[1][1])
    got = wait_for(lambda: s2 in load.serial_after(t), 10)
    check(got, "new handshakes get the rotated certificate within 10 s (%.1f s)" % (time.time() - t))
    time.sleep(0.5)
    t2 = time.time()
    time.sleep(0.5)
    check(set(load.serial_after(t2)) == {s2}, "after the swap only the new certificate is served")
    check(srv.metrics().get("dynamodb_streams_webhook_certificate_expiry_timestamp_seconds") == exp2,
          "expiry metric follows the new certificate")
    ok_reloads = reloads(srv, "success")
    check(ok_reloads >= 1, "reload success counted")

    print("broken pairs are refused")
    failed0 = reloads(srv, "failure")
    swap_data(mount, "..2024_03_01", pairs[2][0], pairs[0][1])  # key of another certificate
    check(wait_for(lambda: reloads(srv, "failure") == failed0 + 1, 10), "a mismatched pair is refused and counted")
    t3 = time.time()
    time.sleep(1)
    check(set(load.serial_after(t3)) == {s2}, "the last good certificate keeps serving")
    swap_data(mount, "..2024_04_01", pairs[2][0], None)  # key file missing (dangling symlink)
    check(wait_for(lambda: reloads(srv, "failure") == failed0 + 2, 10), "a pair with an unreadable key is refused and counted")
    garbage = os.path.join(gen, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    swap_data(mount, "..2024_05_01", garbage, pairs[2][1])
    check(wait_for(lambda: reloads(srv, "failure") == failed0 + 3, 10), "a certificate that is not PEM is refused and counted")
    t4 = time.time()
    time.sleep(0.5)
    check(set(load.serial_after(t4)) == {s2}, "still the last good certificate")
    errors = [json.loads(l) for l in srv.log_lines() if '"level":"error"' in l]
    check(len(errors) >= 3 and all("refused" in e["msg"] for e in errors),
          "each refusal is logged as an error (%d)" % len(errors))

    print("a later good pair is picked up")
    t = time.time()
    swap_data(mount, "..2024_06_01", pairs[2][0], pairs[2][1])
    check(wait_for(lambda: s3 in load.serial_after(t), 10), "the next good pair is served (%.1f s)" % (time.time() - t))
    check(srv.metrics().get("dynamodb_streams_webhook_certificate_expiry_timestamp_seconds") == exp3,
          "expiry metric follows")
    time.sleep(0.5)
    load.stop()
    check(load.ok > 100 and not load.failures,
          "zero failed requests during rotation (%d ok, failures: %s)" % (load.ok, load.failures[:3]))
    srv.kill()


# ------------------------------------------------------------------------------------------------
def group_shutdown():
    certs = make_certs(tmpdir("dsw-shut-"))
    delay = 3.0
    srv = Server(BINARY, certs, "--shutdown-delay", "3s", "--shutdown-timeout=10s")
    ctx = srv.context()
    idle = srv.connect()
    status, _, _ = srv.request("GET", "/healthz", conn=idle)
    load = Load(srv, fresh=2, keepalive=4)
    time.sleep(0.5)

    # A request in flight across the moment the listener closes: headers and half the body now,
    # the rest after the shutdown delay.
    body = json.dumps(basic_review()).encode()
    slow = tls_socket(srv.port, ctx)
    slow.sendall(b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body[: len(body) // 2])

    t0 = time.time()
    srv.signal(signal.SIGTERM)
    status, _, data = srv.request("GET", "/readyz")
    check(status == 503 and time.time() - t0 < 0.5, "/readyz answers 503 at once after SIGTERM (%s)" % status)
    check(srv.request("GET", "/healthz")[0] == 200, "/healthz still answers 200")
    status, _, _ = srv.review("/mutate", basic_review())
    check(status == 200, "reviews are still served during the shutdown delay")

    time.sleep(delay - 1.0 - (time.time() - t0))
    load.stop()  # endpoints have propagated: the apiserver stops sending
    check(load.ok > 50 and not load.failures,
          "zero dropped requests while draining (%d ok, failures: %s)" % (load.ok, load.failures[:3]))

    time.sleep(max(0, t0 + delay + 0.5 - time.time()))
    refused = False
    try:
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
    except ConnectionRefusedError:
        refused = True
    check(refused, "after the delay new connections are refused")
    idle.sock.settimeout(2)
    try:
        closed = idle.sock.recv(1) == b""
    except (ssl.SSLError, OSError):
        closed = True
    check(closed, "idle keep-alive connections are closed after the delay")
    check(srv.proc.poll() is None, "the process waits for the in-flight request")
    slow.sendall(body[len(body) // 2:])
    status, hdrs, data = read_http_response(slow)
    check(status == 200 and json.loads(data)["response"]["uid"] == basic_review()["request"]["uid"],
          "the in-flight request is finished with 200 (%s)" % status)
    check(hdrs.get("connection") == "close", "and answered with Connection: close")
    slow.close()
    rc = srv.wait(10)
    check(rc == 0 and time.time() - t0 < 10, "exit 0 within --shutdown-timeout (rc=%s, %.1f s)" % (rc, time.time() - t0))
    check(any('"msg":"stopped"' in l for l in srv.log_lines()), "logged 'stopped'")

    print("shutdown timeout")
    srv = Server(BINARY, certs, "--shutdown-delay=0s", "--shutdown-timeout", "1500ms")
    stuck = tls_socket(srv.port, srv.context())
    stuck.sendall(b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{")
    time.sleep(0.2)
    t0 = time.time()
    srv.signal(signal.SIGTERM)
    rc = srv.wait(5)
    took = time.time() - t0
    check(rc is not None and rc != 0 and 1.3 < took < 2.5,
          "a request that never finishes is cut at --shutdown-timeout (rc=%s after %.1f s)" % (rc, took))
    time.sleep(0.2)
    check(any("shutdown timeout" in l for l in srv.log_lines()), "the cut is logged")
    stuck.close()


# ------------------------------------------------------------------------------------------------
def group_concurrency():
    certs = make_certs(tmpdir("dsw-conc-"))
    srv = Server(BINARY, certs)
    ctx = srv.context()
    body = json.dumps(basic_review()).encode()

    print("200 idle keep-alive connections")
    # cpp-httplib holds a thread per connection for its whole keep-alive life; the task queue
    # grows a thread per connection, so idle ones (the apiserver keeps up to 25 per instance,
    # and a cluster may run three) never keep a new connection waiting.
    conns = []
    for i in range(200):
        c = srv.connect(ctx)
        srv.request("POST", "/mutate", body, JSON, conn=c)
        conns.append(c)
    time.sleep(1.5)  # idle
    threads = len(os.listdir("/proc/%d/task" % srv.proc.pid))
    t = time.perf_counter()
    status, _, _ = srv.request("POST", "/mutate", body, JSON)
    took = time.perf_counter() - t
    check(status == 200 and took < 0.25,
          "a new connection is served at once while 200 are idle (%.1f ms; %d threads)" % (took * 1000, threads))
    check(threads > 200, "each idle connection holds a thread of its own (%d threads)" % threads)
    worst, socks_same = 0.0, True
    for c in conns:
        s = c.sock
        t = time.perf_counter()
        status, _, _ = srv.request("POST", "/mutate", body, JSON, conn=c)
        dt = time.perf_counter() - t
        worst = max(worst, dt if status == 200 else 99)
        socks_same = socks_same and c.sock is s
    check(worst < 0.05 and socks_same,
          "each of 200 idle keep-alive connections is answered on reuse within 50 ms (worst %.1f ms)" % (worst * 1000))
    for c in conns:
        c.close()

    print("slow clients")
    slow = []
    for i in range(64):  # TCP connected, never starts TLS
        slow.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
    trickle = []
    for i in range(64):  # TLS up, request headers trickling in
        s = tls_socket(srv.port, ctx)
        s.sendall(b"POST /mutate HTTP/1.1\r\n")
        trickle.append(s)
    worst = 0.0
    end = time.time() + 4
    n = 0
    while time.time() < end:
        for s in trickle:
            s.sendall(b"X")
        t = time.perf_counter()
        status, _, _ = srv.request("POST", "/mutate", body, JSON)
        dt = time.perf_counter() - t
        worst = max(worst, dt if status == 200 else 99)
        n += 1
        time.sleep(0.2)
    check(n >= 10 and worst < 1.0,
          "with 64 silent and 64 trickling connections, %d requests all answered within 1 s (worst %.0f ms)"
          % (n, worst * 1000))
    for s in slow + trickle:
        s.close()

    print("large reviews at the default limit")
    rv = basic_review()
    big = "x" * (3 * 1024 * 1024)
    obj = rv["request"]["object"]
    obj["metadata"]["annotations"] = {"big": big}
    old = copy.deepcopy(obj)
    rv["request"]["operation"] = "UPDATE"
    rv["request"]["oldObject"] = old
    data = json.dumps(rv).encode()
    check(6 * 1024 * 1024 < len(data) <= 7 * 1024 * 1024, "an UPDATE with two 3 MiB objects (%d bytes)" % len(data))
    status, _, out = srv.request("POST", "/mutate", data, JSON, timeout=20)
    check(status == 200 and json.loads(out)["response"]["allowed"], "is answered 200 (got %s)" % status)
    status, _, _ = srv.request("POST", "/mutate", data + b" " * (7 * 1024 * 1024 + 1 - len(data)), JSON, timeout=20)
    check(status == 413, "one byte over 7 MiB is 413 (got %s)" % status)
    check(srv.request("GET", "/healthz")[0] == 200, "still healthy")
    srv.kill()


# ------------------------------------------------------------------------------------------------
CAP = 20


def warn_cases():
    """Every review of the test data, with the serve flags it is answered under: the golden
    cases of test/fixtures/guards, the serve corpus of fuzz/ (reviews of Applications and tables,
    and bodies that are not reviews), and each Application of test/fixtures/check and
    test/fixtures/defaulting sent as a CREATE."""
    import yaml
    out = [(name, tuple(c["flags"]), json.dumps(c["review"]).encode()) for name, c in guard_cases()]
    for path in sorted(glob.glob(os.path.join(ROOT, "fuzz", "corpus", "serve", "*.json"))):
        with open(path, "rb") as f:
            out.append(("corpus/" + os.path.basename(path), (), f.read()))
    n = 0
    for path in sorted(glob.glob(os.path.join(FIXTURES, "check", "*.yaml"))):
        try:
            docs = list(yaml.safe_load_all(open(path)))
        except yaml.YAMLError:
            continue
        for d in docs:
            if isinstance(d, dict) and d.get("kind") == "Application":
                n += 1
                out.append(("check/%s#%d" % (os.path.basename(path), n), (),
                            json.dumps(review_for(d, uid="check-%d" % n)).encode()))
    for path in sorted(glob.glob(os.path.join(FIXTURES, "defaulting", "*.json"))):
        obj = json.load(open(path))["object"]
        out.append(("defaulting/" + os.path.basename(path), (),
                    json.dumps(review_for(obj, uid="dflt-" + os.path.basename(path))).encode()))
    return out


def would_be_warnings(resp):
    """The warnings --enforcement warn must give for a deny-mode answer: each cause's field error
    string (or the message of a plain denial), then the deny-mode warnings, at most CAP."""
    st = resp["status"]
    causes = st.get("details", {}).get("causes", [])
    texts = [c["field"] + ": " + c["message"] for c in causes] if causes else [st["message"]]
    texts += resp.get("warnings", [])
    if len(texts) > CAP:
        texts = texts[:CAP - 1] + ["... and %d more warnings" % (len(texts) - (CAP - 1))]
    return texts


def same_warning(got, want):
    """`got` is `want`, or `want` cut to 256 bytes ending in "..." (the apiserver's limit)."""
    if got == want:
        return True
    return (len(want.encode()) > 256 and len(got.encode()) <= 256 and got.endswith("...")
            and want.startswith(got[:-3]))


def group_warn():
    """`serve --enforcement warn` next to `serve` (deny): every review of the test data that deny
    refuses for its content is allowed, warning with the deny answer's field error strings in the
    same order and then its warnings; everything else (allowed answers, 400s, /mutate) is byte for
    byte the same; the cap of 20 warnings; metrics and logs say warned."""
    certs = make_certs(tmpdir("dsw-warn-"))
    cases = warn_cases()
    flag_sets = sorted({f for _, f, _ in cases})
    deny = {f: Server(BINARY, certs, *f) for f in flag_sets}
    warn = {f: Server(BINARY, certs, *f, "--enforcement", "warn") for f in flag_sets}
    m0 = {f: s.metrics() for f, s in warn.items()}

    def post(srv, path, body):
        status, _, data = srv.request("POST", path, body, JSON)
        return status, data

    print("every denial of the test data becomes warnings")
    denied, kinds, counts = [], set(), {}
    for name, flags, body in cases:
        ds, dbody = post(deny[flags], "/validate", body)
        ws, wbody = post(warn[flags], "/validate", body)
        dresp = json.loads(dbody)["response"] if ds == 200 else None
        if not (dresp and dresp["allowed"] is False and dresp["status"]["code"] in (403, 422)):
            check(ws == ds and wbody == dbody,
                  "%s: not a denial for content (HTTP %s), answered the same in both modes" % (name, ds))
            continue
        review = json.loads(body)
        kind = review["request"]["kind"]["kind"]
        kinds.add(kind)
        counts[(flags, kind)] = counts.get((flags, kind), 0) + 1
        denied.append((name, review["request"]["uid"]))
        wout = json.loads(wbody) if ws == 200 else {}
        wresp = wout.get("response", {})
        want = would_be_warnings(dresp)
        got = wresp.get("warnings", [])
        check(ws == 200 and wout.get("apiVersion") == review["apiVersion"]
              and wresp.get("uid") == review["request"]["uid"] and wresp.get("allowed") is True
              and "status" not in wresp and "patch" not in wresp
              and len(got) == len(want) and all(same_warning(g, w) for g, w in zip(got, want)),
              "%s: allowed, warning with what deny refused it for%s" % (
                  name, "" if len(got) == len(want) and all(map(same_warning, got, want))
                  else "\n    got  %s\n    want %s" % (got, want)))
        dm, dmbody = post(deny[flags], "/mutate", body)
        wm, wmbody = post(warn[flags], "/mutate", body)
        check(dm == wm == 200 and dmbody == wmbody, "%s: /mutate answers byte for byte the same" % name)
    check(len(denied) >= 30 and {"Application", "Table", "DynamoDBTable"} <= kinds,
          "%d denials of Applications and both table kinds were turned into warnings (%s)"
          % (len(denied), sorted(kinds)))

    print("at most 20 warnings")
    comps = [{"name": "t%d" % i, "type": "aws-dynamodb-kro", "properties": {"tableName": "t"},
              "traits": [{"type": "dynamodb-streams-kro",
                          "properties": {"enabled": "yes", "viewType": "NEW_AND_OLD_IMAGES"}}]}
             for i in range(30)]
    big = review_for({"apiVersion": "core.oam.dev/v1beta1", "kind": "Application",
                      "metadata": {"name": "many", "namespace": "default"},
                      "spec": {"components": comps}}, uid="warn-many")
    _, dbody = post(deny[()], "/validate", json.dumps(big).encode())
    dresp = json.loads(dbody)["response"]
    causes = dresp["status"]["details"]["causes"]
    _, wbody = post(warn[()], "/validate", json.dumps(big).encode())
    got = json.loads(wbody)["response"].get("warnings", [])
    check(len(causes) == 30 and len(got) == 20
          and got[:19] == [c["field"] + ": " + c["message"] for c in causes[:19]]
          and got[19] == "... and 11 more warnings",
          "30 errors: the first 19 as warnings, the 20th says '... and 11 more warnings' (%s)" % got[19:])
    counts[((), "Application")] = counts.get(((), "Application"), 0) + 1
    denied.append(("many", "warn-many"))

    print("metrics")
    for flags, srv in warn.items():
        m1 = srv.metrics()
        for kind in ("Application", "Table", "DynamoDBTable"):
            key = ('dynamodb_streams_webhook_admission_requests_total'
                   '{endpoint="validate",kind="%s",outcome="%%s"}' % kind)
            got_w = m1.get(key % "warned", 0) - m0[flags].get(key % "warned", 0)
            got_d = m1.get(key % "denied", 0) - m0[flags].get(key % "denied", 0)
            want_w = counts.get((flags, kind), 0)
            check(got_w == want_w and got_d == 0,
                  "%s: %s counted %d times as warned (got %d) and never denied (got %d)"
                  % (" ".join(flags) or "default flags", kind, want_w, got_w, got_d))
    m = deny[()].metrics()
    check('dynamodb_streams_webhook_admission_requests_total{endpoint="validate",kind="Application",outcome="warned"}' in m
          and m['dynamodb_streams_webhook_admission_requests_total{endpoint="validate",kind="Application",outcome="warned"}'] == 0,
          "the warned series is exported at 0 by a server in deny mode")

    print("logs")
    time.sleep(1.5)  # the async logger flushes at least every second
    for mode, servers in (("deny", deny), ("warn", warn)):
        serving = [json.loads(l) for l in servers[()].log_lines() if '"msg":"serving"' in l]
        check(serving and serving[0].get("enforcement") == mode,
              "the serving line says enforcement %s (%s)" % (mode, serving))
    lines = []
    for srv in warn.values():
        lines += [json.loads(l) for l in srv.log_lines() if l.startswith("{")]
    # (uids repeat across the corpus: count the lines, and find every uid among them)
    warned = [p.get("uid") for p in lines if p.get("msg") == "review"
              and p.get("endpoint") == "validate" and p.get("verdict") == "warned"]
    missing = [n for n, u in denied if u not in warned]
    check(len(warned) == len(denied) and not missing,
          "one review line with verdict warned per would-be denial (%d of %d; missing %s)"
          % (len(warned), len(denied), missing[:3]))
    for srv in list(deny.values()) + list(warn.values()):
        srv.kill()


# ------------------------------------------------------------------------------------------------
def main():
    global BINARY
    BINARY = sys.argv[1]
    group = sys.argv[2]
    fn = globals().get("group_" + group)
    if fn is None:
        print("unknown group " + group)
        sys.exit(2)
    fn()
    finish()


if __name__ == "__main__":
    main()
