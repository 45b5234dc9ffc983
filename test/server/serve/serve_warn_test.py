#!/usr/bin/env python3
"""`serve --enforcement warn` next to `serve` (deny) (`ctest -R serve_warn`): every review of the
test data that deny refuses for its content is allowed, warning with the deny answer's field
error strings in the same order and then its warnings; everything else (allowed answers, 400s,
/mutate) is byte for byte the same; the cap of 20 warnings; metrics and logs say warned.

Usage: serve_warn_test.py BINARY
"""
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import (FIXTURES, JSON, ROOT, Server, check, guard_cases, make_certs, review_for,  # noqa: E402
                           run, tmpdir)


CAP = 20


def warn_cases():
    """Every review of the test data, with the serve flags it is answered under: the golden
    cases of test/fixtures/guards, the serve corpus of fuzz/ (reviews of Applications and tables,
    and bodies that are not reviews), and each Application of test/fixtures/check and
    test/fixtures/defaulting sent as a CREATE."""
    import yaml
    out = [(name, tuple(c["flags"]), json.dumps(c["review"]).encode()) for name, c in guard_cases()]
    for path in sorted(glob.glob(os.path.join(ROOT, "fuzz", "corpus", "serve", "*.json"))):
        with open(path, "rb") as f:
            out.append(("corpus/" + os.path.basename(path), (), f.read()))
    n = 0
    for path in sorted(glob.glob(os.path.join(FIXTURES, "check", "*.yaml"))):
        try:
            docs = list(yaml.safe_load_all(open(path)))
        except yaml.YAMLError:
            continue
        for d in docs:
            if isinstance(d, dict) and d.get("kind") == "Application":
                n += 1
                out.append(("check/%s#%d" % (os.path.basename(path), n), (),
                            json.dumps(review_for(d, uid="check-%d" % n)).encode()))
    for path in sorted(glob.glob(os.path.join(FIXTURES, "defaulting", "*.json"))):
        obj = json.load(open(path))["object"]
        out.append(("defaulting/" + os.path.basename(path), (),
                    json.dumps(review_for(obj, uid="dflt-" + os.path.basename(path))).encode()))
    return out


def would_be_warnings(resp):
    """The warnings --enforcement warn must give for a deny-mode answer: each cause's field error
    string (or the message of a plain denial), then the deny-mode warnings, at most CAP."""
    st = resp["status"]
    causes = st.get("details", {}).get("causes", [])
    texts = [c["field"] + ": " + c["message"] for c in causes] if causes else [st["message"]]
    texts += resp.get("warnings", [])
    if len(texts) > CAP:
        texts = texts[:CAP - 1] + ["... and %d more warnings" % (len(texts) - (CAP - 1))]
    return texts


def same_warning(got, want):
    """`got` is `want`, or `want` cut to 256 bytes ending in "..." (the apiserver's limit)."""
    if got == want:
        return True
    return (len(want.encode()) > 256 and len(got.encode()) <= 256 and got.endswith("...")
            and want.startswith(got[:-3]))


