#!/usr/bin/env python3
"""Certificate rotation (`ctest -R serve_rotation`): the serving certificate mounted like a
Secret volume (a `..data` symlink swapped by rename(2)) is picked up under load without one failed
request; broken pairs are refused, counted and logged while the last good one keeps serving.

Usage: serve_rotation_test.py BINARY
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import (Load, Server, cert_info, check, make_certs, reloads, run, swap_data,  # noqa: E402
                           tmpdir, wait_for)


def group_rotation(binary):
    gen = tmpdir("dsw-rot-gen-")
    pairs = []
    for days in [365, 30, 90]:  # three serving certificates from one CA, like renewals
        make_certs(gen, "--days", str(days))
        d = tmpdir("dsw-rot-pair-")
        for f in ["tls.crt", "tls.key", "ca.crt"]:
            with open(os.path.join(gen, f), "rb") as a, open(os.path.join(d, f), "wb") as b:
                b.write(a.read())
        pairs.append((os.path.join(d, "tls.crt"), os.path.join(d, "tls.key"), cert_info(os.path.join(d, "tls.crt"))))
    mount = tmpdir("dsw-rot-mount-")
    with open(os.path.join(gen, "ca.crt"), "rb") as a, open(os.path.join(mount, "ca.crt"), "wb") as b:
        b.write(a.read())
    swap_data(mount, "..2024_01_01", pairs[0][0], pairs[0][1])
    os.symlink("..data/tls.crt", os.path.join(mount, "tls.crt"))
    os.symlink("..data/tls.key", os.path.join(mount, "tls.key"))

    srv = Server(binary, mount)
    load = Load(srv)
    time.sleep(1)
    (s1, _), (s2, exp2), (s3, exp3) = pairs[0][2], pairs[1][2], pairs[2][2]
    check(load.serial_after(0) and set(load.serial_after(0)) == {s1}, "first pair is served")

    print("rotation through ..data")
    t = time.time()
    swap_data(mount, "..2024_02_01", pairs[1][0], pairs[1][1])
    got = wait_for(lambda: s2 in load.serial_after(t), 10)
    check(got, "new handshakes get the rotated certificate within 10 s (%.1f s)" % (time.time() - t))
    time.sleep(0.5)
    t2 = time.time()
    time.sleep(0.5)
    check(set(load.serial_after(t2)) == {s2}, "after the swap only the new certificate is served")
    check(srv.metrics().get("dynamodb_streams_webhook_certificate_expiry_timestamp_seconds") == exp2,
          "expiry metric follows the new certificate")
    ok_reloads = reloads(srv, "success")
    check(ok_reloads >= 1, "reload success counted")

    print("broken pairs are refused")
    failed0 = reloads(srv, "failure")
    swap_data(mount, "..2024_03_01", pairs[2][0], pairs[0][1])  # key of another certificate
    check(wait_for(lambda: reloads(srv, "failure") == failed0 + 1, 10), "a mismatched pair is refused and counted")
    t3 = time.time()
    time.sleep(1)
    check(set(load.serial_after(t3)) == {s2}, "the last good certificate keeps serving")
    swap_data(mount, "..2024_04_01", pairs[2][0], None)  # key file missing (dangling symlink)
    check(wait_for(lambda: reloads(srv, "failure") == failed0 + 2, 10), "a pair with an unreadable key is refused and counted")
    garbage = os.path.join(gen, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    swap_data(mount, "..2024_05_01", garbage, pairs[2][1])
    check(wait_for(lambda: reloads(srv, "failure") == failed0 + 3, 10), "a certificate that is not PEM is refused and counted")
    t4 = time.time()
    time.sleep(0.5)
    check(set(load.serial_after(t4)) == {s2}, "still the last good certificate")
    errors = [json.loads(l) for l in srv.log_lines() if '"level":"error"' in l]
    check(len(errors) >= 3 and all("refused" in e["msg"] for e in errors),
          "each refusal is logged as an error (%d)" % len(errors))

    print("a later good pair is picked up")
    t = time.time()
    swap_data(mount, "..2024_06_01", pairs[2][0], pairs[2][1])
    check(wait_for(lambda: s3 in load.serial_after(t), 10), "the next good pair is served (%.1f s)" % (time.time() - t))
    check(srv.metrics().get("dynamodb_streams_webhook_certificate_expiry_timestamp_seconds") == exp3,
          "expiry metric follows")
    time.sleep(0.5)
    load.stop()
    check(load.ok > 100 and not load.failures,
          "zero failed requests during rotation (%d ok, failures: %s)" % (load.ok, load.failures[:3]))
    srv.kill()


if __name__ == "__main__":
    run(group_rotation)
