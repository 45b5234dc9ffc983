#!/usr/bin/env python3
"""Many clients at once (`ctest -R serve_concurrency`, run alone): 200 idle keep-alive
connections, 64 silent and 64 trickling ones never keep a new request waiting; reviews at the
default 7 MiB limit are answered and one byte over is 413.

Usage: serve_concurrency_test.py BINARY
"""
import copy
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import JSON, Server, basic_review, check, make_certs, run, tls_socket, tmpdir  # noqa: E402


def group_concurrency(binary):
    certs = make_certs(tmpdir("dsw-conc-"))
    srv = Server(binary, certs)
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
    assert 6 * 1024 * 1024 < len(data) <= 7 * 1024 * 1024, len(data)  # the input, not a check
    status, _, out = srv.request("POST", "/mutate", data, JSON, timeout=20)
    check(status == 200 and json.loads(out)["response"]["allowed"],
          "an UPDATE with two 3 MiB objects (%d bytes) is answered 200 (got %s)" % (len(data), status))
    status, _, _ = srv.request("POST", "/mutate", data + b" " * (7 * 1024 * 1024 + 1 - len(data)), JSON, timeout=20)
    check(status == 413, "one byte over 7 MiB is 413 (got %s)" % status)
    check(srv.request("GET", "/healthz")[0] == 200, "still healthy")
    srv.kill()


if __name__ == "__main__":
    run(group_concurrency)
