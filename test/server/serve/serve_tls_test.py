#!/usr/bin/env python3
"""TLS of `serve` (`ctest -R serve_tls`): protocol versions and ciphers offered and refused,
--tls-min-version, the names the certificate verifies for, and client certificates
(--client-ca-file) over TLS 1.2 and 1.3.

Usage: serve_tls_test.py BINARY
"""
import json
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import (Server, basic_review, check, client_context, make_certs, run, tls_socket,  # noqa: E402
                           tmpdir)
from http_wire import read_response  # noqa: E402  test/support, on the path serve_support sets


def handshake_error(port, ctx):
    try:
        s = tls_socket(port, ctx, timeout=5)
        # TLS 1.3 reports a refused client certificate only on the first read.
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, _, _ = read_response(s, timeout=5)
        s.close()
        return None if status == 200 else "status %s" % status
    except (ssl.SSLError, OSError) as e:
        return "%s %s" % (type(e).__name__, e)


def group_tls(binary):
    certs = make_certs(tmpdir("dsw-tls-"), "--client")
    other = make_certs(tmpdir("dsw-tls-other-"), "--client")
    ca = os.path.join(certs, "ca.crt")
    srv = Server(binary, certs)

    print("protocol versions and ciphers")
    s = tls_socket(srv.port, srv.context(maximum=ssl.TLSVersion.TLSv1_2))
    check(s.version() == "TLSv1.2" and s.cipher()[0].startswith("ECDHE-")
          and ("GCM" in s.cipher()[0] or "CHACHA" in s.cipher()[0]),
          "TLS 1.2 negotiates an ECDHE AEAD cipher (%s)" % (s.cipher(),))
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

    srv13 = Server(binary, certs, "--tls-min-version=1.3")
    err = handshake_error(srv13.port, client_context(ca, maximum=ssl.TLSVersion.TLSv1_2))
    check(err is not None and "PROTOCOL_VERSION" in err, "--tls-min-version 1.3 refuses TLS 1.2 (%s)" % err)
    check(handshake_error(srv13.port, client_context(ca)) is None, "--tls-min-version 1.3 serves TLS 1.3")
    srv13.kill()

    print("client certificates")
    srvc = Server(binary, certs, "--client-ca-file", ca, wait_ready=False)
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
    c = srvc.connect(ctx=client_context(ca, cert=os.path.join(certs, "client.crt"), key=os.path.join(certs, "client.key")))
    status, _, data = srvc.review("/mutate", basic_review(), conn=c)
    check(status == 200 and json.loads(data)["response"]["allowed"], "client-cert mode answers a review")
    c.close()
    srvc.kill()


if __name__ == "__main__":
    run(group_tls)
