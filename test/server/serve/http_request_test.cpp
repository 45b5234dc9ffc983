// Unit tests of server/http_request: where a request head ends in a growing buffer (one shot and
// trickled byte by byte), strict parsing of the head (the request-smuggling defences), and the
// exact bytes of response heads.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "serve/http_request.h"

namespace http = dsw::server::http;
using namespace std::string_literals;

namespace {

struct Parsed {
  bool ok = false;
  http::RequestHead head;
  http::ParseError error;
};

Parsed parse(std::string_view head) {
  Parsed p;
  p.ok = http::parse_request_head(head, p.head, p.error);
  return p;
}

// A head that must be refused with `status`; returns the message.
std::string refused(std::string_view head, int status = 400) {
  CAPTURE(head);
  Parsed p = parse(head);
  CHECK_FALSE(p.ok);
  CHECK(p.error.status == status);
  CHECK_FALSE(p.error.message.empty());
  return p.error.message;
}

// A head that must parse.
http::RequestHead accepted(std::string_view head) {
  CAPTURE(head);
  Parsed p = parse(head);
  CHECK_MESSAGE(p.ok, p.error.message);
  return p.head;
}

std::size_t end_once(std::string_view buf) {
  std::size_t scanned = 0;
  return http::find_head_end(buf, scanned);
}

// A POST with `extra` header lines (each ending in CRLF) and a Host.
std::string post_with(std::string_view extra) {
  return "POST /mutate HTTP/1.1\r\nHost: webhook.vela-system.svc:443\r\n" + std::string(extra) +
         "\r\n";
}

// What kube-apiserver sends to a mutating webhook.
const std::string kApiserverHead =
    "POST /mutate?timeout=10s HTTP/1.1\r\n"
    "Host: dynamodb-streams-webhook.vela-system.svc:443\r\n"
    "User-Agent: kube-apiserver-admission\r\n"
    "Content-Length: 1234\r\n"
    "Accept: application/json, */*\r\n"
    "Accept-Encoding: gzip\r\n"
    "Content-Type: application/json\r\n"
    "\r\n";

}  // namespace

TEST_CASE("an apiserver admission request parses: path without query, length, type") {
  std::string buf = kApiserverHead + std::string(1234, 'x');
  std::size_t end = end_once(buf);
  REQUIRE(end == kApiserverHead.size());
  http::RequestHead h = accepted(std::string_view(buf).substr(0, end));
  CHECK(h.method == "POST");
  CHECK(h.path == "/mutate");
  CHECK(h.minor_version == 1);
  CHECK(h.has_host);
  CHECK(h.content_length_headers == 1);
  CHECK(h.content_length_valid);
  CHECK(h.content_length == 1234);
  CHECK_FALSE(h.transfer_encoding);
  CHECK_FALSE(h.content_encoding);
  CHECK(h.content_type == "application/json");
  CHECK(h.keep_alive);
  CHECK_FALSE(h.expect_continue);
  CHECK(http::is_json_media_type(h.content_type));
}

TEST_CASE("the path is the target up to '?'; other methods and tchar methods parse") {
  CHECK(accepted("POST /validate?x=1&y=2 HTTP/1.1\r\nHost: a\r\n\r\n").path == "/validate");
  CHECK(accepted("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").path == "/healthz");
  CHECK(accepted("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n").method == "GET");
  CHECK(accepted("M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n").method == "M-SEARCH");
  // Empty lines before the request line are ignored (RFC 9112 2.2).
  CHECK(accepted("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").path == "/");
  // Header names are case-insensitive; the Content-Type is kept as sent, trimmed.
  http::RequestHead h =
      accepted(post_with("content-LENGTH: 7\r\nCONTENT-TYPE:  Application/JSON \r\n"));
  CHECK(h.content_length == 7);
  CHECK(h.content_type == "Application/JSON");
  CHECK(accepted(post_with("Content-Encoding: gzip\r\n")).content_encoding);
  // An empty value and a value with inner tabs are fine.
  CHECK(accepted(post_with("X-Empty:\r\nX-Tab: a\tb\r\n")).has_host);
}

