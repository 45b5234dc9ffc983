"""The HTTPS server and the request path (rule 7 of the package docstring): the connection
handler (TLS handshake, keep-alive, tracking for stop()), the threading server, and _HttpMixin:
reading a request (body limits), routing it (k8s.io/apiserver's RequestInfo), discovery, and
writing every answer with Content-Length. Authentication and RBAC are in auth.py."""
import http
import http.server
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from typing import Iterable

from .faults import RequestRecord, _Reset
from .status import (ApiError, _details, _json_body, err_bad_request, err_method_not_supported,
                     err_unserved, status_failure)


_DRAIN_CAP = 16 * 1024 * 1024           # read at most this much of an oversized body before 413
_STATUS_CODES = {s.value for s in http.HTTPStatus}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "apiserver-standin"
    sys_version = ""

    def setup(self):
        st = self.server.standin
        raw = self.request
        raw.settimeout(st.handshake_timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Wrap first and handshake after, so that stop() can shut the connection down while
        # the handshake waits for a client that never speaks.
        self.request = self.connection = st._ssl_context.wrap_socket(
            raw, server_side=True, do_handshake_on_connect=False)
        st._track(self.request, True)
        try:
            self.request.do_handshake()
        except (OSError, ssl.SSLError):
            st._count("tls_handshake_failures")
            st._track(self.request, False)   # finish() does not run when setup() fails
            self.request.close()
            raise
        self.request.settimeout(st.idle_timeout)
        super().setup()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        self.server.standin._track(self.request, False)
        try:
            self.request.close()
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self.server.standin._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False
    block_on_close = False        # the stand-in joins its own threads, with a deadline
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, standin):
        self.standin = standin
        super().__init__(addr, _Handler)

    def process_request(self, request, client_address):
        t = threading.Thread(target=self._run, args=(request, client_address),
                             name="standin-connection")
        self.standin._threads_add(t)
        t.start()

    def _run(self, request, client_address):
        try:
            self.process_request_thread(request, client_address)
        finally:
            self.standin._threads_remove(threading.current_thread())

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, _Reset)):
            return
        sys.stderr.write("apiserver-standin: unexpected error serving a connection:\n")
        traceback.print_exc()


def _shutdown(conn) -> None:
    # socket.socket's shutdown, not SSLSocket's: the fd only, while another thread may be
    # inside the TLS object.
    try:
        socket.socket.shutdown(conn, socket.SHUT_RDWR)
    except OSError:
        pass


