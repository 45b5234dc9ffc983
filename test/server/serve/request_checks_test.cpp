// Unit tests of serve/request_checks: what is refused from a request's line and headers alone,
// before any byte of its body is read.
#include <doctest/doctest.h>
#include <httplib.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "serve/request_checks.h"

using dsw::server::refuse_before_body;
using dsw::server::Route;

namespace {

constexpr std::size_t kMax = 7 * 1024 * 1024;

httplib::Request request(const std::string& method, const std::string& path,
                         std::initializer_list<std::pair<std::string, std::string>> headers) {
  httplib::Request r;
  r.method = method;
  r.path = path;
  for (const auto& [k, v] : headers) r.headers.emplace(k, v);
  return r;
}

// The status of the refusal, or 0 when the body may be read.
int refusal(const httplib::Request& r) {
  auto x = refuse_before_body(r, dsw::server::route_of(r.path), kMax);
  return x ? x->status : 0;
}

const std::pair<std::string, std::string> kJson{"Content-Type", "application/json"};

}  // namespace

TEST_CASE("routes") {
  CHECK(dsw::server::route_of("/mutate") == Route::Mutate);
  CHECK(dsw::server::route_of("/validate") == Route::Validate);
  CHECK(dsw::server::route_of("/metrics") == Route::Metrics);
  CHECK(dsw::server::route_of("/mutate/") == Route::Unknown);
  CHECK(dsw::server::route_of("/MUTATE") == Route::Unknown);
}

TEST_CASE("a well-formed review request may be read") {
  CHECK(refusal(request("POST", "/mutate", {kJson, {"Content-Length", "1000"}})) == 0);
  CHECK(refusal(request("POST", "/validate",
                        {{"Content-Type", "Application/JSON; charset=utf-8"}, {"Content-Length", "0"}})) == 0);
  CHECK(refusal(request("POST", "/mutate", {kJson, {"Content-Length", std::to_string(kMax)}})) == 0);
}

TEST_CASE("review endpoints: method, framing, encoding, size and media type") {
  auto r = refuse_before_body(request("GET", "/mutate", {}), dsw::server::Route::Mutate, kMax);
  REQUIRE(r);
  CHECK(r->status == 405);
  CHECK(r->allow == "POST");
  // Bodies without a length (CVE-2025-46728, CVE-2025-53629, CVE-2026-45352): never read.
  CHECK(refusal(request("POST", "/mutate", {kJson, {"Transfer-Encoding", "chunked"}})) == 411);
  CHECK(refusal(request("POST", "/mutate", {kJson, {"Transfer-Encoding", "gzip, chunked"}})) == 411);
  CHECK(refusal(request("POST", "/mutate", {kJson})) == 411);
  CHECK(refusal(request("POST", "/mutate",
                        {kJson, {"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}})) == 400);
  // Compressed bodies (CVE-2026-22776, CVE-2026-28435): any Content-Encoding, even identity.
  for (const char* enc : {"gzip", "br", "deflate", "identity", "x-unknown"})
    CHECK(refusal(request("POST", "/mutate",
                          {kJson, {"Content-Length", "10"}, {"Content-Encoding", enc}})) == 415);
  CHECK(refusal(request("POST", "/mutate",
                        {kJson, {"Content-Length", "5"}, {"Content-Length", "5"}})) == 400);
  for (const char* cl : {"-1", "+5", "5 ", "0x10", "", "99999999999999999999"})
    CHECK(refusal(request("POST", "/mutate", {kJson, {"Content-Length", cl}})) == 400);
  auto big = refuse_before_body(
      request("POST", "/mutate", {kJson, {"Content-Length", std::to_string(kMax + 1)}}),
      dsw::server::Route::Mutate, kMax);
  REQUIRE(big);
  CHECK(big->status == 413);
  CHECK(big->message == "request body too large: limit is 7340032 bytes");
  // Other media types, multipart among them (CVE-2026-29076): 415 before the body is read.
  for (const char* type : {"multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                           "text/plain", "application/jsonx", "application/json-patch+json", ""})
    CHECK(refusal(request("POST", "/mutate", {{"Content-Type", type}, {"Content-Length", "5"}})) == 415);
  CHECK(refusal(request("POST", "/mutate", {{"Content-Length", "5"}})) == 415);
  CHECK(refusal(request("POST", "/mutate",
                        {kJson, {"Content-Type", "text/plain"}, {"Content-Length", "5"}})) == 415);
}

TEST_CASE("probes and metrics: GET or HEAD, no body") {
  CHECK(refusal(request("GET", "/healthz", {})) == 0);
  CHECK(refusal(request("HEAD", "/readyz", {})) == 0);
  CHECK(refusal(request("GET", "/metrics", {{"Content-Length", "0"}})) == 0);
  auto r = refuse_before_body(request("POST", "/healthz", {}), dsw::server::Route::Healthz, kMax);
  REQUIRE(r);
  CHECK(r->status == 405);
  CHECK(r->allow == "GET, HEAD");
  CHECK(refusal(request("GET", "/metrics", {{"Content-Length", "4"}})) == 400);
  CHECK(refusal(request("GET", "/metrics", {{"Transfer-Encoding", "chunked"}})) == 400);
}

TEST_CASE("unknown paths are 404 for every method") {
  for (const char* m : {"GET", "POST", "PUT", "DELETE", "OPTIONS"})
    CHECK(refusal(request(m, "/", {})) == 404);
  CHECK(refusal(request("POST", "/mutate%0D%0A", {kJson, {"Content-Length", "5"}})) == 404);
}

TEST_CASE("a control character in any header value is refused (CVE-2026-45372)") {
  // cpp-httplib 0.11.4 percent-decodes header values: %0D%0A arrives as CR LF.
  CHECK(refusal(request("POST", "/mutate",
                        {{"Content-Type", "application/json\r\nX-Injected: 1"}, {"Content-Length", "5"}})) == 400);
  CHECK(refusal(request("GET", "/healthz", {{"X-Trace", std::string("a\0b", 3)}})) == 400);
  CHECK(refusal(request("GET", "/healthz", {{"X-Trace", "a\nb"}})) == 400);
  CHECK(refusal(request("GET", "/healthz", {{"X-Trace", "tab\tis fine"}})) == 0);
}

TEST_CASE("media types") {
  using dsw::server::is_json_media_type;
  CHECK(is_json_media_type("application/json"));
  CHECK(is_json_media_type(" application/json ; charset=utf-8"));
  CHECK(is_json_media_type("APPLICATION/Json"));
  CHECK_FALSE(is_json_media_type("application/json2"));
  CHECK_FALSE(is_json_media_type("application/ json"));
  CHECK_FALSE(is_json_media_type(""));
}
