"""Faults and the request log (rules 8 and 9 of the package docstring): Fault, RequestRecord,
and ApiServerStandin's fault injection (_FaultsMixin: fail(), reset_connection(), not_json(),
bump_before_update(), expire_continue_tokens(), clear_faults()) and request log (_RequestLogMixin:
requests(), writes(), clear_log())."""
import copy
import dataclasses
import re
import time
import urllib.parse
from typing import Iterable, Optional

from .resources import resource_type
from .status import MSG_TOO_MANY_REQUESTS, MSG_UNAVAILABLE, ApiError, _details, status_failure
from .storage import _Version


class Fault:
    """One injected fault: the next `count` requests (None: every one) whose method and path
    (and query, when given) match answer as the fault says. `hits` counts how often it fired;
    `remaining` how many are left."""

    def __init__(self, kind: str, method: Optional[str], path: Optional[str],
                 query: Optional[str], count: Optional[int], **params):
        self.kind = kind
        self.method = method.upper() if method else None
        self.path = re.compile(path) if path else None
        self.query = re.compile(query) if query else None
        self.remaining = count
        self.hits = 0
        self.params = params

    def matches(self, method: str, path: str, query: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method and self.method != "*" and self.method != method:
            return False
        if self.path and not self.path.search(path):
            return False
        return not (self.query and not self.query.search(query))

    def fire(self) -> None:
        self.hits += 1
        if self.remaining is not None:
            self.remaining -= 1

    def __repr__(self) -> str:
        return f"Fault({self.kind}, hits={self.hits}, remaining={self.remaining})"


@dataclasses.dataclass
class RequestRecord:
    """One request as the stand-in saw it: time (Unix seconds, when it was read), method, path,
    query (raw; .params parsed), status (None when the connection was reset without an
    answer), user (None when not authenticated), the RBAC verb, resource, namespace and name of
    a resource request, the fault that answered it, and duration (seconds until the answer was
    ready). A request is in the log before its answer is sent."""
    time: float
    method: str
    path: str
    query: str
    status: Optional[int] = None
    user: Optional[str] = None
    verb: Optional[str] = None
    resource: Optional[str] = None
    namespace: Optional[str] = None
    name: Optional[str] = None
    fault: Optional[str] = None
    duration: float = 0.0

    @property
    def params(self) -> dict:
        return {k: v[-1] for k, v in urllib.parse.parse_qs(self.query,
                                                           keep_blank_values=True).items()}

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


class _Reset(Exception):
    """Abort the connection without answering (a fault)."""


class _FaultsMixin:
    """ApiServerStandin's fault injection (the state is set up by its constructor)."""

    def fail(self, method: Optional[str], path: Optional[str], status: int = 429, *,
             retry_after: Optional[int] = None, count: Optional[int] = 1,
             query: Optional[str] = None, body: str = "default",
             message: Optional[str] = None) -> Fault:
        """The next `count` matching requests answer `status` with `Retry-After: retry_after`
        (when given). body="default": 429 as the apiserver's max-in-flight / APF filters write
        it (text/plain "Too many requests, please try again later."), any other status as a
        Status; body="status": always a Status (with details.retryAfterSeconds)."""
        f = Fault("status", method, path, query, count, status=status, retry_after=retry_after,
                  body=body, message=message)
        with self._lock:
            self._faults.append(f)
        return f

    def reset_connection(self, method: Optional[str], path: Optional[str], *,
                         count: Optional[int] = 1, query: Optional[str] = None) -> Fault:
        """The next `count` matching requests are read, then the connection is closed with a
        TCP reset and no answer."""
        f = Fault("reset", method, path, query, count)
        with self._lock:
            self._faults.append(f)
        return f

    def not_json(self, method: Optional[str], path: Optional[str], *,
                 count: Optional[int] = 1, query: Optional[str] = None, status: int = 200,
                 body: bytes = b"<html><body>upstream proxy error</body></html>\n",
                 content_type: str = "application/json") -> Fault:
        """The next `count` matching requests answer `status` with a body that is not JSON."""
        f = Fault("not_json", method, path, query, count, status=status, body=body,
                  content_type=content_type)
        with self._lock:
            self._faults.append(f)
        return f

    def bump_before_update(self, resource, namespace: str, name: str, *,
                           count: Optional[int] = 1,
                           verbs: Iterable = ("update", "patch"), annotate: bool = False) -> Fault:
        """Just before the next `count` updates (PUT, PATCH; `verbs`) of the object, another
        writer updates it: its resourceVersion moves on (and, with annotate, an annotation
        `apiserver-standin/bumped` changes), so a PUT carrying the resourceVersion it read gets
        the natural 409 Conflict."""
        rt = resource_type(resource)
        f = Fault("bump", None, None, None, count, resource=rt.resource, namespace=namespace,
                  name=name, verbs=frozenset(verbs), annotate=annotate)
        with self._lock:
            self._bumps.append(f)
        return f

    def expire_continue_tokens(self) -> int:
        """Every continue token issued so far expires (410 Expired): the history is compacted
        at a new revision, as etcd's periodic compaction does while the cluster writes on.
        Returns the compacted revision."""
        with self._lock:
            rv = self._next_rv()
            for c in self._collections.values():
                c.compact(rv)
            self._compacted_rv = rv
            self._token_issued.clear()
            return rv

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._bumps.clear()

    def _apply_faults(self, h, rec, path, query):
        with self._lock:
            fault = next((f for f in self._faults if f.matches(h.command, path, query)), None)
            if fault is None:
                return
            fault.fire()
        rec.fault = fault.kind
        p = fault.params
        if fault.kind == "reset":
            raise _Reset()
        if fault.kind == "not_json":
            raise ApiError(status_failure(p["status"], "", ""), raw=p["body"],
                           content_type=p["content_type"])
        status, retry = p["status"], p["retry_after"]
        headers = [("Retry-After", str(retry))] if retry is not None else []
        if status == 429 and p["body"] == "default":
            raise ApiError(status_failure(429, "", ""), headers=headers,
                           raw=((p["message"] or MSG_TOO_MANY_REQUESTS) + "\n").encode(),
                           content_type="text/plain; charset=utf-8")
        reason = {429: "TooManyRequests", 503: "ServiceUnavailable", 500: "InternalError",
                  504: "Timeout", 409: "Conflict"}.get(status, "")
        message = p["message"] or {429: MSG_TOO_MANY_REQUESTS, 503: MSG_UNAVAILABLE}.get(
            status, f"injected failure {status}")
        raise ApiError(status_failure(status, reason, message,
                                      _details(retry_after=retry or 0) if retry else None),
                       headers=headers)

    def _bump(self, rt, ns, name, verb) -> None:
        """Applies a pending bump_before_update fault (the caller holds the lock)."""
        for f in self._bumps:
            p = f.params
            if ((f.remaining is None or f.remaining > 0) and p["resource"] == rt.resource
                    and p["namespace"] == ns
                    and p["name"] == name and verb in p["verbs"]):
                c = self._collections[rt.resource]
                cur = c.latest(f"{ns}/{name}")
                if cur is None:
                    return
                f.fire()
                obj = copy.deepcopy(cur.obj)
                if p["annotate"]:
                    obj["metadata"].setdefault("annotations", {})["apiserver-standin/bumped"] = \
                        str(f.hits)
                obj["metadata"]["resourceVersion"] = str(self._next_rv())
                c.put(f"{ns}/{name}", _Version(self._rv, obj))
                return


class _RequestLogMixin:
    """ApiServerStandin's request log (the state is set up by its constructor)."""

    def requests(self, method: Optional[str] = None, path: Optional[str] = None) -> list:
        """The request log (a copy), optionally only one method and paths matching a regex."""
        with self._log_lock:
            log = list(self._log)
        rx = re.compile(path) if path else None
        return [r for r in log if (method is None or r.method == method.upper())
                and (rx is None or rx.search(r.path))]

    def writes(self) -> list:
        """Every POST, PUT, PATCH and DELETE received, whatever it was answered."""
        return [r for r in self.requests() if r.is_write]

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def _log_record(self, rec: RequestRecord, t0: float) -> None:
        # Logged before the answer is sent, so that a client that has its answer finds its
        # request in the log.
        with self._log_lock:
            if getattr(rec, "_logged", False):
                return
            rec._logged = True
            rec.duration = time.monotonic() - t0
            self._log.append(rec)