def group_warn(binary):
    certs = make_certs(tmpdir("dsw-warn-"))
    cases = warn_cases()
    sources = {name.split("/")[0] for name, _, _ in cases if "/" in name}
    check(sources == {"corpus", "check", "defaulting"} and len(cases) >= 100,
          "%d cases: the golden guards, the serve corpus, check's and the defaulting fixtures (%s)"
          % (len(cases), sorted(sources)))
    flag_sets = sorted({f for _, f, _ in cases})
    deny = {f: Server(binary, certs, *f) for f in flag_sets}
    warn = {f: Server(binary, certs, *f, "--enforcement", "warn") for f in flag_sets}
    m0 = {f: s.metrics() for f, s in warn.items()}

    def post(srv, path, body):
        status, _, data = srv.request("POST", path, body, JSON)
        return status, data

    print("every denial of the test data becomes warnings")
    denied, kinds, counts = [], set(), {}
    for name, flags, body in cases:
        ds, dbody = post(deny[flags], "/validate", body)
        ws, wbody = post(warn[flags], "/validate", body)
        dresp = json.loads(dbody)["response"] if ds == 200 else None
        if not (dresp and dresp["allowed"] is False and dresp["status"]["code"] in (403, 422)):
            check(ws == ds and wbody == dbody,
                  "%s: not a denial for content (HTTP %s), answered the same in both modes" % (name, ds))
            continue
        review = json.loads(body)
        kind = review["request"]["kind"]["kind"]
        kinds.add(kind)
        counts[(flags, kind)] = counts.get((flags, kind), 0) + 1
        denied.append((name, review["request"]["uid"]))
        wout = json.loads(wbody) if ws == 200 else {}
        wresp = wout.get("response", {})
        want = would_be_warnings(dresp)
        got = wresp.get("warnings", [])
        check(ws == 200 and wout.get("apiVersion") == review["apiVersion"]
              and wresp.get("uid") == review["request"]["uid"] and wresp.get("allowed") is True
              and "status" not in wresp and "patch" not in wresp
              and len(got) == len(want) and all(same_warning(g, w) for g, w in zip(got, want)),
              "%s: allowed, warning with what deny refused it for%s" % (
                  name, "" if len(got) == len(want) and all(map(same_warning, got, want))
                  else "\n    got  %s\n    want %s" % (got, want)))
        dm, dmbody = post(deny[flags], "/mutate", body)
        wm, wmbody = post(warn[flags], "/mutate", body)
        check(dm == wm == 200 and dmbody == wmbody, "%s: /mutate answers byte for byte the same" % name)
    check(len(denied) >= 30 and {"Application", "Table", "DynamoDBTable"} <= kinds,
          "%d denials of Applications and both table kinds were turned into warnings (%s)"
          % (len(denied), sorted(kinds)))

    print("at most 20 warnings")
    comps = [{"name": "t%d" % i, "type": "aws-dynamodb-kro", "properties": {"tableName": "t"},
              "traits": [{"type": "dynamodb-streams-kro",
                          "properties": {"enabled": "yes", "viewType": "NEW_AND_OLD_IMAGES"}}]}
             for i in range(30)]
    big = review_for({"apiVersion": "core.oam.dev/v1beta1", "kind": "Application",
                      "metadata": {"name": "many", "namespace": "default"},
                      "spec": {"components": comps}}, uid="warn-many")
    _, dbody = post(deny[()], "/validate", json.dumps(big).encode())
    dresp = json.loads(dbody)["response"]
    causes = dresp["status"]["details"]["causes"]
    _, wbody = post(warn[()], "/validate", json.dumps(big).encode())
    got = json.loads(wbody)["response"].get("warnings", [])
    check(len(causes) == 30 and len(got) == 20
          and got[:19] == [c["field"] + ": " + c["message"] for c in causes[:19]]
          and got[19] == "... and 11 more warnings",
          "30 errors: the first 19 as warnings, the 20th says '... and 11 more warnings' (%s)" % got[19:])
    counts[((), "Application")] = counts.get(((), "Application"), 0) + 1
    denied.append(("many", "warn-many"))

    print("metrics")
    for flags, srv in warn.items():
        m1 = srv.metrics()
        for kind in ("Application", "Table", "DynamoDBTable"):
            key = ('dynamodb_streams_webhook_admission_requests_total'
                   '{endpoint="validate",kind="%s",outcome="%%s"}' % kind)
            got_w = m1.get(key % "warned", 0) - m0[flags].get(key % "warned", 0)
            got_d = m1.get(key % "denied", 0) - m0[flags].get(key % "denied", 0)
            want_w = counts.get((flags, kind), 0)
            check(got_w == want_w and got_d == 0,
                  "%s: %s counted %d times as warned (got %d) and never denied (got %d)"
                  % (" ".join(flags) or "default flags", kind, want_w, got_w, got_d))
    m = deny[()].metrics()
    check('dynamodb_streams_webhook_admission_requests_total{endpoint="validate",kind="Application",outcome="warned"}' in m
          and m['dynamodb_streams_webhook_admission_requests_total{endpoint="validate",kind="Application",outcome="warned"}'] == 0,
          "the warned series is exported at 0 by a server in deny mode")

    print("logs")
    time.sleep(1.5)  # the async logger flushes at least every second
    for mode, servers in (("deny", deny), ("warn", warn)):
        serving = [json.loads(l) for l in servers[()].log_lines() if '"msg":"serving"' in l]
        check(serving and serving[0].get("enforcement") == mode,
              "the serving line says enforcement %s (%s)" % (mode, serving))
    lines = []
    for srv in warn.values():
        lines += [json.loads(l) for l in srv.log_lines() if l.startswith("{")]
    # (uids repeat across the corpus: count the lines, and find every uid among them)
    warned = [p.get("uid") for p in lines if p.get("msg") == "review"
              and p.get("endpoint") == "validate" and p.get("verdict") == "warned"]
    missing = [n for n, u in denied if u not in warned]
    check(len(warned) == len(denied) and not missing,
          "one review line with verdict warned per would-be denial (%d of %d; missing %s)"
          % (len(warned), len(denied), missing[:3]))
    for srv in list(deny.values()) + list(warn.values()):
        srv.kill()


if __name__ == "__main__":
    run(group_warn)
