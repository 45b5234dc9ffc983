// Tests of serve/http_server in-process, with a stand-in admission function: what the server
// does around the admission logic (exceptions, compression, ranges), through cpp-httplib's own
// client over TLS on 127.0.0.1. The real binary is tested by serve_test.py and hostile_test.py.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "serve/http_server.h"
#include "serve/logging.h"
#include "serve/metrics.h"
#include "serve/tls.h"

using dsw::Endpoint;
using dsw::Outcome;
using dsw::Verdict;

namespace {

std::string g_certs;  // a directory made by certs/make-dev-certs.sh
std::string g_stderr_path;

const std::string kAnswer =
    R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u","allowed":true}})";

// A server on a free port, with `admit` as its admission function.
class TestServer {
 public:
  explicit TestServer(dsw::server::AdmitFunction admit, std::time_t io_timeout_sec = 10) {
    dsw::server::TlsSettings tls;
    tls.cert_file = g_certs + "/tls.crt";
    tls.key_file = g_certs + "/tls.key";
    certs_ = std::make_unique<dsw::server::CertStore>(tls);
    REQUIRE_FALSE(certs_->load_initial());
    dsw::server::ServerConfig config;
    config.bind_address = "127.0.0.1";
    config.port = 0;
    config.io_timeout_sec = io_timeout_sec;
    srv_ = std::make_unique<dsw::server::WebhookServer>(config, *certs_, metrics_, std::move(admit));
    REQUIRE_FALSE(srv_->bind());
    thread_ = std::thread([this] { srv_->run(); });
    for (int i = 0; i < 200 && !srv_->ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~TestServer() {
    srv_->stop();
    thread_.join();
  }
  std::unique_ptr<httplib::SSLClient> client() const {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", srv_->bound_port());
    c->set_ca_cert_path((g_certs + "/ca.crt").c_str());
    c->enable_server_certificate_verification(true);
    c->set_decompress(false);  // see the answer as it was sent
    return c;
  }
  dsw::server::Metrics& metrics() { return metrics_; }
  int port() const { return srv_->bound_port(); }

 private:
  std::unique_ptr<dsw::server::CertStore> certs_;
  dsw::server::Metrics metrics_;
  std::unique_ptr<dsw::server::WebhookServer> srv_;
  std::thread thread_;
};

Outcome fixed_answer(Endpoint, std::string_view) {
  Outcome o;
  o.http_status = 200;
  o.body = kAnswer;
  o.verdict = Verdict::Allowed;
  o.uid = "u";
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("an exception in the admission function is answered as an AdmissionReview with code 500 "
          "and logged; serving goes on") {
  int calls = 0;
  TestServer srv([&calls](Endpoint e, std::string_view body) -> Outcome {
    if (++calls == 1) throw std::runtime_error("decoder state corrupt");
    return fixed_answer(e, body);
  });
  auto c = srv.client();
  auto r = c->Post("/validate", "{}", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Content-Type") == "application/json");
  auto answer = nlohmann::json::parse(r->body);
  CHECK(answer["kind"] == "AdmissionReview");
  CHECK(answer["response"]["allowed"] == false);
  CHECK(answer["response"]["status"]["code"] == 500);
  CHECK(answer["response"]["status"]["reason"] == "InternalError");
  CHECK(answer["response"]["status"]["message"] == std::string(dsw::kInternalErrorMessage));
  CHECK(r->body.find("decoder state corrupt") == std::string::npos);  // never the exception's text
  auto again = c->Post("/validate", "{}", "application/json");
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(again->body == kAnswer);
  dsw::logging::flush();
  std::string log = read_file(g_stderr_path);
  CHECK(log.find(R"("level":"error","msg":"request handler failed","reason":"decoder state corrupt")") !=
        std::string::npos);
  std::string metrics = srv.metrics().render();
  CHECK(metrics.find("dynamodb_streams_webhook_admission_requests_total{endpoint=\"validate\",kind=\"other\",outcome=\"error\"} 1\n") !=
        std::string::npos);
  CHECK(log.find(R"("msg":"review","uid":"")") != std::string::npos);
  CHECK(log.find(R"("verdict":"error")") != std::string::npos);
}

TEST_CASE("something other than a std::exception is answered with code 500 too") {
  TestServer srv([](Endpoint, std::string_view) -> Outcome { throw 42; });
  auto r = srv.client()->Post("/mutate", "{}", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == dsw::internal_error_review());
  CHECK(nlohmann::json::parse(r->body)["response"]["status"]["code"] == 500);
}

TEST_CASE("review answers are never compressed, whatever the client accepts") {
  // Debian's cpp-httplib has zlib and brotli and would gzip an application/json answer for the
  // apiserver's Go client, which sends Accept-Encoding: gzip.
  TestServer srv(fixed_answer);
  auto c = srv.client();
  for (const char* accept : {"gzip", "br", "gzip, deflate, br"}) {
    auto r = c->Post("/mutate", {{"Accept-Encoding", accept}}, "{}", "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK_FALSE(r->has_header("Content-Encoding"));
    CHECK(r->get_header_value("Content-Type") == "application/json");
    CHECK(r->body == kAnswer);
  }
}

TEST_CASE("a Range header does not cut a review answer (RFC 9110: ignored but for GET)") {
  TestServer srv(fixed_answer);
  auto r = srv.client()->Post("/mutate", {{"Range", "bytes=0-9"}}, "{}", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == kAnswer);
}

namespace {

// Sends `wire` over a new TLS connection and returns everything the server sends until it closes
// the connection (or `seconds` pass).
std::string raw_exchange(int port, const std::string& wire, int seconds) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1 && SSL_write(ssl, wire.data(), static_cast<int>(wire.size())) > 0) {
      char buf[4096];
      int n;
      while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
    }
    SSL_free(ssl);
  }
  ::close(fd);
  SSL_CTX_free(ctx);
  return got;
}

}  // namespace

TEST_CASE("a review whose body stops coming is answered 400 once the read times out, and closed") {
  // cpp-httplib would answer 404 (its routing reports the failed read as "no handler").
  TestServer srv(fixed_answer, /*io_timeout_sec=*/1);
  std::string head =
      "POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 1000\r\n\r\n{\"apiVersion\":";
  auto t0 = std::chrono::steady_clock::now();
  std::string got = raw_exchange(srv.port(), head, 5);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  CHECK(got.find("Connection: close\r\n") != std::string::npos);
  CHECK(got.find("\r\n\r\nrequest body not read whole\n") != std::string::npos);
  CHECK(took < std::chrono::seconds(4));  // closed by the server, not by our 5 s
  std::string metrics = srv.metrics().render();
  CHECK(metrics.find("dynamodb_streams_webhook_http_responses_total{code=\"400\"} 1\n") != std::string::npos);
}

int main(int argc, char** argv) {
  char dir[] = "/tmp/dsw-http-server-test-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return 1;
  g_certs = std::string(dir) + "/certs";
  std::string cmd = std::string("bash ") + DSW_SOURCE_DIR + "/certs/make-dev-certs.sh " + g_certs +
                    " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "cannot make certificates: %s\n", cmd.c_str());
    return 1;
  }
  // The server's log lines go to a file the tests read.
  g_stderr_path = std::string(dir) + "/stderr.log";
  int saved = ::dup(2);
  if (std::freopen(g_stderr_path.c_str(), "w", stderr) == nullptr) return 1;
  dsw::logging::init(dsw::logging::Level::Info, dsw::logging::Format::Json);
  doctest::Context ctx(argc, argv);
  int rc = ctx.run();
  dsw::logging::shutdown();
  ::dup2(saved, 2);
  std::string rm = std::string("rm -rf ") + dir;
  if (std::system(rm.c_str()) != 0) return rc == 0 ? 1 : rc;
  return rc;
}
