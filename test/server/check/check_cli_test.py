#!/usr/bin/python3
"""End-to-end tests of `dynamodb-streams-webhook check`: runs the real binary.

Usage: check_cli_test.py BINARY FIXTURES_DIR
"""
import base64
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import jsonpatch
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from reviews import review_for  # noqa: E402  test/support: the one AdmissionReview builder

BINARY = None
FIXTURES = None


def run(*args, stdin=None, timeout=60):
    p = subprocess.run([BINARY, "check", *args], input=stdin, capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def example(name):
    return os.path.join(FIXTURES, "examples", name)


def fixture(name):
    return os.path.join(FIXTURES, "check", name)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def trait_props(app, component=0, trait=0):
    return app["spec"]["components"][component]["traits"][trait]["properties"]


def mutate_via_review(app):
    """The patch the webhook's mutating endpoint returns, applied with python3-jsonpatch."""
    p = subprocess.run([BINARY, "review", "--mutate"], input=json.dumps(review_for(app, uid="u1")).encode(),
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    resp = json.loads(p.stdout)["response"]
    if "patch" not in resp:
        return app
    ops = json.loads(base64.b64decode(resp["patch"]))
    return jsonpatch.apply_patch(app, ops)


EXAMPLES = ["basic-usage.yaml", "full-change-tracking.yaml", "keys-only.yaml",
            "new-image-only.yaml"]


class Examples(unittest.TestCase):
    def test_all_four_pass(self):
        for name in EXAMPLES:
            with self.subTest(name):
                code, out, err = run(example(name))
                self.assertEqual(code, 0, err)
                self.assertEqual(err, "")
        code, out, err = run(*[example(n) for n in EXAMPLES])
        self.assertEqual(code, 0, err)
        self.assertEqual(len(list(yaml.safe_load_all(out))), 4)

    def test_basic_usage_gets_both_defaults(self):
        code, out, _ = run(example("basic-usage.yaml"))
        self.assertEqual(code, 0)
        app = yaml.safe_load(out)
        self.assertEqual(trait_props(app), {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES"})
        original = yaml.safe_load(read(example("basic-usage.yaml")))
        self.assertEqual(app, mutate_via_review(original))

    def test_new_image_only_gets_enabled_and_keeps_view_type(self):
        code, out, _ = run(example("new-image-only.yaml"))
        self.assertEqual(code, 0)
        app = yaml.safe_load(out)
        self.assertEqual(trait_props(app), {"viewType": "NEW_IMAGE", "enabled": True})
        original = yaml.safe_load(read(example("new-image-only.yaml")))
        self.assertEqual(app, mutate_via_review(original))

    def test_complete_examples_come_out_unchanged(self):
        for name in ["keys-only.yaml", "full-change-tracking.yaml"]:
            with self.subTest(name):
                code, out, _ = run(example(name))
                self.assertEqual(code, 0)
                self.assertEqual(yaml.safe_load(out), yaml.safe_load(read(example(name))))
                self.assertEqual(out, read(example(name)))  # even byte for byte


class Invalid(unittest.TestCase):
    def test_broken_application_exits_1_naming_file_application_and_field(self):
        path = fixture("invalid-traits.yaml")
        code, out, err = run(path)
        self.assertEqual(code, 1)
        self.assertEqual(out, "")  # nothing for a pipeline to apply
        prefix = path + ": Application broken: "
        self.assertEqual(err.splitlines(), [
            prefix + 'spec.components[0].traits[0].properties.enabled: Invalid value: "yes": '
                     'must be a boolean',
            prefix + 'spec.components[0].traits[0].properties.viewtype: Forbidden: unknown '
                     'property; supported properties: "enabled", "viewType" (did you mean '
                     '"viewType"?)',
            prefix + 'spec.components[0].traits[1].type: Duplicate value: '
                     '"dynamodb-streams-kro@v2"',
            prefix + 'spec.components[0].traits[1].properties.viewType: Unsupported value: '
                     '"new-image": supported values: "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", '
                     '"NEW_AND_OLD_IMAGES" (did you mean "NEW_IMAGE"?)',
        ])

    def test_one_invalid_file_among_valid_ones_writes_nothing(self):
        code, out, err = run(example("basic-usage.yaml"), fixture("invalid-traits.yaml"))
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertNotIn("basic-usage.yaml", err)

    def test_namespace_is_shown_and_validation_sees_the_defaulted_object(self):
        src = ("apiVersion: core.oam.dev/v1beta1\nkind: Application\n"
               "metadata: {name: a, namespace: team}\nspec:\n  components:\n"
               "  - name: c\n    type: webservice\n    traits:\n"
               "    - type: dynamodb-streams-kro\n")
        code, out, err = run("-", stdin=src.encode())
        self.assertEqual(code, 1)
        self.assertIn('<stdin>: Application team/a: spec.components[0].traits[0].type: '
                      'Invalid value: "dynamodb-streams-kro": component "c" has type '
                      '"webservice"', err)

    def test_admission_flags_apply(self):
        src = ("apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: a}\n"
               "spec:\n  components:\n  - name: c\n    type: my-table\n    traits:\n"
               "    - type: dynamodb-streams-kro\n      properties: {viewtype: KEYS_ONLY}\n")
        code, _, err = run("-", stdin=src.encode())
        self.assertEqual(code, 1)
        code, out, err = run("--applies-to", "my-table", "--unknown-properties=warn", "-",
                             stdin=src.encode())
        self.assertEqual(code, 0, err)
        self.assertRegex(err, r"^<stdin>: Application a: warning: "
                              r"spec\.components\[0\]\.traits\[0\]\.properties\.viewtype: ")
        self.assertEqual(trait_props(yaml.safe_load(out))["viewtype"], "KEYS_ONLY")

    def test_warning_only_exits_0_and_writes_the_document(self):
        code, out, err = run(fixture("warning-only.yaml"))
        self.assertEqual(code, 0)
        self.assertIn(fixture("warning-only.yaml") + ": Application paused: warning: "
                      "spec.components[0].traits[0].properties.viewType:", err)
        self.assertEqual(out, read(fixture("warning-only.yaml")))


class Documents(unittest.TestCase):
    def test_multi_document_defaults_only_the_application(self):
        path = fixture("multi-document.yaml")
        code, out, err = run(path)
        self.assertEqual(code, 0, err)
        before = list(yaml.safe_load_all(read(path)))
        after = list(yaml.safe_load_all(out))
        self.assertEqual(len(after), 3)
        self.assertEqual(after[0], before[0])
        self.assertEqual(after[2], before[2])
        self.assertEqual(after[1], mutate_via_review(before[1]))
        self.assertEqual(trait_props(after[1]), {"enabled": True,
                                                 "viewType": "NEW_AND_OLD_IMAGES"})
        # Unchanged documents keep their text, comments included.
        src_docs = read(path).split("---\n")
        out_docs = out.split("---\n")
        self.assertEqual(out_docs[0], src_docs[0])
        self.assertEqual(out_docs[2], src_docs[2])

    def test_scalar_types_and_texts_survive_in_the_rewritten_application(self):
        code, out, _ = run(fixture("multi-document.yaml"))
        self.assertEqual(code, 0)
        app_text = out.split("---\n")[1]
        app = yaml.safe_load(app_text)
        ann = app["metadata"]["annotations"]
        self.assertEqual(ann["port"], "8080")
        self.assertEqual(ann["quoted-bool"], "true")
        self.assertEqual(ann["quoted-null"], "null")
        self.assertEqual(ann["empty"], "")
        self.assertEqual(ann["greeting"], "héllo ✓ 😀")
        self.assertEqual(ann["two-lines"], "first\nsecond")
        self.assertEqual(ann["colon"], "a: b")
        self.assertEqual(ann["big"], 123456789012345678901234567890)
        self.assertRegex(app_text, r"\n    version: 1\.10\n")
        self.assertRegex(app_text, r"\n    big: 123456789012345678901234567890\n")
        self.assertRegex(app_text, r"\n      ratio: 1\.0\n")
        self.assertRegex(app_text, r"\n        team: \"42\"\n")
        self.assertRegex(app_text, r"\n        cost: 0\.50\n")
        # Key order is kept; the new key comes last.
        self.assertEqual(list(app), ["apiVersion", "kind", "metadata", "spec"])
        self.assertEqual(list(ann), ["port", "version", "quoted-bool", "quoted-null", "empty",
                                     "big", "greeting", "two-lines", "colon"])

    def test_rewritten_application_text(self):
        # The whole text of a defaulted Application, as a pipeline receives it: block style,
        # kubectl's layout (sequences under a key not indented), keys in order, the new key
        # last, every scalar in its written form or quoted as it was, block scalars kept,
        # aliases written out, comments dropped.
        src = ("# kustomize output, with what a hand-written manifest has\n"
               "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n"
               "  name: orders   # the table's app\n"
               "  labels: {team: \"42\", tier: backend}\n"
               "  annotations:\n    note: |\n      first line\n      second line\n"
               "    when: 2024-01-01\n    quoted: 'single ''quoted'''\n"
               "    reserved: \"yes\"\n    colon: \"a: b\"\n"
               "spec:\n  components:\n    - name: orders\n      type: aws-dynamodb-kro\n"
               "      properties:\n        tableName: &t orders\n        alias: *t\n"
               "        pointInTimeRecovery: yes\n        capacity: [5, 1.10, 0x1F]\n"
               "      traits:\n        - type: dynamodb-streams-kro\n"
               "          properties: {viewType: KEYS_ONLY}\n")
        code, out, err = run("-", stdin=src.encode())
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n"
                              "  name: orders\n  labels:\n    team: \"42\"\n    tier: backend\n"
                              "  annotations:\n    note: |\n      first line\n      second line\n"
                              "    when: 2024-01-01\n    quoted: single 'quoted'\n"
                              "    reserved: \"yes\"\n    colon: \"a: b\"\n"
                              "spec:\n  components:\n  - name: orders\n    type: aws-dynamodb-kro\n"
                              "    properties:\n      tableName: orders\n      alias: orders\n"
                              "      pointInTimeRecovery: yes\n      capacity:\n      - 5\n"
                              "      - 1.10\n      - 0x1F\n    traits:\n"
                              "    - type: dynamodb-streams-kro\n      properties:\n"
                              "        viewType: KEYS_ONLY\n        enabled: true\n")
        # It reads back (as kubectl types it) as the defaulted source does.
        code, again, _ = run("--output", "json", "-", stdin=out.encode())
        self.assertEqual(code, 0)
        self.assertEqual(again, run("--output", "json", "-", stdin=src.encode())[1])

    def test_rewritten_keys_read_back_as_they_were(self):
        # Keys yaml-cpp reads as plain text that a plain key cannot hold: a line break, a
        # leading ---, a byte-order mark. The rewritten Application must keep them.
        text = read(example("basic-usage.yaml"))
        self.assertIn("\nmetadata:\n", text)
        text = text.replace("\nmetadata:\n", "\nmetadata:\n  annotations:\n"
                            "    ? two\n\n      lines\n    : a\n"
                            "    ? --- dashes\n    : b\n"
                            "    \ufeffbom: c\n", 1)
        code, out, err = run("-", stdin=text.encode())
        self.assertEqual(code, 0, err)
        app = yaml.safe_load(out)
        self.assertEqual(trait_props(app), {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES"})
        self.assertEqual(app["metadata"]["annotations"],
                         {"two\nlines": "a", "--- dashes": "b", "\ufeffbom": "c"})

    def test_list_items_are_checked(self):
        app = yaml.safe_load(read(example("basic-usage.yaml")))
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
        lst = {"apiVersion": "v1", "kind": "List", "items": [cm, app]}
        code, out, err = run("--output", "json", "-", stdin=json.dumps(lst).encode())
        self.assertEqual(code, 0, err)
        got = json.loads(out)
        self.assertEqual(got["items"][0], cm)
        self.assertEqual(got["items"][1], mutate_via_review(app))

    def test_json_input(self):
        path = fixture("application.json")
        code, out, err = run(path)
        self.assertEqual(code, 0, err)
        app = yaml.safe_load(out)
        self.assertEqual(trait_props(app), {"viewType": "KEYS_ONLY", "enabled": True})
        self.assertEqual(app["metadata"]["labels"]["port"], "8080")
        code, out, err = run("--output", "json", path)
        self.assertEqual(code, 0, err)
        got = json.loads(out)
        self.assertEqual(got, mutate_via_review(json.loads(read(path))))
        self.assertIn('"version": 1.10', out)
        self.assertIn('"big": 123456789012345678901234567890', out)

    def test_json_output_is_one_object_per_document(self):
        code, out, err = run("--output", "json", fixture("multi-document.yaml"))
        self.assertEqual(code, 0, err)
        dec = json.JSONDecoder()
        objs, pos = [], 0
        while pos < len(out):
            while pos < len(out) and out[pos].isspace():
                pos += 1
            if pos == len(out):
                break
            obj, pos = dec.raw_decode(out, pos)
            objs.append(obj)
        self.assertEqual([o["kind"] for o in objs], ["ConfigMap", "Application", "Service"])
        self.assertEqual(objs[0]["data"]["port"], "8080")
        self.assertEqual(objs[0]["data"]["octal"], 511)  # YAML 1.1, as kubectl reads it
        self.assertEqual(objs[0]["data"]["big"], 123456789012345678901234567890)
        self.assertIn('"version": 1.10', out)
        # check reads its own JSON stream back, unchanged.
        code, again, err = run("--output", "json", "-", stdin=out.encode())
        self.assertEqual(code, 0, err)
        self.assertEqual(again, out)

    def test_stdin_matches_file(self):
        path = fixture("multi-document.yaml")
        with open(path, "rb") as f:
            code, out, err = run("-", stdin=f.read())
        self.assertEqual(code, 0, err)
        self.assertEqual(out, run(path)[1])
        code, _, err = run("-", stdin=read(fixture("invalid-traits.yaml")).encode())
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith("<stdin>: Application broken: "), err)

    def test_output_none(self):
        path = fixture("multi-document.yaml")
        code, out, err = run("--output", "none", path)
        self.assertEqual((code, out), (0, ""))
        self.assertEqual(err.splitlines(), [
            path + ": Application shop/orders: would be defaulted: replace "
                   "/spec/components/0/traits/0/properties/enabled, add "
                   "/spec/components/0/traits/0/properties/viewType",
            "1 Application: 0 invalid, 1 would be defaulted, 0 with warnings"])
        code, out, err = run("--output=none", fixture("invalid-traits.yaml"))
        self.assertEqual((code, out), (1, ""))
        self.assertIn("Application broken", err)

    def test_idempotent(self):
        for path in [fixture("multi-document.yaml"), fixture("application.json")] + \
                [example(n) for n in EXAMPLES]:
            with self.subTest(path):
                code, first, _ = run(path)
                self.assertEqual(code, 0)
                code, second, err = run("-", stdin=first.encode())
                self.assertEqual(code, 0, err)
                self.assertEqual(second, first)

    def test_empty_documents_are_dropped(self):
        code, out, err = run("-", stdin=b"---\n# nothing\n---\na: 1\n---\n")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "a: 1\n")


SUPPORTED = 'supported values: "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"'


class Tables(unittest.TestCase):
    """ACK Tables and kro DynamoDBTables: validated with the webhook's rules, never defaulted."""

    def test_invalid_tables_exit_1_naming_file_kind_and_field(self):
        path = fixture("invalid-tables.yaml")
        code, out, err = run(path)
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertEqual(err.splitlines(), [
            path + ": Table shop/orders: spec.streamSpecification.streamViewType: Required value: "
                   "a stream with streamEnabled: true needs a view type (DynamoDB refuses to enable "
                   "one without it); " + SUPPORTED,
            path + ': Table shop/orders: spec.tableReplicas: Forbidden: a table with replicas (a '
                   'DynamoDB global table) needs its stream enabled with view type '
                   '"NEW_AND_OLD_IMAGES", but the stream has no view type',
            path + ': DynamoDBTable users: spec.streamViewType: Unsupported value: "new-image": ' +
                   SUPPORTED + ' (did you mean "NEW_IMAGE"?)',
            path + ': Table shop/audit: spec.streamSpecification: Invalid value: "enabled": must be '
                   'an object',
        ])

    def test_valid_tables_are_written_back_unchanged_with_warnings(self):
        path = fixture("valid-tables.yaml")
        code, out, err = run(path)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, read(path))  # byte for byte: tables are never defaulted
        self.assertEqual(err.splitlines(), [
            path + ': DynamoDBTable sessions: warning: spec.streamViewType: "KEYS_ONLY" is ignored '
                   'while the stream is disabled (streamEnabled: false)'])
        code, out, _ = run("--output", "json", path)
        self.assertEqual(code, 0)
        docs, dec, i = [], json.JSONDecoder(), 0
        while out[i:].strip():
            doc, i = dec.raw_decode(out, i + len(out[i:]) - len(out[i:].lstrip()))
            docs.append(doc)
        self.assertEqual(docs, list(yaml.safe_load_all(read(path))))

    def test_the_webhook_golden_cases_give_the_same_errors(self):
        """Every CREATE case of test/fixtures/guards (default flags): check reports exactly the
        causes and warnings the webhook's golden /validate answer holds."""
        guards = os.path.join(FIXTURES, "guards")
        n = 0
        with tempfile.TemporaryDirectory() as tmp:
            for name in sorted(os.listdir(guards)):
                case = json.load(open(os.path.join(guards, name)))
                req = case["review"]["request"]
                if req["operation"] != "CREATE" or case["flags"]:
                    continue
                n += 1
                with self.subTest(name):
                    obj = req["object"]
                    path = os.path.join(tmp, name[:-5] + ".yaml")
                    with open(path, "w") as f:
                        yaml.safe_dump(obj, f)
                    code, out, err = run(path)
                    who = "%s: %s team-a/orders: " % (path, obj["kind"])
                    want = case["validate"]
                    lines = [who + "warning: " + w for w in want.get("warnings", [])]
                    for c in want.get("status", {}).get("details", {}).get("causes", []):
                        lines.append(who + c["field"] + ": " + c["message"])
                    self.assertEqual(err.splitlines(), lines)
                    self.assertEqual(code, 0 if want["allowed"] else 1)
                    self.assertEqual(out, "" if code else read(path))
        self.assertGreaterEqual(n, 20)

    def test_flags_apply_and_update_rules_do_not(self):
        # check validates as on CREATE: the UPDATE rule cannot apply, the others do.
        doc = ("apiVersion: kro.run/v1\nkind: DynamoDBTable\nmetadata: {name: t}\n"
               "spec: {streamEnabled: true, streamViewType: KEYS_ONLY}\n")
        code, out, err = run("--view-type-change", "warn", "-", stdin=doc.encode())
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, doc)

    def test_other_groups_and_kinds_pass_through(self):
        doc = ("apiVersion: example.com/v1\nkind: Table\nmetadata: {name: t}\n"
               "spec: {streamSpecification: junk}\n---\n"
               "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: r}\n"
               "spec: {streamEnabled: junk}\n---\n"
               "apiVersion: dynamodb.services.k8s.aws.evil/v1\nkind: Table\nmetadata: {name: t}\n"
               "spec: {streamSpecification: junk}\n")
        code, out, err = run("-", stdin=doc.encode())
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, doc)


