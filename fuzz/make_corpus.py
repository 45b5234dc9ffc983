#!/usr/bin/python3
"""Regenerates the seed corpus in fuzz/corpus/ from the trait's examples and the unit-test
fixtures. Run with Debian's python3 (it has python3-yaml):

    /usr/bin/python3 fuzz/make_corpus.py [EXAMPLES_DIR]

EXAMPLES_DIR defaults to ../shared/examples when it exists, else test/fixtures/examples.
Seeds are named after what they hold; the script is deterministic, so a re-run gives the same
files. The corpus is committed; the fuzz script runs on a copy and never grows it.
"""
import copy
import json
import os
import random
import shutil
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "support"))
from reviews import ACK_TABLE, KRO_TABLE, V1BETA1, review_for  # noqa: E402  the one AdmissionReview builder
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
FIXTURES = os.path.join(ROOT, "test", "fixtures", "defaulting")


def examples_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    shared = os.path.join(os.path.dirname(ROOT), "shared", "examples")
    return shared if os.path.isdir(shared) else os.path.join(ROOT, "test", "fixtures", "examples")


def review(obj, operation="CREATE", old=None, api_version="admission.k8s.io/v1", **kw):
    """A seed review (uid "seed-uid"): test/support/reviews.py's review_for."""
    return review_for(obj, "seed-uid", operation, api_version, old, **kw)


def view_type_changed(app):
    """The same Application with every explicit viewType changed (the UPDATE rule)."""
    other = copy.deepcopy(app)
    for c in other.get("spec", {}).get("components", []):
        for t in c.get("traits", []) or []:
            props = t.get("properties")
            if isinstance(props, dict):
                props["viewType"] = "KEYS_ONLY" if props.get("viewType") != "KEYS_ONLY" else "NEW_IMAGE"
    return other


ACK, KRO = ACK_TABLE, KRO_TABLE


def table_reviews():
    """ACK Tables and kro DynamoDBTables: valid, breaking each rule, and UPDATEs."""
    def ack(stream=None, replicas=None, **extra):
        spec = {"tableName": "orders", "billingMode": "PAY_PER_REQUEST",
                "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
                "keySchema": [{"attributeName": "id", "keyType": "HASH"}], **extra}
        if stream is not None:
            spec["streamSpecification"] = stream
        if replicas is not None:
            spec["tableReplicas"] = replicas
        return {"apiVersion": "dynamodb.services.k8s.aws/v1alpha1", "kind": "Table",
                "metadata": {"name": "orders", "namespace": "team-a"}, "spec": spec}

    def kro(**fields):
        return {"apiVersion": "kro.run/v1alpha1", "kind": "DynamoDBTable",
                "metadata": {"name": "orders", "namespace": "team-a"},
                "spec": {"tableName": "orders", "region": "us-east-1", **fields}}

    on = {"streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"}
    regions = [{"regionName": "us-west-2"}]
    out = [
        ("ack-valid", review(ack(on, regions), kind=ACK)),
        ("ack-no-stream", review(ack(), kind=ACK)),
        ("ack-not-an-object", review(ack("on"), kind=ACK)),
        ("ack-bad-types", review(ack({"streamEnabled": "yes", "streamViewType": 5}), kind=ACK)),
        ("ack-near-miss", review(ack({"streamEnabled": True, "streamViewType": "new-image"}), kind=ACK)),
        ("ack-required", review(ack({"streamEnabled": True, "streamViewType": ""}, regions), kind=ACK)),
        ("ack-replicas", review(ack({"streamEnabled": True, "streamViewType": "NEW_IMAGE"}, regions),
                                kind=ACK)),
        ("ack-disabled-view", review(ack({"streamEnabled": False, "streamViewType": "KEYS_ONLY"}),
                                     kind=ACK)),
        ("ack-update-change", review(ack({"streamEnabled": True, "streamViewType": "KEYS_ONLY"}), "UPDATE",
                                     ack(on), kind=ACK)),
        ("ack-update-unchanged", review(ack({"streamEnabled": True}, regions, tableClass="STANDARD"),
                                        "UPDATE", ack({"streamEnabled": True}, regions), kind=ACK)),
        ("ack-v1", review(ack(on), api_version=V1BETA1,
                          kind=dict(ACK, version="v1"))),
        ("kro-valid", review(kro(streamEnabled=True, streamViewType="KEYS_ONLY"), kind=KRO)),
        ("kro-no-stream", review(kro(), kind=KRO)),
        ("kro-required", review(kro(streamEnabled=True, streamViewType=None), kind=KRO)),
        ("kro-near-miss", review(kro(streamEnabled=True, streamViewType="keys only"), kind=KRO)),
        ("kro-disabled-view", review(kro(streamEnabled=False, streamViewType="NEW_IMAGE"), kind=KRO)),
        ("kro-update-change", review(kro(streamEnabled=True, streamViewType="OLD_IMAGE"), "UPDATE",
                                     kro(streamEnabled=True, streamViewType="NEW_IMAGE"),
                                     V1BETA1, kind=dict(KRO, version="v1"))),
        ("table-object-not-an-object", review([1], kind=ACK)),
    ]
    return out


