#!/usr/bin/env python3
"""ACK Tables and kro DynamoDBTables through the real server (`ctest -R serve_guards`): golden
/validate answers for every rule (test/fixtures/guards), /mutate leaves them untouched,
Applications still answered, metrics and logs carry the kind.

Usage: serve_guards_test.py BINARY
"""
import copy
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import Server, basic_review, check, guard_cases, make_certs, run, tmpdir  # noqa: E402


def group_guards(binary):
    certs = make_certs(tmpdir("dsw-guards-"))
    cases = guard_cases()
    check(len(cases) >= 30, "%d golden cases in test/fixtures/guards" % len(cases))
    groups = {"dynamodb.services.k8s.aws": set(), "kro.run": set()}
    for name, c in cases:
        k = c["review"]["request"]["kind"]
        groups[k["group"]].add(k["version"])
    check(groups["dynamodb.services.k8s.aws"] >= {"v1alpha1", "v1"} and groups["kro.run"] >= {"v1alpha1", "v1"},
          "the cases cover v1alpha1 and v1 of both groups (%s)" % groups)
    ops = {c["review"]["request"]["operation"] for _, c in cases}
    check(ops == {"CREATE", "UPDATE"}, "the cases cover CREATE and UPDATE")
    servers = {}
    for flags in sorted({tuple(c["flags"]) for _, c in cases}):
        servers[flags] = Server(binary, certs, *flags)
    m0 = {f: s.metrics() for f, s in servers.items()}

    print("golden /validate answers")
    expected_counts = {}
    for name, c in cases:
        srv = servers[tuple(c["flags"])]
        rv = c["review"]
        status, hdrs, data = srv.review("/validate", rv)
        out = json.loads(data) if status == 200 else {}
        resp = dict(out.get("response", {}))
        uid = resp.pop("uid", None)
        check(status == 200 and out.get("apiVersion") == rv["apiVersion"] and uid == rv["request"]["uid"]
              and resp == c["validate"],
              "%s: /validate answers the golden response%s" % (
                  name, "" if resp == c["validate"] else "\n    got  %s\n    want %s" % (
                      json.dumps(resp), json.dumps(c["validate"]))))
        kind = rv["request"]["kind"]["kind"]
        verdict = "allowed" if c["validate"]["allowed"] else "denied"
        key = (tuple(c["flags"]), "validate", kind, verdict)
        expected_counts[key] = expected_counts.get(key, 0) + 1

        status, _, data = srv.review("/mutate", rv)
        resp = json.loads(data)["response"] if status == 200 else {}
        check(status == 200 and resp == {"uid": rv["request"]["uid"], "allowed": True},
              "%s: /mutate allows it untouched (no patch, no warnings)" % name)
        key = (tuple(c["flags"]), "mutate", kind, "allowed")
        expected_counts[key] = expected_counts.get(key, 0) + 1

    print("other kinds and Applications")
    srv = servers[()]
    _, base = cases[0]
    other = copy.deepcopy(base["review"])
    other["request"]["uid"] = "guard-global-table"
    other["request"]["kind"]["group"] = "dynamodb.services.k8s.aws"
    other["request"]["kind"]["kind"] = "GlobalTable"
    other["request"]["object"]["spec"]["streamSpecification"] = "junk"
    status, _, data = srv.review("/validate", other)
    check(status == 200 and json.loads(data)["response"] == {"uid": other["request"]["uid"], "allowed": True},
          "a GlobalTable of the ACK group is allowed untouched")
    status, _, data = srv.review("/validate", basic_review())
    check(status == 200 and json.loads(data)["response"]["allowed"] is True,
          "Applications are still validated by the same server")

    print("metrics by kind")
    for flags, srv in servers.items():
        m1 = srv.metrics()
        for endpoint in ("validate", "mutate"):
            for kind in ("Table", "DynamoDBTable"):
                for verdict in ("allowed", "denied"):
                    key = ('dynamodb_streams_webhook_admission_requests_total'
                           '{endpoint="%s",kind="%s",outcome="%s"}' % (endpoint, kind, verdict))
                    want = expected_counts.get((flags, endpoint, kind, verdict), 0)
                    got = m1.get(key, 0) - m0[flags].get(key, 0)
                    check(got == want, "%s %s: %s counted %d times (got %d)" % (
                        " ".join(flags) or "default flags", endpoint, key, want, got))
        hc = 'dynamodb_streams_webhook_admission_request_duration_seconds_count{endpoint="validate",kind="Table"}'
        check(m1.get(hc, 0) > m0[flags].get(hc, 0), "the duration histogram counts Tables")
    m1 = servers[()].metrics()
    key = 'dynamodb_streams_webhook_admission_requests_total{endpoint="validate",kind="other",outcome="allowed"}'
    check(m1.get(key, 0) - m0[()].get(key, 0) == 1, "the GlobalTable is counted as kind other")

    print("logs")
    time.sleep(1.5)  # the async logger flushes at least every second
    lines = [json.loads(l) for l in servers[()].log_lines() if l.startswith("{")]
    reviews = {(p.get("uid"), p.get("endpoint")): p for p in lines if p.get("msg") == "review"}
    for name, c in cases:
        if c["flags"]:
            continue
        rq = c["review"]["request"]
        line = reviews.get((rq["uid"], "validate"), {})
        want = "%s.%s" % (rq["kind"]["kind"], rq["kind"]["group"])
        check(line.get("kind") == want and line.get("name") == "orders" and line.get("operation") == rq["operation"]
              and line.get("verdict") == ("allowed" if c["validate"]["allowed"] else "denied")
              and line.get("warnings") == len(c["validate"].get("warnings", [])),
              "%s: the review line names kind %s, the verdict and the warnings (%s)" % (name, want, line))
    text = "\n".join(servers[()].log_lines())
    check("us-west-2" not in text and "orderId" not in text and "new_and_old_images" not in text,
          "no object contents in the logs")
    for srv in servers.values():
        srv.kill()


if __name__ == "__main__":
    run(group_guards)
