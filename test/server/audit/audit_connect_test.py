#!/usr/bin/env python3
"""How `audit` reaches the apiserver stand-in: every credential form of a kubeconfig (token,
tokenFile, client certificate and key as files or data, the CA as a file or data, contexts,
$KUBECONFIG), the pod's service account, `kubectl proxy` (a plain-HTTP forwarder on loopback
here), the server certificate always verified (CA, host name, IP address, tls-server-name), and a
clear error, with nothing contacted, for each form it does not support.

    audit_connect_test.py BINARY [unittest arguments]
"""
import base64
import http.client
import http.server
import os
import shutil
import ssl
import threading

import audit_support as s
from audit_support import st


def b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


class Kubeconfigs(s.AuditCase):
    options = {}

    def setUp(self):
        super().setUp()
        self.srv.add_objects(st.make_applications(4, 2))
        self.ca = os.path.join(s.CERTS, "ca.crt")

    def write(self, name, user, server=None, **kw):
        return s.kubeconfig(os.path.join(self.dir, name), server or self.srv.url, user, **kw)

    def audit_with(self, kc, *extra, env=None):
        return s.run(["audit", "--kubeconfig", kc, "--once", *extra], env=env)

    def test_token_file_relative_to_the_kubeconfig_and_ca_data(self):
        with open(os.path.join(self.dir, "token"), "w") as f:
            f.write(s.TOKEN + "\n")
        kc = self.write("kc", {"tokenFile": "token"}, ca_data=b64(self.ca))
        self.assertComplete(self.audit_with(kc))
        self.assertEqual({r.user for r in self.srv.requests()}, {s.USER})

    def test_kubeconfig_from_the_environment_first_path(self):
        kc = self.write("kc", {"token": s.TOKEN}, ca_file=self.ca)
        run = s.run(["audit", "--once"], env={"KUBECONFIG": kc + ":/nonexistent/other"})
        self.assertComplete(run)
        self.assertIn(kc, run.lines("audit starting")[0]["credentials"])

    def test_context_flag_picks_a_context_and_a_missing_one_is_named(self):
        other = {"name": "other", "context": {"cluster": "c", "user": "u"}}
        kc = self.write("kc", {"token": s.TOKEN}, ca_file=self.ca, context="main",
                        extra_contexts=[other], current=False)
        run = self.audit_with(kc)
        self.assertEqual(run.returncode, 2, run)
        self.assertIn("has no current-context; pass --context", run.stderr)
        self.assertComplete(self.audit_with(kc, "--context", "other"))
        run = self.audit_with(kc, "--context", "missing")
        self.assertEqual(run.returncode, 2, run)
        self.assertIn('has no context \\"missing\\"', run.stderr)

    def test_ip_address_server_is_verified_against_the_ip_in_the_certificate(self):
        kc = self.write("kc", {"token": s.TOKEN}, server=f"https://127.0.0.1:{self.srv.port}",
                        ca_file=self.ca)
        self.assertComplete(self.audit_with(kc))

    def test_tls_server_name_is_the_name_verified(self):
        kc = self.write("kc", {"token": s.TOKEN}, ca_file=self.ca,
                        cluster_extra={"tls-server-name": "localhost"})
        self.assertComplete(self.audit_with(kc))
        kc = self.write("kc2", {"token": s.TOKEN}, ca_file=self.ca,
                        cluster_extra={"tls-server-name": "apiserver.example"})
        run = self.audit_with(kc)
        self.assertEqual(run.returncode, 1, run)
        self.assertIn("certificate was refused", run.scan()["error"])
        self.assertIn("does not name the server's host", run.scan()["error"])
        self.assertIn('verified as \\"apiserver.example\\"'.replace("\\", ""), run.scan()["error"])

    def test_a_server_certificate_of_another_ca_is_refused_and_not_retried(self):
        other = st.make_certs(os.path.join(self.dir, "other"))
        kc = self.write("kc", {"token": s.TOKEN}, ca_file=os.path.join(other, "ca.crt"))
        run = self.audit_with(kc)
        self.assertEqual(run.returncode, 1, run)
        self.assertIn("certificate was refused", run.scan()["error"])
        self.assertIn("unable to get local issuer certificate", run.scan()["error"])
        self.assertEqual(self.srv.requests(), [])
        self.assertEqual(run.lines("apiserver answer is transient; retrying"), [])

    def test_token_file_read_again_before_each_scan(self):
        tf = os.path.join(self.dir, "token")
        with open(tf, "w") as f:
            f.write("first")
        self.srv.add_token("first", s.USER)
        self.srv.add_token("second", "rotated")
        s.allow_audit(self.srv, user="rotated")
        kc = self.write("kc", {"tokenFile": tf}, ca_file=self.ca)
        rotated = False

        def stop_after(raw):
            nonlocal rotated
            if '"msg":"scan' not in raw:
                return False
            if not rotated:   # as the kubelet rotates a projected token
                with open(tf + ".new", "w") as f:
                    f.write("second")
                os.replace(tf + ".new", tf)
                rotated = True
                return False
            # between two scans, as a rollout would stop it; on a slow machine the next scan may
            # have begun, and stops as documented (nothing written, or partly)
            return '"msg":"scan complete"' in raw and any(r.user == "rotated" for r in self.srv.requests())

        run = s.run_until_stopped(["audit", "--kubeconfig", kc, "--interval", "1s"], stop_after)
        scans = {l["msg"] for l in run.logs if l["msg"].startswith("scan")}
        self.assertEqual(scans - {"scan stopped; nothing written", "scan stopped; reports partly written"},
                         {"scan complete"}, run)
        self.assertEqual(run.returncode, 0, run)
        # Each scan reads the file once: the old token up to a scan, the new one from then on.
        users = [r.user for r in self.srv.requests()]
        switch = users.index("rotated")
        self.assertGreater(switch, 0)
        self.assertEqual(set(users[:switch]), {s.USER})
        self.assertEqual(set(users[switch:]), {"rotated"})


