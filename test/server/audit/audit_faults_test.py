#!/usr/bin/env python3
"""`audit` against the apiserver stand-in when the apiserver misbehaves: what is retried (429 and
503 with Retry-After, lost connections, 410 Expired continue tokens, 409 conflicts), what ends
the scan with nothing written (a list that cannot be read, a page that is not JSON, 401, 403, a
report kind not served, a stop), what is skipped (kinds not served), and what a failure while
writing leaves (some namespaces written, repaired by the next scan). No wall-clock bound is
asserted; the Retry-After checks are lower bounds.

    audit_faults_test.py BINARY [unittest arguments]
"""
import os
import signal
import subprocess
import threading
import time

import audit_support as s
from audit_support import st

APPS = r"^/apis/core\.oam\.dev/v1beta1/applications$"
TABLES = r"^/apis/dynamodb\.services\.k8s\.aws/v1alpha1/tables$"
REPORTS = r"^/apis/openreports\.io/v1alpha1/reports$"


def report_path(ns, name=s.OURS):
    return rf"^/apis/openreports\.io/v1alpha1/namespaces/{ns}/reports(/{name})?$"


def names_in(report):
    return sorted(r["resources"][0]["name"] for r in report["results"])


class Retried(s.AuditCase):
    def test_429_as_plain_text_and_503_are_waited_for_as_retry_after_asks(self):
        self.srv.add_objects(st.make_applications(20, 2))
        self.srv.fail("GET", APPS, 429, retry_after=1, count=2)
        self.srv.fail("GET", REPORTS, 503, retry_after=1, count=1)
        run = self.audit()
        self.assertComplete(run)
        apps = self.srv.requests("GET", APPS)
        self.assertEqual([r.status for r in apps], [429, 429, 200])
        for a, b in zip(apps, apps[1:]):
            self.assertGreaterEqual(b.time - a.time, 0.95, "Retry-After: 1 was not waited for")
        self.assertEqual([r.status for r in self.srv.requests("GET", REPORTS)], [503, 200])
        self.assertEqual(len(self.reports()), 2)
        retries = run.lines("apiserver answer is transient; retrying")
        self.assertEqual([(l["status"], l["wait_ms"]) for l in retries],
                         [(429, 1000), (429, 1000), (503, 1000)])
        self.assertIn("Too many requests", retries[0]["error"])

    def test_lost_connections_are_retried(self):
        self.srv.add_objects(st.make_applications(20, 2))
        self.srv.reset_connection("GET", APPS, count=2)
        self.srv.reset_connection("POST", report_path("ns-001"), count=1)
        run = self.audit()
        self.assertComplete(run)
        self.assertEqual(len(self.reports()), 2)
        self.assertEqual(self.srv.counters.get("connections_reset"), 3)

    def test_410_expired_continue_token_lists_again_from_the_start(self):
        self.srv.add_objects(st.make_applications(23, 2, invalid_every=3))
        # The second page waits (429, Retry-After 1) until the history is compacted under it.
        self.srv.fail("GET", APPS, 429, retry_after=1, count=None, query="continue=")

        def compact():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if any(r.status == 429 for r in self.srv.requests("GET", APPS)):
                    self.srv.expire_continue_tokens()
                    self.srv.clear_faults()
                    return
                time.sleep(0.01)
        t = threading.Thread(target=compact)
        t.start()
        run = self.audit("--page-size", "5")
        t.join()
        self.assertComplete(run)
        statuses = [r.status for r in self.srv.requests("GET", APPS)]
        self.assertIn(410, statuses)
        self.assertEqual(len(run.lines("continue token expired; listing again from the start")), 1)
        # Every object once: what was read before the restart is not counted twice.
        seen = [n for rep in self.srv.objects("reports") for n in names_in(rep)]
        self.assertEqual(sorted(seen), [f"app-{i:05d}" for i in range(23)])
        self.assertEqual(run.scan()["applications"], 23)

    def test_409_on_update_reads_the_report_again_and_writes_again(self):
        self.srv.add_objects(st.make_applications(10, 2))
        self.assertComplete(self.audit())
        self.srv.clear_log()
        self.srv.add_objects(st.make_applications(1, ["ns-000"], prefix="new"))
        self.srv.bump_before_update("reports", "ns-000", s.OURS, count=2, annotate=True)
        run = self.audit()
        self.assertComplete(run)
        path = report_path("ns-000")
        self.assertEqual([(r.method, r.status) for r in self.srv.requests(None, path)],
                         [("PUT", 409), ("GET", 200), ("PUT", 409), ("GET", 200), ("PUT", 200)])
        rep = self.srv.get("reports", "ns-000", s.OURS)
        self.assertIn("new-00000", names_in(rep))
        # What the other writer added is kept.
        self.assertEqual(rep["metadata"]["annotations"], {"apiserver-standin/bumped": "2"})
        self.assertEqual(len(run.lines("report changed since it was read; writing it again")), 2)

    def test_409_that_never_ends_is_bounded_and_the_other_namespaces_are_written(self):
        self.srv.add_objects(st.make_applications(10, 2))
        self.assertComplete(self.audit())
        self.srv.add_objects(st.make_applications(2, ["ns-000", "ns-001"], prefix="new"))
        self.srv.bump_before_update("reports", "ns-000", s.OURS, count=None)
        run = self.audit()
        self.assertEqual(run.returncode, 3, run)
        self.assertIn("still conflicting", run.scan()["error"])
        self.assertEqual(len(self.srv.requests("PUT", report_path("ns-000"))), 6)
        self.assertIn("new-00001", names_in(self.srv.get("reports", "ns-001", s.OURS)))


