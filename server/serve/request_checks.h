// What `serve` decides from a request's line and headers alone, before a single byte of its body
// is read: which endpoint it is for, and whether it is refused (and with which status).
//
// Everything refused here is refused before cpp-httplib would read, decompress or parse a body,
// which is how `serve` stays out of reach of the body-handling advisories of the packaged
// cpp-httplib 0.11.4 (docs/reliability.md, "Advisories of cpp-httplib 0.11.4"): chunked and
// length-less bodies (411), compressed bodies (415 for any Content-Encoding), multipart and other
// media types (415), bodies over the limit (413).
#pragma once

#include <httplib.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dsw::server {

enum class Route { Mutate, Validate, Healthz, Readyz, Metrics, Unknown };

// The route of a request path (the query, such as the apiserver's ?timeout=10s, is not part of
// it).
Route route_of(std::string_view path);
inline bool is_review(Route r) { return r == Route::Mutate || r == Route::Validate; }

struct Refusal {
  int status;
  std::string message;  // one line, never quoting the request
  std::string allow;    // the Allow header of a 405
};

// `application/json`, with optional parameters such as `; charset=utf-8`, in any letter case.
bool is_json_media_type(std::string_view content_type);

// Whether the request announces a body (any Transfer-Encoding, or a Content-Length other than 0).
bool announces_body(const httplib::Request& req);

// The refusal of a request for `route` (route_of its path) from its line and headers, or nothing
// when it may go on (a review's body may be read; a GET endpoint may be answered).
std::optional<Refusal> refuse_before_body(const httplib::Request& req, Route route,
                                          std::size_t max_body_bytes);

}  // namespace dsw::server
