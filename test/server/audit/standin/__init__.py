"""The modules of the Kubernetes apiserver stand-in the audit tests run against. Import it through
its entry point, test/server/audit/apiserver_standin.py: that module re-exports the public API
and runs as a script. This package imports nothing here; each module imports what it uses.

    status.py      JSON as Go writes it, metav1.Status, ApiError and err_*, the MSG_* texts
    fields.py      field.Error, name/label/annotation rules, ObjectMeta validation
    schema.py      the report CRDs' structural schemas and validate_schema()
    resources.py   ResourceType and the built-in kinds (APPLICATIONS, ..., DEFAULT_KINDS)
    selectors.py   label and field selectors
    storage.py     revisions, per-key history, compaction, continue tokens; list and get
    faults.py      Fault, RequestRecord; fault injection and the request log
    httpserver.py  the HTTPS server, the request path (body limits, routing), discovery
    auth.py        bearer tokens, client certificates, RBAC-like grants, 401 and 403
    patch.py       JSON merge patch and JSON patch
    writes.py      create, update, patch, delete
    apiserver.py   ApiServerStandin: lifecycle and the objects API, made of the mixins above
    data.py        load_documents(), make_applications(), make_report(), make_certs(), ...
    cli.py         script mode: main()

The rules it keeps, and what it leaves out (the module that keeps each in brackets):

1. JSON and Status [status.py] -- Go's encoding/json layout (compact, `<>&` escaped, a final
   newline); custom resources and lists with sorted keys (they are maps in the apiserver);
   `Status` objects built as k8s.io/apimachinery/pkg/api/errors builds them (NewNotFound,
   NewAlreadyExists, NewConflict, NewForbidden, NewInvalid, NewBadRequest, NewResourceExpired,
   ...).
2. Field errors and validation [fields.py, schema.py, writes.py] -- apimachinery's field.Error
   text ("results[0].result: Unsupported value: ...") and the apiextensions structural-schema
   rules for the two report CRDs: unknown fields pruned (a `Warning: 299` header per field; 400
   with `?fieldValidation=Strict`), types, `required`, `enum`; ObjectMeta's name, label and
   annotation rules. The schemas are written in schema.py from the OpenReports `Report`
   (openreports.io/v1alpha1) and wg-policy `PolicyReport` (wgpolicyk8s.io/v1alpha2) API types:
   note that PolicyReport has no top-level `source` (a real apiserver prunes it). Not kept: CEL
   rules, formats, defaults, the exact wording of errors about non-scalar values.
3. Resource types [resources.py] -- Applications, ACK Tables, kro DynamoDBTables, Reports,
   PolicyReports; which ones an instance serves is chosen per instance. All are namespaced;
   cluster-scoped resources are not modelled.
4. Storage [storage.py] -- one global resourceVersion counter (etcd's revision), per-key history
   so that a paged list reads one consistent snapshot (the continue token's resourceVersion)
   while writes go on, and compaction (which is what makes continue tokens expire). Keys sort as
   etcd's do: "namespace/name" byte order.
5. Lists [storage.py, selectors.py] -- `limit`/`continue` exactly like the etcd3 store: tokens
   are base64url JSON {"v":"meta.k8s.io/v1","rv":N,"start":"ns/name\\u0000"};
   `metadata.continue` when more keys remain (with a label selector a page can hold fewer than
   `limit` items, even none, and still carry a token, as on a real server);
   `remainingItemCount` without selectors; a malformed token is 400 "invalid continue token:
   continue key is not valid: ..."; an expired one is 410 Expired with the apiserver's message
   and a fresh token (resourceVersion -1) in the Status' metadata. `labelSelector` (=, ==, !=,
   exists, !key, in, notin) and `fieldSelector` (metadata.name, metadata.namespace). Not kept:
   watch (answered 400), `resourceVersion`/`resourceVersionMatch` semantics on lists (ignored,
   except that `continue` with a resourceVersion is 400 as upstream), the watch cache (a real
   server given `resourceVersion=0` may ignore `limit`).
6. Writes [writes.py, patch.py; the body limit in httpserver.py] -- create (201; 409
   AlreadyExists; uid, resourceVersion, creationTimestamp, generation set; generateName), get,
   update (PUT; 409 Conflict on a stale `metadata.resourceVersion`, unconditional without one; a
   no-op update writes nothing and keeps the resourceVersion, as upstream), JSON merge patch and
   JSON patch, delete (200 with the Status upstream returns for custom resources;
   preconditions). Limits: a request body over 3 MiB is 413 "Request entity too large: limit is
   3145728" (the apiserver's MaxRequestBodyBytes); an object whose stored JSON plus etcd key
   exceeds etcd's 1.5 MiB request limit is 500 with the message "etcdserver: request is too
   large" and no reason, which is what the apiserver still answers (kubernetes/kubernetes
   #74600, #112152; etcd adds a few bytes of framing, so objects within ~100 bytes of the limit
   may pass here and fail on a real cluster). Not kept: server-side apply (415), strategic merge
   patch (415, as for any custom resource), finalizers and graceful deletion, deletecollection,
   dryRun (400), managedFields, namespaces as objects (any namespace name exists).
7. HTTP, TLS, authentication, authorization [httpserver.py, auth.py] -- HTTPS only, HTTP/1.1
   keep-alive, Content-Length on every answer; bearer tokens and (with a client CA) client
   certificates, user = the certificate's CN, the certificate first as in the apiserver's union
   authenticator; 401 Status "Unauthorized"; RBAC-like rules per user (verb, group, resource,
   optional namespace, `*` wildcards) checked before the resource is looked up (so an unserved
   kind is 403 to a user who may not list it, as upstream); 403 with
   responsewriters.forbiddenMessage's text. Discovery (/api, /apis, /apis/G, /apis/G/V) needs
   only authentication (system:discovery). Unserved kinds are absent from discovery and 404: a
   Status "the server could not find the requested resource" (what go-restful answers for
   built-in groups) or, with not_found="text", the plain "404 page not found" a real apiserver
   answers for the path of a CRD that is not installed.
8. Faults, scriptable per test and counted [faults.py] -- N answers 429/503 with Retry-After
   (429 as plain text, like the apiserver's max-in-flight and priority-and-fairness filters, or
   as a Status), connection resets, bodies that are not JSON, a concurrent write just before an
   update, expired continue tokens.
9. The request log [faults.py] -- every request: time, method, path, query, status, user, verb,
   resource, namespace, name, fault.
10. Loading data [data.py, apiserver.py] -- objects from Python, JSON/YAML files or directories
    (Lists expanded), and make_applications() for the benchmark of 6,000 Applications in 60
    namespaces.
11. Script mode [cli.py] -- see main() / `apiserver_standin.py --help`.

Wording: the messages named above are the apiserver's. These are the stand-in's own, where no
client should depend on the text: the detail after "continue key is not valid: " for bad base64
or JSON, the detail of a body that does not decode, label selector syntax errors, the 405 for a
create at the cluster scope, and the 400s for watch and dryRun (not implemented).
"""
