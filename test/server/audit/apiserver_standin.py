#!/usr/bin/env python3
"""A Kubernetes apiserver stand-in for testing `dynamodb-streams-webhook audit` (issue 17).

No kube-apiserver can be installed on the project's machines, so the audit is tested against this
module: an HTTPS server on 127.0.0.1 that keeps the apiserver's rules an audit depends on, byte for
byte where the audit (or a person reading its log) can see them. Python 3.11 standard library only;
PyYAML (Debian's python3-yaml) is used when present, for YAML files and `application/yaml` bodies.

Importable (tests start and stop it in-process) and runnable as a script (benchmarks, manual runs):

    srv = ApiServerStandin(cert, key, tokens={"T": "system:serviceaccount:dsw:audit"}).start()
    srv.allow("system:serviceaccount:dsw:audit", ["get", "list"], "core.oam.dev", "applications")
    srv.add_objects(make_applications(6000, 60))
    ... run the audit against https://127.0.0.1:<srv.port> ...
    srv.stop()

    apiserver_standin.py --cert tls.crt --key tls.key --token T=USER --allow 'USER=list,*,*' \
                         --objects apps.yaml --port-file port.txt      (until SIGTERM/SIGINT)

The rules it keeps, and what it leaves out:

1. JSON and Status -- Go's encoding/json layout (compact, `<>&` escaped, a final newline);
   custom resources and lists with sorted keys (they are maps in the apiserver); `Status` objects
   built as k8s.io/apimachinery/pkg/api/errors builds them (NewNotFound, NewAlreadyExists,
   NewConflict, NewForbidden, NewInvalid, NewBadRequest, NewResourceExpired, ...).
2. Field errors and validation -- apimachinery's field.Error text ("results[0].result:
   Unsupported value: ...") and the apiextensions structural-schema rules for the two report
   CRDs: unknown fields pruned (a `Warning: 299` header per field; 400 with
   `?fieldValidation=Strict`), types, `required`, `enum`; ObjectMeta's name, label and annotation
   rules. The schemas are written here from the OpenReports `Report` (openreports.io/v1alpha1) and
   wg-policy `PolicyReport` (wgpolicyk8s.io/v1alpha2) API types: note that PolicyReport has no
   top-level `source` (a real apiserver prunes it). Not kept: CEL rules, formats, defaults, the
   exact wording of errors about non-scalar values.
3. Resource types -- Applications, ACK Tables, kro DynamoDBTables, Reports, PolicyReports; which
   ones an instance serves is chosen per instance. All are namespaced; cluster-scoped resources are
   not modelled.
4. Storage -- one global resourceVersion counter (etcd's revision), per-key history so that a
   paged list reads one consistent snapshot (the continue token's resourceVersion) while writes go
   on, and compaction (which is what makes continue tokens expire). Keys sort as etcd's do:
   "namespace/name" byte order.
5. Lists -- `limit`/`continue` exactly like the etcd3 store: tokens are base64url JSON
   {"v":"meta.k8s.io/v1","rv":N,"start":"ns/name\\u0000"}; `metadata.continue` when more keys
   remain (with a label selector a page can hold fewer than `limit` items, even none, and still
   carry a token, as on a real server); `remainingItemCount` without selectors; a malformed token
   is 400 "invalid continue token: continue key is not valid: ..."; an expired one is 410 Expired
   with the apiserver's message and a fresh token (resourceVersion -1) in the Status' metadata.
   `labelSelector` (=, ==, !=, exists, !key, in, notin) and `fieldSelector` (metadata.name,
   metadata.namespace). Not kept: watch (answered 400), `resourceVersion`/`resourceVersionMatch`
   semantics on lists (ignored, except that `continue` with a resourceVersion is 400 as upstream),
   the watch cache (a real server given `resourceVersion=0` may ignore `limit`).
6. Writes -- create (201; 409 AlreadyExists; uid, resourceVersion, creationTimestamp, generation
   set; generateName), get, update (PUT; 409 Conflict on a stale `metadata.resourceVersion`,
   unconditional without one; a no-op update writes nothing and keeps the resourceVersion, as
   upstream), JSON merge patch and JSON patch, delete (200 with the Status upstream returns for
   custom resources; preconditions). Limits: a request body over 3 MiB is 413 "Request entity too
   large: limit is 3145728" (the apiserver's MaxRequestBodyBytes); an object whose stored JSON plus
   etcd key exceeds etcd's 1.5 MiB request limit is 500 with the message "etcdserver: request is
   too large" and no reason, which is what the apiserver still answers (kubernetes/kubernetes
   #74600, #112152; etcd adds a few bytes of framing, so objects within ~100 bytes of the limit
   may pass here and fail on a real cluster). Not kept: server-side apply (415), strategic merge
   patch (415, as for any custom resource), finalizers and graceful deletion, deletecollection,
   dryRun (400), managedFields, namespaces as objects (any namespace name exists).
7. HTTP, TLS, authentication, authorization -- HTTPS only, HTTP/1.1 keep-alive, Content-Length on
   every answer; bearer tokens and (with a client CA) client certificates, user = the certificate's
   CN, the certificate first as in the apiserver's union authenticator; 401 Status "Unauthorized";
   RBAC-like rules per user (verb, group, resource, optional namespace, `*` wildcards) checked
   before the resource is looked up (so an unserved kind is 403 to a user who may not list it, as
   upstream); 403 with responsewriters.forbiddenMessage's text. Discovery (/api, /apis, /apis/G,
   /apis/G/V) needs only authentication (system:discovery). Unserved kinds are absent from
   discovery and 404: a Status "the server could not find the requested resource" (what
   go-restful answers for built-in groups) or, with not_found="text", the plain "404 page not
   found" a real apiserver answers for the path of a CRD that is not installed.
8. Faults, scriptable per test and counted -- N answers 429/503 with Retry-After (429 as plain
   text, like the apiserver's max-in-flight and priority-and-fairness filters, or as a Status),
   connection resets, bodies that are not JSON, a concurrent write just before an update, expired
   continue tokens.
9. The request log -- every request: time, method, path, query, status, user, verb, resource,
   namespace, name, fault.
10. Loading data -- objects from Python, JSON/YAML files or directories (Lists expanded), and
    make_applications() for the benchmark of 6,000 Applications in 60 namespaces.
11. Script mode -- see main() / --help.

Public API (see each docstring): ApiServerStandin(cert, key, client_ca=, kinds=, tokens=, rules=,
continue_ttl=, not_found=, ...) with start(), stop(timeout), port, url, a context manager;
add_token(), allow(user, verbs, groups, resources, namespace=None), allow_all(), revoke();
add(), add_objects(), load_path(), get(), objects(), delete(), resource_version;
fail(), reset_connection(), not_json(), bump_before_update(), expire_continue_tokens(),
clear_faults() (each fault returns a Fault with .hits and .remaining); requests(), writes(),
clear_log(), counters. Helpers: make_applications(), make_report(), make_certs(),
make_client_cert(), load_documents(), encode_continue()/decode_continue(), the ResourceType
constants APPLICATIONS, TABLES, DYNAMODBTABLES, REPORTS, POLICYREPORTS, and the MSG_* texts.

Wording: the messages named above are the apiserver's. These are the stand-in's own, where no
client should depend on the text: the detail after "continue key is not valid: " for bad base64
or JSON, the detail of a body that does not decode, label selector syntax errors, the 405 for a
create at the cluster scope, and the 400s for watch and dryRun (not implemented).
"""
import argparse
import base64
import bisect
import copy
import dataclasses
import hashlib
import http
import http.server
import json
import os
import posixpath
import random
import re
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from typing import Any, Iterable, Optional