class NothingWritten(s.AuditCase):
    def assertFailed(self, run, *words):
        self.assertEqual(run.returncode, 1, run)
        line = run.scan()
        self.assertEqual(line["msg"], "scan failed; nothing written", run)
        for w in words:
            self.assertIn(w, line["error"])
        self.assertNothingWritten(run)
        return line

    def setUp(self):
        super().setUp()
        self.srv.add_objects(st.make_applications(20, 4))
        # Stale reports of ours that a completed scan would delete: a failed one must not.
        self.srv.add(st.make_report("emptied", s.OURS, labels={s.LABEL: s.OURS}))
        self.srv.clear_log()

    def test_429_that_never_ends(self):
        self.srv.fail("GET", APPS, 429, retry_after=0, count=None)
        run = self.audit("--retries", "2")
        self.assertFailed(run, "HTTP 429", "Too many requests")
        self.assertEqual(len(self.srv.requests("GET", APPS)), 3)

    def test_503_on_a_later_page(self):
        self.srv.fail("GET", APPS, 503, count=None, query="continue=")
        run = self.audit("--retries", "1", "--page-size", "5")
        self.assertFailed(run, "HTTP 503")

    def test_connections_lost_every_time(self):
        self.srv.reset_connection("GET", TABLES, count=None)
        run = self.audit("--retries", "2")
        self.assertFailed(run, "no answer", "tables.dynamodb.services.k8s.aws")

    def test_a_page_that_is_not_json(self):
        self.srv.not_json("GET", APPS, query="continue=")
        run = self.audit("--page-size", "5")
        self.assertFailed(run, "not valid JSON")
        self.srv.clear_log()
        self.srv.not_json("GET", APPS, body=b'{"kind":"Status","items":7}')
        self.assertFailed(self.audit(), "items is not an array")

    def test_continue_tokens_that_always_expire(self):
        self.srv.continue_ttl = 0.0
        run = self.audit("--page-size", "5")
        self.assertFailed(run, "expired 4 times")
        self.assertEqual(len(run.lines("continue token expired; listing again from the start")), 3)

    def test_401_is_explained_and_not_retried(self):
        self.srv.remove_token(s.TOKEN)
        run = self.audit()
        self.assertFailed(run, "401 Unauthorized", "did not accept the audit's credentials")
        self.assertEqual(len(self.srv.requests()), 1)

    def test_403_names_the_verb_and_resource_and_is_not_retried(self):
        self.srv.revoke(s.USER)
        self.srv.allow(s.USER, ["get", "list"], "core.oam.dev", "applications")
        s.allow_audit(self.srv, verbs=("get", "list", "create", "update", "delete"))
        self.srv.revoke(s.USER)
        self.srv.allow(s.USER, ["get", "list"], ["core.oam.dev", "kro.run"],
                       ["applications", "dynamodbtables"])
        self.srv.allow(s.USER, list(s.WRITE_VERBS), "openreports.io", "reports")
        run = self.audit()
        line = self.assertFailed(run, "403 Forbidden",
                                 "the audit needs list on tables.dynamodb.services.k8s.aws at "
                                 "the cluster scope")
        self.assertIn('cannot list resource \\"tables\\"'.replace("\\", ""), line["error"])
        self.assertEqual(len(self.srv.requests("GET", TABLES)), 1)

    def test_report_kind_not_served_names_the_crd(self):
        for kinds, not_found in (((st.APPLICATIONS, st.TABLES), "status"),
                                 ((st.APPLICATIONS,), "text")):
            with self.subTest(not_found=not_found):
                srv = st.ApiServerStandin(os.path.join(s.CERTS, "tls.crt"),
                                          os.path.join(s.CERTS, "tls.key"), kinds=kinds,
                                          tokens={s.TOKEN: s.USER}, not_found=not_found)
                s.allow_audit(srv)
                srv.add_objects(st.make_applications(4, 2))
                with srv:
                    kc = s.kubeconfig(os.path.join(self.dir, "kc-" + not_found), srv.url,
                                      {"token": s.TOKEN}, ca_file=os.path.join(s.CERTS, "ca.crt"))
                    run = s.run(["audit", "--kubeconfig", kc, "--once"])
                    self.assertEqual(run.returncode, 1, run)
                    err = run.scan()["error"]
                    self.assertIn("not served", err)
                    self.assertIn("reports.openreports.io", err)
                    self.assertIn("--report-kind policyreport", err)
                    self.assertEqual(srv.writes(), [])
                    self.assertEqual([r for r in srv.requests() if r.verb == "list"], [])

    def test_sigterm_while_waiting_to_retry(self):
        self.srv.fail("GET", APPS, 429, retry_after=30, count=None)
        proc = subprocess.Popen([s.BINARY, "audit", "--kubeconfig", self.kubeconfig, "--once"],
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not self.srv.requests("GET", APPS) and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.2)  # in the wait for Retry-After
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        run = s.Run([], proc.returncode, "", err)
        self.assertEqual(run.returncode, 1, run)
        self.assertEqual(run.scan()["msg"], "scan stopped; nothing written", run)
        self.assertEqual(run.scan()["level"], "info")
        self.assertIn("stopped (SIGTERM or SIGINT) while reading", run.scan()["error"])
        self.assertNothingWritten(run)
        self.assertEqual(run.lines("stopping")[0]["signal"], "SIGTERM")
        self.assertEqual(len(self.srv.requests("GET", APPS)), 1)


