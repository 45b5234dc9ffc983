// HTTP/1.1 on the wire, without I/O: finding the end of a request head in a growing buffer,
// parsing the head strictly (RFC 9112), and writing response heads. The event loop in
// http_server.cpp feeds it decrypted bytes; tests and the fuzzer feed it bytes directly.
//
// Strict where leniency lets two parsers disagree about where a request ends (request
// smuggling): no whitespace before a header's colon, no obsolete line folding, Content-Length
// digits only and only once, any Transfer-Encoding noted (the webhook refuses chunked bodies).
// Only the fields the webhook acts on are kept; everything else is checked for syntax and
// skipped, so a head costs one pass and no allocation beyond a few short strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dsw::server::http {

// Longest request head (request line + headers + blank line) read before answering 431.
constexpr std::size_t kMaxHeadBytes = 64 * 1024;

struct RequestHead {
  std::string method;
  std::string path;  // the target up to '?' (the query is ignored); for an absolute-form
                     // target (http://host/p) the path after the authority
  int minor_version = 1;  // HTTP/1.<minor_version>
  bool has_host = false;
  int content_length_headers = 0;  // how many Content-Length fields
  bool content_length_valid = true;  // every one of them was 1..19 digits
  std::uint64_t content_length = 0;
  bool transfer_encoding = false;
  bool content_encoding = false;
  std::string content_type;  // as sent, empty when absent
  bool keep_alive = true;  // false: "Connection: close", or HTTP/1.0 without keep-alive
  bool expect_continue = false;  // "Expect: 100-continue" on HTTP/1.1 (ignored on 1.0)
};

// Where a request head ends: the offset just past its blank line (CRLF CRLF, or LF LF / mixed,
// which RFC 9112 lets a server accept), or 0 when `buf` does not hold a whole head yet.
// `scanned` carries the progress of earlier calls on the same growing buffer, so trickled bytes
// are looked at once, not once per read; start it at 0 for each new head.
std::size_t find_head_end(std::string_view buf, std::size_t& scanned);

struct ParseError {
  int status = 0;  // 400, or 505 for an HTTP version other than 1.0 and 1.1
  std::string message;
};

// Parses a whole head (as delimited by find_head_end). Returns true and fills `out`, or false
// and fills `error`.
bool parse_request_head(std::string_view head, RequestHead& out, ParseError& error);

// `application/json`, with or without parameters such as `; charset=utf-8`, any case.
bool is_json_media_type(std::string_view content_type);

// The standard reason phrase ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status);

// Appends a response head: status line, Content-Type (when not empty), Content-Length, the
// `extra` header lines (each ending in CRLF), `Connection: close` when !keep_alive, blank line.
void append_response_head(std::string& out, int status, std::string_view content_type,
                          std::size_t content_length, bool keep_alive,
                          std::string_view extra = {});

}  // namespace dsw::server::http