class ClientCertificates(s.AuditCase):
    options = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certdir = os.path.join(os.path.dirname(s.CERTS), "clients")
        os.makedirs(cls.certdir, exist_ok=True)
        for n in ("user.crt", "user.key"):
            if not os.path.exists(os.path.join(cls.certdir, n)):
                shutil.copy(os.path.join(s.CERTS, "ca.crt"), os.path.join(cls.certdir, "ca.crt"))
                shutil.copy(os.path.join(s.CERTS, "ca.key"), os.path.join(cls.certdir, "ca.key"))
                st.make_client_cert(cls.certdir, s.USER)
                st.make_client_cert(cls.certdir, "someone-else", name="other")
                break

    def setUp(self):
        self.options = {"client_ca": os.path.join(s.CERTS, "ca.crt")}
        super().setUp()
        self.srv.add_objects(st.make_applications(4, 2))
        self.crt = os.path.join(self.certdir, "user.crt")
        self.key = os.path.join(self.certdir, "user.key")

    def test_client_certificate_and_key_files(self):
        kc = s.kubeconfig(os.path.join(self.dir, "kc"), self.srv.url,
                          {"client-certificate": self.crt, "client-key": self.key},
                          ca_file=os.path.join(s.CERTS, "ca.crt"))
        run = s.run(["audit", "--kubeconfig", kc, "--once"])
        self.assertComplete(run)
        self.assertEqual({r.user for r in self.srv.requests()}, {s.USER})

    def test_client_certificate_and_key_data(self):
        kc = s.kubeconfig(os.path.join(self.dir, "kc"), self.srv.url,
                          {"client-certificate-data": b64(self.crt),
                           "client-key-data": b64(self.key)},
                          ca_data=b64(os.path.join(s.CERTS, "ca.crt")))
        self.assertComplete(s.run(["audit", "--kubeconfig", kc, "--once"]))
        self.assertEqual({r.user for r in self.srv.requests()}, {s.USER})

    def test_a_key_that_is_not_the_certificates_is_refused_before_connecting(self):
        kc = s.kubeconfig(os.path.join(self.dir, "kc"), self.srv.url,
                          {"client-certificate": self.crt,
                           "client-key": os.path.join(self.certdir, "other.key")},
                          ca_file=os.path.join(s.CERTS, "ca.crt"))
        run = s.run(["audit", "--kubeconfig", kc, "--once"])
        self.assertEqual(run.returncode, 2, run)
        self.assertIn("does not match", run.stderr)
        self.assertEqual(self.srv.requests(), [])


class InCluster(s.AuditCase):
    def test_service_account_token_and_ca(self):
        self.srv.add_objects(st.make_applications(4, 2))
        sa = os.path.join(self.dir, "sa")
        os.makedirs(sa)
        shutil.copy(os.path.join(s.CERTS, "ca.crt"), os.path.join(sa, "ca.crt"))
        with open(os.path.join(sa, "token"), "w") as f:
            f.write(s.TOKEN)
        env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
               "KUBERNETES_SERVICE_PORT": str(self.srv.port)}
        run = s.run(["audit", "--once", "--service-account-dir", sa], env=env)
        self.assertComplete(run)
        self.assertIn("in-cluster service account", run.lines("audit starting")[0]["credentials"])
        self.assertEqual({r.user for r in self.srv.requests()}, {s.USER})
        os.remove(os.path.join(sa, "token"))
        run = s.run(["audit", "--once", "--service-account-dir", sa], env=env)
        self.assertEqual(run.returncode, 2, run)
        self.assertIn("automountServiceAccountToken", run.stderr)


