"""ApiServerStandin: its constructor, lifecycle (start, stop, connections, threads, counters)
and the objects API (add, add_objects, load_path, get, objects, delete). What it answers comes
from the mixins it is made of: _HttpMixin (httpserver.py), _AuthMixin (auth.py), _ReadsMixin
(storage.py), _WritesMixin (writes.py), _FaultsMixin and _RequestLogMixin (faults.py)."""
import copy
import ssl
import threading
import time
import uuid
from typing import Iterable, Optional

from .auth import _AuthMixin
from .data import load_documents
from .faults import _FaultsMixin, _RequestLogMixin
from .httpserver import _HttpMixin, _Server, _shutdown
from .resources import DEFAULT_KINDS, ResourceType, resource_type
from .storage import _Collection, _now, _ReadsMixin, _Version
from .writes import _WritesMixin


MAX_REQUEST_BYTES = 3 * 1024 * 1024     # k8s.io/apiserver MaxRequestBodyBytes (3 MiB)
MAX_OBJECT_BYTES = 1536 * 1024          # etcd --max-request-bytes default (1.5 MiB)


class ApiServerStandin(_AuthMixin, _HttpMixin, _ReadsMixin, _WritesMixin,
                       _FaultsMixin, _RequestLogMixin):
    """The stand-in. Constructor arguments:

    cert, key       the serving certificate and key (PEM files)
    client_ca       a CA file: client certificates signed by it authenticate as their CN
    host, port      where to listen (127.0.0.1, 0 = a free port; see .port after start())
    kinds           the ResourceTypes (or names) served; the others are absent from discovery
    tokens          {bearer token: user name}
    rules           {user: [(verbs, groups, resources[, namespace]), ...]}: see allow()
    continue_ttl    seconds after the first page of a list after which its continue tokens
                    expire (410), None = never
    max_request_bytes, max_object_bytes   the 3 MiB body and 1.5 MiB etcd limits
    not_found       "status" (a Status) or "text" ("404 page not found") for unserved kinds
    idle_timeout    seconds an idle keep-alive connection is kept
    """

    def __init__(self, cert: str, key: str, *, client_ca: Optional[str] = None,
                 host: str = "127.0.0.1", port: int = 0, kinds: Iterable = DEFAULT_KINDS,
                 tokens: Optional[dict] = None, rules: Optional[dict] = None,
                 continue_ttl: Optional[float] = None,
                 max_request_bytes: int = MAX_REQUEST_BYTES,
                 max_object_bytes: int = MAX_OBJECT_BYTES, not_found: str = "status",
                 idle_timeout: float = 60.0, handshake_timeout: float = 10.0):
        if not_found not in ("status", "text"):
            raise ValueError("not_found is 'status' or 'text'")
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self.host, self._want_port = host, port
        self.kinds = [resource_type(k) for k in kinds]
        self.continue_ttl = continue_ttl
        self.max_request_bytes = max_request_bytes
        self.max_object_bytes = max_object_bytes
        self.not_found = not_found
        self.idle_timeout = idle_timeout
        self.handshake_timeout = handshake_timeout
        self._lock = threading.RLock()
        self._tokens = dict(tokens or {})
        self._rules: dict = {}
        self._collections = {t.resource: _Collection(t) for t in self.kinds}
        self._by_gvr = {(t.group, t.version, t.resource): t for t in self.kinds}
        self._by_gvk = {(t.api_version, t.kind): t for t in self.kinds}
        self._rv = 1
        self._compacted_rv = 0
        self._token_issued: dict = {}
        self._faults: list = []
        self._bumps: list = []
        self._log: list = []
        self._log_lock = threading.Lock()
        self._counters: dict = {}
        self._threads: set = set()
        self._threads_lock = threading.Lock()
        self._conns: set = set()
        self._stopping = False
        self._server: Optional[_Server] = None
        self._serve_thread: Optional[threading.Thread] = None
        self._ssl_context = self._make_ssl_context()
        for user, grants in (rules or {}).items():
            for g in grants:
                self.allow(user, *g)

    # ----------------------------------------------------------------------------- lifecycle
    def _make_ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        if self.client_ca:
            ctx.load_verify_locations(self.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL   # Go's VerifyClientCertIfGiven
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def start(self) -> "ApiServerStandin":
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = _Server((self.host, self._want_port), self)
        self._serve_thread = threading.Thread(target=self._server.serve_forever,
                                              kwargs={"poll_interval": 0.05},
                                              name="standin-accept")
        self._serve_thread.start()
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """Stops accepting, closes every open connection and joins every thread; raises
        RuntimeError when a thread is still running after `timeout` seconds."""
        if self._server is None:
            return
        deadline = time.monotonic() + timeout
        self._server.shutdown()
        self._serve_thread.join(max(0.0, deadline - time.monotonic()))
        self._server.server_close()
        with self._threads_lock:
            self._stopping = True   # from now on _track() closes a connection at once
        while True:
            with self._threads_lock:
                conns, threads = list(self._conns), list(self._threads)
            for c in conns:
                _shutdown(c)
            for t in threads:
                t.join(max(0.0, min(0.05, deadline - time.monotonic())))
            alive = [t for t in threads if t.is_alive()]
            if not alive or time.monotonic() >= deadline:
                break
        if self._serve_thread.is_alive():
            alive.append(self._serve_thread)
        self._server = None
        self._stopping = False
        if alive:
            raise RuntimeError(f"apiserver stand-in: {len(alive)} thread(s) still running "
                               f"{timeout} s after stop()")

    def __enter__(self):
        return self.start() if self._server is None else self

    def __exit__(self, *exc):
        self.stop()

    def _threads_add(self, t):
        with self._threads_lock:
            self._threads.add(t)

    def _threads_remove(self, t):
        with self._threads_lock:
            self._threads.discard(t)

    def _track(self, conn, on: bool):
        with self._threads_lock:
            (self._conns.add if on else self._conns.discard)(conn)
            if on and self._stopping:
                _shutdown(conn)

    def _count(self, name: str, n: int = 1):
        with self._threads_lock:
            self._counters[name] = self._counters.get(name, 0) + n

    @property
    def counters(self) -> dict:
        """tls_handshake_failures, connections_reset, ... (a copy)."""
        with self._threads_lock:
            return dict(self._counters)

    # -------------------------------------------------------------------------------- objects
    def _collection(self, resource) -> _Collection:
        rt = resource_type(resource)
        try:
            return self._collections[rt.resource]
        except KeyError:
            raise ValueError(f"{rt.qualified} is not served by this instance") from None

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    def add(self, obj: dict) -> dict:
        """Stores an object as an administrator would (no authorization, no validation): its
        kind picks the resource; metadata.namespace defaults to "default"; uid and
        creationTimestamp are kept when given; resourceVersion is always assigned. Replaces an
        object of the same name. Returns the stored copy."""
        rt = self._type_of(obj)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ValueError("an object needs metadata.name")
        meta.setdefault("namespace", "default")
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        meta.setdefault("generation", 1)
        with self._lock:
            meta["resourceVersion"] = str(self._next_rv())
            self._collections[rt.resource].put(f"{meta['namespace']}/{meta['name']}",
                                               _Version(self._rv, obj))
        return copy.deepcopy(obj)

    def add_objects(self, objs: Iterable) -> int:
        n = 0
        for o in objs:
            self.add(o)
            n += 1
        return n

    def load_path(self, path: str, skip_unserved: bool = False) -> int:
        """Loads every object of a JSON or YAML file, or of every *.json/*.yaml/*.yml file of a
        directory (sorted); Lists are expanded. Objects of kinds not served raise ValueError
        unless skip_unserved. Returns how many were stored."""
        n = 0
        for obj in load_documents(path):
            if skip_unserved and (obj.get("apiVersion"), obj.get("kind")) not in self._by_gvk:
                continue
            self.add(obj)
            n += 1
        return n

    def _type_of(self, obj: dict) -> ResourceType:
        if not isinstance(obj, dict):
            raise ValueError("an object is a JSON object")
        key = (obj.get("apiVersion"), obj.get("kind"))
        try:
            return self._by_gvk[key]
        except KeyError:
            raise ValueError(f"{key[0]}/{key[1]} is not served by this instance") from None

    def get(self, resource, namespace: str, name: str) -> Optional[dict]:
        """The current object, or None."""
        with self._lock:
            v = self._collection(resource).latest(f"{namespace}/{name}")
            return copy.deepcopy(v.obj) if v else None

    def objects(self, resource, namespace: Optional[str] = None) -> list:
        """The current objects of a resource (of one namespace), in list order."""
        with self._lock:
            c = self._collection(resource)
            out = []
            for k in c.keys:
                if namespace is not None and not k.startswith(namespace + "/"):
                    continue
                v = c.latest(k)
                if v:
                    out.append(copy.deepcopy(v.obj))
            return out

    def delete(self, resource, namespace: str, name: str) -> bool:
        with self._lock:
            c = self._collection(resource)
            key = f"{namespace}/{name}"
            if not c.latest(key):
                return False
            c.put(key, _Version(self._next_rv(), None))
            return True
