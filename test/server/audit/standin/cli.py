"""Script mode (rule 11 of the package docstring): main() parses the flags of
`apiserver_standin.py` (see --help), serves until SIGTERM or SIGINT and writes the request log."""
import argparse
import dataclasses
import json
import os
import signal
import sys
import threading

from .apiserver import ApiServerStandin
from .data import make_applications
from .resources import DEFAULT_KINDS


def _parse_pair(text: str, what: str) -> tuple:
    k, sep, v = text.partition("=")
    if not sep or not k or not v:
        raise argparse.ArgumentTypeError(f"{what} must be KEY=VALUE, got {text!r}")
    return k, v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="A Kubernetes apiserver stand-in on 127.0.0.1 (HTTPS) for testing "
                    "`dynamodb-streams-webhook audit`. Runs until SIGTERM or SIGINT.")
    ap.add_argument("--cert", required=True, help="serving certificate (PEM)")
    ap.add_argument("--key", required=True, help="serving key (PEM)")
    ap.add_argument("--client-ca", help="CA of client certificates (user = CN)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    ap.add_argument("--port-file", help="write the bound port here (atomically) once serving")
    ap.add_argument("--token", action="append", default=[], metavar="TOKEN=USER",
                    help="a bearer token and its user (repeatable)")
    ap.add_argument("--allow", action="append", default=[],
                    metavar="USER=VERBS,GROUP,RESOURCE[,NAMESPACE]",
                    help="grant USER the verbs (';'-separated or *) on GROUP's RESOURCE (* for "
                         "any), in NAMESPACE only when given (repeatable)")
    ap.add_argument("--serve", action="append", metavar="RESOURCE",
                    help="serve only these resources (repeatable; default: applications, "
                         "tables, dynamodbtables, reports, policyreports)")
    ap.add_argument("--objects", action="append", default=[], metavar="PATH",
                    help="load objects from a JSON/YAML file or a directory (repeatable)")
    ap.add_argument("--generate-applications", metavar="N:M",
                    help="add N generated Applications in M namespaces")
    ap.add_argument("--invalid-every", type=int, default=0,
                    help="with --generate-applications: every K-th is invalid")
    ap.add_argument("--warning-every", type=int, default=0,
                    help="with --generate-applications: every K-th only warns")
    ap.add_argument("--continue-ttl", type=float, help="continue tokens expire after S seconds")
    ap.add_argument("--not-found", choices=("status", "text"), default="status")
    ap.add_argument("--request-log", help="write the request log here (JSON lines) at exit")
    args = ap.parse_args(argv)

    tokens = dict(_parse_pair(t, "--token") for t in args.token)
    srv = ApiServerStandin(args.cert, args.key, client_ca=args.client_ca, host=args.host,
                           port=args.port, kinds=args.serve or DEFAULT_KINDS, tokens=tokens,
                           continue_ttl=args.continue_ttl, not_found=args.not_found)
    for a in args.allow:
        user, spec = _parse_pair(a, "--allow")
        fields = spec.split(",")
        if len(fields) not in (3, 4):
            ap.error(f"--allow needs USER=VERBS,GROUP,RESOURCE[,NAMESPACE], got {a!r}")
        verbs = fields[0].split(";")
        srv.allow(user, verbs, fields[1], fields[2], fields[3] if len(fields) == 4 else None)
    for p in args.objects:
        srv.load_path(p)
    if args.generate_applications:
        n, _, m = args.generate_applications.partition(":")
        srv.add_objects(make_applications(int(n), int(m or 1),
                                          invalid_every=args.invalid_every,
                                          warning_every=args.warning_every))

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    srv.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{srv.port}\n")
        os.replace(tmp, args.port_file)
    print(f"apiserver-standin: serving on {srv.url}", file=sys.stderr, flush=True)
    while not stop.wait(0.2):
        pass
    rc = 0
    try:
        srv.stop(timeout=5)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        rc = 1
    if args.request_log:
        with open(args.request_log, "w") as f:
            for r in srv.requests():
                f.write(json.dumps(dataclasses.asdict(r)) + "\n")
    print("apiserver-standin: stopped", file=sys.stderr, flush=True)
    return rc
