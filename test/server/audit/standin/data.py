"""Data (rule 10 of the package docstring): objects from JSON/YAML files or directories
(load_documents()), generated Applications (make_applications()) and reports (make_report()), and
certificates for tests (make_certs(), make_client_cert())."""
import json
import os
import subprocess
from typing import Optional


try:
    import yaml  # python3-yaml
except ImportError:  # pragma: no cover - Debian's python3-yaml is a test dependency
    yaml = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def load_documents(path: str) -> list:
    """The objects of a JSON or YAML file (multi-document YAML, Lists expanded), or of every
    *.json, *.yaml, *.yml file of a directory, in sorted order."""
    if os.path.isdir(path):
        out = []
        for name in sorted(os.listdir(path)):
            if name.endswith((".json", ".yaml", ".yml")):
                out += load_documents(os.path.join(path, name))
        return out
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        docs = [json.loads(text)]
    else:
        if yaml is None:
            raise RuntimeError("YAML files need python3-yaml")
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    out = []
    for d in docs:
        if isinstance(d, dict) and isinstance(d.get("items"), list) and (
                d.get("kind") == "List" or str(d.get("kind", "")).endswith("List")):
            out += d["items"]
        else:
            out.append(d)
    return out


_VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE")


def make_applications(count: int, namespaces, *, invalid_every: int = 0,
                      warning_every: int = 0, prefix: str = "app",
                      labels: Optional[dict] = None) -> list:
    """`count` KubeVela Applications with one aws-dynamodb-kro component and its
    dynamodb-streams-kro trait, spread round-robin over `namespaces` (a number M: ns-000 ..
    ns-M-1, or a list of names). Every `invalid_every`-th one (index % invalid_every ==
    invalid_every - 1) has viewType "NEW" (not supported: a field error of /validate); every
    `warning_every`-th of the others disables streams while naming a viewType (a warning only,
    as test/fixtures/check/warning-only.yaml). The rest are valid, cycling through the four view
    types and the trait's defaults. Names are PREFIX-00000 ..., deterministic."""
    if isinstance(namespaces, int):
        namespaces = [f"ns-{i:03d}" for i in range(namespaces)]
    namespaces = list(namespaces)
    apps = []
    for i in range(count):
        props: Optional[dict]
        if invalid_every and i % invalid_every == invalid_every - 1:
            props = {"enabled": True, "viewType": "NEW"}
        elif warning_every and i % warning_every == warning_every - 1:
            props = {"enabled": False, "viewType": "KEYS_ONLY"}
        elif i % 5 == 4:
            props = None                                  # the trait's defaults
        else:
            props = {"enabled": True, "viewType": _VIEW_TYPES[i % 4]}
        trait = {"type": "dynamodb-streams-kro"}
        if props is not None:
            trait["properties"] = props
        meta = {"name": f"{prefix}-{i:05d}", "namespace": namespaces[i % len(namespaces)]}
        if labels:
            meta["labels"] = dict(labels)
        apps.append({
            "apiVersion": "core.oam.dev/v1beta1", "kind": "Application", "metadata": meta,
            "spec": {"components": [{
                "name": "table", "type": "aws-dynamodb-kro",
                "properties": {
                    "tableName": f"table-{i:05d}", "region": "us-east-1",
                    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
                    "keySchema": [{"attributeName": "id", "keyType": "HASH"}]},
                "traits": [trait]}]}})
    return apps


def make_report(namespace: str, name: str, *, kind: str = "Report", source: str = "other-tool",
                results: Optional[list] = None, labels: Optional[dict] = None) -> dict:
    """A valid Report (or PolicyReport, kind="PolicyReport") whose summary counts its results;
    by default one `pass` result. For tests that need reports of another tool, or a base to
    break."""
    if results is None:
        results = [{"policy": "example", "rule": "example", "result": "pass", "source": source,
                    "severity": "info", "timestamp": {"seconds": 1700000000, "nanos": 0}}]
    summary = {k: sum(1 for r in results if r.get("result") == k)
               for k in ("pass", "fail", "warn", "error", "skip")}
    doc = {"apiVersion": "openreports.io/v1alpha1" if kind == "Report"
           else "wgpolicyk8s.io/v1alpha2", "kind": kind,
           "metadata": {"name": name, "namespace": namespace}, "summary": summary,
           "results": results}
    if labels:
        doc["metadata"]["labels"] = dict(labels)
    if kind == "Report":
        doc["source"] = source
    return doc


def make_certs(out: str, *extra: str) -> str:
    """A CA and a serving certificate for localhost/127.0.0.1 in `out`, by the project's
    certs/make-dev-certs.sh (ca.crt, ca.key, tls.crt, tls.key; client.crt/key with --client)."""
    subprocess.run(["bash", os.path.join(ROOT, "certs", "make-dev-certs.sh"), out, *extra],
                   check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return out


def make_client_cert(certdir: str, cn: str, name: str = "user",
                     ca: Optional[str] = None, ca_key: Optional[str] = None) -> tuple:
    """A clientAuth certificate with CN=cn signed by certdir's CA (or ca/ca_key): returns the
    paths (NAME.crt, NAME.key). A kubeconfig user authenticating by certificate."""
    ca = ca or os.path.join(certdir, "ca.crt")
    ca_key = ca_key or os.path.join(certdir, "ca.key")
    crt, key = os.path.join(certdir, f"{name}.crt"), os.path.join(certdir, f"{name}.key")
    ext = os.path.join(certdir, f"{name}.ext")
    csr = os.path.join(certdir, f"{name}.csr")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=clientAuth\n")
    run = lambda *a: subprocess.run(a, check=True, timeout=60, capture_output=True)  # noqa: E731
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-out", key)
    run("openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn.replace("/", "\\/"),
        "-out", csr)
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial",
        "0x" + os.urandom(16).hex(), "-days", "30", "-sha256", "-extfile", ext, "-out", crt)
    os.remove(csr)
    os.remove(ext)
    return crt, key
