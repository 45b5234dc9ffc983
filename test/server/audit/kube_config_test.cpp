// Unit tests of audit/kube_config: which source wins, what a kubeconfig gives (server, CA,
// token, tokenFile, client certificate; files relative to the kubeconfig, or -data), the
// service account, and the errors for what is not supported. The audit tests
// (audit_connect_test.py) connect with each form for real.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "audit/kube_config.h"

using namespace dsw::audit;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/dsw-kube-config-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::string cmd = "rm -rf " + path;
    if (std::system(cmd.c_str()) != 0) {
    }
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
};

Getenv env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const char* kCa = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

std::string config(const std::string& user, const std::string& cluster_extra = "",
                   const std::string& server = "https://api.example:6443") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
         "clusters:\n- name: c\n  cluster:\n    server: " + server +
         "\n    certificate-authority: ca.crt\n" + cluster_extra +
         "users:\n- name: u\n  user:\n" + user +
         "contexts:\n- name: main\n  context: {cluster: c, user: u}\n"
         "- name: other\n  context: {cluster: c}\n";
}

}  // namespace

TEST_CASE("a kubeconfig's current context: server, CA file relative to it, token") {
  TempDir d;
  d.write("ca.crt", kCa);
  std::string kc = d.write("config", config("    token: abc\n"));
  ConnectionFlags f;
  f.kubeconfig = kc;
  std::string error;
  auto c = load_connection(f, env({}), error);
  REQUIRE_MESSAGE(c, error);
  CHECK(c->url.scheme == "https");
  CHECK(c->url.host == "api.example");
  CHECK(c->url.port == 6443);
  CHECK(c->tls.ca_pem == kCa);
  CHECK(c->tls.ca_origin == "certificate-authority " + d.path + "/ca.crt");
  CHECK(c->token == "abc");
  CHECK(c->token_file.empty());
  CHECK(c->source == "kubeconfig " + kc + ", context main");
  std::string token;
  CHECK(current_token(*c, token, error));
  CHECK(token == "abc");
}

TEST_CASE("tokenFile is read again each time; --server replaces the URL; --context picks another") {
  TempDir d;
  d.write("ca.crt", kCa);
  d.write("tok", "first\n");
  ConnectionFlags f;
  f.kubeconfig = d.write("config", config("    tokenFile: tok\n"));
  f.server = "https://127.0.0.1:8443/prefix/";
  std::string error, token;
  auto c = load_connection(f, env({}), error);
  REQUIRE_MESSAGE(c, error);
  CHECK(c->url.host == "127.0.0.1");
  CHECK(c->url.base_path == "/prefix");
  CHECK(c->token_file == d.path + "/tok");
  REQUIRE(current_token(*c, token, error));
  CHECK(token == "first");
  d.write("tok", "second");
  REQUIRE(current_token(*c, token, error));
  CHECK(token == "second");
  d.write("tok", " \n");
  CHECK_FALSE(current_token(*c, token, error));
  CHECK(error.find("is empty") != std::string::npos);

  f.context = "other";
  f.server.clear();
  c = load_connection(f, env({}), error);
  REQUIRE_MESSAGE(c, error);
  CHECK(c->token.empty());
  CHECK(c->token_file.empty());
}

TEST_CASE("certificate and key data are base64; both a file and data is an error") {
  TempDir d;
  const std::string pem = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n";
  const std::string b64 =
      "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClFVSkQKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
  REQUIRE(base64_decode(b64).value() == pem);
  std::string kc = d.write(
      "config",
      "apiVersion: v1\ncurrent-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://h\n"
      "    certificate-authority-data: " + b64 + "\nusers:\n- name: u\n  user:\n"
      "    client-certificate-data: " + b64 + "\n    client-key-data: " + b64 +
      "\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n");
  ConnectionFlags f;
  f.kubeconfig = kc;
  std::string error;
  auto c = load_connection(f, env({}), error);
  REQUIRE_MESSAGE(c, error);
  CHECK(c->tls.ca_pem == pem);
  CHECK(c->tls.client_cert_pem == pem);
  CHECK(c->tls.client_key_pem == pem);
  CHECK(c->url.port == 443);
  CHECK(c->tls.client_key_origin.find("client-key-data of user \"u\"") == 0);

  d.write("ca.crt", kCa);
  f.kubeconfig = d.write("both", config("    client-certificate: a.crt\n    client-certificate-data: " + b64 +
                                        "\n    client-key-data: " + b64 + "\n"));
  CHECK_FALSE(load_connection(f, env({}), error));
  CHECK(error.find("both client-certificate and client-certificate-data are set") != std::string::npos);
  f.kubeconfig = d.write("half", config("    client-certificate-data: " + b64 + "\n"));
  CHECK_FALSE(load_connection(f, env({}), error));
  CHECK(error.find("has a client certificate but no client-key") != std::string::npos);
}

