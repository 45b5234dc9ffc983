#!/usr/bin/env python3
"""Start-up of `serve` (`ctest -R serve_startup`): --help lists every flag with its default; a
bad certificate, key, client CA or port stops it with one line naming the file or port; usage
errors exit 2 with one line; both flag spellings, text logs and SIGINT.

Usage: serve_startup_test.py BINARY
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import Server, check, make_certs, run, tmpdir  # noqa: E402


def run_start(binary, *args, timeout=10):
    p = subprocess.run([binary, "serve", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def group_startup(binary):
    certs = make_certs(tmpdir("dsw-start-"))
    other = make_certs(tmpdir("dsw-start-other-"))
    crt, key = os.path.join(certs, "tls.crt"), os.path.join(certs, "tls.key")
    base = ["--port", "0", "--bind-address", "127.0.0.1"]

    rc, out, err = run_start(binary, "--help")
    check(rc == 0, "serve --help exits 0")
    for flag, default in [("--tls-cert-file", None), ("--tls-private-key-file", None),
                          ("--port", "8443"), ("--bind-address", "0.0.0.0"), ("--client-ca-file", None),
                          ("--tls-min-version", "1.2"), ("--log-level", "info"), ("--log-format", "json"),
                          ("--shutdown-delay", "5s"), ("--shutdown-timeout", "25s"),
                          ("--max-request-bytes", "7Mi"), ("--applies-to", "aws-dynamodb-kro"),
                          ("--enforcement", "deny"), ("--unknown-properties", "deny"),
                          ("--view-type-change", "deny")]:
        line = next((l for l in out.splitlines() if l.strip().startswith(flag + " ")), "")
        check(line and (default is None or "(default %s)" % default in line),
              "--help lists %s%s" % (flag, "" if default is None else " with default " + default))

    def one_line_error(args, must_name, what):
        rc, out, err = run_start(binary, *args)
        lines = [l for l in err.splitlines() if l.strip()]
        check(rc != 0 and len(lines) == 1 and all(n in lines[0] for n in must_name),
              "%s: exits non-zero with one line naming %s (rc=%s, %r)" % (what, must_name, rc, err))

    missing = os.path.join(certs, "missing.crt")
    one_line_error(["--tls-cert-file", missing, "--tls-private-key-file", key] + base, [missing], "missing certificate")
    one_line_error(["--tls-cert-file", crt, "--tls-private-key-file", missing] + base, [missing], "missing key")
    notpem = os.path.join(certs, "notpem.crt")
    with open(notpem, "w") as f:
        f.write("hello\n")
    one_line_error(["--tls-cert-file", notpem, "--tls-private-key-file", key] + base, [notpem], "certificate not PEM")
    one_line_error(["--tls-cert-file", crt, "--tls-private-key-file", notpem] + base, [notpem], "key not PEM")
    okey = os.path.join(other, "tls.key")
    one_line_error(["--tls-cert-file", crt, "--tls-private-key-file", okey] + base, [okey, crt], "key does not match")
    one_line_error(["--tls-cert-file", crt, "--tls-private-key-file", key, "--client-ca-file", missing] + base,
                   [missing], "missing client CA")
    one_line_error(["--tls-cert-file", certs, "--tls-private-key-file", key] + base, [certs], "certificate path is a directory")

    for args, what in [(["--tls-private-key-file", key], "missing --tls-cert-file"),
                       (["--tls-cert-file", crt], "missing --tls-private-key-file"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--port", "70000"], "port out of range"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--tls-min-version", "1.1"], "TLS 1.1 as minimum"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--log-format", "xml"], "unknown log format"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--shutdown-delay", "soon"], "bad duration"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--max-request-bytes", "lots"], "bad size"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--unknown-properties", "ignore"], "bad enforcement"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--enforcement", "dryrun"], "bad --enforcement"),
                       (["--tls-cert-file", crt, "--tls-private-key-file", key, "--nope"], "unknown flag")]:
        rc, out, err = run_start(binary, *args)
        check(rc == 2 and err.strip() and len(err.strip().splitlines()) == 1, "usage error exits 2 with one line: %s (%r)" % (what, err.strip()))

    srv = Server(binary, certs)
    rc, out, err = run_start(binary, "--tls-cert-file", crt, "--tls-private-key-file", key, "--bind-address",
                             "127.0.0.1", "--port", str(srv.port))
    check(rc != 0 and str(srv.port) in err and len(err.strip().splitlines()) == 1,
          "a port in use stops start-up with one line naming it (%r)" % err.strip())
    srv.kill()

    # Both flag spellings and the text log format.
    p = subprocess.Popen([binary, "serve", "--tls-cert-file=" + crt, "--tls-private-key-file", key,
                          "--bind-address=127.0.0.1", "--port", "0", "--log-format=text",
                          "--log-level", "debug", "--shutdown-delay=0s"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    check(p.returncode == 0 and " info " in err and "serving" in err and "port=" in err,
          "--flag=value and --flag value both work; text logs; SIGINT exits 0 (%r)" % err[:200])


if __name__ == "__main__":
    run(group_startup)
