// Unit tests of net/https_client against cpp-httplib servers in-process on 127.0.0.1 (TLS with the
// certificates of certs/make-dev-certs.sh): only the given CA is trusted, the host name or IP is
// verified, client certificates from PEM data, the bearer token, keep-alive, the body cap; and
// URLs. The audit tests use the client against the apiserver stand-in.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <httplib.h>
#include <openssl/ssl.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "net/https_client.h"

using namespace dsw::net;
using namespace std::chrono_literals;

namespace {

std::string g_dir;    // temporary directory
std::string g_certs;  // certs/make-dev-certs.sh --client output
std::string g_other;  // another CA

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// An HTTPS server on a free port of 127.0.0.1; with_client_ca: it asks for and verifies client
// certificates (VerifyClientCertIfGiven would be friendlier, but cpp-httplib requires them).
class TlsServer {
 public:
  explicit TlsServer(bool with_client_ca = false)
      : srv_((g_certs + "/tls.crt").c_str(), (g_certs + "/tls.key").c_str(),
             with_client_ca ? (g_certs + "/ca.crt").c_str() : nullptr) {
    REQUIRE(srv_.is_valid());
    srv_.Get("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      std::string who;
      if (req.ssl != nullptr) {
        if (X509* peer = SSL_get1_peer_certificate(req.ssl)) {
          char buf[256];
          X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof buf);
          who = buf;
          X509_free(peer);
        }
      }
      res.set_content("auth=" + req.get_header_value("Authorization") + ";ua=" +
                          req.get_header_value("User-Agent") + ";cn=" + who + ";port=" +
                          std::to_string(req.remote_port) + ";path=" + req.path,
                      "text/plain");
    });
    srv_.Get(R"(/base/echo)", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("based", "text/plain");
    });
    srv_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100000, 'b'), "text/plain");
    });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~TlsServer() {
    srv_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  httplib::SSLServer srv_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::unique_ptr<Client> client_for(const std::string& url_text, TlsOptions tls,
                                   ClientOptions options, std::string& error) {
  auto url = parse_url(url_text, error);
  REQUIRE_MESSAGE(url, error);
  return Client::create(*url, tls, options, error);
}

TlsOptions trusting(const std::string& ca_file) {
  TlsOptions t;
  t.ca_pem = slurp(ca_file);
  t.ca_origin = "CA file " + ca_file;
  return t;
}

Response get(Client& c, const std::string& path) { return c.send(Request{"GET", path, {}, "", ""}); }

}  // namespace

TEST_CASE("the server's certificate is verified against the given CA, for a name or an IP") {
  TlsServer srv;
  for (const char* host : {"localhost", "127.0.0.1"}) {
    std::string error;
    auto c = client_for(std::string("https://") + host + ":" + std::to_string(srv.port()),
                        trusting(g_certs + "/ca.crt"), {}, error);
    REQUIRE_MESSAGE(c, error);
    Response r = get(*c, "/echo");
    CHECK_MESSAGE(r.status == 200, r.error);
  }
}

TEST_CASE("another CA's certificate is refused, naming why; the system's CAs are not used") {
  TlsServer srv;
  std::string error;
  auto c = client_for("https://localhost:" + std::to_string(srv.port()),
                      trusting(g_other + "/ca.crt"), {}, error);
  REQUIRE(c);
  Response r = get(*c, "/echo");
  CHECK_FALSE(r.answered());
  CHECK(r.tls_verify_failed);
  CHECK(r.error.find("the server's certificate was refused: unable to get local issuer certificate") == 0);
  CHECK(srv.requests() == 0);
}

TEST_CASE("a certificate that does not name the host is refused; tls-server-name changes the name") {
  TlsServer srv;
  std::string error;
  TlsOptions tls = trusting(g_certs + "/ca.crt");
  tls.server_name = "apiserver.example";
  auto c = client_for("https://localhost:" + std::to_string(srv.port()), tls, {}, error);
  REQUIRE(c);
  Response r = get(*c, "/echo");
  CHECK(r.tls_verify_failed);
  CHECK(r.error.find("does not name the server's host") != std::string::npos);
  CHECK(r.error.find("verified as \"apiserver.example\"") != std::string::npos);
  // Connected by IP, verified as a name the certificate holds.
  tls.server_name = "localhost";
  c = client_for("https://127.0.0.1:" + std::to_string(srv.port()), tls, {}, error);
  CHECK(get(*c, "/echo").status == 200);
}

TEST_CASE("bearer token and user agent on every request, on one kept-alive connection") {
  TlsServer srv;
  std::string error;
  ClientOptions o;
  o.user_agent = "dsw-test/1";
  auto c = client_for("https://localhost:" + std::to_string(srv.port()), trusting(g_certs + "/ca.crt"), o, error);
  REQUIRE(c);
  Response a = get(*c, "/echo");
  CHECK(a.body.find("auth=;ua=dsw-test/1;") == 0);
  c->set_bearer_token("t0k3n");
  Response b = get(*c, "/echo");
  CHECK(b.body.find("auth=Bearer t0k3n;") == 0);
  auto port_of = [](const std::string& body) { return body.substr(body.find(";port=")); };
  CHECK(port_of(a.body) == port_of(b.body));
  CHECK(b.header("content-type") == "text/plain");
  CHECK(b.header("CONTENT-TYPE") == "text/plain");
}

