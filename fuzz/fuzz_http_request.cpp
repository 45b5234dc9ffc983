// Fuzz target: the HTTP/1.1 request-head reader of the event-loop server (server/http_request.h),
// the steps the server takes on the bytes a client sends before the body.
//
// Invariants:
//  - find_head_end never answers an end past the buffer, nor leaves its cursor past it; fed the
//    same bytes in two or three chunks (the cursor carried over), it finds the same end as in
//    one call, and no earlier; the head it delimits ends with LF LF or LF CR LF;
//  - parse_request_head, on the head (or on the whole input when no head was found):
//    on success, the method is non-empty tchar; the path is printable ASCII without space or
//    '?'; HTTP/1.0 or 1.1; at most one Host field, and one on 1.1; no 100-continue on 1.0; a
//    single valid Content-Length is the number its field's digits spell; the Content-Length
//    fields are all counted; the Content-Type holds no control character; the same head with
//    every CRLF turned into LF parses to the same request;
//    on failure, the status is 400 or 505 with a non-empty one-line printable message;
//  - append_response_head with the values parsed (or the error) writes a head that starts with
//    "HTTP/1.1 ", ends with its only CRLF CRLF, and that find_head_end finds whole.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "invariants.h"

#include "serve/http_request.h"

namespace {

namespace http = dsw::server::http;

bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool iequals_ascii(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_b[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// One line of printable ASCII.
bool printable_line(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) return false;
  return true;
}

// `s` with its bytes outside printable ASCII (and backslashes) as \xNN.
std::string printable(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

// How many fields named `lower_name` a head that parse_request_head accepted has, and the last
// one's value, read independently of it: lines split at LF (one CR before it dropped), leading
// empty lines and the request line skipped, up to the first empty line.
int count_fields(std::string_view head, std::string_view lower_name, std::string_view& last) {
  int count = 0;
  bool request_line_seen = false;
  while (!head.empty()) {
    std::size_t lf = head.find('\n');
    std::string_view line = head.substr(0, lf);
    head.remove_prefix(lf == std::string_view::npos ? head.size() : lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!request_line_seen) {
      request_line_seen = !line.empty();
      continue;
    }
    if (line.empty()) break;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (iequals_ascii(line.substr(0, colon), lower_name)) {
      ++count;
      last = trim(line.substr(colon + 1));
    }
  }
  return count;
}

std::string crlf_to_lf(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) out += s[i];
  return out;
}

bool same_request(const http::RequestHead& a, const http::RequestHead& b) {
  return a.method == b.method && a.path == b.path && a.minor_version == b.minor_version &&
         a.has_host == b.has_host && a.content_length_headers == b.content_length_headers &&
         a.content_length_valid == b.content_length_valid &&
         a.content_length == b.content_length && a.transfer_encoding == b.transfer_encoding &&
         a.content_encoding == b.content_encoding && a.content_type == b.content_type &&
         a.keep_alive == b.keep_alive && a.expect_continue == b.expect_continue;
}

// find_head_end over `buf` in chunks ending at `cuts` (ascending, each <= buf.size()), then the
// whole buffer; the first end found.
std::size_t find_in_chunks(std::string_view buf, std::initializer_list<std::size_t> cuts) {
  std::size_t scanned = 0;
  for (std::size_t cut : cuts) {
    std::size_t end = http::find_head_end(buf.substr(0, cut), scanned);
    DSW_FUZZ_CHECK(end <= cut && scanned <= cut, "find_head_end went past a chunk of " +
                                                     std::to_string(cut) + " bytes");
    if (end != 0) return end;
  }
  std::size_t end = http::find_head_end(buf, scanned);
  DSW_FUZZ_CHECK(scanned <= buf.size(), "find_head_end's cursor went past the buffer");
  return end;
}

void check_response_head(const std::string& out, const std::string& input) {
  DSW_FUZZ_CHECK(out.rfind("HTTP/1.1 ", 0) == 0, "a response head starts with its status line");
  DSW_FUZZ_CHECK(out.size() >= 4 && out.compare(out.size() - 4, 4, "\r\n\r\n") == 0,
                 "a response head ends with CRLF CRLF: " + printable(out));
  DSW_FUZZ_CHECK(out.find("\r\n\r\n") == out.size() - 4,
                 "a value of the request ended the response head early: " + printable(out) +
                     "\nrequest: " + printable(input));
  std::size_t scanned = 0;
  DSW_FUZZ_CHECK(http::find_head_end(out, scanned) == out.size(),
                 "find_head_end does not find the response head whole: " + printable(out));
}

void check_parse(std::string_view head, bool delimited) {
  const std::string input(head);
  http::RequestHead h;
  http::ParseError error;
  if (!http::parse_request_head(head, h, error)) {
    DSW_FUZZ_CHECK(error.status == 400 || error.status == 505,
                   "a refused head gets 400 or 505, not " + std::to_string(error.status));
    DSW_FUZZ_CHECK(!error.message.empty() && printable_line(error.message),
                   "a refused head gets a one-line message: " + printable(error.message));
    std::string out;
    http::append_response_head(out, error.status, "text/plain; charset=utf-8",
                               error.message.size() + 1, false);
    check_response_head(out, input);
    return;
  }

  DSW_FUZZ_CHECK(!h.method.empty(), "an accepted request has a method");
  for (char c : h.method)
    DSW_FUZZ_CHECK(is_tchar(static_cast<unsigned char>(c)),
                   "the method is tchar only: " + printable(h.method));
  for (char c : h.path) {
    auto u = static_cast<unsigned char>(c);
    DSW_FUZZ_CHECK(u > 0x20 && u < 0x7F && c != '?',
                   "the path is printable ASCII without space or '?': " + printable(h.path));
  }
  DSW_FUZZ_CHECK(h.minor_version == 0 || h.minor_version == 1,
                 "HTTP/1." + std::to_string(h.minor_version) + " accepted");
  DSW_FUZZ_CHECK(h.minor_version == 0 || h.has_host, "an HTTP/1.1 request without Host accepted");
  DSW_FUZZ_CHECK(h.minor_version == 1 || !h.expect_continue,
                 "100-continue expected of an HTTP/1.0 request (RFC 9110 10.1.1: ignored)");
  for (char c : h.content_type) {
    auto u = static_cast<unsigned char>(c);
    DSW_FUZZ_CHECK((u >= 0x20 || c == '\t') && u != 0x7F,
                   "a control character in the Content-Type: " + printable(h.content_type));
  }

  std::string_view host;
  const int hosts = count_fields(head, "host", host);
  DSW_FUZZ_CHECK(hosts <= 1 && h.has_host == (hosts == 1),
                 std::to_string(hosts) + " Host fields accepted as has_host=" +
                     std::to_string(h.has_host) + ": " + printable(input));
  std::string_view digits;
  const int count = count_fields(head, "content-length", digits);
  DSW_FUZZ_CHECK(count == h.content_length_headers,
                 std::to_string(count) + " Content-Length fields, counted " +
                     std::to_string(h.content_length_headers) + ": " + printable(input));
  if (h.content_length_headers == 1 && h.content_length_valid) {
    DSW_FUZZ_CHECK(!digits.empty() && digits.size() <= 19 &&
                       digits.find_first_not_of("0123456789") == std::string_view::npos,
                   "a Content-Length accepted as valid is not 1..19 digits: " + printable(digits));
    std::string_view significant = digits.substr(std::min(digits.find_first_not_of('0'),
                                                          digits.size() - 1));
    DSW_FUZZ_CHECK(std::to_string(h.content_length) == significant,
                   "Content-Length " + printable(digits) + " read as " +
                       std::to_string(h.content_length));
  }

  if (delimited) {
    // Line endings do not change the meaning of a head.
    std::string lf = crlf_to_lf(head);
    http::RequestHead h2;
    http::ParseError error2;
    DSW_FUZZ_CHECK(http::parse_request_head(lf, h2, error2) && same_request(h, h2),
                   "the head parses differently with LF line endings: " + printable(input));
  }

  std::string out;
  http::append_response_head(out, 200, h.content_type, h.content_length, h.keep_alive,
                             "Allow: POST\r\n");
  check_response_head(out, input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view buf(reinterpret_cast<const char*>(data), size);

  std::size_t scanned = 0;
  const std::size_t end = http::find_head_end(buf, scanned);
  DSW_FUZZ_CHECK(end <= size, "find_head_end answered " + std::to_string(end) + " for " +
                                  std::to_string(size) + " bytes");
  DSW_FUZZ_CHECK(scanned <= size, "find_head_end's cursor went past the buffer");

  // The same bytes arriving in two or three reads.
  const std::size_t cut =
      size == 0 ? 0 : (std::size_t{data[0]} * 257 + data[size - 1]) % (size + 1);
  const std::size_t third = size / 3;
  for (std::size_t chunked : {find_in_chunks(buf, {cut}), find_in_chunks(buf, {third, 2 * third}),
                              find_in_chunks(buf, {0, size / 2, size})}) {
    DSW_FUZZ_CHECK(chunked == end, "in chunks, find_head_end answered " +
                                       std::to_string(chunked) + ", in one call " +
                                       std::to_string(end) + ": " + printable(buf));
  }
  if (end != 0) {
    const std::string_view head = buf.substr(0, end);
    DSW_FUZZ_CHECK((end >= 2 && head.substr(end - 2) == "\n\n") ||
                       (end >= 3 && head.substr(end - 3) == "\n\r\n"),
                   "the head does not end with a blank line: " + printable(head));
    std::size_t s = 0;
    DSW_FUZZ_CHECK(http::find_head_end(buf.substr(0, end - 1), s) == 0,
                   "find_head_end answered " + std::to_string(end) +
                       " but finds a head one byte earlier too: " + printable(head));
    check_parse(head, true);
  } else {
    check_parse(buf, false);
  }
  return 0;
}
