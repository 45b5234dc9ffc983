// The HTTPS side of `serve`: a few event-loop threads (epoll, non-blocking sockets, OpenSSL)
// that read requests, answer them and keep connections alive, plus a small worker pool for large
// reviews so that one 5 MiB Application never holds up the small ones behind it.
//
// Why not cpp-httplib: it runs one thread per connection, which costs a context switch, a
// poll(2) and a read(2) per request and made the server as slow as a Go net/http webhook;
// docs/performance.md has the profile and the numbers. HTTP parsing is in http_request.h.
//
// A request's path: accept → TLS handshake → read the head (at most 64 KiB, 431 beyond) →
// check method, path and headers (405/404/411/413/415 without reading a body) → read the body
// (Content-Length only) → dsw::serve() on the loop thread, or on a worker when the body is
// large → write the answer → keep the connection for the next request.
#pragma once

#include <atomic>
#include <cstddef>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "dsw/options.h"
#include "serve/metrics.h"
#include "serve/tls.h"

namespace dsw::server {

struct ServerConfig {
  std::string bind_address = "0.0.0.0";
  int port = 8443;  // 0: any free port (logged)
  std::size_t max_request_bytes = 7 * 1024 * 1024;
  Options options;
  // Event-loop threads; 0: one per CPU the process may use (cpuset, cgroup CPU limit), at most 8.
  std::size_t loop_threads = 0;
  // Threads that answer reviews larger than offload_bytes, off the event loops.
  std::size_t worker_threads = 2;
  std::size_t offload_bytes = 64 * 1024;
  // Open connections at most; more are accepted and closed at once (and logged).
  std::size_t max_connections = 10000;
  // From a request's first byte to its last, and for writing an answer.
  std::time_t io_timeout_sec = 10;
  // Idle keep-alive connections are kept this long (the apiserver drops its own after 90 s).
  std::time_t keep_alive_timeout_sec = 120;
  std::size_t keep_alive_max_requests = 100000;
};

class WebhookServer {
 public:
  WebhookServer(ServerConfig config, CertStore& certs, Metrics& metrics);
  ~WebhookServer();

  // Sets up TLS and binds the listening socket. Returns a one-line error, or nothing.
  std::optional<std::string> bind();
  int bound_port() const { return bound_port_; }
  // Serves until stop() and every connection is done; returns false when serving could not
  // start.
  bool serve();

  // Readiness: the certificate is loaded (checked before construction), the listener is up and
  // shutdown has not begun.
  bool ready() const { return listening_.load() && !shutting_down_.load(); }
  // First step of a graceful shutdown: /readyz answers 503, everything else keeps working.
  void begin_shutdown() { shutting_down_.store(true); }
  // Closes the listener and idle keep-alive connections; requests under way are answered (with
  // `Connection: close`) and serve() returns once the last connection is closed.
  void stop();
  std::size_t open_connections() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> listening_{false}, shutting_down_{false};
  int bound_port_ = 0;
};

}  // namespace dsw::server