TEST_CASE("client certificate and key from PEM data, checked to belong together") {
  TlsServer srv(true);
  std::string error;
  TlsOptions tls = trusting(g_certs + "/ca.crt");
  auto without = client_for("https://localhost:" + std::to_string(srv.port()), tls, {}, error);
  REQUIRE(without);
  Response r = get(*without, "/echo");
  CHECK_FALSE(r.answered());
  CHECK_FALSE(r.tls_verify_failed);  // the server refused us; nothing wrong with its certificate

  tls.client_cert_pem = slurp(g_certs + "/client.crt");
  tls.client_cert_origin = "client.crt";
  tls.client_key_pem = slurp(g_certs + "/client.key");
  tls.client_key_origin = "client.key";
  auto with = client_for("https://localhost:" + std::to_string(srv.port()), tls, {}, error);
  REQUIRE_MESSAGE(with, error);
  r = get(*with, "/echo");
  REQUIRE_MESSAGE(r.status == 200, r.error);
  CHECK(r.body.find(";cn=") != std::string::npos);
  CHECK(r.body.find(";cn=;") == std::string::npos);

  tls.client_key_pem = slurp(g_certs + "/tls.key");
  tls.client_key_origin = "tls.key";
  CHECK_FALSE(client_for("https://localhost:1", tls, {}, error));
  CHECK(error == "tls.key does not match client.crt");
  tls.client_key_pem = "not a key";
  CHECK_FALSE(client_for("https://localhost:1", tls, {}, error));
  CHECK(error == "tls.key holds no PEM private key");
  tls.client_key_pem.clear();
  CHECK_FALSE(client_for("https://localhost:1", tls, {}, error));
  CHECK(error == "client.crt is given without a client key");
}

TEST_CASE("configurations that cannot work are refused before connecting") {
  std::string error;
  CHECK_FALSE(client_for("https://localhost:1", TlsOptions{}, {}, error));
  CHECK(error == "no CA to verify localhost:1's certificate against");
  TlsOptions bad;
  bad.ca_pem = "garbage";
  bad.ca_origin = "certificate-authority-data of cluster \"c\"";
  CHECK_FALSE(client_for("https://localhost:1", bad, {}, error));
  CHECK(error == "certificate-authority-data of cluster \"c\" holds no PEM certificate");
  CHECK_FALSE(client_for("http://10.0.0.1:8001", {}, {}, error));
  CHECK(error.find("plain http:// is accepted only for a loopback address") == 0);
  CHECK(client_for("http://localhost:8001", {}, {}, error));
  CHECK(client_for("http://[::1]:8001", {}, {}, error));
}

TEST_CASE("a body over the cap is not read to its end") {
  TlsServer srv;
  std::string error;
  ClientOptions o;
  o.max_response_bytes = 10000;
  auto c = client_for("https://localhost:" + std::to_string(srv.port()), trusting(g_certs + "/ca.crt"), o, error);
  REQUIRE(c);
  Response r = get(*c, "/big");
  CHECK(r.status == 200);
  CHECK(r.too_large);
  CHECK(r.body.size() <= 10000);
  Response again = get(*c, "/echo");  // a new connection
  CHECK(again.status == 200);
  CHECK_FALSE(again.too_large);
}

TEST_CASE("the base path of the URL goes before every path") {
  TlsServer srv;
  std::string error;
  auto c = client_for("https://localhost:" + std::to_string(srv.port()) + "/base/",
                      trusting(g_certs + "/ca.crt"), {}, error);
  REQUIRE(c);
  CHECK(get(*c, "/echo").body == "based");
}

TEST_CASE("URLs") {
  std::string error;
  auto u = parse_url("https://api.example.com", error);
  REQUIRE(u);
  CHECK((u->scheme == "https" && u->host == "api.example.com" && u->port == 443 && u->base_path.empty()));
  u = parse_url("https://[fd00::1]:6443/k8s/clusters/c-1/", error);
  REQUIRE(u);
  CHECK(u->host == "fd00::1");
  CHECK(u->port == 6443);
  CHECK(u->base_path == "/k8s/clusters/c-1");
  CHECK(u->authority() == "[fd00::1]:6443");
  u = parse_url("http://127.0.0.1:8001", error);
  REQUIRE(u);
  CHECK((u->scheme == "http" && u->port == 8001));
  CHECK(parse_url("http://h", error)->port == 80);
  for (const char* bad : {"api.example.com", "ftp://h", "https://", "https://:443", "https://h:0",
                          "https://h:65536", "https://h:x", "https://h:", "https://u@h",
                          "https://[::1", "https://[::1]x", "https://h/p?q=1"}) {
    CHECK_MESSAGE(!parse_url(bad, error), bad);
  }
  CHECK(is_loopback("127.0.0.1"));
  CHECK(is_loopback("127.1.2.3"));
  CHECK(is_loopback("::1"));
  CHECK(is_loopback("LocalHost"));
  CHECK_FALSE(is_loopback("128.0.0.1"));
  CHECK_FALSE(is_loopback("10.0.0.1"));
  CHECK_FALSE(is_loopback("localhost.example"));
  CHECK(url_encode("app.kubernetes.io/managed-by=x y~_-") == "app.kubernetes.io%2Fmanaged-by%3Dx%20y~_-");
}

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  char dir[] = "/tmp/dsw-https-client-test-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return 1;
  g_dir = dir;
  g_certs = g_dir + "/certs";
  g_other = g_dir + "/other";
  for (const std::string& cmd :
       {std::string("bash ") + DSW_SOURCE_DIR + "/certs/make-dev-certs.sh " + g_certs + " --client >/dev/null 2>&1",
        std::string("bash ") + DSW_SOURCE_DIR + "/certs/make-dev-certs.sh " + g_other + " >/dev/null 2>&1"}) {
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "cannot make certificates: %s\n", cmd.c_str());
      return 1;
    }
  }
  doctest::Context ctx(argc, argv);
  int rc = ctx.run();
  std::string rm = "rm -rf " + g_dir;
  if (std::system(rm.c_str()) != 0) return rc == 0 ? 1 : rc;
  return rc;
}