def review_answer(endpoint, obj):
    """The webhook's own answer (`review --mutate|--validate`) for a CREATE of `obj`."""
    p = subprocess.run([BINARY, "review", "--" + endpoint],
                       input=json.dumps(review_for(obj, uid="u1")).encode(), capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["response"]


# The kinds of trait properties the generated cluster holds, one Application in five of each.
AUDIT_CASES = [
    ("valid", {"enabled": True, "viewType": "KEYS_ONLY"}),
    ("needs-defaults", None),
    ("invalid-and-defaulted", {"viewType": "NEW"}),
    ("invalid-twice", {"enabled": "yes", "viewType": "everything", "batchSize": 5}),
    ("warning", {"enabled": False, "viewType": "NEW_IMAGE"}),
    ("partly-defaulted", {"viewType": "OLD_IMAGE"}),
]


def kubectl_application(i, props):
    """One Application as `kubectl get applications.core.oam.dev -A -o json` prints it."""
    trait = {"type": "dynamodb-streams-kro"}
    if props is not None:
        trait["properties"] = props
    spec = {"components": [{"name": "table", "type": "aws-dynamodb-kro",
                            "properties": {"tableName": "t-%d" % i, "region": "eu-west-1"},
                            "traits": [trait, {"type": "scaler", "properties": {"replicas": 1}}]}],
            "policies": [{"name": "topo", "type": "topology", "properties": {"clusters": ["local"]}}]}
    name, ns = "app-%03d" % i, "team-%d" % (i % 7)
    applied = {"apiVersion": "core.oam.dev/v1beta1", "kind": "Application",
               "metadata": {"annotations": {}, "name": name, "namespace": ns}, "spec": spec}
    return {
        "apiVersion": "core.oam.dev/v1beta1",
        "kind": "Application",
        "metadata": {
            "annotations": {
                "app.oam.dev/publishVersion": "alpha-%d" % i,
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied) + "\n",
                "oam.dev/kubevela-version": "v1.9.11",
            },
            "creationTimestamp": "2026-11-02T09:%02d:%02dZ" % (i % 60, (i * 7) % 60),
            "finalizers": ["app.oam.dev/resource-tracker-finalizer"],
            "generation": 1 + i % 3,
            "managedFields": [
                {"apiVersion": "core.oam.dev/v1beta1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                              "f:spec": {".": {}, "f:components": {}, "f:policies": {}}},
                 "manager": "kubectl-client-side-apply", "operation": "Update",
                 "time": "2026-11-02T09:00:00Z"},
                {"apiVersion": "core.oam.dev/v1beta1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:status": {".": {}, "f:conditions": {}, "f:status": {}}},
                 "manager": "kubevela", "operation": "Update", "subresource": "status",
                 "time": "2026-11-02T09:00:05Z"}],
            "name": name,
            "namespace": ns,
            "resourceVersion": str(480000 + i),
            "uid": "6f1c%04x-0d3e-4b9a-9c61-2f5e8a7b%04x" % (i, i),
        },
        "spec": spec,
        "status": {
            "conditions": [{"lastTransitionTime": "2026-11-02T09:00:05Z", "reason": "Available",
                            "status": "True", "type": "Parsed"}],
            "latestRevision": {"name": name + "-v1", "revision": 1, "revisionHash": "abc%d" % i},
            "observedGeneration": 1,
            "services": [{"healthy": True, "name": "table", "namespace": ns,
                          "traits": [{"healthy": True, "type": "dynamodb-streams-kro"}]}],
            "status": "running",
        },
    }


