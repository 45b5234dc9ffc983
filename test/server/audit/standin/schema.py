"""The report CRDs' structural schemas and their checks (rule 2 of the package docstring):
validate_schema() validates and prunes as the apiextensions-apiserver does (type, required, enum,
unknown fields), and REPORT_SCHEMA / POLICYREPORT_SCHEMA are written from the OpenReports `Report`
(openreports.io/v1alpha1) and wg-policy `PolicyReport` (wgpolicyk8s.io/v1alpha2) API types."""
import copy
from typing import Any, Iterable

from .fields import FieldError, _json_type
from .status import _goq


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


# The two report CRDs' schemas, written from the API types (see this module's docstring).
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
