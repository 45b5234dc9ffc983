"""Storage and lists (rules 4 and 5 of the package docstring): one resourceVersion counter,
per-key history in etcd's key order, compaction, the etcd3 store's continue tokens
(encode_continue(), decode_continue()), and _ReadsMixin: list (limit, continue, selectors,
remainingItemCount, 410 Expired) and get, for ApiServerStandin."""
import base64
import bisect
import json
import posixpath
import time
from typing import Optional

from .fields import _json_type
from .resources import ResourceType
from .selectors import _fields_match, labels_match, parse_field_selector, parse_label_selector
from .status import (MSG_CONTINUE_EXPIRED, ApiError, _goq, err_bad_request, err_not_found, go_json,
                     status_failure)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Version:
    __slots__ = ("rv", "obj", "raw", "labels")

    def __init__(self, rv: int, obj: Optional[dict]):
        self.rv = rv
        self.obj = obj                       # None: deleted at rv (a tombstone)
        self.raw = go_json(obj, sort_keys=True) if obj is not None else None
        self.labels = ((obj.get("metadata") or {}).get("labels") or {}) if obj else {}


class _Collection:
    """The objects of one resource type: keys "namespace/name" kept sorted (etcd's key order),
    each with its versions in resourceVersion order."""

    def __init__(self, rtype: ResourceType):
        self.rtype = rtype
        self.keys: list = []
        self.history: dict = {}

    def latest(self, key: str) -> Optional[_Version]:
        h = self.history.get(key)
        return h[-1] if h and h[-1].obj is not None else None

    def at(self, key: str, rv: int) -> Optional[_Version]:
        h = self.history[key]
        if h[-1].rv <= rv:
            v = h[-1]
        else:
            v = None
            for cand in reversed(h):
                if cand.rv <= rv:
                    v = cand
                    break
        return v if v is not None and v.obj is not None else None

    def put(self, key: str, version: _Version) -> None:
        h = self.history.get(key)
        if h is None:
            bisect.insort(self.keys, key)
            self.history[key] = [version]
        else:
            h.append(version)

    def compact(self, rv: int) -> None:
        """Forgets versions older than the one visible at rv, and keys deleted by then."""
        dead = []
        for key, h in self.history.items():
            keep = 0
            for i, v in enumerate(h):
                if v.rv <= rv:
                    keep = i
            if keep:
                del h[:keep]
            if len(h) == 1 and h[0].obj is None and h[0].rv <= rv:
                dead.append(key)
        for key in dead:
            del self.history[key]
            self.keys.pop(bisect.bisect_left(self.keys, key))


def _etcd_key(rt: ResourceType, ns: str, name: str) -> str:
    return f"/registry/{rt.group}/{rt.resource}/{ns}/{name}"


def encode_continue(rv: int, start: str) -> str:
    """The etcd3 store's continue token: base64url (no padding) of {"v","rv","start"}."""
    data = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()


def decode_continue(token: str):
    """(start key relative to the list's prefix, resourceVersion), or ValueError with the
    storage package's message ("continue key is not valid: ...")."""
    bad = "continue key is not valid"
    for i, c in enumerate(token):
        if not (c.isascii() and (c.isalnum() or c in "-_")):
            raise ValueError(f"{bad}: illegal base64 data at input byte {i}")
    if len(token) % 4 == 1:
        raise ValueError(f"{bad}: illegal base64 data at input byte {len(token) - 1}")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{bad}: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{bad}: json: cannot unmarshal {_json_type(data)} into Go value of "
                         "type storage.continueToken")
    rv = data.get("rv", 0)
    start = data.get("start", "")
    if isinstance(rv, bool) or not isinstance(rv, int) or not isinstance(start, str):
        raise ValueError(f"{bad}: json: cannot unmarshal into Go struct field continueToken")
    if data.get("v") != "meta.k8s.io/v1":
        raise ValueError(f"{bad}: server does not recognize this encoded version "
                         f"{data.get('v', '')}")
    if rv == 0:
        raise ValueError(f"{bad}: incorrect encoded start resourceVersion (version "
                         "meta.k8s.io/v1)")
    if not start:
        raise ValueError(f"{bad}: encoded start key empty (version meta.k8s.io/v1)")
    key = start if start.startswith("/") else "/" + start
    cleaned = posixpath.normpath(key)
    if cleaned.startswith("//"):
        cleaned = cleaned[1:]
    if cleaned != key:
        raise ValueError(f"{bad}: {start}")
    return cleaned[1:], rv


