#!/usr/bin/env python3
"""The audit's memory bound, as a correctness bound (no time is asserted): 6,000 Applications in
60 namespaces audited twice (the first scan creates the 60 reports, the second reads them back
and updates them) within 64 MiB peak RSS each (the kernel's high-water mark of exactly that
process, from wait4), and every report complete. bench/audit.sh measures the same with figures.
Skipped under a sanitizer, whose shadow memory is not the program's.

    audit_memory_test.py BINARY [unittest arguments]
"""
import os
import subprocess
import unittest

import audit_support as s
from audit_support import st

LIMIT_KIB = 64 * 1024


def audit_measured(args):
    """Runs the binary; returns (exit status, peak RSS in KiB, stderr)."""
    p = subprocess.Popen([s.BINARY, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, env={"HOME": "/nonexistent", "PATH": os.environ.get("PATH", "")})
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, usage.ru_maxrss, err


@unittest.skipIf(os.environ.get("DSW_SANITIZER"), "RSS under a sanitizer is its shadow memory")
class Memory(s.AuditCase):
    def test_6000_applications_in_60_namespaces_within_64_mib(self):
        self.srv.add_objects(st.make_applications(6000, 60, invalid_every=7, warning_every=5))
        for scan in ("creates", "updates"):
            with self.subTest(scan=scan):
                rc, peak, err = audit_measured(["audit", "--kubeconfig", self.kubeconfig,
                                                "--once"])
                run = s.Run([], rc, "", err)
                self.assertComplete(run)
                self.assertEqual((run.scan()["applications"], run.scan()["reports_written"]),
                                 (6000, 60))
                self.assertLessEqual(peak, LIMIT_KIB, f"peak RSS {peak} KiB")
        reports = self.srv.objects("reports")
        self.assertEqual(len(reports), 60)
        self.assertEqual(sum(len(r["results"]) for r in reports),
                         sum(sum(r["summary"].values()) for r in reports))
        self.assertEqual(len({r["resources"][0]["name"] for rep in reports
                              for r in rep["results"]}), 6000)


if __name__ == "__main__":
    try:
        s.main()
    finally:
        s.cleanup()
