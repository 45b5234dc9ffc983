"""Helpers of the hostile-input, advisory, soak and availability tests (hostile_test.py,
advisories_test.py, soak_test.py, exit_test.py) on top of serve_support: the server's memory,
threads and file descriptors read from /proc, "is it still well?" (a good review answered
correctly and the resident set under a bound), and the bounds a sanitizer build relaxes. Raw
requests are written and their answers read by test/support/http_wire.py."""
import json
import os
import socket
import struct
import time

from serve_support import JSON, basic_review, check, decode_patch

# The resident-set bound after every hostile input. The server idles at ~11 MiB; one legitimate
# review at the 7 MiB limit (body + parsed document + answer) briefly needs ~25 MiB more. 64 MiB
# leaves that room and stays at half the chart's 128Mi container limit, so an input that costs
# memory in proportion to what the client sends (not to what the server accepts) trips it.
RSS_BOUND_KIB = 64 * 1024

# Under a sanitizer build (scripts/sanitize.sh sets DSW_SANITIZER) the binary is several times
# slower and its memory is dominated by shadow memory and ASan's quarantine (up to 256 MiB of freed
# blocks): time bounds are multiplied by SLOW and the RSS bound becomes 1 GiB, which still catches
# a server that buffers what a client sends (64 MiB of headers once took it to 1.3 GiB).
SANITIZER = os.environ.get("DSW_SANITIZER", "")
SLOW = 5 if SANITIZER else 1
if SANITIZER:
    RSS_BOUND_KIB = 1024 * 1024


def proc_status(pid, field):
    """A numeric field of /proc/PID/status (VmRSS and VmHWM are in KiB; Threads), or None when the
    process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_kib(pid):
    return proc_status(pid, "VmRSS")


def peak_rss_kib(pid):
    """VmHWM: the highest resident set the process ever had, so a spike between samples counts."""
    return proc_status(pid, "VmHWM")


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def threads(pid):
    return proc_status(pid, "Threads")


def good_review_ok(srv, uid):
    """Sends basic-usage to /mutate on a new connection; True when the answer is 200, echoes
    `uid`, allows and carries the one documented defaulting patch."""
    try:
        status, _, data = srv.review("/mutate", basic_review(uid))
        out = json.loads(data)["response"] if status == 200 else {}
    except (OSError, ValueError, KeyError) as e:
        print("    good review failed: %r" % e)
        return False
    patch = decode_patch(out) or []
    return (status == 200 and out.get("uid") == uid and out.get("allowed") is True
            and len(patch) == 1 and patch[0].get("value", {}).get("viewType") == "NEW_AND_OLD_IMAGES")


_seq = [0]


def still_well(srv, after):
    """The checks that follow every hostile input: the process is alive, a good review is
    answered correctly, and neither its resident set now nor its peak passed RSS_BOUND_KIB."""
    _seq[0] += 1
    alive = srv.proc.poll() is None
    check(alive, "after %s: the server is still running (rc=%s)" % (after, srv.proc.poll()))
    if not alive:
        return False
    t = time.perf_counter()
    ok = good_review_ok(srv, "well-%d" % _seq[0])
    dt = time.perf_counter() - t
    check(ok and dt < 1.0 * SLOW, "after %s: a good review is answered correctly (%.0f ms)" % (after, dt * 1000))
    rss, peak = rss_kib(srv.proc.pid), peak_rss_kib(srv.proc.pid)
    check(rss is not None and peak is not None and rss < RSS_BOUND_KIB and peak < RSS_BOUND_KIB,
          "after %s: RSS %s KiB, peak %s KiB, both under %d KiB" % (after, rss, peak, RSS_BOUND_KIB))
    return ok


# Raw requests over TLS: what a client sends byte for byte.
HEAD = b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
MiB = 1024 * 1024


def post(srv, body, path="/mutate", timeout=20):
    return srv.request("POST", path, body, JSON, timeout=timeout)


def plain_400(status, hdrs, data, *words):
    return (status == 400 and hdrs.get("content-type", "").startswith("text/plain") and len(data) < 300
            and all(w in data.decode("utf-8", "replace") for w in words))


def reset(sock):
    """Closes with SO_LINGER 0: the kernel sends a TCP reset instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def gauge(srv, name):
    return srv.metrics().get("dynamodb_streams_webhook_" + name)


def settle(srv, baseline_fds, what, timeout=5 * SLOW):
    """After connections were dropped: within `timeout` the server lets go of every one of them
    (open fds back to the baseline) and nothing is left counted in flight but the scrape itself.
    Both are polled together: the baseline may itself hold a connection the server was about to
    close, so fds alone can reach it while a dropped request is still being let go."""
    deadline = time.time() + timeout
    while True:
        fds = open_fds(srv.proc.pid)
        inflight = gauge(srv, "requests_in_flight")
        if (fds is not None and fds <= baseline_fds and inflight == 1) or time.time() >= deadline:
            break
        time.sleep(0.05)
    check(fds is not None and fds <= baseline_fds,
          "after %s: open fds back to the baseline (%s, baseline %d)" % (what, fds, baseline_fds))
    check(inflight == 1, "after %s: in-flight gauge is back to 1, the scrape (%s)" % (what, inflight))