try:
    import yaml  # python3-yaml
except ImportError:  # pragma: no cover - Debian's python3-yaml is a test dependency
    yaml = None

__all__ = [
    "ApiServerStandin", "ResourceType", "Fault", "RequestRecord", "APPLICATIONS", "TABLES",
    "DYNAMODBTABLES", "REPORTS", "POLICYREPORTS", "DEFAULT_KINDS", "make_applications",
    "make_report", "make_certs", "make_client_cert", "load_documents", "encode_continue",
    "MAX_REQUEST_BYTES", "MAX_OBJECT_BYTES", "MSG_CONTINUE_EXPIRED", "MSG_CONFLICT",
    "MSG_NOT_FOUND", "MSG_TOO_MANY_REQUESTS", "MSG_ETCD_TOO_LARGE",
]

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

MAX_REQUEST_BYTES = 3 * 1024 * 1024     # k8s.io/apiserver MaxRequestBodyBytes (3 MiB)
MAX_OBJECT_BYTES = 1536 * 1024          # etcd --max-request-bytes default (1.5 MiB)
MAX_ANNOTATIONS_BYTES = 256 * 1024      # ObjectMeta TotalAnnotationSizeLimitB
_DRAIN_CAP = 16 * 1024 * 1024           # read at most this much of an oversized body before 413

# The apiserver's own words (see the module docstring for where each one comes from).
MSG_CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list.")
MSG_CONFLICT = ("the object has been modified; please apply your changes to the latest version "
                "and try again")
MSG_NOT_FOUND = "the server could not find the requested resource"
MSG_TOO_MANY_REQUESTS = "Too many requests, please try again later."
MSG_UNAVAILABLE = ("the request has been made before all known HTTP paths have been installed, "
                   "please try again")
MSG_ETCD_TOO_LARGE = "etcdserver: request is too large"
_MEDIA_TYPES_BODY = ("application/json, application/yaml, application/vnd.kubernetes.protobuf")
_MEDIA_TYPES_PATCH = ("application/json-patch+json, application/merge-patch+json, "
                      "application/apply-patch+yaml")
_STATUS_CODES = {s.value for s in http.HTTPStatus}
_CR_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]


# =================================================================================================
# 1. JSON and Status
# =================================================================================================

