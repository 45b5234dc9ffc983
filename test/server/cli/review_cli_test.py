#!/usr/bin/python3
"""End-to-end tests of `dynamodb-streams-webhook review` and of the binary's top-level usage:
runs the real binary.

Usage: review_cli_test.py BINARY FIXTURES_DIR
"""
import base64
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

import jsonpatch
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from reviews import basic_review, review_for  # noqa: E402  test/support: the one AdmissionReview builder

BINARY = None
FIXTURES = None


def run(*args, stdin=b"", timeout=60):
    p = subprocess.run([BINARY, *args], input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def review_path():
    return os.path.join(FIXTURES, "reviews", "basic-usage.json")


def with_object(app, api_version="admission.k8s.io/v1"):
    """A CREATE review of `app`, as the bytes `review` reads."""
    return json.dumps(review_for(app, api_version=api_version)).encode()


def answer(out):
    """The AdmissionReview on stdout: exactly one JSON object and a newline."""
    assert out.endswith("}\n"), repr(out[-20:])
    return json.loads(out)


def trait_props(app):
    return app["spec"]["components"][0]["traits"][0]["properties"]


def invalid_app():
    with open(os.path.join(FIXTURES, "check", "invalid-traits.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


class Answers(unittest.TestCase):
    def test_mutate_answers_with_the_defaulting_patch(self):
        code, out, err = run("review", "--mutate", review_path())
        self.assertEqual((code, err), (0, ""))
        review = answer(out)
        self.assertEqual(review["apiVersion"], "admission.k8s.io/v1")
        self.assertEqual(review["kind"], "AdmissionReview")
        resp = review["response"]
        self.assertEqual(resp["uid"], basic_review()["request"]["uid"])
        self.assertTrue(resp["allowed"])
        self.assertEqual(resp["patchType"], "JSONPatch")
        ops = json.loads(base64.b64decode(resp["patch"]))
        app = jsonpatch.apply_patch(basic_review()["request"]["object"], ops)
        self.assertEqual(trait_props(app), {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES"})

    def test_validate_allows_a_valid_application_without_a_patch(self):
        code, out, err = run("review", "--validate", review_path())
        self.assertEqual((code, err), (0, ""))
        resp = answer(out)["response"]
        self.assertEqual(resp, {"uid": basic_review()["request"]["uid"], "allowed": True})

    def test_a_denied_application_is_an_answer_and_exits_0(self):
        code, out, err = run("review", "--validate", "-", stdin=with_object(invalid_app()))
        self.assertEqual((code, err), (0, ""))
        resp = answer(out)["response"]
        self.assertFalse(resp["allowed"])
        self.assertEqual(resp["status"]["reason"], "Invalid")
        self.assertEqual(resp["status"]["code"], 422)
        self.assertIn("spec.components[0].traits[0].properties.enabled: Invalid value: \"yes\"",
                      resp["status"]["message"])

    def test_the_answer_keeps_the_reviews_api_version(self):
        body = with_object(basic_review()["request"]["object"], "admission.k8s.io/v1beta1")
        code, out, _ = run("review", "--mutate", stdin=body)
        self.assertEqual(code, 0)
        self.assertEqual(answer(out)["apiVersion"], "admission.k8s.io/v1beta1")

    def test_file_dash_and_no_file_read_the_same_review(self):
        with open(review_path(), "rb") as f:
            data = f.read()
        from_file = run("review", "--mutate", review_path())
        self.assertEqual(run("review", "--mutate", "-", stdin=data), from_file)
        self.assertEqual(run("review", "--mutate", stdin=data), from_file)
        self.assertEqual(run("review", "--mutate", "--", review_path()), from_file)

    def test_admission_flags_apply(self):
        app = copy.deepcopy(basic_review()["request"]["object"])
        app["spec"]["components"][0]["type"] = "my-table"
        app["spec"]["components"][0]["traits"][0]["properties"] = {"viewtype": "KEYS_ONLY"}
        code, out, _ = run("review", "--validate", stdin=with_object(app))
        self.assertEqual(code, 0)
        self.assertFalse(answer(out)["response"]["allowed"])
        code, out, err = run("review", "--validate", "--applies-to", "my-table",
                             "--unknown-properties=warn", stdin=with_object(app))
        self.assertEqual((code, err), (0, ""))
        resp = answer(out)["response"]
        self.assertTrue(resp["allowed"])
        self.assertTrue(any("viewtype" in w for w in resp["warnings"]), resp)

    def test_enforcement_warn_allows_and_warns_with_the_denial_texts(self):
        app = copy.deepcopy(basic_review()["request"]["object"])
        app["spec"]["components"][0]["traits"][0]["properties"] = {"enabled": "yes", "viewType": "NEW"}
        code, out, _ = run("review", "--validate", stdin=with_object(app))
        self.assertEqual(code, 0)
        denied = answer(out)["response"]
        causes = denied["status"]["details"]["causes"]
        self.assertEqual(len(causes), 2)
        code, out, err = run("review", "--validate", "--enforcement", "warn", stdin=with_object(app))
        self.assertEqual((code, err), (0, ""))
        resp = answer(out)["response"]
        self.assertEqual(resp, {"uid": denied["uid"], "allowed": True,
                                "warnings": [c["field"] + ": " + c["message"] for c in causes]})
        self.assertEqual(run("review", "--mutate", "--enforcement=warn", stdin=with_object(app)),
                         run("review", "--mutate", stdin=with_object(app)))
        # Not an AdmissionReview: the same HTTP 400 in both modes.
        self.assertEqual(run("review", "--validate", "--enforcement", "warn", stdin=b"[]"),
                         run("review", "--validate", stdin=b"[]"))


class NotAReview(unittest.TestCase):
    def test_input_that_is_not_an_admission_review_exits_1_with_the_servers_reason(self):
        cases = {
            b"": "request body is not valid JSON",
            b"nope": "request body is not valid JSON",
            b"[]": "request body is not a JSON object",
            b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}':
                "AdmissionReview has no request",
            b'{"apiVersion": "v1", "kind": "AdmissionReview", "request": {}}':
                "apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1",
        }
        for data, reason in cases.items():
            for endpoint in ["--mutate", "--validate"]:
                with self.subTest(data=data, endpoint=endpoint):
                    code, out, err = run("review", endpoint, stdin=data)
                    self.assertEqual((code, out), (1, ""))
                    self.assertTrue(err.startswith("review: HTTP 400: " + reason), err)
                    self.assertEqual(err.count("\n"), 1)

    def test_binary_junk_exits_1_without_crashing(self):
        code, out, err = run("review", "--mutate", stdin=bytes(range(256)) * 8)
        self.assertEqual((code, out), (1, ""))
        self.assertTrue(err.startswith("review: HTTP 400: "), err)


class Usage(unittest.TestCase):
    def test_usage_errors_exit_2_and_say_why(self):
        cases = [
            ([], "review: one of --mutate or --validate is required"),
            (["--mutate", "--validate"], "review: --mutate and --validate exclude each other"),
            (["--mutate", "a.json", "b.json"], "review: at most one FILE"),
            (["--mutate", "--bogus"], "review: unknown flag --bogus (see review --help)"),
            (["--mutate=yes"], "review: flag --mutate takes no value"),
            (["--mutate", "--applies-to"], "review: flag --applies-to needs a value"),
            (["--mutate", "--unknown-properties", "maybe"],
             "--unknown-properties must be deny or warn, not \"maybe\""),
            (["--validate", "--enforcement", "dryrun"],
             "--enforcement must be deny or warn, not \"dryrun\""),
        ]
        for args, message in cases:
            with self.subTest(args):
                code, out, err = run("review", *args, stdin=b"")
                self.assertEqual((code, out), (2, ""))
                self.assertEqual(err, "dynamodb-streams-webhook: " + message + "\n")

    def test_unreadable_input_exits_2(self):
        code, out, err = run("review", "--mutate", "does-not-exist.json")
        self.assertEqual((code, out), (2, ""))
        self.assertEqual(err, "review: cannot open does-not-exist.json: No such file or directory\n")
        with tempfile.TemporaryDirectory() as d:
            code, out, err = run("review", "--validate", d)
            self.assertEqual((code, out), (2, ""))
            self.assertEqual(err, "review: cannot read " + d + ": Is a directory\n")

    def test_help_lists_the_flags_and_exits_0(self):
        for args in [["--help"], ["-h"], ["--mutate", "--help"]]:
            with self.subTest(args):
                code, out, err = run("review", *args)
                self.assertEqual((code, err), (0, ""))
                self.assertTrue(out.startswith("Usage: dynamodb-streams-webhook review "), out)
                for flag in ["--mutate", "--validate", "--applies-to", "--enforcement",
                             "--unknown-properties", "--view-type-change", "--help"]:
                    self.assertIn("\n  " + flag, out)


class TopLevel(unittest.TestCase):
    def test_version(self):
        for word in ["--version", "version"]:
            with self.subTest(word):
                code, out, err = run(word)
                self.assertEqual((code, err), (0, ""))
                self.assertRegex(out, r"^dynamodb-streams-webhook \d+\.\d+\.\d+\S*\n$")

    def test_help_lists_the_commands(self):
        for word in ["--help", "-h", "help"]:
            with self.subTest(word):
                code, out, err = run(word)
                self.assertEqual((code, err), (0, ""))
                self.assertTrue(out.startswith("Usage: dynamodb-streams-webhook COMMAND"), out)
                for command in ["serve", "check", "review"]:
                    self.assertIn("\n  " + command + " ", out)

    def test_no_command_prints_the_usage_to_stderr_and_exits_2(self):
        code, out, err = run()
        self.assertEqual((code, out), (2, ""))
        self.assertTrue(err.startswith("Usage: dynamodb-streams-webhook COMMAND"), err)

    def test_unknown_command_exits_2(self):
        code, out, err = run("frobnicate", "--mutate")
        self.assertEqual((code, out), (2, ""))
        self.assertEqual(err, 'dynamodb-streams-webhook: unknown command "frobnicate" '
                              "(see dynamodb-streams-webhook --help)\n")


def main():
    global BINARY, FIXTURES
    BINARY, FIXTURES = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=1)


if __name__ == "__main__":
    main()
