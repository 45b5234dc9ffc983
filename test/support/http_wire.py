"""HTTP/1.1 answers read byte for byte off a socket: the one place the Python suites parse a raw
answer. Ordinary requests go through http.client (test/server/serve/serve_support.py,
Server.request); this module is for what http.client cannot do: a request written by hand, an
answer that must arrive while the client is still sending, a connection that must close.

    status_of(data)        the status code of the status line `data` starts with, else None
    parse_head(data)       (status, headers (lower-case names), body bytes so far), or None while
                           the head is incomplete
    is_complete(data)      a whole answer: the head, and the body when a Content-Length gives its size
    read_response(sock)    one answer: (status, headers, body); (None, {}, b"") for bytes that
                           are not an HTTP/1.1 answer
    status_lines(data)     the status code of every status line anywhere in `data`, in order
    read_until_closed(sock, timeout)   everything until the server closes: (bytes, closed)
    closed_by_peer(sock)   the server closes without sending anything that looks like an answer
    push_and_read(...)     writes a request piece by piece while reading the answer

Standard library only; every read has a timeout.
"""
import re
import select
import socket
import ssl
import time

_STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3})(?= |\r\n|$)")


def status_of(data):
    m = _STATUS_LINE.match(data)
    return int(m.group(1)) if m else None


def parse_head(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status_of(data), headers, body


def is_complete(data):
    parsed = parse_head(data)
    if parsed is None:
        return False
    length = parsed[1].get("content-length", "")
    return not length.isdigit() or len(parsed[2]) >= int(length)


def read_response(sock, timeout=10):
    """Reads one answer with Content-Length (or up to end of file). A read that times out raises
    socket.timeout, as the socket does."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    status = status_of(buf)
    if status is None:
        return None, {}, b""
    parsed = parse_head(buf)
    if parsed is None:  # the server closed inside the head
        return status, {}, b""
    _, headers, body = parsed
    length = headers.get("content-length")
    if length is not None and length.isdigit():
        while len(body) < int(length):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return status, headers, body


def status_lines(data):
    """Every "HTTP/1.1 NNN" in `data`, also inside what a client would take as a body: for
    counting answers a server must not have sent (a smuggled request's)."""
    return [int(m.group(1)) for m in re.finditer(rb"HTTP/1\.1 (\d{3})", data)]


def read_until_closed(sock, timeout):
    """Everything the server sends until it closes the connection (or `timeout`): (bytes, closed)."""
    sock.settimeout(timeout)
    got = b""
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return got, True
            got += chunk
    except socket.timeout:
        return got, False
    except (ssl.SSLError, OSError):
        return got, True
    return got, False


def closed_by_peer(sock, timeout=3):
    """True when the server closes (end of file, reset or TLS error) within `timeout` and sends
    nothing that looks like an HTTP answer."""
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
                if is_complete(got):
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
    return status_of(got), max(sent, 0), sent >= total and not out, dt