class _ReadsMixin:
    """ApiServerStandin's list and get (the state is set up by its constructor)."""

    def _list_ns(self, h, rt, ns, name, params, body):
        return self._list(h, rt, ns, params)

    def _list(self, h, rt: ResourceType, ns: Optional[str], params: dict):
        try:
            limit = int(params.get("limit") or 0)
        except ValueError:
            raise err_bad_request(f"invalid limit {_goq(params['limit'])}: must be an integer") \
                from None
        limit = max(limit, 0)
        try:
            lsel = parse_label_selector(params.get("labelSelector", ""))
            fsel = parse_field_selector(params.get("fieldSelector", ""))
        except ValueError as e:
            raise err_bad_request(str(e)) from None
        if params.get("watch") in ("true", "1"):
            raise err_bad_request("watch is not supported by the apiserver stand-in")
        token = params.get("continue", "")
        prefix = f"{ns}/" if ns else ""
        with self._lock:
            c = self._collections[rt.resource]
            if token:
                try:
                    start_rel, token_rv = decode_continue(token)
                except ValueError as e:
                    raise err_bad_request(f"invalid continue token: {e}") from None
                if params.get("resourceVersion", "") not in ("", "0"):
                    raise err_bad_request(
                        "specifying resource version is not allowed when using continue")
                if token_rv != -1 and self._token_expired(token, token_rv):
                    fresh = encode_continue(-1, start_rel)
                    raise ApiError(status_failure(410, "Expired", MSG_CONTINUE_EXPIRED,
                                                  metadata={"continue": fresh}))
                snapshot = self._rv if token_rv == -1 or token_rv > self._rv else token_rv
                start = prefix + start_rel
            else:
                snapshot, start = self._rv, prefix
            keys = c.keys
            i = bisect.bisect_left(keys, start)
            hi = bisect.bisect_left(keys, ns + "0") if ns else len(keys)  # "/" + 1 == "0"
            items = []
            last = None
            while i < hi:
                key = keys[i]
                i += 1
                v = c.at(key, snapshot)
                if v is None:
                    continue
                if lsel and not labels_match(lsel, v.labels):
                    continue
                if fsel and not _fields_match(fsel, key):
                    continue
                items.append(v.raw)
                if limit and len(items) == limit:
                    last = key
                    break
            meta = {}
            if last is not None:
                remaining = sum(1 for k in keys[i:hi] if c.at(k, snapshot) is not None)
                if remaining:
                    nxt = encode_continue(snapshot, last[len(prefix):] + "\x00")
                    meta["continue"] = nxt
                    if not lsel and not fsel:
                        meta["remainingItemCount"] = remaining
                    if self.continue_ttl is not None:
                        # A token is as old as its list: its snapshot ages, not the page.
                        self._token_issued[nxt] = self._token_issued.get(token, time.monotonic())
            meta["resourceVersion"] = str(snapshot)
        out = (b'{"apiVersion":' + go_json(rt.api_version) + b',"items":[' + b",".join(items)
               + b'],"kind":' + go_json(rt.kind + "List") + b',"metadata":'
               + go_json(meta, sort_keys=True) + b"}\n")
        return self._respond(h, 200, out)

    def _token_expired(self, token: str, rv: int) -> bool:
        if rv < self._compacted_rv:
            return True
        if self.continue_ttl is None:
            return False
        issued = self._token_issued.get(token)
        return issued is not None and time.monotonic() - issued > self.continue_ttl

    def _get(self, h, rt, ns, name, params, body):
        with self._lock:
            v = self._collections[rt.resource].latest(f"{ns}/{name}")
            if v is None:
                raise err_not_found(rt.qualified, rt.group, rt.resource, name)
            raw = v.raw
        return self._respond(h, 200, raw + b"\n")
