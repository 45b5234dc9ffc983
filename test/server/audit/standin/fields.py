"""Field errors and ObjectMeta validation (rule 2 of the package docstring): apimachinery's
field.Error and its text, the name, label-key, label-value and annotation rules
(k8s.io/apimachinery/pkg/util/validation) and validate_metadata() for a custom resource."""
import json
import re
from typing import Any

from .status import _goq


MAX_ANNOTATIONS_BYTES = 256 * 1024      # ObjectMeta TotalAnnotationSizeLimitB


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