class Audit(unittest.TestCase):
    """`kubectl get applications.core.oam.dev -A -o json | check --output none|report -` on what
    kubectl really prints: a v1 List of several hundred v1beta1 Applications with managedFields,
    status and the last-applied annotation."""
    N = 420

    @classmethod
    def setUpClass(cls):
        cls.items = [kubectl_application(i, copy.deepcopy(AUDIT_CASES[i % len(AUDIT_CASES)][1]))
                     for i in range(cls.N)]
        cls.stdin = json.dumps({"apiVersion": "v1", "items": cls.items, "kind": "List",
                                "metadata": {"resourceVersion": ""}}, indent=4).encode()
        # What the webhook answers for one Application of each case: the /mutate patch, and the
        # /validate causes and warnings for the defaulted object (the apiserver's order).
        cls.want = {}
        for i, (case, _) in enumerate(AUDIT_CASES):
            app = cls.items[i]
            m = review_answer("mutate", app)
            ops = json.loads(base64.b64decode(m["patch"])) if "patch" in m else []
            v = review_answer("validate", jsonpatch.apply_patch(app, ops))
            causes = v.get("status", {}).get("details", {}).get("causes", [])
            cls.want[case] = {"defaults": ops,
                              "errors": [c["field"] + ": " + c["message"] for c in causes],
                              "warnings": v.get("warnings", [])}

    def expected(self, i):
        return self.want[AUDIT_CASES[i % len(AUDIT_CASES)][0]]

    def test_the_cases_cover_what_an_audit_must_tell(self):
        w = self.want
        self.assertEqual((w["valid"]["defaults"], w["valid"]["errors"], w["valid"]["warnings"]), ([], [], []))
        self.assertTrue(w["needs-defaults"]["defaults"] and not w["needs-defaults"]["errors"])
        self.assertTrue(w["invalid-and-defaulted"]["defaults"] and w["invalid-and-defaulted"]["errors"])
        self.assertEqual(len(w["invalid-twice"]["errors"]), 3)
        self.assertTrue(w["warning"]["warnings"] and not w["warning"]["errors"])

    def test_output_none_names_each_application_and_sums_up(self):
        code, out, err = run("--output", "none", "-", stdin=self.stdin)
        self.assertEqual((code, out), (1, ""))
        lines = err.splitlines()
        want = []
        for i, app in enumerate(self.items):
            e = self.expected(i)
            who = "<stdin>: Application %s/%s: " % (app["metadata"]["namespace"], app["metadata"]["name"])
            if e["defaults"]:
                want.append(who + "would be defaulted: " +
                            ", ".join(op["op"] + " " + op["path"] for op in e["defaults"]))
            want += [who + "warning: " + t for t in e["warnings"]]
            want += [who + t for t in e["errors"]]
        per_case = self.N // len(AUDIT_CASES)
        invalid = sum(per_case for c, _ in AUDIT_CASES if self.want[c]["errors"])
        defaulted = sum(per_case for c, _ in AUDIT_CASES if self.want[c]["defaults"])
        warned = sum(per_case for c, _ in AUDIT_CASES if self.want[c]["warnings"])
        self.assertEqual((invalid, defaulted, warned), (140, 210, 70))
        want.append("420 Applications: 140 invalid, 210 would be defaulted, 70 with warnings")
        self.assertEqual(lines, want)

    def test_output_report_is_one_json_object_per_application(self):
        code, out, err = run("--output", "report", "-", stdin=self.stdin)
        self.assertEqual(code, 1)
        self.assertEqual(err.splitlines()[-1],
                         "420 Applications: 140 invalid, 210 would be defaulted, 70 with warnings")
        lines = out.splitlines()
        self.assertEqual(len(lines), self.N)
        for i, line in enumerate(lines):
            rec = json.loads(line)
            e = self.expected(i)
            md = self.items[i]["metadata"]
            self.assertEqual(rec, {"file": "<stdin>", "kind": "Application",
                                   "namespace": md["namespace"], "name": md["name"],
                                   "errors": e["errors"], "warnings": e["warnings"],
                                   "defaults": e["defaults"]}, line)
            # Applied to the object as kubectl printed it, the defaults give what the webhook's
            # patch gives.
            self.assertEqual(jsonpatch.apply_patch(self.items[i], rec["defaults"]),
                             jsonpatch.apply_patch(self.items[i], e["defaults"]))

    def test_enforcement_warn_reports_the_errors_as_warnings_and_exits_0(self):
        code, out, err = run("--enforcement", "warn", "--output", "report", "-", stdin=self.stdin)
        self.assertEqual(code, 0, err[-300:])
        for i, line in enumerate(out.splitlines()):
            rec = json.loads(line)
            e = self.expected(i)
            self.assertEqual((rec["errors"], rec["warnings"], rec["defaults"]),
                             ([], e["errors"] + e["warnings"], e["defaults"]))
        lines = err.splitlines()
        # The summary counts what deny would refuse, in both modes.
        self.assertEqual(lines[-1], "420 Applications: 140 invalid, 210 would be defaulted, 70 with warnings")
        invalid = self.items[3]["metadata"]
        who = "<stdin>: Application %s/%s: " % (invalid["namespace"], invalid["name"])
        self.assertEqual([l for l in lines if l.startswith(who) and "would be defaulted" not in l],
                         [who + "warning: " + t for t in self.want["invalid-twice"]["errors"]])

        code, out, err = run("--enforcement=warn", "--output", "none", "-", stdin=self.stdin)
        self.assertEqual((code, out), (0, ""))
        self.assertFalse([l for l in err.splitlines()[:-1]
                          if ": warning: " not in l and ": would be defaulted: " not in l])

    def test_enforcement_warn_writes_the_documents_it_would_admit(self):
        doc = read(fixture("invalid-traits.yaml"))
        code, out, err = run("--enforcement", "warn", "-", stdin=doc.encode())
        self.assertEqual(code, 0, err)
        self.assertTrue(out, "the defaulted documents are written")
        self.assertTrue(err and all(": warning: " in l for l in err.splitlines()), err)
        code, deny_out, deny_err = run("-", stdin=doc.encode())
        self.assertEqual((code, deny_out), (1, ""))
        # The same findings, each error now a warning (and first).
        self.assertEqual(sorted(l.replace("warning: ", "") for l in err.splitlines()),
                         sorted(l.replace("warning: ", "") for l in deny_err.splitlines()))

    def test_tables_are_summed_up_on_their_own(self):
        path = fixture("invalid-tables.yaml")
        code, out, err = run("--output", "report", path)
        self.assertEqual(code, 1)
        recs = [json.loads(l) for l in out.splitlines()]
        self.assertTrue(recs and all(r["kind"] in ("Table", "DynamoDBTable") and r["defaults"] == []
                                     for r in recs))
        invalid = sum(1 for r in recs if r["errors"])
        warned = sum(1 for r in recs if r["warnings"])
        self.assertEqual(err.splitlines()[-1],
                         "0 Applications: 0 invalid, 0 would be defaulted, 0 with warnings; "
                         "%d %s: %d invalid, %d with warnings"
                         % (len(recs), "table" if len(recs) == 1 else "tables", invalid, warned))

    def test_an_empty_list_is_summed_up_too(self):
        code, out, err = run("--output", "none", "-",
                             stdin=b'{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}')
        self.assertEqual((code, out, err), (0, "", "0 Applications: 0 invalid, 0 would be defaulted, 0 with warnings\n"))