def go_json(obj: Any, sort_keys: bool = False) -> bytes:
    """JSON as Go's encoding/json writes it: compact, non-ASCII kept, <, >, & and U+2028/9
    escaped. Without the final newline (see _json_body)."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)
    if "<" in s or ">" in s or "&" in s or "\u2028" in s or "\u2029" in s:
        s = (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
             .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return s.encode("utf-8", "replace")


def _json_body(obj: Any, sort_keys: bool = False) -> bytes:
    # The apiserver's JSON serializer uses json.Encoder.Encode, which ends the document with "\n".
    return go_json(obj, sort_keys) + b"\n"


def status_failure(code: int, reason: str, message: str, details: Optional[dict] = None,
                   metadata: Optional[dict] = None) -> dict:
    """A metav1.Status in Go's field order (kind, apiVersion, metadata, status, message, reason,
    details, code); an empty reason and absent details are omitted, as `omitempty` does."""
    st = {"kind": "Status", "apiVersion": "v1", "metadata": metadata or {}, "status": "Failure"}
    if message:
        st["message"] = message
    if reason:
        st["reason"] = reason
    if details is not None:
        st["details"] = details
    st["code"] = code
    return st


def _details(name: str = "", group: str = "", kind: str = "", uid: str = "",
             causes: Optional[list] = None, retry_after: int = 0) -> dict:
    d = {}
    for k, v in (("name", name), ("group", group), ("kind", kind), ("uid", uid)):
        if v:
            d[k] = v
    if causes:
        d["causes"] = causes
    if retry_after:
        d["retryAfterSeconds"] = retry_after
    return d


class ApiError(Exception):
    """An answer other than success: a Status body (or raw bytes) with an HTTP code."""

    def __init__(self, status: dict, headers: Iterable = (), raw: Optional[bytes] = None,
                 content_type: str = "application/json"):
        super().__init__(status.get("message", ""))
        self.status = status
        self.code = status["code"]
        self.headers = list(headers)
        self.raw = raw
        self.content_type = content_type

    def body(self) -> bytes:
        return self.raw if self.raw is not None else _json_body(self.status)


def err_not_found(gr: str, group: str, resource: str, name: str) -> ApiError:
    # NewNotFound: `%s %q not found` with the qualified resource ("reports.openreports.io").
    return ApiError(status_failure(404, "NotFound", f"{gr} {_goq(name)} not found",
                                   _details(name, group, resource)))


def err_unserved() -> ApiError:
    # go-restful's 404 through NewGenericServerResponse: details present but empty.
    return ApiError(status_failure(404, "NotFound", MSG_NOT_FOUND, {}))


def err_bad_request(message: str) -> ApiError:
    return ApiError(status_failure(400, "BadRequest", message))


def err_conflict(gr: str, group: str, resource: str, name: str, why: str) -> ApiError:
    return ApiError(status_failure(
        409, "Conflict", f"Operation cannot be fulfilled on {gr} {_goq(name)}: {why}",
        _details(name, group, resource)))


def err_already_exists(gr: str, group: str, resource: str, name: str) -> ApiError:
    return ApiError(status_failure(409, "AlreadyExists", f"{gr} {_goq(name)} already exists",
                                   _details(name, group, resource)))


def err_invalid(group_kind: str, group: str, kind: str, name: str, errs: list) -> ApiError:
    causes = [{"reason": e.reason, "message": e.body(), "field": e.field} for e in errs]
    agg = str(errs[0]) if len(errs) == 1 else "[" + ", ".join(str(e) for e in errs) + "]"
    return ApiError(status_failure(422, "Invalid", f"{group_kind} {_goq(name)} is invalid: {agg}",
                                   _details(name, group, kind, causes=causes)))


def err_method_not_supported(gr: str, group: str, resource: str, action: str) -> ApiError:
    return ApiError(status_failure(405, "MethodNotAllowed",
                                   f"{action} is not supported on resources of kind {_goq(gr)}",
                                   _details(group=group, kind=resource)))


def err_unsupported_media(accepted: str, extra: str = "") -> ApiError:
    msg = f"the body of the request was in an unknown format - accepted media types include: {accepted}"
    return ApiError(status_failure(415, "UnsupportedMediaType", msg + extra))


def err_internal(message: str) -> ApiError:
    # An error the apiserver does not turn into a Status (e.g. etcd's): code 500, no reason.
    return ApiError(status_failure(500, "", message))


def _goq(s: str) -> str:
    """Go's %q for the strings that occur here (names, values): a JSON string is close enough;
    control characters differ (\\u0001 vs \\x01)."""
    return json.dumps(s, ensure_ascii=False)


# =================================================================================================
# 2. Field errors and validation
# =================================================================================================

_OMIT = object()


class FieldError:
    """k8s.io/apimachinery/pkg/util/validation/field.Error: reason (the cause type), the
    display text, the path, the bad value (or none) and a detail."""
    _DISPLAY = {"FieldValueRequired": "Required value", "FieldValueInvalid": "Invalid value",
                "FieldValueTypeInvalid": "Invalid value", "FieldValueNotSupported":
                "Unsupported value", "FieldValueTooLong": "Too long",
                "FieldValueForbidden": "Forbidden"}

    def __init__(self, reason: str, field: str, value: Any = _OMIT, detail: str = ""):
        self.reason, self.field, self.value, self.detail = reason, field, value, detail

    def body(self) -> str:
        s = self._DISPLAY[self.reason]
        if self.value is not _OMIT:
            s += ": " + _go_value(self.value)
        if self.detail:
            s += ": " + self.detail
        return s

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def __repr__(self) -> str:
        return f"FieldError({str(self)!r})"


def _go_value(v: Any) -> str:
    # field.Error.ErrorBody: %q for strings, %v for numbers and booleans; %#v for the rest
    # (rendered here as JSON: approximate).
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _goq(v)
    if isinstance(v, (int, float)):
        return repr(v)
    if v is None:
        return "null"
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _type_ok(want: str, v: Any) -> bool:
    got = _json_type(v)
    if want == got:
        return True
    if want == "number" and got == "integer":
        return True
    # kube-openapi accepts an integral float for an integer (JSON has one number type).
    return want == "integer" and got == "number" and float(v).is_integer()


def _child(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"


def validate_schema(value: Any, schema: dict, path: str, errs: list, unknown: list) -> Any:
    """Validates `value` against a structural schema (the subset the report CRDs use) the way
    the apiextensions-apiserver does, and returns it pruned of fields the schema does not know;
    their paths go to `unknown`. Errors are field errors as apiextensions writes them: type
    (`X in body must be of type T: "got"`), required, enum."""
    want = schema.get("type")
    if want and not _type_ok(want, value):
        got = _json_type(value)
        errs.append(FieldError("FieldValueTypeInvalid", path, got,
                               f"{path} in body must be of type {want}: {_goq(got)}"))
        return value
    if want == "object" or (want is None and isinstance(value, dict)):
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or (
            props is None and addl is None)
        for r in schema.get("required", ()):
            if r not in value:
                errs.append(FieldError("FieldValueRequired", _child(path, r)))
        out = {}
        for k in sorted(value):
            sub = _child(path, k)
            if props is not None and k in props:
                out[k] = validate_schema(value[k], props[k], sub, errs, unknown)
            elif isinstance(addl, dict):
                out[k] = validate_schema(value[k], addl, sub, errs, unknown)
            elif preserve:
                out[k] = value[k]
            else:
                unknown.append(sub)
        return out
    if want == "array" or (want is None and isinstance(value, list)):
        items = schema.get("items")
        if items is None:
            return value
        return [validate_schema(v, items, f"{path}[{i}]", errs, unknown)
                for i, v in enumerate(value)]
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        errs.append(FieldError("FieldValueNotSupported", path, value,
                               "supported values: " + ", ".join(_goq(e) for e in enum)))
    return value


# apimachinery/pkg/util/validation: names, label keys and values.
_DNS1123_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_QUALIFIED_NAME_FMT = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
              "with an alphanumeric character")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, "
                    "'-', '_' or '.', and must start and end with an alphanumeric character")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                          "characters, '-' or '.', and must start and end with an alphanumeric "
                          "character")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    msg += " (e.g. "
    for i, e in enumerate(examples):
        if i:
            msg += " or "
        msg += f"'{e}', "
    return msg + f"regex used for validation is '{fmt}')"


def is_dns1123_subdomain(v: str) -> list:
    errs = []
    if len(v) > 253:
        errs.append("must be no more than 253 characters")
    if not re.fullmatch(_DNS1123_SUBDOMAIN_FMT, v):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_qualified_name(v: str) -> list:
    parts = v.split("/")
    errs = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix)]
    else:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QUALIFIED_NAME_FMT, "MyName",
                                                   "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if name and not re.fullmatch(_QUALIFIED_NAME_FMT, name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QUALIFIED_NAME_FMT, "MyName",
                                                "my.name", "123-abc"))
    return errs


def is_label_value(v: str) -> list:
    errs = []
    if len(v) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(_LABEL_VALUE_FMT, v):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value",
                                 "12345"))
    return errs


_META_FIELDS = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
                "generation", "creationTimestamp", "deletionTimestamp",
                "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
                "finalizers", "managedFields"}


def validate_metadata(meta: dict, errs: list) -> None:
    """ObjectMeta validation for a custom resource (NameIsDNSSubdomain, labels, annotations)."""
    name = meta.get("name", "")
    for m in is_dns1123_subdomain(name):
        errs.append(FieldError("FieldValueInvalid", "metadata.name", name, m))
    for k, v in (meta.get("labels") or {}).items():
        for m in is_qualified_name(k):
            errs.append(FieldError("FieldValueInvalid", "metadata.labels", k, m))
        for m in is_label_value(v):
            errs.append(FieldError("FieldValueInvalid", "metadata.labels", v, m))
    total = 0
    for k, v in (meta.get("annotations") or {}).items():
        for m in is_qualified_name(k.lower()):
            errs.append(FieldError("FieldValueInvalid", "metadata.annotations", k, m))
        total += len(k) + len(v)
    if total > MAX_ANNOTATIONS_BYTES:
        errs.append(FieldError("FieldValueTooLong", "metadata.annotations", _OMIT,
                               f"must have at most {MAX_ANNOTATIONS_BYTES} bytes"))


# The two report CRDs' schemas, written from the API types (see the module docstring).
def _obj(props: dict, required: Iterable = ()) -> dict:
    return {"type": "object", "properties": props, "required": list(required)}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_STRMAP = {"type": "object", "additionalProperties": _STR}
_RESULTS_ENUM = ["pass", "fail", "warn", "error", "skip"]
_SEVERITY_ENUM = ["critical", "high", "low", "medium", "info"]
_OBJECT_REFERENCE = _obj({k: _STR for k in ("apiVersion", "fieldPath", "kind", "name",
                                            "namespace", "resourceVersion", "uid")})
_LABEL_SELECTOR = _obj({
    "matchExpressions": {"type": "array", "items": _obj(
        {"key": _STR, "operator": _STR, "values": {"type": "array", "items": _STR}},
        required=("key", "operator"))},
    "matchLabels": _STRMAP})
_RESULT = _obj({
    "category": _STR, "message": _STR, "policy": _STR, "properties": _STRMAP,
    "resourceSelector": _LABEL_SELECTOR,
    "resources": {"type": "array", "items": _OBJECT_REFERENCE},
    "result": {"type": "string", "enum": _RESULTS_ENUM}, "rule": _STR, "scored": _BOOL,
    "severity": {"type": "string", "enum": _SEVERITY_ENUM}, "source": _STR,
    # metav1.Timestamp: both fields are required by the generated schema.
    "timestamp": _obj({"nanos": _INT, "seconds": _INT}, required=("nanos", "seconds")),
}, required=("policy",))
_SUMMARY = _obj({k: _INT for k in ("error", "fail", "pass", "skip", "warn")})
POLICYREPORT_SCHEMA = _obj({
    "apiVersion": _STR, "kind": _STR, "metadata": {"type": "object"},
    "results": {"type": "array", "items": _RESULT}, "scope": _OBJECT_REFERENCE,
    "scopeSelector": _LABEL_SELECTOR, "summary": _SUMMARY})
REPORT_SCHEMA = copy.deepcopy(POLICYREPORT_SCHEMA)
REPORT_SCHEMA["properties"]["source"] = _STR
REPORT_SCHEMA["properties"]["configuration"] = _obj({"limits": _obj({
    "maxResults": _INT,
    "statusFilter": {"type": "array", "items": {"type": "string", "enum": _RESULTS_ENUM}}})},
    required=("limits",))


# =================================================================================================
# 3. Resource types
# =================================================================================================

@dataclasses.dataclass(frozen=True)
class ResourceType:
    """A namespaced custom resource the stand-in can serve. schema=None keeps every field (like
    x-kubernetes-preserve-unknown-fields); a dict is a structural schema (see validate_schema)."""
    group: str
    version: str
    resource: str
    kind: str
    singular: str = ""
    short_names: tuple = ()
    categories: tuple = ()
    schema: Optional[dict] = dataclasses.field(default=None, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def qualified(self) -> str:          # "reports.openreports.io" (GroupResource.String())
        return f"{self.resource}.{self.group}"

    @property
    def group_kind(self) -> str:         # "Report.openreports.io" (GroupKind.String())
        return f"{self.kind}.{self.group}"

    def discovery(self) -> dict:
        h = hashlib.sha256(f"{self.group}/{self.version}/{self.kind}".encode()).digest()[:8]
        d = {"name": self.resource, "singularName": self.singular or self.kind.lower(),
             "namespaced": True, "kind": self.kind, "verbs": list(_CR_VERBS)}
        if self.short_names:
            d["shortNames"] = list(self.short_names)
        if self.categories:
            d["categories"] = list(self.categories)
        d["storageVersionHash"] = base64.b64encode(h).decode()
        return d


APPLICATIONS = ResourceType("core.oam.dev", "v1beta1", "applications", "Application",
                            "application", ("app",), ("oam",))
TABLES = ResourceType("dynamodb.services.k8s.aws", "v1alpha1", "tables", "Table", "table",
                      (), ("aws",))
DYNAMODBTABLES = ResourceType("kro.run", "v1alpha1", "dynamodbtables", "DynamoDBTable",
                              "dynamodbtable")
REPORTS = ResourceType("openreports.io", "v1alpha1", "reports", "Report", "report", ("reps",),
                       schema=REPORT_SCHEMA)
POLICYREPORTS = ResourceType("wgpolicyk8s.io", "v1alpha2", "policyreports", "PolicyReport",
                             "policyreport", ("polr",), schema=POLICYREPORT_SCHEMA)
DEFAULT_KINDS = (APPLICATIONS, TABLES, DYNAMODBTABLES, REPORTS, POLICYREPORTS)
_BY_NAME = {t.resource: t for t in DEFAULT_KINDS}
_BY_NAME.update({t.qualified: t for t in DEFAULT_KINDS})


def resource_type(name) -> ResourceType:
    """A ResourceType, or one of the built-in ones by resource name ("reports") or qualified
    name ("reports.openreports.io")."""
    if isinstance(name, ResourceType):
        return name
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown resource {name!r}; known: "
                         + ", ".join(t.resource for t in DEFAULT_KINDS)) from None


# =================================================================================================
# 4. Storage: a revision counter, per-key history, compaction
# =================================================================================================

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


# =================================================================================================
# 5. Selectors
# =================================================================================================

_SEL_TOKEN = re.compile(r"\s*(==|!=|=|!|,|\(|\)|[^\s=!,()]+)")


def parse_label_selector(text: str):
    """k8s.io/apimachinery/pkg/labels.Parse, the operators a client sends: `k=v`, `k==v`,
    `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma-separated. Returns a list of
    (key, op, values); ValueError on a syntax error or an invalid key or value."""
    toks = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _SEL_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unable to parse requirement: invalid character at {pos}")
        toks.append(m.group(1))
        pos = m.end()
    reqs = []
    i = 0

    def need(cond, what):
        if not cond:
            found = toks[i] if i < len(toks) else "EOS"
            raise ValueError(f"unable to parse requirement: found '{found}', expected: {what}")

    def check_key(k):
        msgs = is_qualified_name(k)
        if msgs:
            raise ValueError(f"unable to parse requirement: key: Invalid value: {_goq(k)}: "
                             + "; ".join(msgs))

    def check_value(v):
        msgs = is_label_value(v)
        if msgs:
            raise ValueError(f"unable to parse requirement: values[0][{key}]: Invalid value: "
                             f"{_goq(v)}: " + "; ".join(msgs))

    while i < len(toks):
        if toks[i] == "!":
            i += 1
            need(i < len(toks) and toks[i] not in ("=", "==", "!=", "!", ",", "(", ")"),
                 "identifier after '!'")
            key = toks[i]
            check_key(key)
            reqs.append((key, "!", ()))
            i += 1
        else:
            need(toks[i] not in ("=", "==", "!=", ",", "(", ")"), "identifier")
            key = toks[i]
            check_key(key)
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append((key, "exists", ()))
            elif toks[i] in ("=", "==", "!="):
                op = "!=" if toks[i] == "!=" else "="
                i += 1
                val = ""
                if i < len(toks) and toks[i] not in (",", "(", ")", "=", "==", "!=", "!"):
                    val = toks[i]
                    i += 1
                check_value(val)
                reqs.append((key, op, (val,)))
            elif toks[i] in ("in", "notin"):
                op = toks[i]
                i += 1
                need(i < len(toks) and toks[i] == "(", "'('")
                i += 1
                vals = []
                while True:
                    need(i < len(toks), "')'")
                    if toks[i] == ")":
                        i += 1
                        break
                    if toks[i] == ",":
                        i += 1
                        continue
                    check_value(toks[i])
                    vals.append(toks[i])
                    i += 1
                need(vals, "at least one value")
                reqs.append((key, op, tuple(vals)))
            else:
                need(False, "'=', '!=', '==', 'in', notin'")
        if i < len(toks):
            need(toks[i] == ",", "','")
            i += 1
            need(i < len(toks), "identifier")
    return reqs


def labels_match(reqs, labels: dict) -> bool:
    for key, op, vals in reqs:
        has = key in labels
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op == "=" and (not has or labels[key] != vals[0]):
            return False
        if op == "!=" and has and labels[key] == vals[0]:
            return False
        if op == "in" and (not has or labels[key] not in vals):
            return False
        if op == "notin" and has and labels[key] in vals:
            return False
    return True


def parse_field_selector(text: str):
    """metadata.name and metadata.namespace with =, == or != (what a custom resource supports);
    anything else is 400 "field label not supported: X"."""
    reqs = []
    for part in [p for p in text.split(",") if p.strip()]:
        m = re.fullmatch(r"\s*([^=!\s]+)\s*(==|!=|=)\s*(.*?)\s*", part)
        if not m:
            raise ValueError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        if field not in ("metadata.name", "metadata.namespace"):
            raise ValueError(f"field label not supported: {field}")
        reqs.append((field, "!=" if op == "!=" else "=", value))
    return reqs


# =================================================================================================
# 6. Faults and the request log
# =================================================================================================

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


# =================================================================================================
# 7. HTTP server, TLS, authentication, authorization, routing, handlers
# =================================================================================================

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


class ApiServerStandin:
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

    # ------------------------------------------------------------------------- authentication
    def add_token(self, token: str, user: str) -> None:
        with self._lock:
            self._tokens[token] = user

    def remove_token(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    # -------------------------------------------------------------------------- authorization
    def allow(self, user: str, verbs="*", groups="*", resources="*",
              namespace: Optional[str] = None) -> None:
        """Grants `user` the verbs (get, list, watch, create, update, patch, delete,
        deletecollection) on the resources of the groups; each argument a name, a list of
        names or "*". namespace=None grants it in every namespace and at the cluster scope (a
        ClusterRoleBinding); a namespace name grants it there only (a RoleBinding)."""
        def norm(x):
            return frozenset([x]) if isinstance(x, str) else frozenset(x)
        with self._lock:
            self._rules.setdefault(user, []).append(
                (norm(verbs), norm(groups), norm(resources), namespace))

    def allow_all(self, user: str) -> None:
        self.allow(user, "*", "*", "*")

    def revoke(self, user: str) -> None:
        with self._lock:
            self._rules.pop(user, None)

    def authorized(self, user: str, verb: str, group: str, resource: str,
                   namespace: str = "") -> bool:
        with self._lock:
            for verbs, groups, resources, ns in self._rules.get(user, ()):
                if (("*" in verbs or verb in verbs) and ("*" in groups or group in groups)
                        and ("*" in resources or resource in resources)
                        and (ns is None or (namespace and ns == namespace))):
                    return True
        return False

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

    # --------------------------------------------------------------------------------- faults
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

    # ------------------------------------------------------------------------------------ log
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

    # ========================================================================= request path
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

    def _log_record(self, rec: RequestRecord, t0: float) -> None:
        # Logged before the answer is sent, so that a client that has its answer finds its
        # request in the log.
        with self._log_lock:
            if getattr(rec, "_logged", False):
                return
            rec._logged = True
            rec.duration = time.monotonic() - t0
            self._log.append(rec)

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

    def _authenticate(self, h: _Handler) -> Optional[str]:
        # The union authenticator tries the client certificate before bearer tokens.
        if self.client_ca:
            cert = h.connection.getpeercert()
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            return v
        auth = h.headers.get("Authorization", "")
        parts = auth.split(" ", 1)
        if len(parts) == 2 and parts[0].lower() == "bearer" and parts[1].strip():
            with self._lock:
                return self._tokens.get(parts[1].strip())
        return None

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

    def _forbidden(self, user, verb, group, resource, ns, name) -> ApiError:
        # responsewriters.forbiddenMessage wrapped by apierrors.NewForbidden.
        scope = f"in the namespace {_goq(ns)}" if ns else "at the cluster scope"
        why = (f"User {_goq(user)} cannot {verb} resource {_goq(resource)} in API group "
               f"{_goq(group)} {scope}")
        gr = f"{resource}.{group}" if group else resource
        head = f"{gr} {_goq(name)}" if name else gr
        return ApiError(status_failure(403, "Forbidden", f"{head} is forbidden: {why}",
                                       _details(name, group, resource)))

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

    # ------------------------------------------------------------------------------------ reads
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

    # ----------------------------------------------------------------------------------- writes
    def _decode(self, h, rt: ResourceType, body: bytes, content_types=("json", "yaml")) -> Any:
        ctype = h.headers.get("Content-Type", "").split(";")[0].strip().lower()
        text = body.decode("utf-8", "replace")
        if ctype == "application/json" and "json" in content_types:
            loader = json.loads
        elif ctype == "application/yaml" and "yaml" in content_types and yaml is not None:
            loader = yaml.safe_load
        else:
            raise err_unsupported_media(_MEDIA_TYPES_BODY)
        try:
            return loader(text)
        except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
            raise err_bad_request(
                f"the object provided is unrecognized (must be of type {rt.kind}): "
                f"couldn't get version/kind; json parse error: {e}") from None

    def _check_type_meta(self, rt: ResourceType, obj: Any, body: bytes) -> list:
        if not isinstance(obj, dict):
            raise err_bad_request(f"the object provided is unrecognized (must be of type "
                                  f"{rt.kind}): couldn't get version/kind; json parse error: "
                                  f"json: cannot unmarshal {_json_type(obj)} into Go value of "
                                  "type struct")
        if not obj.get("kind"):
            raise err_bad_request(f"the object provided is unrecognized (must be of type "
                                  f"{rt.kind}): Object 'Kind' is missing in "
                                  f"'{body[:1024].decode('utf-8', 'replace')}'")
        av = obj.get("apiVersion")
        if av != rt.api_version:
            raise err_bad_request(f"the API version in the data ({av}) does not match the "
                                  f"expected API version ({rt.api_version})")
        if obj.get("kind") != rt.kind:
            # customResourceValidator.ValidateTypeMeta
            return [FieldError("FieldValueInvalid", "kind", obj.get("kind"), f"must be {rt.kind}")]
        return []

    def _prepare(self, h, rt, ns, obj, params, body, name_in_url=None):
        """The create/update pipeline before storage: decoding rules (type meta, ObjectMeta
        types, unknown fields pruned with a warning each, or 400 with fieldValidation=Strict),
        then the schema. Returns (pruned object, schema errors, Warning headers); the caller
        validates metadata, whose errors come first as in the custom resource validator."""
        type_errs = self._check_type_meta(rt, obj, body)
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise self._cannot_handle(rt, "json: cannot unmarshal " + _json_type(meta)
                                      + " into Go struct field Object.metadata of type "
                                      "v1.ObjectMeta")
        for fld in ("name", "generateName", "namespace", "resourceVersion", "uid"):
            if fld in meta and not isinstance(meta[fld], str):
                raise self._cannot_handle(rt, f"json: cannot unmarshal {_json_type(meta[fld])} "
                                          f"into Go struct field ObjectMeta.metadata.{fld} of "
                                          "type string")
        for fld in ("labels", "annotations"):
            m = meta.get(fld)
            if m is None:
                continue
            if not isinstance(m, dict) or any(not isinstance(v, str) for v in m.values()):
                raise self._cannot_handle(rt, f"json: cannot unmarshal into Go struct field "
                                          f"ObjectMeta.metadata.{fld} of type string")
        if meta.get("namespace") not in (None, "", ns):
            raise err_bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
        if name_in_url is not None and meta.get("name", "") != name_in_url:
            raise err_bad_request(f"the name of the object ({meta.get('name', '')}) does not "
                                  f"match the name on the URL ({name_in_url})")
        directive = params.get("fieldValidation", "Warn") or "Warn"
        if directive not in ("Ignore", "Warn", "Strict"):
            raise err_bad_request(f"invalid fieldValidation directive: {directive}")
        unknown = [f"metadata.{k}" for k in sorted(meta) if k not in _META_FIELDS]
        for k in unknown:
            del meta[k.split(".", 1)[1]]
        errs: list = []
        if rt.schema is not None:
            saved_meta = obj["metadata"]
            obj = validate_schema(obj, rt.schema, "", errs, unknown)
            obj["metadata"] = saved_meta
        if unknown and directive == "Strict":
            raise self._cannot_handle(rt, "strict decoding error: " + ", ".join(
                f"unknown field {_goq(u)}" for u in unknown))
        if type_errs:  # ValidateTypeMeta's errors are returned alone
            raise err_invalid(rt.group_kind, rt.group, rt.kind, meta.get("name", ""), type_errs)
        warnings = [] if directive == "Ignore" else [
            ("Warning", '299 - ' + _goq(f"unknown field {_goq(u)}")) for u in unknown]
        return obj, errs, warnings

    def _cannot_handle(self, rt, why) -> ApiError:
        return err_bad_request(f"{rt.kind} in version {_goq(rt.version)} cannot be handled as "
                               f"a {rt.kind}: {why}")

    def _check_size(self, rt, ns, name, raw: bytes) -> None:
        if len(raw) + len(_etcd_key(rt, ns, name)) > self.max_object_bytes:
            raise err_internal(MSG_ETCD_TOO_LARGE)

    def _create(self, h, rt, ns, name, params, body):
        obj = self._decode(h, rt, body)
        obj, schema_errs, warnings = self._prepare(h, rt, ns, obj, params, body)
        meta = obj["metadata"]
        errs: list = []
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            else:
                errs.append(FieldError("FieldValueRequired", "metadata.name", _OMIT,
                                       "name or generateName is required"))
        if meta.get("name"):
            validate_metadata(meta, errs)
        errs += schema_errs
        if errs:  # the warnings were recorded before validation: they go with the error too
            e = err_invalid(rt.group_kind, rt.group, rt.kind, meta.get("name", ""), errs)
            e.headers = warnings
            raise e
        if meta.get("resourceVersion"):
            raise err_internal("resourceVersion should not be set on objects to be created")
        name = meta["name"]
        meta["namespace"] = ns
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["generation"] = 1
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
            meta.pop(k, None)
        with self._lock:
            c = self._collections[rt.resource]
            key = f"{ns}/{name}"
            meta["resourceVersion"] = str(self._rv + 1)
            version = _Version(self._rv + 1, obj)
            self._check_size(rt, ns, name, version.raw)
            if c.latest(key) is not None:
                raise err_already_exists(rt.qualified, rt.group, rt.resource, name)
            self._next_rv()
            c.put(key, version)
            raw = version.raw
        return self._respond(h, 201, raw + b"\n", headers=warnings)

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

    def _store_update(self, h, rt, ns, name, obj, schema_errs, warnings, current):
        """The end of update and patch: preconditions, validation, the no-op rule, size, write.
        The caller holds the lock; `current` is the version read."""
        meta = obj["metadata"]
        cur_meta = current.obj["metadata"]
        rv = meta.get("resourceVersion", "")
        if rv and rv != cur_meta["resourceVersion"]:
            raise err_conflict(rt.qualified, rt.group, rt.resource, name, MSG_CONFLICT)
        uid = meta.get("uid", "")
        if uid and uid != cur_meta.get("uid"):
            raise err_conflict(rt.qualified, rt.group, rt.resource, name,
                               f"Precondition failed: UID in precondition: {uid}, UID in "
                               f"object meta: {cur_meta.get('uid')}")
        errs: list = []
        validate_metadata(meta, errs)
        errs += schema_errs
        if errs:
            e = err_invalid(rt.group_kind, rt.group, rt.kind, name, errs)
            e.headers = warnings
            raise e
        meta["namespace"] = ns
        for k in ("uid", "creationTimestamp"):
            if k in cur_meta:
                meta[k] = cur_meta[k]
        meta.pop("managedFields", None)
        meta.pop("selfLink", None)
        spec_changed = ({k: v for k, v in obj.items() if k != "metadata"}
                        != {k: v for k, v in current.obj.items() if k != "metadata"})
        meta["generation"] = cur_meta.get("generation", 1) + (1 if spec_changed else 0)
        meta["resourceVersion"] = cur_meta["resourceVersion"]
        if obj == current.obj:
            return self._respond(h, 200, current.raw + b"\n", headers=warnings)
        meta["resourceVersion"] = str(self._rv + 1)
        version = _Version(self._rv + 1, obj)
        self._check_size(rt, ns, name, version.raw)
        self._next_rv()
        self._collections[rt.resource].put(f"{ns}/{name}", version)
        return self._respond(h, 200, version.raw + b"\n", headers=warnings)

    def _update(self, h, rt, ns, name, params, body):
        obj = self._decode(h, rt, body)
        obj, errs, warnings = self._prepare(h, rt, ns, obj, params, body, name_in_url=name)
        with self._lock:
            self._bump(rt, ns, name, "update")
            current = self._collections[rt.resource].latest(f"{ns}/{name}")
            if current is None:
                raise err_not_found(rt.qualified, rt.group, rt.resource, name)
            return self._store_update(h, rt, ns, name, obj, errs, warnings, current)

    def _patch(self, h, rt, ns, name, params, body):
        ctype = h.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype == "application/apply-patch+yaml":
            raise err_unsupported_media(_MEDIA_TYPES_PATCH, " (the apiserver stand-in does not "
                                        "implement server-side apply)")
        if ctype not in ("application/merge-patch+json", "application/json-patch+json"):
            raise err_unsupported_media(_MEDIA_TYPES_PATCH)
        try:
            patch = json.loads(body.decode("utf-8", "replace"))
        except ValueError as e:
            raise err_bad_request(str(e)) from None
        with self._lock:
            self._bump(rt, ns, name, "patch")
            current = self._collections[rt.resource].latest(f"{ns}/{name}")
            if current is None:
                raise err_not_found(rt.qualified, rt.group, rt.resource, name)
            if ctype == "application/merge-patch+json":
                obj = merge_patch(copy.deepcopy(current.obj), patch)
            else:
                if not isinstance(patch, list):
                    raise err_bad_request("json: cannot unmarshal object into Go value of type "
                                          "jsonpatch.Patch")
                try:
                    obj = json_patch(copy.deepcopy(current.obj), patch)
                except _PatchError as e:
                    if e.bad_request:
                        raise err_bad_request(str(e)) from None
                    # NewGenericServerResponse(422, ...): a fixed message, empty details.
                    raise ApiError(status_failure(
                        422, "Invalid", "the server rejected our request due to an error in "
                        "our request", {})) from None
            obj, errs, warnings = self._prepare(h, rt, ns, obj, params, body, name_in_url=name)
            return self._store_update(h, rt, ns, name, obj, errs, warnings, current)

    def _delete(self, h, rt, ns, name, params, body):
        pre = {}
        if body.strip():
            try:
                opts = json.loads(body)
            except ValueError as e:
                raise err_bad_request(str(e)) from None
            if isinstance(opts, dict):
                if opts.get("dryRun"):
                    raise err_bad_request("dryRun is not supported by the apiserver stand-in")
                pre = opts.get("preconditions") or {}
        with self._lock:
            self._bump(rt, ns, name, "delete")
            c = self._collections[rt.resource]
            cur = c.latest(f"{ns}/{name}")
            if cur is None:
                raise err_not_found(rt.qualified, rt.group, rt.resource, name)
            m = cur.obj["metadata"]
            if pre.get("uid") and pre["uid"] != m.get("uid"):
                raise err_conflict(rt.qualified, rt.group, rt.resource, name,
                                   f"Precondition failed: UID in precondition: {pre['uid']}, "
                                   f"UID in object meta: {m.get('uid')}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != m["resourceVersion"]:
                raise err_conflict(rt.qualified, rt.group, rt.resource, name,
                                   "Precondition failed: ResourceVersion in precondition: "
                                   f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                   f"{m['resourceVersion']}")
            c.put(f"{ns}/{name}", _Version(self._next_rv(), None))
        # genericregistry.Store.Delete for a custom resource: a Success Status naming the object.
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
              "details": _details(name, rt.group, rt.resource, m.get("uid", ""))}
        return self._respond(h, 200, _json_body(st))


def _shutdown(conn) -> None:
    # socket.socket's shutdown, not SSLSocket's: the fd only, while another thread may be
    # inside the TLS object.
    try:
        socket.socket.shutdown(conn, socket.SHUT_RDWR)
    except OSError:
        pass


def _fields_match(reqs, key: str) -> bool:
    ns, name = key.split("/", 1)
    for field, op, value in reqs:
        actual = name if field == "metadata.name" else ns
        if (actual == value) != (op == "="):
            return False
    return True


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


# ------------------------------------------------------------------------------ patch helpers

def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


class _PatchError(Exception):
    def __init__(self, msg, bad_request=False):
        super().__init__(msg)
        self.bad_request = bad_request


def _pointer(path: str) -> list:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _PatchError(f"JSON pointer must be empty or start with a \"/\": {path}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, tokens, path):
    cur = doc
    for t in tokens:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise _PatchError(f"doc is missing path: {path}")
    return cur


def json_patch(doc: Any, ops: list) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise _PatchError("Unexpected kind: unknown", bad_request=True)
        kind, path = op["op"], op.get("path", "")
        if not isinstance(path, str):
            raise _PatchError("path is not a string", bad_request=True)
        toks = _pointer(path)

        def parent(toks=toks, path=path):
            if not toks:
                raise _PatchError(f"doc is missing path: {path}")
            return _walk(doc, toks[:-1], path), toks[-1]

        def put(value, toks=toks, path=path, replace=False):
            nonlocal doc
            if not toks:
                doc = value
                return
            con, last = parent(toks, path)
            if isinstance(con, dict):
                if replace and last not in con:
                    raise _PatchError(f"replace operation does not apply: doc is missing key: "
                                      f"{path}")
                con[last] = value
            elif isinstance(con, list):
                if last == "-" and not replace:
                    con.append(value)
                    return
                if not last.isdigit() or int(last) > len(con) - (1 if replace else 0):
                    raise _PatchError(f"index out of bounds: {path}")
                if replace:
                    con[int(last)] = value
                else:
                    con.insert(int(last), value)
            else:
                raise _PatchError(f"doc is missing path: {path}")

        def take(toks=toks, path=path):
            con, last = parent(toks, path)
            if isinstance(con, dict) and last in con:
                return con.pop(last)
            if isinstance(con, list) and last.isdigit() and int(last) < len(con):
                return con.pop(int(last))
            raise _PatchError(f"remove operation does not apply: doc is missing path: {path}")

        if kind == "add":
            put(copy.deepcopy(op.get("value")))
        elif kind == "remove":
            take()
        elif kind == "replace":
            if not toks:
                doc = copy.deepcopy(op.get("value"))
            else:
                put(copy.deepcopy(op.get("value")), replace=True)
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            if kind == "move":
                value = take(src, op.get("from", ""))
            else:
                value = copy.deepcopy(_walk(doc, src, op.get("from", "")))
            put(value)
        elif kind == "test":
            if _walk(doc, toks, path) != op.get("value"):
                raise _PatchError(f"testing value {path} failed: test failed")
        else:
            raise _PatchError(f"Unexpected kind: {kind}", bad_request=True)
    return doc


# =================================================================================================
# 8. Data: files, generated Applications, reports, certificates
# =================================================================================================

def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def load_documents(path: str) -> list:
    """The objects of a JSON or YAML file (multi-document YAML, Lists expanded), or of every
    *.json, *.yaml, *.yml file of a directory, in sorted order."""
    if os.path.isdir(path):
        out = []
        for name in sorted(os.listdir(path)):
            if name.endswith((".json", ".yaml", ".yml")):
                out += load_documents(os.path.join(path, name))
        return out
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        docs = [json.loads(text)]
    else:
        if yaml is None:
            raise RuntimeError("YAML files need python3-yaml")
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    out = []
    for d in docs:
        if isinstance(d, dict) and isinstance(d.get("items"), list) and (
                d.get("kind") == "List" or str(d.get("kind", "")).endswith("List")):
            out += d["items"]
        else:
            out.append(d)
    return out


_VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE")


def make_applications(count: int, namespaces, *, invalid_every: int = 0,
                      warning_every: int = 0, prefix: str = "app",
                      labels: Optional[dict] = None) -> list:
    """`count` KubeVela Applications with one aws-dynamodb-kro component and its
    dynamodb-streams-kro trait, spread round-robin over `namespaces` (a number M: ns-000 ..
    ns-M-1, or a list of names). Every `invalid_every`-th one (index % invalid_every ==
    invalid_every - 1) has viewType "NEW" (not supported: a field error of /validate); every
    `warning_every`-th of the others disables streams while naming a viewType (a warning only,
    as test/fixtures/check/warning-only.yaml). The rest are valid, cycling through the four view
    types and the trait's defaults. Names are PREFIX-00000 ..., deterministic."""
    if isinstance(namespaces, int):
        namespaces = [f"ns-{i:03d}" for i in range(namespaces)]
    namespaces = list(namespaces)
    apps = []
    for i in range(count):
        props: Optional[dict]
        if invalid_every and i % invalid_every == invalid_every - 1:
            props = {"enabled": True, "viewType": "NEW"}
        elif warning_every and i % warning_every == warning_every - 1:
            props = {"enabled": False, "viewType": "KEYS_ONLY"}
        elif i % 5 == 4:
            props = None                                  # the trait's defaults
        else:
            props = {"enabled": True, "viewType": _VIEW_TYPES[i % 4]}
        trait = {"type": "dynamodb-streams-kro"}
        if props is not None:
            trait["properties"] = props
        meta = {"name": f"{prefix}-{i:05d}", "namespace": namespaces[i % len(namespaces)]}
        if labels:
            meta["labels"] = dict(labels)
        apps.append({
            "apiVersion": "core.oam.dev/v1beta1", "kind": "Application", "metadata": meta,
            "spec": {"components": [{
                "name": "table", "type": "aws-dynamodb-kro",
                "properties": {
                    "tableName": f"table-{i:05d}", "region": "us-east-1",
                    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
                    "keySchema": [{"attributeName": "id", "keyType": "HASH"}]},
                "traits": [trait]}]}})
    return apps


def make_report(namespace: str, name: str, *, kind: str = "Report", source: str = "other-tool",
                results: Optional[list] = None, labels: Optional[dict] = None) -> dict:
    """A valid Report (or PolicyReport, kind="PolicyReport") whose summary counts its results;
    by default one `pass` result. For tests that need reports of another tool, or a base to
    break."""
    if results is None:
        results = [{"policy": "example", "rule": "example", "result": "pass", "source": source,
                    "severity": "info", "timestamp": {"seconds": 1700000000, "nanos": 0}}]
    summary = {k: sum(1 for r in results if r.get("result") == k)
               for k in ("pass", "fail", "warn", "error", "skip")}
    doc = {"apiVersion": "openreports.io/v1alpha1" if kind == "Report"
           else "wgpolicyk8s.io/v1alpha2", "kind": kind,
           "metadata": {"name": name, "namespace": namespace}, "summary": summary,
           "results": results}
    if labels:
        doc["metadata"]["labels"] = dict(labels)
    if kind == "Report":
        doc["source"] = source
    return doc


def make_certs(out: str, *extra: str) -> str:
    """A CA and a serving certificate for localhost/127.0.0.1 in `out`, by the project's
    certs/make-dev-certs.sh (ca.crt, ca.key, tls.crt, tls.key; client.crt/key with --client)."""
    subprocess.run(["bash", os.path.join(ROOT, "certs", "make-dev-certs.sh"), out, *extra],
                   check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return out


def make_client_cert(certdir: str, cn: str, name: str = "user",
                     ca: Optional[str] = None, ca_key: Optional[str] = None) -> tuple:
    """A clientAuth certificate with CN=cn signed by certdir's CA (or ca/ca_key): returns the
    paths (NAME.crt, NAME.key). A kubeconfig user authenticating by certificate."""
    ca = ca or os.path.join(certdir, "ca.crt")
    ca_key = ca_key or os.path.join(certdir, "ca.key")
    crt, key = os.path.join(certdir, f"{name}.crt"), os.path.join(certdir, f"{name}.key")
    ext = os.path.join(certdir, f"{name}.ext")
    csr = os.path.join(certdir, f"{name}.csr")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=clientAuth\n")
    run = lambda *a: subprocess.run(a, check=True, timeout=60, capture_output=True)  # noqa: E731
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-out", key)
    run("openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn.replace("/", "\\/"),
        "-out", csr)
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial",
        "0x" + os.urandom(16).hex(), "-days", "30", "-sha256", "-extfile", ext, "-out", crt)
    os.remove(csr)
    os.remove(ext)
    return crt, key


# =================================================================================================
# 9. Script mode
# =================================================================================================

def _parse_pair(text: str, what: str) -> tuple:
    k, sep, v = text.partition("=")
    if not sep or not k or not v:
        raise argparse.ArgumentTypeError(f"{what} must be KEY=VALUE, got {text!r}")
    return k, v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="A Kubernetes apiserver stand-in on 127.0.0.1 (HTTPS) for testing "
                    "`dynamodb-streams-webhook audit`. Runs until SIGTERM or SIGINT.")
    ap.add_argument("--cert", required=True, help="serving certificate (PEM)")
    ap.add_argument("--key", required=True, help="serving key (PEM)")
    ap.add_argument("--client-ca", help="CA of client certificates (user = CN)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    ap.add_argument("--port-file", help="write the bound port here (atomically) once serving")
    ap.add_argument("--token", action="append", default=[], metavar="TOKEN=USER",
                    help="a bearer token and its user (repeatable)")
    ap.add_argument("--allow", action="append", default=[],
                    metavar="USER=VERBS,GROUP,RESOURCE[,NAMESPACE]",
                    help="grant USER the verbs (';'-separated or *) on GROUP's RESOURCE (* for "
                         "any), in NAMESPACE only when given (repeatable)")
    ap.add_argument("--serve", action="append", metavar="RESOURCE",
                    help="serve only these resources (repeatable; default: applications, "
                         "tables, dynamodbtables, reports, policyreports)")
    ap.add_argument("--objects", action="append", default=[], metavar="PATH",
                    help="load objects from a JSON/YAML file or a directory (repeatable)")
    ap.add_argument("--generate-applications", metavar="N:M",
                    help="add N generated Applications in M namespaces")
    ap.add_argument("--invalid-every", type=int, default=0,
                    help="with --generate-applications: every K-th is invalid")
    ap.add_argument("--warning-every", type=int, default=0,
                    help="with --generate-applications: every K-th only warns")
    ap.add_argument("--continue-ttl", type=float, help="continue tokens expire after S seconds")
    ap.add_argument("--not-found", choices=("status", "text"), default="status")
    ap.add_argument("--request-log", help="write the request log here (JSON lines) at exit")
    args = ap.parse_args(argv)

    tokens = dict(_parse_pair(t, "--token") for t in args.token)
    srv = ApiServerStandin(args.cert, args.key, client_ca=args.client_ca, host=args.host,
                           port=args.port, kinds=args.serve or DEFAULT_KINDS, tokens=tokens,
                           continue_ttl=args.continue_ttl, not_found=args.not_found)
    for a in args.allow:
        user, spec = _parse_pair(a, "--allow")
        fields = spec.split(",")
        if len(fields) not in (3, 4):
            ap.error(f"--allow needs USER=VERBS,GROUP,RESOURCE[,NAMESPACE], got {a!r}")
        verbs = fields[0].split(";")
        srv.allow(user, verbs, fields[1], fields[2], fields[3] if len(fields) == 4 else None)
    for p in args.objects:
        srv.load_path(p)
    if args.generate_applications:
        n, _, m = args.generate_applications.partition(":")
        srv.add_objects(make_applications(int(n), int(m or 1),
                                          invalid_every=args.invalid_every,
                                          warning_every=args.warning_every))

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    srv.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{srv.port}\n")
        os.replace(tmp, args.port_file)
    print(f"apiserver-standin: serving on {srv.url}", file=sys.stderr, flush=True)
    while not stop.wait(0.2):
        pass
    rc = 0
    try:
        srv.stop(timeout=5)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        rc = 1
    if args.request_log:
        with open(args.request_log, "w") as f:
            for r in srv.requests():
                f.write(json.dumps(dataclasses.asdict(r)) + "\n")
    print("apiserver-standin: stopped", file=sys.stderr, flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