class _Proxy(http.server.BaseHTTPRequestHandler):
    """kubectl proxy: plain HTTP on loopback, forwarded over TLS with the user's token."""
    protocol_version = "HTTP/1.1"
    upstream = None   # (port, cafile)

    def log_message(self, *args):
        pass

    def forward(self):
        port, cafile = self.upstream
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        conn = http.client.HTTPSConnection("localhost", port, timeout=30,
                                           context=ssl.create_default_context(cafile=cafile))
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("accept", "content-type", "user-agent")}
        headers["Authorization"] = "Bearer " + s.TOKEN
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("content-type", "retry-after", "warning"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = forward


class Proxy(s.AuditCase):
    def test_kubectl_proxy_with_server_alone(self):
        self.srv.add_objects(st.make_applications(4, 2))
        handler = type("H", (_Proxy,), {"upstream": (self.srv.port, os.path.join(s.CERTS, "ca.crt"))})
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        t = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05})
        t.start()
        # A kubeconfig the audit cannot use (an exec user) is not in the way of the proxy.
        kc = s.kubeconfig(os.path.join(self.dir, "exec"), self.srv.url,
                          {"exec": {"command": "aws"}}, ca_file=os.path.join(s.CERTS, "ca.crt"))
        try:
            run = s.run(["audit", "--once", "--server", f"http://127.0.0.1:{proxy.server_port}"],
                        env={"KUBECONFIG": kc})
            refused = s.run(["audit", "--once", "--kubeconfig", kc, "--server",
                             f"http://127.0.0.1:{proxy.server_port}"])
        finally:
            proxy.shutdown()
            proxy.server_close()
            t.join()
        self.assertComplete(run)
        self.assertIn("kubectl proxy", run.lines("audit starting")[0]["credentials"])
        self.assertEqual(len(self.reports()), 2)
        self.assertEqual(refused.returncode, 2, refused)
        self.assertIn("takes no --kubeconfig", refused.stderr)


class Refused(s.AuditCase):
    """Forms the audit does not support: exit 2, a message naming what is, nothing contacted."""

    def refused(self, user, *words, cluster_extra=None, args=()):
        kc = s.kubeconfig(os.path.join(self.dir, "kc"), self.srv.url, user,
                          ca_file=os.path.join(s.CERTS, "ca.crt"), cluster_extra=cluster_extra)
        run = s.run(["audit", "--kubeconfig", kc, "--once", *args])
        self.assertEqual(run.returncode, 2, run)
        line = run.lines("cannot connect to the apiserver")[0]
        for w in words:
            self.assertIn(w, line["error"])
        self.assertEqual(self.srv.requests(), [])
        return line

    def test_exec_and_auth_provider_users_name_what_is_supported(self):
        exec_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                              "command": "aws", "args": ["eks", "get-token"]}}
        self.refused(exec_user, "exec plugin", "tokenFile", "client-certificate",
                     "kubectl proxy", "--server http://127.0.0.1:8001")
        self.refused({"auth-provider": {"name": "oidc"}}, "auth-provider", "kubectl proxy")
        self.refused({"username": "admin", "password": "x"}, "username and password")

    def test_insecure_skip_tls_verify_and_ambiguous_credentials(self):
        self.refused({"token": s.TOKEN}, "insecure-skip-tls-verify", "always verifies",
                     cluster_extra={"insecure-skip-tls-verify": True})
        self.refused({"token": s.TOKEN, "tokenFile": "/x"}, "both token and tokenFile")
        self.refused({"tokenFile": os.path.join(self.dir, "missing")}, "token file", "missing")
        self.refused({"client-certificate-data": "!!!"}, "client-certificate-data is not base64")

    def test_server_urls(self):
        run = s.run(["audit", "--once", "--server", "http://10.1.2.3:8001"])
        self.assertEqual(run.returncode, 2, run)
        self.assertIn("plain http:// is accepted only for a loopback", run.stderr)
        run = s.run(["audit", "--once", "--server", f"https://localhost:{self.srv.port}"])
        self.assertEqual(run.returncode, 2, run)
        self.assertIn("has no CA to verify it against", run.stderr)
        run = s.run(["audit", "--once"])
        self.assertEqual(run.returncode, 2, run)
        self.assertIn("no way to reach the apiserver", run.stderr)
        run = s.run(["audit", "--once", "--server", "ftp://x"])
        self.assertEqual(run.returncode, 2, run)
        self.assertIn("is not an https://", run.stderr)
        self.assertEqual(self.srv.requests(), [])

    def test_usage_errors(self):
        for args, words in ((["--report-name", "Bad_Name"], "RFC 1123"),
                            (["--kinds", "pods"], "is not applications"),
                            (["--page-size", "501"], "1 to 500"),
                            (["--namespace", "-x"], "not a namespace name"),
                            (["--report-kind", "report2"], "report or policyreport"),
                            (["extra"], "unexpected argument")):
            with self.subTest(args=args):
                run = s.run(["audit", "--once", *args])
                self.assertEqual(run.returncode, 2, run)
                self.assertIn(words, run.stderr)


if __name__ == "__main__":
    try:
        s.main()
    finally:
        s.cleanup()
