#include "serve/request_checks.h"

namespace dsw::server {

namespace {

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_lower(std::string_view s, std::string_view lower_name) {
  if (s.size() != lower_name.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (lower(s[i]) != lower_name[i]) return false;
  return true;
}

// What the checks need from the headers, in one pass over them (cpp-httplib's header map
// compares names with tolower() per character: one lookup per question cost more than the
// whole pass).
struct HeaderFacts {
  bool control_in_a_value = false;
  std::size_t transfer_encoding = 0, content_encoding = 0, content_length = 0, content_type = 0;
  const std::string* length = nullptr;
  const std::string* type = nullptr;
};

HeaderFacts facts_of(const httplib::Headers& headers) {
  HeaderFacts f;
  for (const auto& [key, value] : headers) {
    // cpp-httplib 0.11.4 percent-decodes every header value (CVE-2026-45372): `%0D%0A` arrives
    // as CR LF inside a value. A raw CR, LF or NUL cannot be inside a value of a well-formed
    // request, so any of them means the request was built to smuggle something.
    for (char c : value)
      if (c == '\r' || c == '\n' || c == '\0') f.control_in_a_value = true;
    switch (lower(key.empty() ? ' ' : key[0])) {
      case 't':
        if (equals_lower(key, "transfer-encoding")) ++f.transfer_encoding;
        break;
      case 'c':
        if (equals_lower(key, "content-length")) {
          ++f.content_length;
          f.length = &value;
        } else if (equals_lower(key, "content-type")) {
          ++f.content_type;
          f.type = &value;
        } else if (equals_lower(key, "content-encoding")) {
          ++f.content_encoding;
        }
        break;
      default:
        break;
    }
  }
  return f;
}

bool announces_body(const HeaderFacts& f) {
  return f.transfer_encoding > 0 || (f.length != nullptr && *f.length != "0");
}

}  // namespace

Route route_of(std::string_view path) {
  if (path == "/mutate") return Route::Mutate;
  if (path == "/validate") return Route::Validate;
  if (path == "/healthz") return Route::Healthz;
  if (path == "/readyz") return Route::Readyz;
  if (path == "/metrics") return Route::Metrics;
  return Route::Unknown;
}

bool is_json_media_type(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  if (t.size() != kJson.size()) return false;
  for (std::size_t i = 0; i < t.size(); ++i)
    if (lower(t[i]) != kJson[i]) return false;
  return true;
}

bool announces_body(const httplib::Request& req) { return announces_body(facts_of(req.headers)); }

std::optional<Refusal> refuse_before_body(const httplib::Request& req, Route route,
                                          std::size_t max_body_bytes) {
  HeaderFacts f = facts_of(req.headers);
  if (f.control_in_a_value) return Refusal{400, "a header value holds a control character", ""};
  if (is_review(route)) {
    if (req.method != "POST") return Refusal{405, "method not allowed: use POST", "POST"};
    if (f.transfer_encoding > 0) {
      if (f.content_length > 0) return Refusal{400, "both Transfer-Encoding and Content-Length", ""};
      return Refusal{411, "chunked request bodies are not accepted: send Content-Length", ""};
    }
    if (f.content_encoding > 0) return Refusal{415, "compressed request bodies are not accepted", ""};
    if (f.content_length == 0) return Refusal{411, "Content-Length is required", ""};
    if (f.content_length > 1) return Refusal{400, "more than one Content-Length", ""};
    if (!all_digits(*f.length)) return Refusal{400, "invalid Content-Length", ""};
    if (std::stoull(*f.length) > max_body_bytes) {
      return Refusal{413,
                     "request body too large: limit is " + std::to_string(max_body_bytes) +
                         " bytes",
                     ""};
    }
    if (f.content_type != 1 || !is_json_media_type(*f.type))
      return Refusal{415, "Content-Type must be application/json", ""};
    return std::nullopt;
  }
  if (route != Route::Unknown) {
    if (req.method != "GET" && req.method != "HEAD")
      return Refusal{405, "method not allowed: use GET", "GET, HEAD"};
    if (announces_body(f)) return Refusal{400, "a GET request takes no body", ""};
    return std::nullopt;
  }
  return Refusal{404, "not found", ""};
}

}  // namespace dsw::server
