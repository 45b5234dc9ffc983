#!/usr/bin/env python3
"""Every SIGTERM ends `dynamodb-streams-webhook serve` cleanly: exit status 0, the `stopped` line
logged last, no crash (Kubernetes sends SIGTERM on every rollout, scale-down and node drain).

The server is started and stopped CYCLES times (100; 30 under a sanitizer, whose builds are
several times slower), a third of the times in each of three states, because a process that
returns from main() while threads of its own still run (or run their thread-exit destructors,
OpenSSL's among them) can crash in the exit-time cleanup, and did, about once in 25 stops:
  burst  after wrk opened 256 connections at once, kept them until the server ran a thread for
         each, and closed them: 256 worker threads left idle
  load   while wrk keeps 64 connections busy
  idle   with nothing happening
Each stop uses --shutdown-delay 0 (the delay is tested by serve_shutdown_test.py). wrk
runs on 127.0.0.1 only, for a bounded time; every wait is bounded.

Usage: exit_test.py BINARY [--cycles N]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from serve_support import HOST, Server, basic_review, check, finish, make_certs, tmpdir  # noqa: E402
from hostile_support import SANITIZER, SLOW, threads  # noqa: E402

WRK_SCRIPT = """
local f = assert(io.open(os.getenv("DSW_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.path = "/mutate"
"""


def wrk(port, connections, seconds, script, env):
    return subprocess.Popen(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds,
                             "--timeout", "%ds" % (5 * SLOW), "-s", script,
                             "https://%s:%d/mutate" % (HOST, port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def answered(srv):
    """Reviews answered so far, from /metrics (None when the server does not answer)."""
    try:
        m = srv.metrics()
    except OSError:
        return None
    return sum(v for key, v in m.items()
               if key.startswith("dynamodb_streams_webhook_admission_requests_total{"))


def stop(srv, what, failures):
    """SIGTERM, then the exit status and the last log line; records a failure with the log's
    tail."""
    srv.signal(signal.SIGTERM)
    rc = srv.wait(30 * SLOW)
    time.sleep(0.05)  # the reader thread takes the last lines
    lines = srv.log_lines()
    last = lines[-1] if lines else ""
    ok = rc == 0 and '"msg":"stopped"' in last
    if not ok:
        failures.append("%s: exit %s (%s), last line %r, tail %s" % (
            what, rc, "killed by signal %d" % -rc if rc is not None and rc < 0 else "status",
            last, lines[-5:]))
        srv.kill()
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--cycles", type=int, default=30 if SANITIZER else 100)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package wrk; scripts/install-deps.sh --test)")
        sys.exit(1)
    work = tmpdir("dsw-exit-")
    certs = make_certs(os.path.join(work, "certs"))
    body = os.path.join(work, "review.json")
    with open(body, "w") as f:
        json.dump(basic_review(), f)
    script = os.path.join(work, "post.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    env = dict(os.environ, DSW_BODY=body)

    states = ["burst", "load", "idle"]
    counts = {s: 0 for s in states}
    clean = {s: 0 for s in states}
    failures = []
    most_threads = 0
    t0 = time.time()
    for i in range(args.cycles):
        state = states[i % 3]
        counts[state] += 1
        srv = Server(args.binary, certs, "--shutdown-delay", "0")
        load = None
        try:
            if state == "burst":
                # wrk opens its 256 connections at once and keeps them; it is stopped once the
                # server runs a thread for each (a slow build needs longer to accept and shake
                # hands with all of them: waiting for the threads, not for a fixed time, makes
                # the burst the same on every machine), or after a bounded wait.
                w = wrk(srv.port, 256, 60 * SLOW, script, env)
                deadline = time.time() + 20 * SLOW
                while time.time() < deadline and (threads(srv.proc.pid) or 0) < 256:
                    time.sleep(0.05)
                w.terminate()
                w.communicate(timeout=30 * SLOW)
                # The 256 connections are closed; their threads wait for work (reaped after 60 s).
                most_threads = max(most_threads, threads(srv.proc.pid) or 0)
            elif state == "load":
                load = wrk(srv.port, 64, 30, script, env)
                deadline = time.time() + 10 * SLOW
                while time.time() < deadline and (answered(srv) or 0) < 200:
                    time.sleep(0.02)
            if stop(srv, "cycle %d (%s)" % (i + 1, state), failures):
                clean[state] += 1
        finally:
            if load is not None:
                load.kill()
                load.wait(10)
            srv.kill()
    print("%d stops in %.0f s; threads after a burst: up to %d" % (
        args.cycles, time.time() - t0, most_threads))
    for f in failures[:10]:
        print("  " + f)
    check(most_threads >= 200, "a burst of 256 connections left at least 200 worker threads "
          "for the stop to join (seen %d)" % most_threads)
    for s in states:
        check(clean[s] == counts[s], "%s: %d of %d SIGTERMs exited 0 with 'stopped' logged last"
              % (s, clean[s], counts[s]))
    finish()


if __name__ == "__main__":
    main()