class _HttpMixin:
    """ApiServerStandin's request path (the state is set up by its constructor)."""

    def _handle(self, h: _Handler) -> None:
        t0 = time.monotonic()
        split = urllib.parse.urlsplit(h.path)
        rec = RequestRecord(time=time.time(), method=h.command, path=split.path,
                            query=split.query)
        h._rec = rec
        h._t0 = t0
        try:
            self._serve(h, rec, split.path, split.query)
        except _Reset:
            self._count("connections_reset")
            self._log_record(rec, t0)
            h.close_connection = True
            try:
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                os.close(h.connection.detach())
            except OSError:
                pass
        except ApiError as e:
            self._respond(h, e.code, e.body(), e.content_type, e.headers)
        except (OSError, ssl.SSLError):
            h.close_connection = True
        except Exception as e:  # a bug in the stand-in: answer 500, never hang the client
            traceback.print_exc()
            try:
                self._respond(h, 500, _json_body(status_failure(
                    500, "InternalError", f"Internal error occurred: {e}",
                    _details(causes=[{"message": str(e)}]))))
            except OSError:
                h.close_connection = True
        finally:
            self._log_record(rec, t0)

    def _respond(self, h: _Handler, code: int, body: bytes,
                 content_type: str = "application/json", headers: Iterable = ()) -> None:
        h._rec.status = code
        phrase = http.HTTPStatus(code).phrase if code in _STATUS_CODES else ""
        head = [f"HTTP/1.1 {code} {phrase}", f"Date: {h.date_time_string()}",
                f"Audit-Id: {uuid.uuid4()}", "Cache-Control: no-cache, private",
                f"Content-Type: {content_type}"]
        if content_type.startswith("text/plain"):
            head.append("X-Content-Type-Options: nosniff")
        head += [f"{k}: {v}" for k, v in headers]
        head.append(f"Content-Length: {len(body)}")
        if h.close_connection:
            head.append("Connection: close")
        # One write for the whole answer: no Nagle / delayed-ACK stall between head and body.
        out = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace")
        self._log_record(h._rec, h._t0)
        h.wfile.write(out + body if h.command != "HEAD" else out)

    def _read_body(self, h: _Handler):
        """The request body; an ApiError 413 (raised later, by the handler, as the apiserver
        does after authentication and authorization) when it is over the limit."""
        te = h.headers.get("Transfer-Encoding", "").lower()
        limit = self.max_request_bytes
        too_large = ApiError(status_failure(
            413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}"))
        if te == "chunked":
            data = bytearray()
            while True:
                line = h.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    h.close_connection = True
                    raise err_bad_request("malformed chunked request body") from None
                if size == 0:
                    while h.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                if len(data) + size > limit:
                    h.close_connection = True
                    return too_large
                data += h.rfile.read(size)
                h.rfile.readline(8)
            return bytes(data)
        cl = h.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            h.close_connection = True
            raise err_bad_request("invalid Content-Length") from None
        if n > limit:
            # Read (a bounded amount) so that the client can read the answer, then close.
            h.close_connection = True
            left = min(n, limit + _DRAIN_CAP)
            while left > 0:
                chunk = h.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
            return too_large
        return h.rfile.read(n) if n else b""

    def _serve(self, h: _Handler, rec: RequestRecord, path: str, query: str) -> None:
        if path in ("/healthz", "/readyz", "/livez"):
            self._read_body(h)
            return self._respond(h, 200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            self._read_body(h)
            return self._respond(h, 200, _json_body(
                {"major": "1", "minor": "34", "gitVersion": "v1.34.0-standin",
                 "platform": "linux/amd64"}))
        body = self._read_body(h)   # bytes, or the 413 to answer once the request is routed
        user = self._authenticate(h)
        rec.user = user
        if user is None:
            raise ApiError(status_failure(401, "Unauthorized", "Unauthorized"))
        self._apply_faults(h, rec, path, query)
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(query,
                                                             keep_blank_values=True).items()}
        info = _request_info(h.command, path, params)
        if info is None:  # discovery and other non-resource paths: any authenticated user
            return self._discovery(h, path)
        verb, group, version, ns, resource, name, sub = info
        rec.verb, rec.resource, rec.namespace, rec.name = verb, resource, ns or None, name or None
        if not self.authorized(user, verb, group, resource, ns):
            raise self._forbidden(user, verb, group, resource, ns, name)
        rt = self._by_gvr.get((group, version, resource))
        if rt is None or sub:
            raise self._unserved()
        if not ns:
            if verb == "list":
                return self._list(h, rt, None, params)
            if verb == "watch":
                raise err_bad_request("watch is not supported by the apiserver stand-in")
            if name:
                raise self._unserved()
            raise err_method_not_supported(rt.qualified, rt.group, rt.resource, verb)
        handler = {"list": self._list_ns, "create": self._create, "get": self._get,
                   "update": self._update, "patch": self._patch, "delete": self._delete}.get(verb)
        if isinstance(body, ApiError):
            raise body
        if "dryRun" in params and verb in ("create", "update", "patch", "delete"):
            raise err_bad_request("dryRun is not supported by the apiserver stand-in")
        if handler is None:
            if verb == "watch":
                raise err_bad_request("watch is not supported by the apiserver stand-in")
            raise err_method_not_supported(rt.qualified, rt.group, rt.resource, verb)
        return handler(h, rt, ns, name, params, body)

    def _unserved(self) -> ApiError:
        if self.not_found == "text":
            return ApiError(status_failure(404, "", ""), raw=b"404 page not found\n",
                            content_type="text/plain; charset=utf-8")
        return err_unserved()

    # -------------------------------------------------------------------------------- discovery
    def _groups(self) -> dict:
        groups: dict = {}
        for t in self.kinds:
            groups.setdefault(t.group, {}).setdefault(t.version, []).append(t)
        return groups

    def _discovery(self, h, path):
        if h.command != "GET":
            raise ApiError(status_failure(405, "MethodNotAllowed",
                                          "the server does not allow this method on the "
                                          "requested resource", {}))
        parts = [p for p in path.split("/") if p]
        groups = self._groups()
        if parts == ["api"]:
            return self._respond(h, 200, _json_body({
                "kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}]}))
        if parts == ["api", "v1"]:
            return self._respond(h, 200, _json_body({
                "kind": "APIResourceList", "groupVersion": "v1", "resources": []}))

        def group_doc(g, versions):
            vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
            return {"name": g, "versions": vs, "preferredVersion": vs[0]}
        if parts == ["apis"]:
            return self._respond(h, 200, _json_body({
                "kind": "APIGroupList", "apiVersion": "v1",
                "groups": [group_doc(g, list(vs)) for g, vs in groups.items()]}))
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
            doc = {"kind": "APIGroup", "apiVersion": "v1"}
            doc.update(group_doc(parts[1], list(groups[parts[1]])))
            return self._respond(h, 200, _json_body(doc))
        if (len(parts) == 3 and parts[0] == "apis" and parts[1] in groups
                and parts[2] in groups[parts[1]]):
            return self._respond(h, 200, _json_body({
                "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{parts[1]}/{parts[2]}",
                "resources": [t.discovery() for t in groups[parts[1]][parts[2]]]}))
        raise self._unserved()


def _request_info(method: str, path: str, params: dict):
    """k8s.io/apiserver RequestInfoFactory, for /apis/G/V/... and /api/v1/...: (verb, group,
    version, namespace, resource, name, subresource), or None for a non-resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    elif len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        return None
    ns = ""
    if rest[0] == "namespaces" and len(rest) >= 2:
        ns = rest[1]
        rest = rest[2:] if len(rest) > 2 else ["namespaces", ns]
        if rest[0] == "namespaces":
            ns = ""
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = "/".join(rest[2:])
    watch = params.get("watch") in ("true", "1")
    verb = {"GET": "get" if name else ("watch" if watch else "list"), "HEAD": "get",
            "POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete" if name else "deletecollection"}.get(method, method.lower())
    return verb, group, version, ns, resource, name, sub
