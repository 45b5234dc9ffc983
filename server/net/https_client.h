// The program's one HTTP client, for the commands that call a server: `audit` (the Kubernetes
// apiserver) and `selftest` (a running webhook). cpp-httplib's client on OpenSSL, one
// keep-alive connection per Client, used by one thread at a time.
//
// HTTPS only verifies against the CAs it is given (never the system's store): the server's
// certificate must chain to one of them and name the URL's host (a DNS name in its
// subjectAltName, or an IP address for an IP; the subject's CN is never used, as in Go). Plain
// http:// is accepted only for a loopback host (`kubectl proxy`). A client certificate (with its
// chain) and a bearer token are optional.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace httplib {
class ClientImpl;
}

namespace dsw::net {

// "https://host[:port][/base/path]" or "http://loopback[:port][/base/path]".
struct Url {
  std::string scheme;     // "https" or "http"
  std::string host;       // an IPv6 address without its brackets
  int port = 443;
  std::string base_path;  // "" or "/prefix" (no trailing slash), put before every request path
  // "host:port" ("[::1]:port" for IPv6), for messages.
  std::string authority() const;
};

// Parses `text`; on failure returns nothing and sets `error` to a one-line reason.
std::optional<Url> parse_url(std::string_view text, std::string& error);

// Whether `host` is 127.0.0.0/8, ::1 or "localhost".
bool is_loopback(std::string_view host);

struct TlsOptions {
  // PEM certificates the server's certificate must chain to; required for https.
  std::string ca_pem;
  // Where ca_pem came from ("--ca-file ca.crt", "certificate-authority-data of cluster X"), for
  // messages.
  std::string ca_origin;
  // A client certificate (PEM; the leaf first, then intermediates) and its private key (PEM),
  // both or neither; *_origin name them in messages.
  std::string client_cert_pem, client_cert_origin;
  std::string client_key_pem, client_key_origin;
  // The name the server's certificate must hold instead of the URL's host (kubeconfig
  // `tls-server-name`); the TLS SNI stays the URL's host.
  std::string server_name;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  // A response body longer than this is not read to its end: Response::too_large is set and the
  // connection closed.
  std::size_t max_response_bytes = 64u << 20;
  std::string user_agent = "dynamodb-streams-webhook";
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string path;  // after the URL's base path; with its query string, already percent-encoded
  Headers headers;
  std::string body;
  std::string content_type;  // with a body
};

struct Response {
  int status = 0;           // 0: no HTTP answer was read; `error` says why
  std::string error;        // the transport failure, one line
  bool tls_verify_failed = false;  // the server's certificate was refused (not transient)
  bool too_large = false;   // the body exceeded ClientOptions::max_response_bytes (body cut)
  Headers headers;
  std::string body;

  bool answered() const { return status != 0; }
  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  // Every header of that name (e.g. the apiserver's `Warning`s).
  std::vector<std::string> headers_named(std::string_view name) const;
};

class Client {
 public:
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // A client for `url`; nothing for a configuration that cannot work (an http URL that is not
  // loopback, no CA for https, unreadable PEM data, a key that does not match its certificate),
  // with `error` saying why. Nothing is connected yet.
  static std::unique_ptr<Client> create(const Url& url, const TlsOptions& tls,
                                        const ClientOptions& options, std::string& error);

  // Sends one request on the kept-alive connection (connecting or reconnecting as needed) and
  // reads the whole answer. Never throws for network failures: they come back as status 0.
  Response send(const Request& request);

  // Sent as `Authorization: Bearer TOKEN` on every request from now on ("": none).
  void set_bearer_token(std::string token) { token_ = std::move(token); }
  const Url& url() const { return url_; }

 private:
  Client() = default;
  Url url_;
  ClientOptions options_;
  std::string token_;
  std::string verify_name_;
  std::unique_ptr<httplib::ClientImpl> impl_;
};

// Percent-encodes `s` for a query value or a path segment (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s);

}  // namespace dsw::net
