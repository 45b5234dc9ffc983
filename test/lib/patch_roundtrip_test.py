#!/usr/bin/env python3
"""Applies every JSON Patch the webhook produced with an independent RFC 6902 implementation
(python3-jsonpatch, strict: no missing parents are created) and compares the results.

1. Every patch the C++ unit tests applied (logged to PATCH_LOG as {object, patch, result}).
2. Every fixture in DEFAULTING_DIR ({object, expected}): wrapped in an AdmissionReview, sent
   through the real binary's `review --mutate`, the base64 patch decoded and applied, compared
   with `expected`, and sent again: the second pass must carry no patch.
"""
import base64
import glob
import json
import os
import subprocess
import sys

import jsonpatch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from reviews import review_for  # noqa: E402  test/support: the one AdmissionReview builder

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def mutate(binary, obj):
    p = subprocess.run([binary, "review", "--mutate", "-"], input=json.dumps(review_for(obj, uid="rt-1")).encode(),
                       capture_output=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("review --mutate failed: %s" % p.stderr.decode())
    return json.loads(p.stdout)["response"]


def main():
    log, binary, fixtures = sys.argv[1], sys.argv[2], sys.argv[3]
    logged = 0
    if os.path.exists(log):
        with open(log) as f:
            for n, line in enumerate(f, 1):
                entry = json.loads(line)
                out = jsonpatch.apply_patch(entry["object"], entry["patch"])
                check(out == entry["result"], "%s line %d: results differ" % (log, n))
                logged += 1
    check(logged > 0, "no patches were logged by the unit tests (%s)" % log)

    files = sorted(glob.glob(os.path.join(fixtures, "*.json")))
    check(len(files) > 0, "no fixtures in " + fixtures)
    for path in files:
        name = os.path.basename(path)
        with open(path) as f:
            case = json.load(f)
        resp = mutate(binary, case["object"])
        check(resp["allowed"] is True, name + ": not allowed")
        if case["object"] == case["expected"]:
            check("patch" not in resp and "patchType" not in resp,
                  name + ": a patch for an object that needs none")
            continue
        check(resp.get("patchType") == "JSONPatch", name + ": patchType missing")
        patch = json.loads(base64.b64decode(resp["patch"]))
        try:
            out = jsonpatch.apply_patch(case["object"], patch)
        except Exception as e:  # noqa: BLE001 - any failure to apply is the finding
            failures.append("%s: patch does not apply: %s" % (name, e))
            continue
        check(out == case["expected"], "%s: result differs from expected:\n%s\n%s" % (
            name, json.dumps(out, sort_keys=True), json.dumps(case["expected"], sort_keys=True)))
        again = mutate(binary, out)
        check("patch" not in again and "patchType" not in again, name + ": second pass patched")

    print("checked %d logged patches and %d fixtures" % (logged, len(files)))
    for f in failures:
        print("FAIL:", f)
    print("%d passed, %d failed" % (logged + len(files) - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
