"""JSON as Go writes it, metav1.Status documents and the apiserver's messages (rule 1 of the
package docstring): go_json(), status_failure(), ApiError and the err_* constructors, which build
a Status as k8s.io/apimachinery/pkg/api/errors does, and the MSG_* texts."""
import json
from typing import Any, Iterable, Optional


# The apiserver's own words (see the package docstring for where each one comes from).
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
