"""AdmissionReviews for the Python test suites, fuzz/make_corpus.py and bench/make_review.py: their
one builder (the C++ suites have test/support/admission_review.h).

    review_for(obj, uid, operation, api_version, old, *, kind, resource, dry_run)
                        -> an AdmissionReview of `obj` as the apiserver sends it
    basic_review(uid)   -> test/fixtures/reviews/basic-usage.json (the seed's example, one trait to
                           default), with its uid replaced when one is given
    APPLICATION, ACK_TABLE, KRO_TABLE   the kinds (GroupVersionKind dicts) the webhook reads

A review carries what an apiserver puts in an admission.k8s.io AdmissionRequest: uid, kind and
resource (requestKind and requestResource the same), name and namespace (from the object's
metadata, or the old object's for a DELETE), operation, userInfo, object and oldObject (left out
when None, as the apiserver's `omitempty` does), dryRun and the operation's options. Suites that
need a malformed review build this one and then break it. Standard library only.
"""
import copy
import json
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASIC_USAGE = os.path.join(ROOT, "test", "fixtures", "reviews", "basic-usage.json")

V1 = "admission.k8s.io/v1"
V1BETA1 = "admission.k8s.io/v1beta1"
APPLICATION = {"group": "core.oam.dev", "version": "v1beta1", "kind": "Application"}
ACK_TABLE = {"group": "dynamodb.services.k8s.aws", "version": "v1alpha1", "kind": "Table"}
KRO_TABLE = {"group": "kro.run", "version": "v1alpha1", "kind": "DynamoDBTable"}
USER_INFO = {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
_OPTIONS = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


def resource_of(kind):
    """The GroupVersionResource of a kind: the kind in lower case, plural with an "s"
    (applications, tables, dynamodbtables, configmaps)."""
    return {"group": kind["group"], "version": kind["version"], "resource": kind["kind"].lower() + "s"}


def _metadata(*objects):
    for o in objects:
        if isinstance(o, dict) and isinstance(o.get("metadata"), dict):
            return o["metadata"]
    return {}


def review_for(obj, uid="uid-1", operation="CREATE", api_version=V1, old=None, *, kind=APPLICATION,
               resource=None, dry_run=False):
    """An AdmissionReview of `obj` (any JSON value; None: no object) for `operation`, with `old` as
    oldObject. `kind` (a GroupVersionKind dict) for objects other than Applications; `resource`
    defaults to resource_of(kind). The objects are put in as they are, not copied."""
    meta = _metadata(obj, old)
    resource = resource or resource_of(kind)
    request = {"uid": uid, "kind": dict(kind), "resource": dict(resource),
               "requestKind": dict(kind), "requestResource": dict(resource),
               "name": meta.get("name", ""), "namespace": meta.get("namespace", "default"),
               "operation": operation, "userInfo": copy.deepcopy(USER_INFO)}
    if obj is not None:
        request["object"] = obj
    if old is not None:
        request["oldObject"] = old
    request["dryRun"] = dry_run
    if operation in _OPTIONS:
        request["options"] = {"apiVersion": "meta.k8s.io/v1", "kind": _OPTIONS[operation]}
    return {"apiVersion": api_version, "kind": "AdmissionReview", "request": request}


def basic_review(uid=None):
    """The review of test/fixtures/reviews/basic-usage.json: a CREATE of the seed's basic-usage
    Application, whose one dynamodb-streams-kro trait has no properties. A new dict each call."""
    with open(BASIC_USAGE) as f:
        review = json.load(f)
    if uid is not None:
        review["request"]["uid"] = uid
    return review