def report_documents(out):
    """The JSON documents `check --output openreports` printed, one after another."""
    docs, dec, pos = [], json.JSONDecoder(), 0
    while pos < len(out):
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos < len(out):
            doc, pos = dec.raw_decode(out, pos)
            docs.append(doc)
    return docs


class OpenReports(unittest.TestCase):
    """--output openreports: audit's documents (their content is compared with what `audit`
    writes in test/server/audit/audit_reports_test.py); here what is particular to check."""

    def test_one_report_per_namespace_of_a_kubectl_list_and_the_exit_status_of_report(self):
        items = [kubectl_application(i, copy.deepcopy(AUDIT_CASES[i % len(AUDIT_CASES)][1]))
                 for i in range(28)]
        stdin = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}).encode()
        code, out, err = run("--output", "openreports", "-", stdin=stdin)
        code_report, _, err_report = run("--output", "report", "-", stdin=stdin)
        self.assertEqual(code, code_report)
        # The same lines and summary on standard error (these cases read the same defaulted
        # or not; openreports judges the objects as they are).
        self.assertEqual(err, err_report)
        docs = report_documents(out)
        self.assertEqual(sorted(d["metadata"]["namespace"] for d in docs),
                         ["team-%d" % i for i in range(7)])
        names = []
        for d in docs:
            self.assertEqual((d["apiVersion"], d["kind"], d["metadata"]["name"]),
                             ("openreports.io/v1alpha1", "Report", "dynamodb-streams-webhook"))
            self.assertEqual(sum(d["summary"].values()), len(d["results"]))
            stamps = {(r["timestamp"]["seconds"], r["timestamp"]["nanos"]) for r in d["results"]}
            self.assertEqual(len(stamps), 1)
            names += [r["resources"][0]["name"] for r in d["results"]]
        self.assertEqual(set(names), {i["metadata"]["name"] for i in items})
        code, out, _ = run("--output", "openreports", "--report-kind", "policyreport",
                           "--report-name", "audit", "-", stdin=stdin)
        for d in report_documents(out):
            self.assertEqual((d["kind"], d["metadata"]["name"]), ("PolicyReport", "audit"))
            self.assertNotIn("source", d)

    def test_objects_are_judged_as_they_are_not_defaulted_first(self):
        # The trait's defaults are not written in first: the report says what is stored.
        code, out, err = run("--output", "openreports", example("basic-usage.yaml"))
        self.assertEqual(code, 0, err)
        (doc,) = report_documents(out)
        self.assertNotIn("namespace", doc["metadata"])   # kubectl apply's namespace
        (res,) = doc["results"]
        self.assertEqual(res["result"], "pass")
        self.assertIn("defaults", res["properties"])

    def test_nothing_is_written_when_an_input_cannot_be_read(self):
        code, out, err = run("--output", "openreports", example("basic-usage.yaml"),
                             fixture("malformed.yaml"))
        self.assertEqual((code, out), (2, ""), err)

    def test_report_flags_go_with_openreports_only(self):
        for args in (["--report-kind", "policyreport"], ["--report-name", "x"],
                     ["--max-report-bytes", "20000"]):
            with self.subTest(args):
                code, out, err = run(*args, example("basic-usage.yaml"))
                self.assertEqual((code, out), (2, ""))
                self.assertIn("go with --output openreports", err)
        for args in (["--report-kind", "Report"], ["--report-name", "Bad"],
                     ["--max-report-bytes", "100"]):
            with self.subTest(args):
                code, out, _ = run("--output", "openreports", *args, example("basic-usage.yaml"))
                self.assertEqual((code, out), (2, ""))


