// The HTTPS side of `serve`: cpp-httplib's SSLServer, tuned for an admission webhook, with the
// admission endpoints, probes, metrics, per-request logging and graceful shutdown.
//
// cpp-httplib keeps one pool thread per connection for its whole keep-alive life, so the task
// queue here is elastic (a thread per connection up to a high cap); keep-alive connections are
// kept for many requests and longer than the apiserver's idle timeout (90 s), TCP_NODELAY is on,
// and the listen backlog is raised above the library's 5.
#pragma once

#include <atomic>
#include <cstddef>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "dsw/options.h"
#include "metrics.h"
#include "tls.h"

namespace dsw::server {

struct ServerConfig {
  std::string bind_address = "0.0.0.0";
  int port = 8443;  // 0: any free port (logged)
  std::size_t max_request_bytes = 7 * 1024 * 1024;
  Options options;
  // Connection threads: kept warm / at most. Beyond the cap new connections wait in a queue.
  std::size_t min_threads = 16;
  std::size_t max_threads = 2048;
  // Per-read/write socket timeouts (handshake, headers, body, answer).
  std::time_t io_timeout_sec = 10;
  // Idle keep-alive connections are kept this long (the apiserver drops its own after 90 s).
  std::time_t keep_alive_timeout_sec = 120;
  std::size_t keep_alive_max_requests = 100000;
};

class Connections;

class WebhookServer {
 public:
  WebhookServer(ServerConfig config, CertStore& certs, Metrics& metrics);
  ~WebhookServer();

  // Binds the listening socket. Returns a one-line error, or nothing on success.
  std::optional<std::string> bind();
  int bound_port() const { return bound_port_; }
  // Serves until stop(); returns false when the listener failed on its own.
  bool serve();

  // Readiness: the certificate is loaded (checked before construction), the listener is up and
  // shutdown has not begun.
  bool ready() const { return listening_.load() && !shutting_down_.load(); }
  // First step of a graceful shutdown: /readyz answers 503, everything else keeps working.
  void begin_shutdown() { shutting_down_.store(true); }
  // Stops accepting, closes idle keep-alive connections; in-flight requests finish and serve()
  // returns once they are answered.
  void stop();
  std::size_t open_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> listening_{false}, shutting_down_{false};
  int bound_port_ = 0;
};

}  // namespace dsw::server
