#!/usr/bin/python3
"""Checks of the built image, for scripts/image-test.sh (which builds the image and starts it).

  probe.py config --inspect FILE --values FILE --arch ARCH --size S --base-size S --budget-mb N --added-budget-mb N
      the image's config (buildah inspect JSON) against the chart's values, its platform, and its size
  probe.py manifest --inspect FILE --platforms P,P...
      the manifest list (buildah manifest inspect JSON) has exactly one image for each platform
  probe.py env --inspect FILE
      the image's environment, one NAME=VALUE a line (what a container runtime would set)
  probe.py free-port
  probe.py volume --dir DIR --cert FILE --key FILE
      (re)writes DIR the way the kubelet writes a Secret volume (AtomicWriter): files in a
      timestamped directory, `..data` pointing at it, tls.crt and tls.key -> ..data/<name>;
      files mode 0440, group 65532 (the chart's defaultMode and fsGroup)
  probe.py serve --port P --ca FILE --pid PID --volume DIR --renew-cert FILE --renew-key FILE
                 --shutdown-delay SECONDS --answers FILE
      the running server: its user, /readyz, /healthz, /metrics, /mutate, /validate (and every
      review of the fuzz corpus and regressions to both), a renewed certificate, then SIGTERM:
      /readyz turns 503 while reviews are still answered. Every answer whose bytes depend only on
      the request (status, Content-Type, body) is written to the answers FILE.
  probe.py compare --reference FILE --answers FILE
      the answers of one platform byte for byte those of another (same requests, same order)
Exits 0 when every check passes, 1 otherwise; prints one line per check.

Waits are bounded by condition and generous: the arm64 server runs under QEMU's user-mode
emulation on a machine that may be busy.
"""
import argparse
import base64
import copy
import datetime
import http.client
import json
import os
import signal
import socket
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
REVIEW = os.path.join(SOURCE, "test", "fixtures", "reviews", "basic-usage.json")
# Request bodies for the byte-for-byte comparison between platforms: every review (and non-review)
# the fuzzers start from or once failed on, sent to both endpoints.
CORPUS = [os.path.join(SOURCE, "fuzz", d) for d in ("corpus/decode_review", "regressions/decode_review", "regressions/serve")]
UID = GID = 65532
# bounds of the waits (seconds); reached only when something is wrong
READY_WITHIN = 120
REQUEST_TIMEOUT = 60
RENEWAL_WITHIN = 90

failures = 0


def check(cond, what):
    global failures
    print(f"   {'ok' if cond else 'FAIL'}: {what}", flush=True)
    if not cond:
        failures += 1
    return cond


# ---------------------------------------------------------------------------------------------
# config


def megabytes(text):
    """containers/storage's sizes ("78.7 MB", decimal units) in MB."""
    number, unit = text.split()
    return float(number) * {"B": 1e-6, "kB": 1e-3, "KB": 1e-3, "MB": 1.0, "GB": 1e3}[unit]


def cmd_config(args):
    import yaml
    oci = json.load(open(args.inspect))["OCIv1"]
    cfg = oci["config"]
    check(oci.get("os") == "linux" and oci.get("architecture") == args.arch,
          f"platform {oci.get('os')}/{oci.get('architecture')} is linux/{args.arch}")
    port = yaml.safe_load(open(args.values))["server"]["port"]
    check(cfg.get("User") == f"{UID}:{GID}", f"user {cfg.get('User')!r} is {UID}:{GID} (the chart's runAsUser/runAsGroup)")
    ports = sorted(cfg.get("ExposedPorts") or {})
    check(ports == [f"{port}/tcp"], f"exposed ports {ports} are the chart's server.port {port}")
    ep = cfg.get("Entrypoint")
    check(ep == ["/usr/local/bin/dynamodb-streams-webhook"], f"entrypoint {ep}")
    env = dict(e.split("=", 1) for e in cfg.get("Env") or [])
    chart_env = yaml.safe_load(open(args.values)).get("env") or {}
    tunables = {k: v for k, v in {**env, **chart_env}.items() if k in ("GLIBC_TUNABLES", "MALLOC_ARENA_MAX")}
    check(not tunables, f"neither the image nor the chart's default env sets malloc tunables "
          f"({tunables or 'none'}): serve caps its arenas itself")
    size, base = megabytes(args.size), megabytes(args.base_size)
    check(size <= args.budget_mb, f"image size {size:.1f} MB <= budget {args.budget_mb} MB")
    check(size - base <= args.added_budget_mb,
          f"added to debian:bookworm-slim ({base:.1f} MB): {size - base:.1f} MB <= budget {args.added_budget_mb} MB")


