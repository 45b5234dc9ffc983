"""Writes (rule 6 of the package docstring): _WritesMixin gives ApiServerStandin create, update,
patch and delete with the decoding rules (type meta, ObjectMeta types, unknown fields pruned or
refused with fieldValidation=Strict), validation, preconditions, the no-op update and the etcd
size limit."""
import copy
import json
import random
import uuid
from typing import Any

from .data import yaml
from .fields import _META_FIELDS, _OMIT, FieldError, _json_type, validate_metadata
from .patch import _PatchError, json_patch, merge_patch
from .resources import ResourceType
from .schema import validate_schema
from .status import (MSG_CONFLICT, MSG_ETCD_TOO_LARGE, ApiError, _details, _goq, _json_body,
                     err_already_exists, err_bad_request, err_conflict, err_internal, err_invalid,
                     err_not_found, err_unsupported_media, status_failure)
from .storage import _etcd_key, _now, _Version


_MEDIA_TYPES_BODY = ("application/json, application/yaml, application/vnd.kubernetes.protobuf")
_MEDIA_TYPES_PATCH = ("application/json-patch+json, application/merge-patch+json, "
                      "application/apply-patch+yaml")


class _WritesMixin:
    """ApiServerStandin's writes (the state is set up by its constructor)."""

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
