"""Helpers of the hostile-input, advisory, soak and availability tests (hostile_test.py,
advisories_test.py, soak_test.py) on top of serve_support: the server's memory and file
descriptors read from /proc, "is it still well?" (a good review answered correctly and the
resident set under a bound), and raw requests written byte for byte over TLS."""
import copy
import json
import os
import re
import select
import socket
import ssl
import struct
import time

from serve_support import basic_review, check, decode_patch

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
    rv = basic_review()
    rv["request"]["uid"] = uid
    try:
        status, _, data = srv.review("/mutate", rv)
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


def review_with_uid(template, uid):
    rv = copy.deepcopy(template)
    rv["request"]["uid"] = uid
    return rv


# Raw requests over TLS: what a client sends byte for byte, and how the server answers or closes.
JSON = {"Content-Type": "application/json"}
HEAD = b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
MiB = 1024 * 1024


def post(srv, body, path="/mutate", timeout=20):
    return srv.request("POST", path, body, JSON, timeout=timeout)


def plain_400(status, hdrs, data, *words):
    return (status == 400 and hdrs.get("content-type", "").startswith("text/plain") and len(data) < 300
            and all(w in data.decode("utf-8", "replace") for w in words))


def closed_by_peer(sock, timeout=3):
    """True when the server closes (EOF, reset or TLS error) within `timeout` and sends nothing
    that looks like an HTTP answer."""
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return not got.startswith(b"HTTP/")
            got += chunk
    except socket.timeout:
        return False
    except (ssl.SSLError, OSError):
        return not got.startswith(b"HTTP/")


def reset(sock):
    """Closes with SO_LINGER 0: the kernel sends a TCP reset instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def push_and_read(sock, head, piece, total, timeout, keep_sending=False):
    """Sends `head`, then `piece` over and over up to `total` bytes, while reading the answer — in
    one thread (one OpenSSL connection must not be read and written from two threads at once).
    Stops at a complete answer (with keep_sending: once everything is sent or sending fails after
    it), end of file, an error or `timeout`. Returns (status or None, body bytes sent, whether
    everything was sent, seconds to the answer or the end)."""
    sock.setblocking(False)
    t0 = time.perf_counter()
    out, sent, got, writing, answered = head, -len(head), b"", True, None
    while time.perf_counter() - t0 < timeout:
        want_write = writing and (out or sent < total)
        if answered is not None and not want_write:
            break
        r, w, _ = select.select([sock] if answered is None else [], [sock] if want_write else [], [], 0.05)
        if r or (answered is None and sock.pending()):
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
                if _complete(got):
                    answered = time.perf_counter() - t0
                    if not keep_sending:
                        break
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except OSError:
                break
        if w and want_write:
            if not out:
                out = piece[: total - sent]
            try:
                n = sock.send(out)  # after a want-write the same bytes are offered again
                sent += n
                out = out[n:]
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except OSError:
                writing = False
    dt = answered if answered is not None else time.perf_counter() - t0
    status = None
    if got.startswith(b"HTTP/1.1 "):
        status = int(got.split(b" ", 2)[1])
    return status, max(sent, 0), sent >= total and not out, dt


def _complete(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return m is None or len(body) >= int(m.group(1))


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