def cmd_manifest(args):
    want = sorted(args.platforms.split(","))
    got = sorted(f"{m['platform']['os']}/{m['platform']['architecture']}" for m in json.load(open(args.inspect))["manifests"])
    check(got == want, f"the manifest list has one image per platform: {got}")


def cmd_env(args):
    for e in json.load(open(args.inspect))["OCIv1"]["config"].get("Env") or []:
        print(e)


def cmd_free_port(_args):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


# ---------------------------------------------------------------------------------------------
# the kubelet's Secret volume layout


def write_volume(vol, files):
    os.makedirs(vol, exist_ok=True)
    os.chown(vol, 0, GID)
    os.chmod(vol, 0o750)
    now = datetime.datetime.now(datetime.timezone.utc)
    ts = f"..{now:%Y_%m_%d_%H_%M_%S}.{now.microsecond:06d}{time.monotonic_ns() % 1000:03d}"
    d = os.path.join(vol, ts)
    os.mkdir(d)
    os.chown(d, 0, GID)
    os.chmod(d, 0o750)
    for name, data in files.items():
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, 0, GID)
        os.chmod(p, 0o440)
    old = os.readlink(os.path.join(vol, "..data")) if os.path.islink(os.path.join(vol, "..data")) else None
    tmp = os.path.join(vol, "..data_tmp")
    os.symlink(ts, tmp)
    os.rename(tmp, os.path.join(vol, "..data"))  # the atomic switch
    for name in files:
        if not os.path.islink(os.path.join(vol, name)):
            os.symlink(os.path.join("..data", name), os.path.join(vol, name))
    if old:
        for name in os.listdir(os.path.join(vol, old)):
            os.unlink(os.path.join(vol, old, name))
        os.rmdir(os.path.join(vol, old))


def cmd_volume(args):
    write_volume(args.dir, {"tls.crt": open(args.cert, "rb").read(), "tls.key": open(args.key, "rb").read()})


# ---------------------------------------------------------------------------------------------
# the server


class Client:
    def __init__(self, port, ca):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)

    def request(self, method, path, body=None):
        c = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=REQUEST_TIMEOUT)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            self.content_type = r.getheader("Content-Type")
            return r.status, r.read()
        finally:
            c.close()

    def peer_cert(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=REQUEST_TIMEOUT) as s:
            with self.ctx.wrap_socket(s, server_hostname="localhost") as t:
                return t.getpeercert(binary_form=True)


def alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def wait_ready(cl, pid, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return "the server exited"
        try:
            status, _ = cl.request("GET", "/readyz")
            if status == 200:
                return None
        except (OSError, ssl.SSLError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    return f"no 200 from /readyz within {seconds} s"


class Answers:
    """What the server answered, in order: the request's name, the status, the Content-Type and
    the body's bytes (latin-1, so that the JSON file holds any byte)."""

    def __init__(self):
        self.items = []

    def add(self, cl, name, status, body):
        self.items.append({"request": name, "status": status, "content_type": cl.content_type,
                           "body": body.decode("latin-1")})

    def write(self, path):
        with open(path, "w") as f:
            json.dump(self.items, f, indent=1, sort_keys=True)
            f.write("\n")


answers = Answers()


def answer(cl, path, review, name=None):
    status, body = cl.request("POST", path, json.dumps(review).encode())
    if name:
        answers.add(cl, name, status, body)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {"unparsed": body[:200].decode("latin-1")}


def pem_to_der(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def corpus_files():
    return sorted(os.path.join(d, f) for d in CORPUS for f in os.listdir(d))


def cmd_serve(args):
    try:
        serve_checks(args)
    finally:
        answers.write(args.answers)


def serve_checks(args):
    cl = Client(args.port, args.ca)
    problem = wait_ready(cl, args.pid, READY_WITHIN)
    if not check(problem is None, f"/readyz answers 200 on port {args.port} ({problem or 'ready'})"):
        return
    status = open(f"/proc/{args.pid}/status").read()
    ids = {line.split(":")[0]: line.split()[1:] for line in status.splitlines() if line.startswith(("Uid:", "Gid:", "Groups:"))}
    check(ids.get("Uid") == [str(UID)] * 4 and ids.get("Gid") == [str(GID)] * 4,
          f"the server runs as uid/gid {UID} (Uid {ids.get('Uid')}, Gid {ids.get('Gid')})")
    check(ids.get("Groups") == [str(GID)], f"its only supplementary group is the fsGroup {GID}: {ids.get('Groups')}")
    for path in ("/readyz", "/healthz"):
        st, body = cl.request("GET", path)
        answers.add(cl, f"GET {path}", st, body)
        check(st == 200, f"GET {path}: {st}")
    st, body = cl.request("GET", "/metrics")
    check(st == 200 and b"admission_requests_total" in body, f"GET /metrics: {st}, with the admission request counter")

    review = json.load(open(REVIEW))
    uid = review["request"]["uid"]
    st, r = answer(cl, "/mutate", review, "POST /mutate basic-usage")
    resp = r.get("response", {})
    patch = json.loads(base64.b64decode(resp["patch"])) if "patch" in resp else None
    check(st == 200 and resp.get("uid") == uid and resp.get("allowed") is True and resp.get("patchType") == "JSONPatch",
          f"/mutate: 200, allowed, the request's uid, a JSONPatch: {st} {json.dumps(r)[:160]}")
    check(patch == [{"op": "add", "path": "/spec/components/0/traits/0/properties",
                     "value": {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES"}}],
          f"/mutate writes the trait's defaults: {patch}")

    st, r = answer(cl, "/validate", review, "POST /validate basic-usage")
    resp = r.get("response", {})
    check(st == 200 and resp.get("allowed") is True and "patch" not in resp, f"/validate allows the example: {st} {json.dumps(r)[:160]}")
    bad = copy.deepcopy(review)
    bad["request"]["object"]["spec"]["components"][0]["traits"][0]["properties"] = {"viewType": "new-image"}
    st, r = answer(cl, "/validate", bad, "POST /validate basic-usage with viewType new-image")
    resp = r.get("response", {})
    msg = resp.get("status", {}).get("message", "")
    check(st == 200 and resp.get("allowed") is False and resp.get("status", {}).get("code") == 422
          and 'Unsupported value: "new-image"' in msg and '(did you mean "NEW_IMAGE"?)' in msg,
          f"/validate denies viewType \"new-image\" with 422: {msg[:200]!r}")

    # the fuzzers' corpus and regressions: reviews of every kind, malformed bodies, deep nesting;
    # each answered with a status that says what happened (the bytes are compared between platforms)
    files = corpus_files()
    statuses = {}
    for f in files:
        body = open(f, "rb").read()
        for path in ("/mutate", "/validate"):
            try:
                st, out = cl.request("POST", path, body)
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                cl.content_type, st, out = None, f"no answer: {e}", b""
            answers.add(cl, f"POST {path} {os.path.relpath(f, SOURCE)}", st, out)
            statuses.setdefault(st, []).append(f"{path} {os.path.basename(f)}")
    check(len(files) > 30 and set(statuses) <= {200, 400} and statuses.get(200),
          f"{len(files)} corpus bodies to /mutate and /validate: every answer 200 or 400 "
          f"({ {k: len(v) for k, v in sorted(statuses.items())} }; other: "
          f"{[v[:3] for k, v in statuses.items() if k not in (200, 400)]})")

    # a renewed certificate, written the way the kubelet updates a Secret volume
    before = cl.peer_cert()
    check(before == pem_to_der(os.path.join(args.volume, "tls.crt")), "serves the mounted certificate")
    write_volume(args.volume, {"tls.crt": open(args.renew_cert, "rb").read(), "tls.key": open(args.renew_key, "rb").read()})
    want = pem_to_der(args.renew_cert)
    t0 = time.monotonic()
    deadline = t0 + RENEWAL_WITHIN
    got = before
    while time.monotonic() < deadline and got != want:
        time.sleep(0.25)
        got = cl.peer_cert()
    check(got == want, f"serves the renewed certificate after `..data` is switched "
          f"({time.monotonic() - t0:.1f} s; the server looks every 2 s; bound {RENEWAL_WITHIN} s)")

    # SIGTERM: readiness off at once, reviews still answered during --shutdown-delay. The delay
    # is long (the script passes 10 s) so that both requests land inside it on a slow machine.
    os.kill(args.pid, signal.SIGTERM)
    t0 = time.monotonic()
    ready = None
    while time.monotonic() - t0 < args.shutdown_delay:
        try:
            ready, _ = cl.request("GET", "/readyz")
        except (OSError, ssl.SSLError, http.client.HTTPException) as e:
            ready = str(e)
        if ready == 503:
            break
        time.sleep(0.05)
    check(ready == 503, f"after SIGTERM /readyz answers 503 ({time.monotonic() - t0:.1f} s): {ready}")
    try:
        st, r = answer(cl, "/mutate", review, "POST /mutate basic-usage during the shutdown delay")
    except (OSError, ssl.SSLError, http.client.HTTPException) as e:
        st, r = str(e), {}
    elapsed = time.monotonic() - t0
    check(st == 200 and r.get("response", {}).get("uid") == uid,
          f"during the shutdown delay ({elapsed:.1f} s after SIGTERM, delay {args.shutdown_delay:g} s) /mutate still answers: {st}")


def cmd_compare(args):
    ref, got = json.load(open(args.reference)), json.load(open(args.answers))
    check([a["request"] for a in ref] == [a["request"] for a in got],
          f"the same {len(ref)} requests on both platforms ({len(got)} here)")
    differ = [(a, b) for a, b in zip(ref, got) if a != b]
    for a, b in differ[:5]:
        # the bodies from a little before their first differing byte
        at = next((i for i, (x, y) in enumerate(zip(a["body"], b["body"])) if x != y), min(len(a["body"]), len(b["body"])))
        cut = max(0, at - 60)
        print(f"   differs: {a['request']} (body from byte {cut}; first difference at byte {at})"
              f"\n     reference: {a['status']} {a['content_type']} {a['body'][cut:cut + 160]!r}"
              f"\n     here:      {b['status']} {b['content_type']} {b['body'][cut:cut + 160]!r}")
    check(not differ, f"{len(got)} answers byte for byte the reference's (status, Content-Type, body): "
          f"{len(differ)} differ")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("config")
    p.add_argument("--inspect", required=True)
    p.add_argument("--values", required=True)
    p.add_argument("--arch", required=True)
    p.add_argument("--size", required=True)
    p.add_argument("--base-size", required=True)
    p.add_argument("--budget-mb", type=float, required=True)
    p.add_argument("--added-budget-mb", type=float, required=True)
    p = sub.add_parser("manifest")
    p.add_argument("--inspect", required=True)
    p.add_argument("--platforms", required=True)
    p = sub.add_parser("compare")
    p.add_argument("--reference", required=True)
    p.add_argument("--answers", required=True)
    p = sub.add_parser("env")
    p.add_argument("--inspect", required=True)
    sub.add_parser("free-port")
    p = sub.add_parser("volume")
    p.add_argument("--dir", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--volume", required=True)
    p.add_argument("--renew-cert", required=True)
    p.add_argument("--renew-key", required=True)
    p.add_argument("--shutdown-delay", type=float, required=True)
    p.add_argument("--answers", required=True)
    args = ap.parse_args()
    {"config": cmd_config, "manifest": cmd_manifest, "env": cmd_env, "free-port": cmd_free_port,
     "volume": cmd_volume, "serve": cmd_serve, "compare": cmd_compare}[args.cmd](args)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