class Failures(unittest.TestCase):
    def test_missing_file_exits_2(self):
        code, out, err = run("does-not-exist.yaml")
        self.assertEqual((code, out), (2, ""))
        self.assertIn("does-not-exist.yaml", err)

    def test_malformed_yaml_exits_2_with_file_and_line(self):
        path = fixture("malformed.yaml")
        code, out, err = run(path)
        self.assertEqual((code, out), (2, ""))
        self.assertRegex(err, "^" + re.escape(path) + r":7:\d+: ")

    def test_stray_top_level_comma_exits_2_instead_of_hanging(self):
        # yaml-cpp 0.7's LoadAll() loops forever on these (jbeder/yaml-cpp#1040).
        path = fixture("stray-comma.yaml")
        code, out, err = run(path, timeout=30)
        self.assertEqual((code, out), (2, ""))
        self.assertRegex(err, "^" + re.escape(path) + r":6:69: unexpected ','")
        for data in [b"{},", b"[],", b"{},{},", b",", b'"x",', b"- a\n,\n"]:
            with self.subTest(data):
                code, out, err = run("-", stdin=data, timeout=30)
                self.assertEqual((code, out), (2, ""), err)
                self.assertRegex(err, r"^<stdin>:\d+:\d+: unexpected ','")
        # A ',' in a plain scalar is text.
        code, out, err = run("-", stdin=b"a,", timeout=30)
        self.assertEqual((code, out), (0, "a,\n"), err)

    def test_usage_errors_exit_2(self):
        for args in [[], ["--bogus", "x.yaml"], ["--output", "xml", "x.yaml"], ["-", "-"]]:
            with self.subTest(args):
                code, out, err = run(*args, stdin=b"")
                self.assertEqual((code, out), (2, ""))
                self.assertTrue(err)

    def test_help_lists_the_flags(self):
        code, out, _ = run("--help")
        self.assertEqual(code, 0)
        for flag in ["--output", "--applies-to", "--unknown-properties", "--view-type-change",
                     "--enforcement", "yaml|json|none|report", "would be defaulted",
                     "N Applications: I invalid, D would be defaulted, W with warnings",
                     "Exit status"]:
            self.assertIn(flag, out)

    def test_hostile_input_is_refused_without_crashing(self):
        cases = {
            "deep flow": b"[" * 200000,
            "deep block": "".join(" " * i + "a:\n" for i in range(1000)).encode(),
            "self alias": b"a: &a [*a]\n",
            "billion laughs": ("a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
                for i in range(10))).encode(),
            "duplicate key": b"a: 1\na: 2\n",
            "invalid utf-8": b"a: \"\xff\"\n",
            "infinity": b"a: .inf\n",
            "binary junk": bytes(range(256)) * 4,
        }
        for name, data in cases.items():
            with self.subTest(name):
                code, out, err = run("-", stdin=data, timeout=30)
                self.assertEqual((code, out), (2, ""), err)
                self.assertTrue(err.startswith("<stdin>"), err)


def main():
    global BINARY, FIXTURES
    BINARY, FIXTURES = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=1)


if __name__ == "__main__":
    main()