TEST_CASE("unsupported users and clusters are refused naming what is supported") {
  TempDir d;
  d.write("ca.crt", kCa);
  ConnectionFlags f;
  std::string error;
  auto refused = [&](const std::string& text, const std::string& words) {
    f.kubeconfig = d.write("config", text);
    CHECK_FALSE(load_connection(f, env({}), error));
    CHECK_MESSAGE(error.find(words) != std::string::npos, error);
  };
  refused(config("    exec:\n      command: aws\n"), "exec plugin");
  CHECK(error.find("kubectl proxy") != std::string::npos);
  CHECK(error.find("tokenFile") != std::string::npos);
  refused(config("    auth-provider:\n      name: gcp\n"), "auth-provider");
  refused(config("    username: a\n    password: b\n"), "username and password");
  refused(config("    token: t\n    as: admin\n"), "impersonates");
  refused(config("    token: t\n    tokenFile: f\n"), "both token and tokenFile");
  refused(config("    token: t\n", "    insecure-skip-tls-verify: true\n"), "always verifies");
  refused(config("    token: t\n", "    proxy-url: http://p:3128\n"), "proxy-url");
  refused(config("    token: t\n", "", "ftp://x"), "is not an https://");
  refused("- a list\n", "not a kubeconfig");
  refused("a: [unclosed\n", "is not valid YAML");
  refused("apiVersion: v1\ncurrent-context: nope\n", "has no context \"nope\"");
  refused("apiVersion: v1\ncurrent-context: x\ncontexts:\n- name: x\n  context: {cluster: gone}\n",
          "names cluster \"gone\"");
  refused("apiVersion: v1\n", "has no current-context; pass --context");
  f.kubeconfig = d.path + "/missing";
  CHECK_FALSE(load_connection(f, env({}), error));
  CHECK(error.find("cannot read " + d.path + "/missing") == 0);
}

TEST_CASE("which source: --kubeconfig, $KUBECONFIG, the service account, ~/.kube/config, --server") {
  TempDir d;
  d.write("ca.crt", kCa);
  const std::string kc = d.write("config", config("    token: from-file\n"));
  std::string error;
  ConnectionFlags f;
  f.service_account_dir = d.path + "/sa";

  auto c = load_connection(f, env({{"KUBECONFIG", kc + ":/other"}, {"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                    {"KUBERNETES_SERVICE_PORT", "443"}}), error);
  REQUIRE_MESSAGE(c, error);
  CHECK(c->token == "from-file");

  // In the cluster: the service account's token and CA.
  REQUIRE(::mkdir((d.path + "/sa").c_str(), 0700) == 0);
  d.write("sa/token", "sa-token\n");
  d.write("sa/ca.crt", kCa);
  c = load_connection(f, env({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "6443"},
                              {"HOME", d.path}}), error);
  REQUIRE_MESSAGE(c, error);
  CHECK(c->url.host == "fd00::1");
  CHECK(c->url.port == 6443);
  CHECK(c->url.authority() == "[fd00::1]:6443");
  CHECK(c->token_file == d.path + "/sa/token");
  CHECK(c->tls.ca_pem == kCa);
  std::string token;
  REQUIRE(current_token(*c, token, error));
  CHECK(token == "sa-token");

  // Not in a cluster: ~/.kube/config.
  REQUIRE(::mkdir((d.path + "/.kube").c_str(), 0700) == 0);
  d.write(".kube/config", config("    token: home\n"));
  d.write(".kube/ca.crt", kCa);
  c = load_connection(f, env({{"HOME", d.path}}), error);
  REQUIRE_MESSAGE(c, error);
  CHECK(c->token == "home");

  // --server http://: kubectl proxy, no credentials, even where a kubeconfig would be found.
  f.server = "http://127.0.0.1:8001";
  c = load_connection(f, env({{"KUBECONFIG", kc}, {"HOME", d.path}}), error);
  REQUIRE_MESSAGE(c, error);
  CHECK(c->url.scheme == "http");
  CHECK(c->token.empty());
  CHECK(c->token_file.empty());
  f.kubeconfig = kc;
  CHECK_FALSE(load_connection(f, env({}), error));
  CHECK(error.find("takes no --kubeconfig") != std::string::npos);
  f.kubeconfig.clear();
  f.server = "https://127.0.0.1:6443";
  CHECK_FALSE(load_connection(f, env({}), error));
  CHECK(error.find("no CA to verify it against") != std::string::npos);
  f.server.clear();
  CHECK_FALSE(load_connection(f, env({}), error));
  CHECK(error.find("no way to reach the apiserver") == 0);

  // In a cluster without a token (automountServiceAccountToken: false).
  ::unlink((d.path + "/sa/token").c_str());
  CHECK_FALSE(load_connection(f, env({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                      {"KUBERNETES_SERVICE_PORT", "443"}}), error));
  CHECK(error.find("automountServiceAccountToken") != std::string::npos);
}

TEST_CASE("base64 as kubeconfigs hold it") {
  CHECK(base64_decode("").value().empty());
  CHECK(base64_decode("YQ==").value() == "a");
  CHECK(base64_decode("YQ").value() == "a");
  CHECK(base64_decode("YWI=").value() == "ab");
  CHECK(base64_decode("YWJj").value() == "abc");
  CHECK(base64_decode("YW\nJj\n").value() == "abc");
  CHECK_FALSE(base64_decode("YWJj!"));
  CHECK_FALSE(base64_decode("Y"));
  CHECK_FALSE(base64_decode("YQ=a"));
  CHECK_FALSE(base64_decode("YQ==="));
  CHECK_FALSE(base64_decode("YWJ=="));
}
