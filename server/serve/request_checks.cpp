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

// cpp-httplib 0.11.4 percent-decodes every header value (CVE-2026-45372): `%0D%0A` arrives as a
// CR LF inside a value. A raw CR, LF or NUL cannot be inside a value of a well-formed request,
// so any of them means the request was built to smuggle something: it is refused.
bool has_control_in_a_value(const httplib::Headers& headers) {
  for (const auto& [key, value] : headers) {
    for (char c : value)
      if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
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

bool announces_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  std::string cl = req.get_header_value("Content-Length");
  return !cl.empty() && cl != "0";
}

std::optional<Refusal> refuse_before_body(const httplib::Request& req,
                                          std::size_t max_body_bytes) {
  if (has_control_in_a_value(req.headers))
    return Refusal{400, "a header value holds a control character", ""};
  Route route = route_of(req.path);
  if (is_review(route)) {
    if (req.method != "POST") return Refusal{405, "method not allowed: use POST", "POST"};
    if (req.has_header("Transfer-Encoding")) {
      if (req.has_header("Content-Length"))
        return Refusal{400, "both Transfer-Encoding and Content-Length", ""};
      return Refusal{411, "chunked request bodies are not accepted: send Content-Length", ""};
    }
    if (req.has_header("Content-Encoding"))
      return Refusal{415, "compressed request bodies are not accepted", ""};
    if (!req.has_header("Content-Length")) return Refusal{411, "Content-Length is required", ""};
    if (req.get_header_value_count("Content-Length") != 1)
      return Refusal{400, "more than one Content-Length", ""};
    std::string cl = req.get_header_value("Content-Length");
    if (!all_digits(cl)) return Refusal{400, "invalid Content-Length", ""};
    if (std::stoull(cl) > max_body_bytes) {
      return Refusal{413,
                     "request body too large: limit is " + std::to_string(max_body_bytes) +
                         " bytes",
                     ""};
    }
    if (req.get_header_value_count("Content-Type") != 1 ||
        !is_json_media_type(req.get_header_value("Content-Type")))
      return Refusal{415, "Content-Type must be application/json", ""};
    return std::nullopt;
  }
  if (route != Route::Unknown) {
    if (req.method != "GET" && req.method != "HEAD")
      return Refusal{405, "method not allowed: use GET", "GET, HEAD"};
    if (announces_body(req)) return Refusal{400, "a GET request takes no body", ""};
    return std::nullopt;
  }
  return Refusal{404, "not found", ""};
}

}  // namespace dsw::server