class Skipped(s.AuditCase):
    kinds = (st.APPLICATIONS, st.REPORTS)
    options = {"not_found": "text"}

    def test_kinds_not_served_are_skipped_with_one_line_each(self):
        self.srv.add_objects(st.make_applications(6, 2))
        run = self.audit()
        self.assertComplete(run)
        skipped = run.lines("kind not served; skipped")
        self.assertEqual(sorted(l["resource"] for l in skipped),
                         ["dynamodbtables.kro.run", "tables.dynamodb.services.k8s.aws"])
        self.assertEqual(len(self.reports()), 2)

    def test_a_kind_that_404s_when_listed_is_skipped(self):
        self.srv.add_objects(st.make_applications(6, 2))
        self.srv.fail("GET", APPS, 404, count=1)
        run = self.audit()
        self.assertComplete(run)
        self.assertEqual([l["how"] for l in run.lines("kind not served; skipped")],
                         ["404 when listed", "absent from discovery", "absent from discovery"])
        self.assertEqual(self.reports(), {})


class WriteFailures(s.AuditCase):
    def setUp(self):
        super().setUp()
        self.srv.add_objects(st.make_applications(12, 3))
        self.assertComplete(self.audit())
        self.srv.add_objects(st.make_applications(3, 3, prefix="new"))
        self.srv.clear_log()

    def test_a_report_that_cannot_be_written_leaves_the_others_written_and_is_repaired(self):
        self.srv.fail("PUT", report_path("ns-001"), 500, count=None, message="boom")
        run = self.audit()
        self.assertEqual(run.returncode, 3, run)
        line = run.scan()
        self.assertEqual((line["reports_written"], line["write_failures"]), (2, 1))
        self.assertIn("report ns-001/dynamodb-streams-webhook: HTTP 500: boom", line["error"])
        self.assertIn("new-00000", names_in(self.srv.get("reports", "ns-000", s.OURS)))
        self.assertNotIn("new-00001", names_in(self.srv.get("reports", "ns-001", s.OURS)))
        self.assertIn("new-00002", names_in(self.srv.get("reports", "ns-002", s.OURS)))
        self.srv.clear_faults()
        self.assertComplete(self.audit())
        self.assertIn("new-00001", names_in(self.srv.get("reports", "ns-001", s.OURS)))

    def test_a_lost_apiserver_stops_the_writes(self):
        self.srv.reset_connection("PUT", report_path("ns-001"), count=None)
        run = self.audit("--retries", "1")
        self.assertEqual(run.returncode, 3, run)
        self.assertEqual(len(run.lines("report not written; writing stopped")), 1)
        self.assertEqual([(w.path.split("/")[5], w.status) for w in self.srv.writes()],
                         [("ns-000", 200), ("ns-001", None), ("ns-001", None)])

    def test_a_report_over_etcds_limit_says_what_to_lower(self):
        self.srv.add_objects(st.make_applications(40, ["ns-000"], prefix="many"))
        self.srv.max_object_bytes = 5000
        run = self.audit("--max-report-bytes", "100000")
        self.assertEqual(run.returncode, 3, run)
        self.assertIn("etcdserver: request is too large", run.scan()["error"])
        self.assertIn("lower --max-report-bytes", run.scan()["error"])

    def test_no_right_to_write_reports(self):
        self.srv.revoke(s.USER)
        s.allow_audit(self.srv, verbs=("get", "list"))
        run = self.audit()
        self.assertEqual(run.returncode, 3, run)
        self.assertIn("the audit needs update on reports.openreports.io in namespace ns-000",
                      run.scan()["error"])
        self.assertEqual(len(self.srv.writes()), 1)


class Loop(s.AuditCase):
    def test_without_once_it_scans_until_sigterm_and_exits_0(self):
        self.srv.add_objects(st.make_applications(4, 2))
        completed = 0

        def stop_after(raw):   # the second scan complete
            nonlocal completed
            completed += '"msg":"scan complete"' in raw
            return completed == 2

        run = s.run_until_stopped(["audit", "--kubeconfig", self.kubeconfig, "--interval", "1s"],
                                  stop_after)
        self.assertEqual(run.returncode, 0, run)
        self.assertEqual(run.lines("stopped")[-1]["exit_status"], 0)
        self.assertEqual(len([w for w in self.srv.writes() if w.method == "POST"]), 2)
        self.assertGreaterEqual(len([w for w in self.srv.writes() if w.method == "PUT"]), 2)


if __name__ == "__main__":
    try:
        s.main()
    finally:
        s.cleanup()
