#include "serve/http_request.h"

#include <charconv>
#include <cstring>

namespace dsw::server::http {

namespace {

// RFC 9110 tchar: the characters of a method or a header name.
bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// `s` equals the lower-case `want`, ignoring ASCII case.
bool iequals(std::string_view s, std::string_view want) {
  if (s.size() != want.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (lower(s[i]) != want[i]) return false;
  return true;
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Next line of `rest` without its LF (and the CR before it); false at the end.
bool next_line(std::string_view& rest, std::string_view& line) {
  if (rest.empty()) return false;
  std::size_t lf = rest.find('\n');
  line = rest.substr(0, lf);
  rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

bool fail(ParseError& error, int status, const char* message) {
  error.status = status;
  error.message = message;
  return false;
}

bool parse_request_line(std::string_view line, RequestHead& out, ParseError& error) {
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return fail(error, 400, "malformed request line");
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(error, 400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : method)
    if (!is_tchar(static_cast<unsigned char>(c))) return fail(error, 400, "malformed request line");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return fail(error, 400, "malformed request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return fail(error, 400, "malformed request line");
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
    return fail(error, 505, "HTTP version not supported: use HTTP/1.1");
  out.method.assign(method);
  // absolute-form (RFC 9112 3.2.2: a server must accept it): the path after the authority.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      std::size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  out.path.assign(target.substr(0, target.find('?')));
  out.minor_version = version[7] - '0';
  return true;
}

}  // namespace

std::size_t find_head_end(std::string_view buf, std::size_t& scanned) {
  std::size_t i = scanned;
  while (i < buf.size()) {
    const void* p = std::memchr(buf.data() + i, '\n', buf.size() - i);
    if (p == nullptr) break;
    i = static_cast<std::size_t>(static_cast<const char*>(p) - buf.data());
    if (i + 1 >= buf.size()) {
      scanned = i;  // the bytes after this LF decide; look at it again
      return 0;
    }
    if (buf[i + 1] == '\n') return i + 2;
    if (buf[i + 1] == '\r') {
      if (i + 2 >= buf.size()) {
        scanned = i;
        return 0;
      }
      if (buf[i + 2] == '\n') return i + 3;
    }
    ++i;
  }
  scanned = buf.size();
  return 0;
}

bool parse_request_head(std::string_view head, RequestHead& out, ParseError& error) {
  out = RequestHead{};
  std::string_view rest = head, line;
  // A server should ignore empty lines before a request line (RFC 9112 2.2).
  while (next_line(rest, line) && line.empty()) {
  }
  if (line.empty()) return fail(error, 400, "empty request");
  if (line.find('\r') != std::string_view::npos) return fail(error, 400, "bare CR in request line");
  if (!parse_request_line(line, out, error)) return false;

  bool keep_alive_token = false, close_token = false;
  int hosts = 0;
  while (next_line(rest, line)) {
    if (line.empty()) break;  // the blank line that ends the head
    if (line.front() == ' ' || line.front() == '\t')
      return fail(error, 400, "obsolete line folding in request headers");
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(error, 400, "malformed request header");
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_tchar(static_cast<unsigned char>(c))) return fail(error, 400, "malformed request header name");
    std::string_view value = trim_ows(line.substr(colon + 1));
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7F) return fail(error, 400, "control character in a request header");
    }
    switch (lower(name.front())) {
      case 'c':
        if (iequals(name, "content-length")) {
          ++out.content_length_headers;
          std::uint64_t n = 0;
          auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
          bool digits = !value.empty() && value.size() <= 19 && ec == std::errc() &&
                        end == value.data() + value.size() && value.front() != '+' && value.front() != '-';
          if (!digits) out.content_length_valid = false;
          else out.content_length = n;
        } else if (iequals(name, "content-type")) {
          if (out.content_type.empty()) out.content_type.assign(value);
        } else if (iequals(name, "content-encoding")) {
          out.content_encoding = true;
        } else if (iequals(name, "connection")) {
          std::string_view v = value;
          while (!v.empty()) {
            std::size_t comma = v.find(',');
            std::string_view token = trim_ows(v.substr(0, comma));
            if (iequals(token, "close")) close_token = true;
            if (iequals(token, "keep-alive")) keep_alive_token = true;
            v.remove_prefix(comma == std::string_view::npos ? v.size() : comma + 1);
          }
        }
        break;
      case 'e':
        if (iequals(name, "expect") && iequals(value, "100-continue")) out.expect_continue = true;
        break;
      case 'h':
        if (iequals(name, "host")) ++hosts;
        break;
      case 't':
        if (iequals(name, "transfer-encoding")) out.transfer_encoding = true;
        break;
      default:
        break;
    }
  }
  if (hosts > 1) return fail(error, 400, "more than one Host header");
  out.has_host = hosts == 1;
  if (out.minor_version == 1 && !out.has_host) return fail(error, 400, "missing Host header");
  out.keep_alive = out.minor_version == 1 ? !close_token : keep_alive_token && !close_token;
  // RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request MUST be ignored.
  if (out.minor_version == 0) out.expect_continue = false;
  return true;
}

bool is_json_media_type(std::string_view content_type) {
  std::string_view t = trim_ows(content_type.substr(0, content_type.find(';')));
  return iequals(t, "application/json");
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void append_response_head(std::string& out, int status, std::string_view content_type,
                          std::size_t content_length, bool keep_alive, std::string_view extra) {
  char num[24];
  out += "HTTP/1.1 ";
  auto r = std::to_chars(num, num + sizeof num, status);
  out.append(num, r.ptr);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  if (!content_type.empty()) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  out += "Content-Length: ";
  r = std::to_chars(num, num + sizeof num, content_length);
  out.append(num, r.ptr);
  out += "\r\n";
  out += extra;
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
}

}  // namespace dsw::server::http