def applications():
    """(name, Application) for every example and every defaulting fixture (object and expected)."""
    out = []
    ex = examples_dir()
    for f in sorted(os.listdir(ex)):
        if f.endswith((".yaml", ".yml")):
            with open(os.path.join(ex, f), encoding="utf-8") as fh:
                for i, doc in enumerate(yaml.safe_load_all(fh)):
                    if isinstance(doc, dict):
                        out.append((f"example-{f.rsplit('.', 1)[0]}-{i}", doc))
    for f in sorted(os.listdir(FIXTURES)):
        if f.endswith(".json"):
            with open(os.path.join(FIXTURES, f), encoding="utf-8") as fh:
                fx = json.load(fh)
            stem = f[:-5]
            out.append((f"fixture-{stem}-object", fx["object"]))
            out.append((f"fixture-{stem}-expected", fx["expected"]))
    return out


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as fh:
        fh.write(data)


def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def main():
    for target in ("decode_review", "serve", "application", "yaml_document"):
        shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)

    apps = applications()
    invalid = {
        "apiVersion": "core.oam.dev/v1beta1", "kind": "Application",
        "metadata": {"name": "broken", "namespace": "team-a"},
        "spec": {"components": [
            {"name": "t", "type": "aws-dynamodb-kro", "traits": [
                {"type": "dynamodb-streams-kro", "properties": {"enabled": "yes", "viewtype": "new"}},
                {"type": "dynamodb-streams-kro@v2", "properties": {"viewType": "new-image"}}]},
            {"name": "web", "type": "webservice", "traits": [{"type": "dynamodb-streams-kro"}]}]},
    }
    apps.append(("invalid-every-rule", invalid))

    reviews = []
    for name, app in apps:
        reviews.append((f"{name}-create-v1", review(app)))
        reviews.append((f"{name}-update-v1beta1",
                        review(app, "UPDATE", view_type_changed(app), V1BETA1)))
    base = apps[0][1]
    reviews += [
        ("delete", review(None, "DELETE", base)),
        ("connect", review(base, "CONNECT")),
        ("other-kind", review({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
                              kind={"group": "", "version": "v1", "kind": "ConfigMap"})),
        ("create-object-not-an-object", review([1, 2, 3])),
        ("dry-run", review(base, dry_run=True)),
    ]
    reviews += table_reviews()
    for name, rev in reviews:
        text = compact(rev)
        write("serve", name + ".json", text)
    # decode_review: a smaller set (the structure above), plus bodies that are not reviews.
    for name, rev in reviews[::4]:
        write("decode_review", name + ".json", json.dumps(rev, indent=1, ensure_ascii=True))
    not_reviews = {
        "not-json": "not json",
        "empty": "",
        "array": "[]",
        "no-uid": compact({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}}),
        "uid-not-string": compact({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                   "request": {"uid": 7}}),
        "wrong-kind": compact({"apiVersion": "admission.k8s.io/v1", "kind": "Pod", "request": {"uid": "x"}}),
        "no-request": compact({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}),
        "nesting-600": "[" * 600 + "]" * 600,
        "nesting-in-strings": compact({"a": "[" * 1000, "b": "\\\"[{"}),
        "escapes": '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":'
                   '{"uid":"\\u0000\\ud83d\\ude00\\n","object":{"k":"\\"[\\\\"}}}',
        "numbers": '{"a":[1e308,-0,0.1,18446744073709551615,18446744073709551616,-9223372036854775809]}',
    }
    for name, text in not_reviews.items():
        write("decode_review", name + ".json", text)
        write("serve", name + ".json", text)

    # application: the target reads bytes as choices, so seeds are byte strings; a spread of
    # deterministic random ones gets every branch of the generator going.
    rnd = random.Random(6)
    for i in range(24):
        write("application", f"random-{i:02d}", bytes(rnd.randrange(256) for _ in range(16 + 8 * i)))
    write("application", "zeros", bytes(64))
    write("application", "ones", bytes([1] * 64))

    # yaml_document: the examples as written, and every Application as YAML and as JSON.
    ex = examples_dir()
    for f in sorted(os.listdir(ex)):
        if f.endswith((".yaml", ".yml")):
            with open(os.path.join(ex, f), "rb") as fh:
                write("yaml_document", f, fh.read())
    docs = []
    for name, app in apps:
        write("yaml_document", name + ".json", json.dumps(app, indent=2, ensure_ascii=False))
        docs.append(app)
    write("yaml_document", "multi-document.yaml",
          yaml.safe_dump_all(docs[:4] + [{"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "c"}, "data": {"k": "v"}}],
                             sort_keys=False, allow_unicode=True))
    write("yaml_document", "yaml-1.1-scalars.yaml",
          "a: yes\nb: off\nc: ~\nd: 0x1F\ne: 0o17\nf: 017\ng: 1_000\nh: .inf\ni: 2024-01-01\n"
          "j: '1.10'\nk: 1.10\nl: !!str 5\nm: &x {p: 1}\nn: *x\n")
    write("yaml_document", "anchors-merge.yaml", "base: &b {enabled: true}\nt:\n  <<: *b\n  viewType: NEW_IMAGE\n")
    write("yaml_document", "malformed.yaml", "a: [1, 2\nb: : :\n")
    write("yaml_document", "duplicate-keys.yaml", "a: 1\na: 2\n")
    write("yaml_document", "json-stream.json", '{"a":1} {"b":[2]}\n[3]')
    print(f"corpus written to {os.path.relpath(CORPUS, ROOT)}:",
          ", ".join(f"{t} {len(os.listdir(os.path.join(CORPUS, t)))}"
                    for t in sorted(os.listdir(CORPUS))))


if __name__ == "__main__":
    main()
