#!/usr/bin/env python3
"""Graceful shutdown (`ctest -R serve_shutdown`): after SIGTERM /readyz answers 503 at once while
reviews are still served for --shutdown-delay, then new connections are refused, idle keep-alive
connections closed and the request in flight finished; a request that never ends is cut at
--shutdown-timeout.

Usage: serve_shutdown_test.py BINARY
"""
import json
import os
import signal
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import Load, Server, basic_review, check, make_certs, run, tls_socket, tmpdir  # noqa: E402
from http_wire import read_response  # noqa: E402  test/support, on the path serve_support sets


def group_shutdown(binary):
    certs = make_certs(tmpdir("dsw-shut-"))
    delay = 3.0
    srv = Server(binary, certs, "--shutdown-delay", "3s", "--shutdown-timeout=10s")
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
    status, hdrs, data = read_response(slow)
    check(status == 200 and json.loads(data)["response"]["uid"] == basic_review()["request"]["uid"],
          "the in-flight request is finished with 200 (%s)" % status)
    check(hdrs.get("connection") == "close", "and answered with Connection: close")
    slow.close()
    rc = srv.wait(10)
    check(rc == 0 and time.time() - t0 < 10, "exit 0 within --shutdown-timeout (rc=%s, %.1f s)" % (rc, time.time() - t0))
    check(any('"msg":"stopped"' in l for l in srv.log_lines()), "logged 'stopped'")

    print("shutdown timeout")
    srv = Server(binary, certs, "--shutdown-delay=0s", "--shutdown-timeout", "1500ms")
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


if __name__ == "__main__":
    run(group_shutdown)
