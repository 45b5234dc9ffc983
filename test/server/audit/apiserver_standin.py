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

The rules it keeps, and what it leaves out, are listed in standin/__init__.py; the code is split
by concern into that package's modules (Status and messages, field and schema validation,
resource types, storage and lists, selectors, faults and the request log, the HTTPS server,
authentication and RBAC, writes, patches, data and certificates, script mode). This module is
the entry point: it re-exports the public API below and runs main() as a script.

Public API (see each docstring): ApiServerStandin(cert, key, client_ca=, kinds=, tokens=, rules=,
continue_ttl=, not_found=, ...) with start(), stop(timeout), port, url, a context manager;
add_token(), allow(user, verbs, groups, resources, namespace=None), allow_all(), revoke();
add(), add_objects(), load_path(), get(), objects(), delete(), resource_version;
fail(), reset_connection(), not_json(), bump_before_update(), expire_continue_tokens(),
clear_faults() (each fault returns a Fault with .hits and .remaining); requests(), writes(),
clear_log(), counters. Helpers: make_applications(), make_report(), make_certs(),
make_client_cert(), load_documents(), encode_continue()/decode_continue(), the ResourceType
constants APPLICATIONS, TABLES, DYNAMODBTABLES, REPORTS, POLICYREPORTS, and the MSG_* texts.
Also here, as before the split: ROOT, the limits, the schemas, go_json(), status_failure(),
ApiError and the err_* constructors, the validators, selectors and patch functions, main().
"""
import os
import sys

# The package sits next to this file; when this module was loaded by its path rather than from
# its directory (which Python puts on sys.path for a script), make the package importable too.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

# Every public name this module had before it was split, from the module that now holds it.
from standin.apiserver import (  # noqa: E402
    MAX_OBJECT_BYTES, MAX_REQUEST_BYTES, ApiServerStandin)
from standin.cli import main  # noqa: E402
from standin.data import (  # noqa: E402
    ROOT, load_documents, make_applications, make_certs, make_client_cert, make_report, yaml)
from standin.faults import Fault, RequestRecord  # noqa: E402
from standin.fields import (  # noqa: E402
    MAX_ANNOTATIONS_BYTES, FieldError, is_dns1123_subdomain, is_label_value, is_qualified_name,
    validate_metadata)
from standin.patch import json_patch, merge_patch  # noqa: E402
from standin.resources import (  # noqa: E402
    APPLICATIONS, DEFAULT_KINDS, DYNAMODBTABLES, POLICYREPORTS, REPORTS, TABLES, ResourceType,
    resource_type)
from standin.schema import (  # noqa: E402
    POLICYREPORT_SCHEMA, REPORT_SCHEMA, validate_schema)
from standin.selectors import (  # noqa: E402
    labels_match, parse_field_selector, parse_label_selector)
from standin.status import (  # noqa: E402
    MSG_CONFLICT, MSG_CONTINUE_EXPIRED, MSG_ETCD_TOO_LARGE, MSG_NOT_FOUND, MSG_TOO_MANY_REQUESTS,
    MSG_UNAVAILABLE, ApiError, err_already_exists, err_bad_request, err_conflict, err_internal,
    err_invalid, err_method_not_supported, err_not_found, err_unserved, err_unsupported_media,
    go_json, status_failure)
from standin.storage import decode_continue, encode_continue  # noqa: E402

__all__ = [
    "ApiServerStandin", "ResourceType", "Fault", "RequestRecord", "APPLICATIONS", "TABLES",
    "DYNAMODBTABLES", "REPORTS", "POLICYREPORTS", "DEFAULT_KINDS", "make_applications",
    "make_report", "make_certs", "make_client_cert", "load_documents", "encode_continue",
    "MAX_REQUEST_BYTES", "MAX_OBJECT_BYTES", "MSG_CONTINUE_EXPIRED", "MSG_CONFLICT",
    "MSG_NOT_FOUND", "MSG_TOO_MANY_REQUESTS", "MSG_ETCD_TOO_LARGE",
]

if __name__ == "__main__":
    sys.exit(main())