TEST_CASE("absolute-form targets (RFC 9112 3.2.2) route by their path") {
  CHECK(accepted("POST https://webhook.ns.svc:443/mutate?timeout=10s HTTP/1.1\r\nHost: a\r\n\r\n").path ==
        "/mutate");
  CHECK(accepted("GET HTTP://example/healthz HTTP/1.1\r\nHost: a\r\n\r\n").path == "/healthz");
  CHECK(accepted("GET http://example HTTP/1.1\r\nHost: a\r\n\r\n").path == "/");
  // Only http and https are taken apart; anything else stays as sent (and is a 404).
  CHECK(accepted("GET ftp://example/mutate HTTP/1.1\r\nHost: a\r\n\r\n").path == "ftp://example/mutate");
}

TEST_CASE("malformed request lines are refused with 400") {
  refused("");
  refused("\r\n\r\n");
  refused("GET\r\nHost: a\r\n\r\n");
  refused("GET /\r\nHost: a\r\n\r\n");
  refused("GET  / HTTP/1.1\r\nHost: a\r\n\r\n");
  refused("GET / HTTP/1.1 \r\nHost: a\r\n\r\n");
  refused(" GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  refused("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n");
  refused("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n");
  refused("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n");
  refused("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n");
  refused("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n");
  refused("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"s);
}

TEST_CASE("find_head_end: CRLF, LF-only and mixed line endings") {
  const std::string crlf = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string lf = "GET / HTTP/1.1\nHost: a\n\n";
  const std::string mixed1 = "GET / HTTP/1.1\r\nHost: a\r\n\n";
  const std::string mixed2 = "GET / HTTP/1.1\nHost: a\n\r\n";
  for (const std::string& head : {crlf, lf, mixed1, mixed2}) {
    CAPTURE(head);
    CHECK(end_once(head) == head.size());
    CHECK(end_once(head + "{\"body\":1}") == head.size());
    // Each head also parses to the same request.
    http::RequestHead h = accepted(head);
    CHECK(h.method == "GET");
    CHECK(h.path == "/");
    CHECK(h.has_host);
  }
  // Not yet a whole head.
  CHECK(end_once("") == 0);
  CHECK(end_once("GET / HTTP/1.1") == 0);
  CHECK(end_once("GET / HTTP/1.1\r\nHost: a\r\n") == 0);
  CHECK(end_once("GET / HTTP/1.1\r\nHost: a\r\n\r") == 0);
  CHECK(end_once("GET / HTTP/1.1\r\nHost: a\n") == 0);
  // A CR CR is not a blank line.
  CHECK(end_once("GET / HTTP/1.1\r\nHost: a\r\r\r\n") == 0);
  // The cursor left by an incomplete buffer does not skip the LF that the next bytes complete.
  std::size_t scanned = 0;
  CHECK(http::find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r", scanned) == 0);
  CHECK(scanned <= std::string_view("GET / HTTP/1.1\r\nHost: a\r\n\r").size());
  CHECK(http::find_head_end(crlf, scanned) == crlf.size());
}

TEST_CASE("find_head_end: trickled bytes give the one-shot answer at every split") {
  const std::vector<std::string> bufs = {
      kApiserverHead + "{\"apiVersion\":\"admission.k8s.io/v1\"}",
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\nHost: a\n\n",
      "GET / HTTP/1.1\r\nHost: a\r\n\nbody",
      "GET / HTTP/1.1\nHost: a\n\r\nbody\r\n\r\n",
      "\r\nGET / HTTP/1.0\r\n\r\n",
      "GET / HTTP/1.1\r\nX: \r\r\n\r\rHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n",  // never complete
      "GET / HTTP/1.1\r\n\0\n\r\n"s,
      post_with("Content-Length: 2\r\n") + "{}" + post_with("Content-Length: 0\r\n"),
  };
  for (const std::string& buf : bufs) {
    CAPTURE(buf);
    const std::size_t want = end_once(buf);
    CHECK(want <= buf.size());
    // One-shot on every prefix: never past the prefix; found exactly from `want` on.
    for (std::size_t n = 0; n <= buf.size(); ++n) {
      CAPTURE(n);
      std::size_t got = end_once(std::string_view(buf).substr(0, n));
      CHECK(got <= n);
      CHECK(got == (want != 0 && n >= want ? want : 0));
    }
    // Two calls, split at every point, the cursor carried over.
    for (std::size_t k = 0; k <= buf.size(); ++k) {
      CAPTURE(k);
      std::size_t scanned = 0;
      std::size_t first = http::find_head_end(std::string_view(buf).substr(0, k), scanned);
      CHECK(scanned <= k);
      if (first != 0) {
        CHECK(first == want);
        continue;
      }
      CHECK(http::find_head_end(buf, scanned) == want);
      CHECK(scanned <= buf.size());
    }
    // One byte at a time: the end shows up with the byte that completes the head.
    std::size_t scanned = 0, found_at = 0, got = 0;
    for (std::size_t n = 1; n <= buf.size(); ++n) {
      got = http::find_head_end(std::string_view(buf).substr(0, n), scanned);
      CHECK(scanned <= n);
      if (got != 0) {
        found_at = n;
        break;
      }
    }
    CHECK(got == want);
    CHECK(found_at == want);
  }
}

TEST_CASE("pipelined requests: the end is that of the first head") {
  const std::string first = post_with("Content-Type: application/json\r\nContent-Length: 2\r\n");
  const std::string second =
      "POST /validate HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\n";
  const std::string buf = first + "{}" + second + "{ }";
  std::size_t end = end_once(buf);
  REQUIRE(end == first.size());
  http::RequestHead h1 = accepted(std::string_view(buf).substr(0, end));
  CHECK(h1.path == "/mutate");
  REQUIRE(h1.content_length == 2);
  CHECK(h1.keep_alive);
  // After the first body, the second head with its own cursor.
  std::string_view rest = std::string_view(buf).substr(end + h1.content_length);
  std::size_t end2 = end_once(rest);
  REQUIRE(end2 == second.size());
  http::RequestHead h2 = accepted(rest.substr(0, end2));
  CHECK(h2.path == "/validate");
  CHECK(h2.content_length == 3);
  CHECK_FALSE(h2.keep_alive);
}

TEST_CASE("request smuggling: header syntax that parsers disagree on is refused") {
  // Whitespace between the name and the colon.
  refused(post_with("Content-Length : 5\r\n"));
  refused(post_with("Content-Length\t: 5\r\n"));
  refused(post_with("Transfer-Encoding : chunked\r\n"));
  // Obsolete line folding, with a space or a tab.
  CHECK(refused(post_with("X-A: b\r\n c\r\n")).find("folding") != std::string::npos);
  refused(post_with("Content-Length: 5\r\n\t5\r\n"));
  // A header line without a colon, or with an empty name.
  refused(post_with("NoColon\r\n"));
  refused(post_with(": value\r\n"));
  refused(post_with("X(A): b\r\n"));
  // A bare CR: in the request line (in the middle, and before CR LF), in a header line.
  CHECK(refused("GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n").find("CR") != std::string::npos);
  refused("GET / HTTP/1.1\rHost: a\r\n\r\n");
  refused("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n");
  refused(post_with("X-A: b\rContent-Length: 5\r\n"));
  refused(post_with("X-A: b\r\r\n"));
  // A line starting with CR after an LF (LF CR x is not a blank line).
  refused("GET / HTTP/1.1\nHost: a\n\rX: b\n\n");
}

TEST_CASE("Content-Length: only 1..19 plain digits are valid; every header is counted") {
  auto cl = [](std::string_view value) {
    return accepted(post_with("Content-Length:" + std::string(value) + "\r\n"));
  };
  for (std::string_view bad : {"+5", "-1", "5, 5", "5,5", " ", "", "5 5", "0x10", "5.0", "1e3",
                               "12345678901234567890", "99999999999999999999", "five"}) {
    CAPTURE(bad);
    http::RequestHead h = cl(bad);
    CHECK(h.content_length_headers == 1);
    CHECK_FALSE(h.content_length_valid);
  }
  CHECK(cl(" 0").content_length == 0);
  CHECK(cl(" 0").content_length_valid);
  CHECK(cl(" 007 ").content_length == 7);
  CHECK(cl("\t5\t").content_length == 5);
  http::RequestHead max19 = cl(" 9999999999999999999");
  CHECK(max19.content_length_valid);
  CHECK(max19.content_length == 9999999999999999999ULL);

  // Two Content-Length fields are counted, equal or not, so the server can refuse them.
  http::RequestHead two = accepted(post_with("Content-Length: 5\r\nContent-Length: 5\r\n"));
  CHECK(two.content_length_headers == 2);
  http::RequestHead differ = accepted(post_with("Content-Length: 5\r\ncontent-length: 50\r\n"));
  CHECK(differ.content_length_headers == 2);
  // One bad among several leaves the whole invalid.
  http::RequestHead mixed = accepted(post_with("Content-Length: x\r\nContent-Length: 5\r\n"));
  CHECK(mixed.content_length_headers == 2);
  CHECK_FALSE(mixed.content_length_valid);
  // None at all.
  http::RequestHead none = accepted(post_with(""));
  CHECK(none.content_length_headers == 0);
  CHECK(none.content_length == 0);
}

TEST_CASE("Transfer-Encoding is noted, whatever its value") {
  CHECK(accepted(post_with("Transfer-Encoding: chunked\r\n")).transfer_encoding);
  CHECK(accepted(post_with("transfer-encoding: identity\r\n")).transfer_encoding);
  http::RequestHead both =
      accepted(post_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"));
  CHECK(both.transfer_encoding);
  CHECK(both.content_length_headers == 1);
  CHECK_FALSE(accepted(post_with("Content-Length: 5\r\n")).transfer_encoding);
}

TEST_CASE("Host: required once on HTTP/1.1, at most once on HTTP/1.0") {
  CHECK(refused("GET / HTTP/1.1\r\n\r\n").find("Host") != std::string::npos);
  CHECK(refused("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n").find("Host") != std::string::npos);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n").find("Host") != std::string::npos);
  refused("GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n");
  refused("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n");

  http::RequestHead h10 = accepted("GET / HTTP/1.0\r\n\r\n");
  CHECK(h10.minor_version == 0);
  CHECK_FALSE(h10.has_host);
  CHECK_FALSE(h10.keep_alive);
  CHECK(accepted("GET / HTTP/1.0\r\nHost: a\r\n\r\n").has_host);
}

TEST_CASE("keep-alive: HTTP/1.1 unless close, HTTP/1.0 only with keep-alive") {
  CHECK(accepted("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive);
  CHECK_FALSE(accepted("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
  CHECK_FALSE(accepted("GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n").keep_alive);
  CHECK_FALSE(
      accepted("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, close\r\n\r\n").keep_alive);
  CHECK_FALSE(
      accepted("GET / HTTP/1.1\r\nHost: a\r\nConnection: te\r\nConnection: close\r\n\r\n")
          .keep_alive);
  CHECK(accepted("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, keep-alive\r\n\r\n")
            .keep_alive);
  // Not a token of its own.
  CHECK(accepted("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n").keep_alive);

  CHECK(accepted("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  CHECK(accepted("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  CHECK_FALSE(accepted("GET / HTTP/1.0\r\nConnection: Keep-Alive, close\r\n\r\n").keep_alive);
  CHECK_FALSE(accepted("GET / HTTP/1.0\r\nConnection: close\r\n\r\n").keep_alive);
}

TEST_CASE("HTTP versions: 1.0 and 1.1 only; others 505, malformed 400") {
  CHECK(accepted("GET / HTTP/1.1\r\nHost: a\r\n\r\n").minor_version == 1);
  CHECK(accepted("GET / HTTP/1.0\r\n\r\n").minor_version == 0);
  refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
  refused("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
  refused("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
  refused("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
  refused("GET / HTTP/1.1x\r\nHost: a\r\n\r\n");
  refused("GET / http/1.1\r\nHost: a\r\n\r\n");
  refused("GET / HTTP/1\r\nHost: a\r\n\r\n");
  refused("GET / HTTP/11.1\r\nHost: a\r\n\r\n");
  refused("GET / HTTP/1,1\r\nHost: a\r\n\r\n");
  refused("GET / HTTP/a.1\r\nHost: a\r\n\r\n");
  refused("GET / HTTP/2\r\nHost: a\r\n\r\n");
  refused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
}

TEST_CASE("header values: control characters refused, obs-text accepted") {
  refused(post_with("X-A: a\0b\r\n"s));
  refused(post_with("X-A: a\x01" "b\r\n"));
  refused(post_with("X-A: a\x1f\r\n"));
  refused(post_with("X-A: a\x7f\r\n"));
  refused(post_with("X-A: \x1b[31mred\r\n"));
  refused(post_with("Content-Type: application/json\x0b\r\n"));
  // Bytes >= 0x80 (obs-text) are allowed in values.
  CHECK(accepted(post_with("X-Name: Andr\xc3\xa9\r\n")).has_host);
  CHECK(accepted(post_with("X-Bytes: \x80\xff\r\n")).has_host);
  http::RequestHead h = accepted(post_with("Content-Type: application/json; x=\xe2\x82\xac\r\n"));
  CHECK(h.content_type == "application/json; x=\xe2\x82\xac");
  CHECK(http::is_json_media_type(h.content_type));
  // But not in names.
  refused(post_with("X-Andr\xc3\xa9: a\r\n"));
}

TEST_CASE("Expect: 100-continue, any case; nothing else") {
  CHECK(accepted(post_with("Expect: 100-continue\r\n")).expect_continue);
  CHECK(accepted(post_with("EXPECT: 100-Continue\r\n")).expect_continue);
  CHECK(accepted(post_with("expect:  100-CONTINUE \r\n")).expect_continue);
  CHECK_FALSE(accepted(post_with("")).expect_continue);
  CHECK_FALSE(accepted(post_with("Expect: 200-ok\r\n")).expect_continue);
  CHECK_FALSE(accepted(post_with("Expect: 100-continued\r\n")).expect_continue);
  CHECK_FALSE(accepted(post_with("X-Expect: 100-continue\r\n")).expect_continue);
  // RFC 9110 10.1.1: a server MUST ignore 100-continue in an HTTP/1.0 request (a 1.0 client
  // would take an interim "100 Continue" for the answer).
  CHECK_FALSE(
      accepted("POST /mutate HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
          .expect_continue);
}

TEST_CASE("is_json_media_type") {
  CHECK(http::is_json_media_type("application/json"));
  CHECK(http::is_json_media_type("Application/JSON; charset=utf-8"));
  CHECK(http::is_json_media_type(" application/json ;x=y"));
  CHECK(http::is_json_media_type("application/json;charset=UTF-8"));
  CHECK_FALSE(http::is_json_media_type("application/jsonx"));
  CHECK_FALSE(http::is_json_media_type("text/json"));
  CHECK_FALSE(http::is_json_media_type(""));
  CHECK_FALSE(http::is_json_media_type(";"));
  CHECK_FALSE(http::is_json_media_type("application/json-patch+json"));
  CHECK_FALSE(http::is_json_media_type("application/yaml"));
  CHECK_FALSE(http::is_json_media_type("application/ json"));
}

TEST_CASE("reason phrases") {
  CHECK(http::reason_phrase(200) == "OK");
  CHECK(http::reason_phrase(400) == "Bad Request");
  CHECK(http::reason_phrase(404) == "Not Found");
  CHECK(http::reason_phrase(405) == "Method Not Allowed");
  CHECK(http::reason_phrase(413) == "Payload Too Large");
  CHECK(http::reason_phrase(415) == "Unsupported Media Type");
  CHECK(http::reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(http::reason_phrase(505) == "HTTP Version Not Supported");
  CHECK(http::reason_phrase(299) == "Unknown");
}

TEST_CASE("append_response_head writes exactly these bytes") {
  std::string out;
  http::append_response_head(out, 200, "application/json", 1234, true);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 1234\r\n"
        "\r\n");

  out.clear();
  http::append_response_head(out, 405, "text/plain; charset=utf-8", 19, false, "Allow: POST\r\n");
  CHECK(out ==
        "HTTP/1.1 405 Method Not Allowed\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 19\r\n"
        "Allow: POST\r\n"
        "Connection: close\r\n"
        "\r\n");

  // No content type: no Content-Type line. It appends (to a previous response, pipelined).
  out = "prev";
  http::append_response_head(out, 100, "", 0, true);
  CHECK(out == "prevHTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n");

  out.clear();
  http::append_response_head(out, 413, "", 0, false);
  CHECK(out == "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

  out.clear();
  http::append_response_head(out, 503, "text/plain", 18446744073709551615ULL, true);
  CHECK(out ==
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
        "Content-Length: 18446744073709551615\r\n\r\n");
}

TEST_CASE("a response head is itself one whole head for find_head_end") {
  std::string out;
  http::append_response_head(out, 405, "text/plain", 3, false, "Allow: POST\r\n");
  CHECK(end_once(out + "abc") == out.size());
}
